//! A panic in a node API handler must not reach the client as a reset HTTP/2 stream, nor
//! leave behind what the call had made: it becomes an INTERNAL status, and a container the
//! call was creating is deleted again.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tonic::Status;

use crate::serve::errors::ApiError;
use crate::serve::Daemon;

/// The panic's message, if it carried one.
fn message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Run handler `op`; on a panic, answer INTERNAL and, if `container` names the container
/// the call creates (and it did not exist before), delete it (in the background: whatever
/// state the call left).
pub async fn call<T>(
    d: &Daemon,
    op: &'static str,
    container: Option<&str>,
    handler: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, Status> {
    let container = match container {
        Some(id) if d.rt.container_status(id).await.is_err() => Some(id),
        _ => None,
    };
    match AssertUnwindSafe(handler).catch_unwind().await {
        // The one place a handler's error becomes the client's status.
        Ok(result) => result.map_err(|e| e.into_status(d)),
        Err(panic) => {
            let what = message(panic.as_ref());
            tracing::error!(op, panic = %what, "a node API handler panicked");
            d.metrics.error(op);
            if let Some(id) = container {
                let (d, id) = (d.clone(), id.to_string());
                tokio::spawn(async move {
                    if let Err(e) = d.rt.delete_container(&id).await {
                        tracing::warn!(container = %id, error = %e, "undoing a panicked call");
                    }
                    d.restart.forget(&id).await;
                });
            }
            Err(Status::internal(format!(
                "warrend failed while handling {op} ({what}); this is a bug in warrend: \
                 what the call had made was removed"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_internal() {
        let caught = AssertUnwindSafe(async {
            let v: Vec<u8> = Vec::new();
            #[allow(clippy::indexing_slicing)]
            let x = v[3];
            Ok::<u8, Status>(x)
        })
        .catch_unwind()
        .await;
        let panic = caught.unwrap_err();
        assert!(message(panic.as_ref()).contains("index out of bounds"));
    }
}
