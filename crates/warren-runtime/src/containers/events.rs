//! `events`: a typed stream of this namespace's task events and container removals.
//!
//! containerd's subscription is not live until its first event arrives, so `events()`
//! publishes a private sync event and returns only once it has come back: every event
//! after the call returns is in the stream.

use std::time::{Duration, SystemTime};

use futures::{Stream, StreamExt};
use warren_proto::any;
use warren_proto::containerd::events::{
    ContainerDelete, TaskCreate, TaskDelete, TaskExit, TaskOom, TaskPaused, TaskResumed, TaskStart,
};
use warren_proto::containerd::services::events::v1::{PublishRequest, SubscribeRequest};
use warren_proto::containerd::types::Envelope;

use super::to_system_time;
use crate::{ContainerdRuntime, RuntimeError};

/// How long `events()` waits for its subscription to be confirmed.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened to a container's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEventKind {
    /// Its task was created (process not started yet).
    Created {
        /// Host pid of the init process.
        pid: u32,
    },
    /// Its process started.
    Started {
        /// Host pid.
        pid: u32,
    },
    /// A process ended: the init process (`exec_id` `None`) or an exec'd one.
    Exited {
        /// The exec id, for exec'd processes.
        exec_id: Option<String>,
        /// Its exit code.
        exit_code: u32,
    },
    /// The kernel's OOM killer acted in the container.
    Oom,
    /// Its task was deleted. The shim sends this one; containerd may drop it when the shim
    /// exits right after (its forward to the daemon failed or timed out), so wait for
    /// [`Removed`](Self::Removed) to learn that a container is gone.
    Deleted {
        /// The exit code of the init process.
        exit_code: u32,
    },
    /// It was frozen.
    Paused,
    /// It was thawed.
    Resumed,
    /// The container itself was deleted (its record is gone), by this runtime or any other
    /// client. containerd publishes this one itself, as part of the delete, so it is never
    /// lost while the stream lives.
    Removed,
}

/// One event of a container in this namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerEvent {
    /// The container.
    pub container_id: String,
    /// When containerd published it.
    pub time: Option<SystemTime>,
    /// What happened.
    pub kind: ContainerEventKind,
}

/// Decode an envelope; `None` for topics and types this stream does not report.
fn decode(env: &Envelope) -> Option<ContainerEvent> {
    let event = env.event.as_ref()?;
    let (container_id, kind) = match env.topic.as_str() {
        "/tasks/create" => {
            let e: TaskCreate = any::unpack(event).ok()?;
            (e.container_id, ContainerEventKind::Created { pid: e.pid })
        }
        "/tasks/start" => {
            let e: TaskStart = any::unpack(event).ok()?;
            (e.container_id, ContainerEventKind::Started { pid: e.pid })
        }
        "/tasks/exit" => {
            let e: TaskExit = any::unpack(event).ok()?;
            let exec_id = (e.id != e.container_id && !e.id.is_empty()).then_some(e.id);
            (
                e.container_id,
                ContainerEventKind::Exited {
                    exec_id,
                    exit_code: e.exit_status,
                },
            )
        }
        "/tasks/oom" => {
            let e: TaskOom = any::unpack(event).ok()?;
            (e.container_id, ContainerEventKind::Oom)
        }
        "/tasks/delete" => {
            let e: TaskDelete = any::unpack(event).ok()?;
            // Deleting an exec'd process also publishes this; only the task's counts.
            if !e.id.is_empty() && e.id != e.container_id {
                return None;
            }
            (
                e.container_id,
                ContainerEventKind::Deleted {
                    exit_code: e.exit_status,
                },
            )
        }
        "/tasks/paused" => {
            let e: TaskPaused = any::unpack(event).ok()?;
            (e.container_id, ContainerEventKind::Paused)
        }
        "/tasks/resumed" => {
            let e: TaskResumed = any::unpack(event).ok()?;
            (e.container_id, ContainerEventKind::Resumed)
        }
        "/containers/delete" => {
            let e: ContainerDelete = any::unpack(event).ok()?;
            (e.id, ContainerEventKind::Removed)
        }
        _ => return None,
    };
    Some(ContainerEvent {
        container_id,
        time: to_system_time(env.timestamp.as_ref()),
        kind,
    })
}

