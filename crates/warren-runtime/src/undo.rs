//! Undo as a value: a multi-step operation pushes, after each step that made something,
//! the action that removes it. On success the operation [`commit`](Undo::commit)s and
//! nothing runs; on failure ([`check`](Undo::check) of a step's `Err`) the actions run,
//! newest first, before the error is returned; and if its future is dropped half-way (the caller stopped waiting),
//! `Drop` hands the actions to the runtime, as [`Lease`](crate::images::lease) does for
//! content, so a cancelled create or start leaves nothing either. A request the daemon
//! may carry out after the caller stops waiting goes through [`finish`](Undo::finish),
//! so its undo runs after the daemon's answer rather than racing it.
//!
//! Each step's undo is written once, next to the step, instead of once per later step
//! that can fail.

use std::future::Future;
use std::pin::Pin;

use crate::RuntimeError;

type Action = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The undo actions of one operation under way (see the module docs).
#[must_use = "an Undo that is dropped runs its actions: commit it once the operation is done"]
pub(crate) struct Undo {
    op: &'static str,
    actions: Vec<(&'static str, Action)>,
}

impl Undo {
    /// Nothing to undo yet for operation `op` (named in logs).
    pub(crate) fn new(op: &'static str) -> Self {
        Undo {
            op,
            actions: Vec::new(),
        }
    }

    /// After a step that made something: `action` removes it (`what` names it in logs).
    /// Actions log their own failures; an undo never fails the operation a second time.
    pub(crate) fn push(
        &mut self,
        what: &'static str,
        action: impl Future<Output = ()> + Send + 'static,
    ) {
        self.actions.push((what, Box::pin(action)));
    }

    /// The operation succeeded: what it made stays.
    pub(crate) fn commit(mut self) {
        self.actions.clear();
    }

    /// Carry out `call`, a request the daemon may act on even after we stop waiting for
    /// its answer, to its end on a task of its own; if its result says it `made`
    /// something, push `action` to remove it. A caller that stops waiting half-way thus
    /// has the action run once the daemon has answered, never before it: a record or
    /// task written just after an early undo would otherwise be left behind.
    ///
    /// The result is returned unchecked: pass it to [`check`](Undo::check).
    pub(crate) async fn finish<T: Send + 'static>(
        &mut self,
        what: &'static str,
        call: impl Future<Output = Result<T, RuntimeError>> + Send + 'static,
        made: impl FnOnce(&Result<T, RuntimeError>) -> bool + Send + 'static,
        action: impl Future<Output = ()> + Send + 'static,
    ) -> Result<T, RuntimeError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let result = call.await;
            let _ = tx.send(made(&result));
            result
        });
        self.push(what, async move {
            if rx.await == Ok(true) {
                action.await;
            }
        });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels the task.
            Err(_) => Err(RuntimeError::Cancelled { op: self.op }),
        }
    }

    /// `result` of the next step: on `Err`, undo every step so far (waiting for it) and
    /// pass the error on; on `Ok`, carry on.
    pub(crate) async fn check<T>(
        &mut self,
        result: Result<T, RuntimeError>,
    ) -> Result<T, RuntimeError> {
        if result.is_err() {
            run(self.op, std::mem::take(&mut self.actions)).await;
        }
        result
    }

    /// How many actions are pending (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.actions.len()
    }
}

async fn run(op: &'static str, actions: Vec<(&'static str, Action)>) {
    for (what, action) in actions.into_iter().rev() {
        tracing::debug!(op, step = what, "undoing");
        action.await;
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if self.actions.is_empty() {
            return;
        }
        let (op, actions) = (self.op, std::mem::take(&mut self.actions));
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                tracing::debug!(op, "the caller stopped waiting: undoing in the background");
                handle.spawn(run(op, actions));
            }
            Err(_) => tracing::warn!(
                op,
                pending = actions.len(),
                "dropped outside a tokio runtime: what it made is left for delete to remove"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn recorder() -> (
        Arc<Mutex<Vec<&'static str>>>,
        impl Fn(&'static str) -> Action,
    ) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let make = move |name: &'static str| -> Action {
            let l = l.clone();
            Box::pin(async move { l.lock().unwrap().push(name) })
        };
        (log, make)
    }

    #[tokio::test]
    async fn a_failed_step_undoes_the_earlier_ones_newest_first() {
        let (log, action) = recorder();
        let mut undo = Undo::new("test");
        undo.push("a", action("a"));
        undo.push("b", action("b"));
        assert!(undo.check(Ok::<_, RuntimeError>(1)).await.is_ok());
        assert_eq!(undo.len(), 2);
        let failed = undo
            .check::<()>(Err(RuntimeError::Cancelled { op: "test" }))
            .await;
        assert!(failed.is_err());
        assert_eq!(*log.lock().unwrap(), ["b", "a"]);
        // Each action runs once: dropping the guard afterwards runs nothing more.
        assert_eq!(undo.len(), 0);
        drop(undo);
        tokio::task::yield_now().await;
        assert_eq!(*log.lock().unwrap(), ["b", "a"]);
    }

    #[tokio::test]
    async fn a_committed_operation_keeps_what_it_made() {
        let (log, action) = recorder();
        let mut undo = Undo::new("test");
        undo.push("a", action("a"));
        undo.commit();
        tokio::task::yield_now().await;
        assert!(log.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_step_finishes_and_is_undone_after_its_caller_stops_waiting() {
        let (log, action) = recorder();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let (undone_tx, undone) = tokio::sync::oneshot::channel::<()>();
        let l = log.clone();
        let operation = async move {
            let mut undo = Undo::new("test");
            let call = async move {
                let _ = wait.await;
                l.lock().unwrap().push("made");
                Ok::<_, RuntimeError>(())
            };
            let made = undo
                .finish("a", call, |r| r.is_ok(), async move {
                    action("removed").await;
                    let _ = undone_tx.send(());
                })
                .await;
            undo.check(made).await.unwrap();
            undo.commit();
        };
        // The caller stops waiting while the call is under way; the call then ends.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(10), operation).await;
        assert!(log.lock().unwrap().is_empty());
        go.send(()).unwrap();
        undone.await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["made", "removed"]);
    }

    #[tokio::test]
    async fn a_step_that_made_nothing_has_nothing_undone() {
        let (log, action) = recorder();
        let mut undo = Undo::new("test");
        let failed = undo
            .finish(
                "a",
                async { Err::<(), _>(RuntimeError::Cancelled { op: "test" }) },
                |r| r.is_ok(),
                action("removed"),
            )
            .await;
        assert!(undo.check(failed).await.is_err());
        assert!(log.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_dropped_operation_is_undone_in_the_background() {
        let (log, action) = recorder();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let operation = async move {
            let mut undo = Undo::new("test");
            undo.push("a", action("a"));
            undo.push("b", async move {
                let _ = tx.send(());
            });
            // Never finishes: the caller drops it.
            std::future::pending::<()>().await;
            undo.commit();
        };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(10), operation).await;
        rx.await.unwrap();
        tokio::task::yield_now().await;
        assert_eq!(*log.lock().unwrap(), ["a"]);
    }
}
