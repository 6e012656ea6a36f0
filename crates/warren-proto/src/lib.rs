#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

mod channel;
mod clients;
mod error;

pub mod any;
#[cfg(feature = "node-api")]
pub mod compat;
pub mod namespace;
pub mod timing;

pub use channel::{
    connect, connect_lazy, connect_lazy_counted, ConnectionCounter, MAX_MESSAGE_SIZE,
    MAX_SOCKET_PATH_LEN,
};
pub use clients::{Clients, NsChannel};
pub use error::Error;
pub use namespace::{Namespace, NamespaceInterceptor};

/// The encoded `FileDescriptorSet` of every `.proto` this crate compiles, for reflection and
/// for checking which services and messages the bindings cover.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/file_descriptor_set.bin"));

// The generated module tree follows the proto packages: `containerd::services::tasks::v1`,
// `containerd::events`, `grpc::health::v1`, `io::containerd::cgroups::v1`, ...
/// The generated modules (containerd's packages and `warren::node::v1`), re-exported at the
/// crate root; their documentation is the proto files' comments, where they have one.
#[allow(missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/warren_proto.rs"));
}
pub use generated::*;
