//! One module per client command: its flags (its clap `Args`, when it has its own) and its
//! handler. What several commands share stays beside `commands`, in `cli`'s other modules.

pub(super) mod attach;
pub(super) mod container;
pub(super) mod create;
pub(super) mod events;
pub(super) mod exec;
pub(super) mod image;
pub(super) mod images;
pub(super) mod import;
pub(super) mod info;
pub(super) mod inspect;
pub(super) mod kill;
pub(super) mod logs;
pub(super) mod port;
pub(super) mod ps;
pub(super) mod pull;
pub(super) mod restart;
pub(super) mod rm;
pub(super) mod rmi;
pub(super) mod run;
pub(super) mod start;
pub(super) mod stats;
pub(super) mod stop;
pub(super) mod top;
pub(super) mod wait;
