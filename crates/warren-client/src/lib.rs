#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

mod error;
mod node;
mod watch;
mod words;

pub use error::{ClientError, ErrorKind};
pub use node::{Items, Node};
/// The node API's messages (`warren.node.v1`), as the calls take and answer them.
pub use warren_proto::warren::node::v1 as api;
pub use watch::Watched;
pub use words::{restart_text, Word};
