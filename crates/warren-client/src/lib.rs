#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

mod error;
mod node;
pub mod spec;
mod watch;
mod words;

pub use error::{ClientError, ErrorKind};
pub use node::{Items, Node};
pub use spec::{NetworkChoice, NodeSpec, Policy};
/// The node API's messages (`warren.node.v1`), as the calls take and answer them.
pub use warren_proto::warren::node::v1 as api;
/// The library types a [`NodeSpec`] is made of (`ContainerRequest`, `Resources`, mounts,
/// ports, ...), as this client was built with them.
pub use warren_spec;
pub use watch::Watched;
pub use words::{restart_text, Word};
