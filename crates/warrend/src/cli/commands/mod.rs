//! One module per client command: its flags (its clap `Args`, when it has its own) and its
//! handler. What several commands share stays beside `commands`, in `cli`'s other modules.

pub(super) mod attach;
pub(super) mod create;
pub(super) mod events;
pub(super) mod exec;
pub(super) mod images;
pub(super) mod import;
pub(super) mod info;
pub(super) mod inspect;
pub(super) mod logs;
pub(super) mod ps;
pub(super) mod pull;
pub(super) mod rm;
pub(super) mod rmi;
pub(super) mod run;
pub(super) mod start;
pub(super) mod stats;
pub(super) mod stop;
