//! Leases: everything a pull writes is protected from garbage collection until the image
//! record (and the config's snapshot label) references it; the lease is then deleted.

use std::collections::HashMap;

use warren_proto::containerd::services::leases::v1::{CreateRequest, DeleteRequest};
use warren_proto::Clients;

use crate::RuntimeError;

/// A lease created for one operation. Call [`Lease::release`] on success and on failure.
pub struct Lease {
    pub id: String,
    pub clients: Clients,
}

impl Lease {
    /// Create a lease that containerd expires by itself after 24 h if we never delete it.
    pub async fn create(base: &Clients, purpose: &str) -> Result<Lease, RuntimeError> {
        let id = format!("warren-{purpose}-{:016x}", rand::random::<u64>());
        let expire = (chrono::Utc::now() + chrono::Duration::hours(24))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let labels: HashMap<String, String> =
            [("containerd.io/gc.expire".to_string(), expire)].into();
        base.leases()
            .create(CreateRequest {
                id: id.clone(),
                labels,
            })
            .await
            .map_err(|s| RuntimeError::daemon("Leases.Create", s))?;
        let clients = base.with_lease(&id)?;
        Ok(Lease { id, clients })
    }

    /// Delete the lease; what nothing else references becomes garbage.
    pub async fn release(self, base: &Clients) {
        let req = DeleteRequest {
            id: self.id.clone(),
            sync: false,
        };
        if let Err(e) = base.leases().delete(req).await {
            if e.code() != tonic::Code::NotFound {
                tracing::warn!(lease = %self.id, error = %e, "could not delete lease");
            }
        }
    }
}