impl ContainerdRuntime {
    /// Task events of this namespace's containers (create, start, exit, OOM, delete,
    /// paused, resumed) and their removal, from the moment this returns. The stream ends with an error if
    /// the connection to containerd breaks (events sent meanwhile are lost: subscribe
    /// again and reconcile with [`list_containers`](Self::list_containers)).
    pub async fn events(
        &self,
    ) -> Result<
        impl Stream<Item = Result<ContainerEvent, RuntimeError>> + Send + Unpin + 'static,
        RuntimeError,
    > {
        let ns = self.namespace().to_string();
        let sync_topic = format!("/warren/sync/{:016x}", rand::random::<u64>());
        let filters = vec![
            format!("namespace=={ns},topic~=\"^/tasks/\""),
            format!("namespace=={ns},topic==\"/containers/delete\""),
            format!("namespace=={ns},topic==\"{sync_topic}\""),
        ];
        // containerd sends the response headers only with the first event, so the
        // subscribe call runs in its own task while we publish our sync event until it
        // comes back.
        let subscribing = {
            let rt = self.clone();
            let filters = filters.clone();
            tokio::spawn(async move {
                rt.containerd()
                    .events()
                    .subscribe(SubscribeRequest {
                        filters: filters.clone(),
                    })
                    .await
            })
        };
        let publish = {
            let containerd = self.containerd().clone();
            let topic = sync_topic.clone();
            tokio::spawn(async move {
                loop {
                    let _ = containerd
                        .events()
                        .publish(PublishRequest {
                            topic: topic.clone(),
                            event: Some(prost_types::Any {
                                type_url: "type.googleapis.com/google.protobuf.Empty".into(),
                                value: Vec::new(),
                            }),
                        })
                        .await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let mut stream = match tokio::time::timeout(CONFIRM_TIMEOUT, subscribing).await {
            Ok(Ok(Ok(r))) => r,
            Ok(Ok(Err(e))) => {
                publish.abort();
                return Err(e);
            }
            _ => {
                publish.abort();
                return Err(RuntimeError::daemon_timeout(
                    "Events.Subscribe",
                    CONFIRM_TIMEOUT,
                ));
            }
        };
        let confirmed = tokio::time::timeout(CONFIRM_TIMEOUT, async {
            while let Some(env) = stream.next().await {
                if env?.topic == sync_topic {
                    return Ok(());
                }
            }
            Err(RuntimeError::Interrupted {
                op: "Events.Subscribe",
                message: "the event stream ended".into(),
                source: None,
            })
        })
        .await;
        publish.abort();
        match confirmed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(RuntimeError::daemon_timeout(
                    "Events.Subscribe",
                    CONFIRM_TIMEOUT,
                ))
            }
        }
        Ok(stream.filter_map(move |item| {
            let out = match item {
                Ok(env) if env.topic == sync_topic => None,
                Ok(env) => decode(&env).map(Ok),
                Err(e) => Some(Err(e)),
            };
            std::future::ready(out)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(topic: &str, event: prost_types::Any) -> Envelope {
        Envelope {
            topic: topic.into(),
            namespace: "warren".into(),
            event: Some(event),
            ..Default::default()
        }
    }

    #[test]
    fn a_container_delete_is_its_removal() {
        let env = envelope(
            "/containers/delete",
            any::pack(&ContainerDelete { id: "web".into() }),
        );
        let e = decode(&env).unwrap();
        assert_eq!(e.container_id, "web");
        assert_eq!(e.kind, ContainerEventKind::Removed);
    }

    #[test]
    fn an_exec_delete_is_not_the_task_delete() {
        let exec = TaskDelete {
            container_id: "web".into(),
            id: "exec-1".into(),
            ..Default::default()
        };
        assert_eq!(decode(&envelope("/tasks/delete", any::pack(&exec))), None);
        let task = TaskDelete {
            container_id: "web".into(),
            id: "web".into(),
            exit_status: 137,
            ..Default::default()
        };
        assert_eq!(
            decode(&envelope("/tasks/delete", any::pack(&task)))
                .unwrap()
                .kind,
            ContainerEventKind::Deleted { exit_code: 137 }
        );
    }
}
