//! What the daemon is: its version (Version service) and its plugins (Introspection).

use warren_proto::containerd::services::introspection::v1::{PluginsRequest, PluginsResponse};
use warren_proto::containerd::services::version::v1::VersionResponse;

use crate::RuntimeError;

super::rpcs!(Introspection, introspection {
    /// The daemon's plugins (optionally filtered), with their state.
    retrying plugins(PluginsRequest) -> PluginsResponse = "Introspection.Plugins";
});

impl super::Containerd {
    /// The daemon's version and revision.
    pub(crate) async fn version(&self) -> Result<VersionResponse, RuntimeError> {
        self.retrying("Version.Version", (), |c, ()| async move {
            c.version().version(()).await
        })
        .await
    }
}
