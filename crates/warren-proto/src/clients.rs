//! Every containerd client, ready to use: one channel, one namespace, 16 MiB limits.

use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::containerd::services::containers::v1::containers_client::ContainersClient;
use crate::containerd::services::content::v1::content_client::ContentClient;
use crate::containerd::services::diff::v1::diff_client::DiffClient;
use crate::containerd::services::events::v1::events_client::EventsClient;
use crate::containerd::services::images::v1::images_client::ImagesClient;
use crate::containerd::services::introspection::v1::introspection_client::IntrospectionClient;
use crate::containerd::services::leases::v1::leases_client::LeasesClient;
use crate::containerd::services::namespaces::v1::namespaces_client::NamespacesClient;
use crate::containerd::services::snapshots::v1::snapshots_client::SnapshotsClient;
use crate::containerd::services::streaming::v1::streaming_client::StreamingClient;
use crate::containerd::services::tasks::v1::tasks_client::TasksClient;
use crate::containerd::services::transfer::v1::transfer_client::TransferClient;
use crate::containerd::services::version::v1::version_client::VersionClient;
use crate::grpc::health::v1::health_client::HealthClient;
use crate::namespace::{Namespace, NamespaceInterceptor};
use crate::timing::Timed;
use crate::{Error, MAX_MESSAGE_SIZE};

/// The transport every client of [`Clients`] uses: the channel, timed per call (see
/// [`crate::timing`]), plus the namespace headers.
pub type NsChannel = InterceptedService<Timed<Channel>, NamespaceInterceptor>;

/// A cheap-to-clone factory of containerd clients sharing one channel and one namespace
/// (and optionally a lease), each with containerd's 16 MiB message limits.
#[derive(Clone, Debug)]
pub struct Clients {
    channel: Channel,
    interceptor: NamespaceInterceptor,
}

macro_rules! client {
    ($(#[$doc:meta])* $name:ident, $c:ident) => {
        $(#[$doc])*
        pub fn $name(&self) -> $c<NsChannel> {
            $c::with_interceptor(Timed::new(self.channel.clone()), self.interceptor.clone())
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE)
        }
    };
}

impl Clients {
    /// Clients for `namespace` over `channel` (from [`crate::connect`]).
    pub fn new(channel: Channel, namespace: &Namespace) -> Self {
        Clients {
            channel,
            interceptor: NamespaceInterceptor::new(namespace),
        }
    }

    /// The same clients, with every call made under `lease`.
    pub fn with_lease(&self, lease: &str) -> Result<Self, Error> {
        Ok(Clients {
            channel: self.channel.clone(),
            interceptor: self.interceptor.with_lease(lease)?,
        })
    }

    /// The underlying channel.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    client!(/// Container records.
        containers, ContainersClient);
    client!(/// The content store.
        content, ContentClient);
    client!(/// Layer apply and diff.
        diff, DiffClient);
    client!(/// Events: publish and subscribe.
        events, EventsClient);
    client!(/// Image records.
        images, ImagesClient);
    client!(/// Plugins and server identity.
        introspection, IntrospectionClient);
    client!(/// Leases.
        leases, LeasesClient);
    client!(/// Namespaces.
        namespaces, NamespacesClient);
    client!(/// Snapshotters.
        snapshots, SnapshotsClient);
    client!(/// Streams used by transfers (2.x).
        streaming, StreamingClient);
    client!(/// Tasks: processes of containers.
        tasks, TasksClient);
    client!(/// Server-side transfers (2.x).
        transfer, TransferClient);
    client!(/// The daemon version.
        version, VersionClient);
    client!(/// gRPC health.
        health, HealthClient);
}
