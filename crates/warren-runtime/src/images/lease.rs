//! Leases: everything a pull or import writes is protected from garbage collection until the
//! image record (and the config's snapshot label) references it; the lease is then deleted.

use std::collections::HashMap;

use warren_proto::containerd::services::leases::v1::{CreateRequest, DeleteRequest};

use crate::containerd::Containerd;
use crate::error::warn_unless_missing;
use crate::{ContainerdRuntime, ErrorKind, RuntimeError};

/// A lease created for one operation. Released by [`Lease::release`], or in the background
/// when dropped unreleased (a cancelled pull); containerd expires it after 24 h regardless.
pub(crate) struct Lease {
    pub id: String,
    /// The daemon, with every call made under this lease.
    pub clients: Containerd,
    rt: ContainerdRuntime,
    released: bool,
}

impl Lease {
    /// Create a lease (waiting for a restarting daemon, like every first call of an
    /// operation) that containerd expires by itself after 24 h if we never delete it.
    pub(crate) async fn create(
        rt: &ContainerdRuntime,
        purpose: &str,
    ) -> Result<Lease, RuntimeError> {
        let id = format!("warren-{purpose}-{:016x}", rand::random::<u64>());
        let expire = (chrono::Utc::now() + chrono::Duration::hours(24))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let labels: HashMap<String, String> =
            [("containerd.io/gc.expire".to_string(), expire)].into();
        let created = rt
            .containerd()
            .leases()
            .create(CreateRequest {
                id: id.clone(),
                labels,
            })
            .await;
        match created {
            // The id is ours and random: an attempt the daemon answered only by dying (then
            // restarting) had created it.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            other => {
                other?;
            }
        }
        let clients = rt.containerd().with_lease(&id)?;
        Ok(Lease {
            id,
            clients,
            rt: rt.clone(),
            released: false,
        })
    }

    /// Delete the lease; what nothing else references becomes garbage. With `sync` (after a
    /// failure) containerd collects it before answering, so nothing is left when we return.
    /// Waits out a daemon restart (up to the reconnect deadline): a failure caused by the
    /// daemon dying must still be cleaned up once it is back.
    pub(crate) async fn release(mut self, sync: bool) {
        self.released = true;
        delete(&self.rt, &self.id, sync).await;
    }
}

async fn delete(rt: &ContainerdRuntime, id: &str, sync: bool) {
    let result = rt
        .containerd()
        .leases()
        .delete(DeleteRequest {
            id: id.to_string(),
            sync,
        })
        .await;
    warn_unless_missing(result, "delete lease", id);
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (rt, id) = (self.rt.clone(), self.id.clone());
            handle.spawn(async move { delete(&rt, &id, false).await });
        }
    }
}
