//! One module per client command: its flags (its clap `Args`, when it has its own) and its
//! handler. What several commands share stays beside `commands`, in `cli`'s other modules.

pub(super) mod images;
pub(super) mod import;
pub(super) mod pull;
pub(super) mod rmi;
pub(super) mod stats;
