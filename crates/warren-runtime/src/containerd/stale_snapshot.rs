//! Creating a snapshot after a daemon crash left a stale snapshot directory behind.
//!
//! The overlayfs snapshotter creates a snapshot in one metadata transaction: it takes the
//! next id from its database, renames a temporary directory to `snapshots/<id>` and
//! commits. A daemon killed between the rename and the commit leaves the directory but
//! not the id, so the next snapshot created after the restart (Prepare, View or an
//! unpack) is given the same id and its rename fails with "file exists". containerd
//! removes the stale directory as it fails that call (on 1.6, 1.7 and 2.x alike), so the
//! same call made once more succeeds. [`retry_once`] does exactly that, only for that
//! error.

use std::future::Future;

/// Whether a snapshot-creating call failed on a directory an earlier crash left behind.
pub(crate) fn left_by_a_crash(status: &tonic::Status) -> bool {
    let m = status.message();
    status.code() == tonic::Code::Unknown
        && m.contains("failed to rename")
        && m.contains("/snapshots/")
        && m.contains("file exists")
}

/// Make a snapshot-creating call; if it failed on a stale directory (which containerd has
/// removed by then), make it once more.
pub(crate) async fn retry_once<T, F, Fut>(op: &'static str, call: F) -> Result<T, tonic::Status>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    match call().await {
        Err(s) if left_by_a_crash(&s) => {
            tracing::warn!(
                op,
                error = %s.message(),
                "a snapshot directory left by an earlier daemon crash was in the way; \
                 containerd removed it, trying once more"
            );
            call().await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// What containerd 2.1 answered in CI after a kill inside Snapshots.Prepare.
    const SEEN: &str = "failed to rename: rename /tmp/wcr-M3ZHSH/root/containerd/\
        io.containerd.snapshotter.v1.overlayfs/snapshots/new-2439841209 /tmp/wcr-M3ZHSH/root/\
        containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3: file exists";

    #[test]
    fn only_the_stale_directory_error_counts() {
        assert!(left_by_a_crash(&tonic::Status::unknown(SEEN)));
        assert!(!left_by_a_crash(&tonic::Status::already_exists(SEEN)));
        assert!(!left_by_a_crash(&tonic::Status::unknown(
            "failed to rename: permission denied"
        )));
        assert!(!left_by_a_crash(&tonic::Status::already_exists(
            "snapshot c1: already exists"
        )));
    }

    async fn calls_made(first: tonic::Status) -> (u32, Result<u32, tonic::Status>) {
        let calls = AtomicU32::new(0);
        let result = retry_once("Snapshots.Prepare", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let first = first.clone();
            async move {
                if n == 0 {
                    Err(first)
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        (calls.load(Ordering::SeqCst), result)
    }

    #[tokio::test]
    async fn a_stale_directory_gets_one_more_call() {
        let (calls, result) = calls_made(tonic::Status::unknown(SEEN)).await;
        assert_eq!(calls, 2);
        assert_eq!(result.unwrap(), 1);
    }

    #[tokio::test]
    async fn other_errors_are_returned_at_once() {
        let (calls, result) = calls_made(tonic::Status::unavailable("daemon gone")).await;
        assert_eq!(calls, 1);
        assert_eq!(result.unwrap_err().code(), tonic::Code::Unavailable);
    }
}
