//! `container_metrics`: a container's CPU, memory and pids figures from Tasks.Metrics, with the
//! cgroup v1 and v2 payloads decoded into one shape.

use std::time::SystemTime;

use warren_proto::containerd::services::tasks::v1::MetricsRequest;
use warren_proto::io::containerd::cgroups::{v1, v2};

use super::to_system_time;
use crate::container_id::not_found;
use crate::{ContainerdRuntime, RuntimeError};

/// A container's resource use at one moment, on cgroup v1 and v2 hosts alike.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ContainerMetrics {
    /// When containerd read the figures.
    pub timestamp: Option<SystemTime>,
    /// CPU time used since the container started, in nanoseconds.
    pub cpu_usage_ns: u64,
    /// Memory in use, in bytes (including page cache, as the cgroup counts it).
    pub memory_usage_bytes: u64,
    /// The memory limit in bytes (`None` when unlimited).
    pub memory_limit_bytes: Option<u64>,
    /// Processes (and threads) in the container.
    pub pids: u64,
    /// The pids limit (`None` when unlimited).
    pub pids_limit: Option<u64>,
    /// How many times the kernel's OOM killer killed a process in the container.
    pub oom_kills: u64,
    /// Which cgroup version the figures come from: 1 or 2.
    pub cgroup_version: u8,
}

/// cgroup v1 reports "no limit" as a huge number (page-rounded i64::MAX).
fn limit(v: u64) -> Option<u64> {
    (v > 0 && v < (1 << 62)).then_some(v)
}

impl ContainerMetrics {
    fn from_v1(m: v1::Metrics) -> Self {
        let memory = m.memory.unwrap_or_default();
        let usage = memory.usage.unwrap_or_default();
        let pids = m.pids.unwrap_or_default();
        ContainerMetrics {
            cpu_usage_ns: m.cpu.and_then(|c| c.usage).map(|u| u.total).unwrap_or(0),
            memory_usage_bytes: usage.usage,
            memory_limit_bytes: limit(usage.limit),
            pids: pids.current,
            pids_limit: limit(pids.limit),
            oom_kills: m.memory_oom_control.map(|o| o.oom_kill).unwrap_or(0),
            cgroup_version: 1,
            timestamp: None,
        }
    }

    fn from_v2(m: v2::Metrics) -> Self {
        let memory = m.memory.unwrap_or_default();
        let pids = m.pids.unwrap_or_default();
        ContainerMetrics {
            cpu_usage_ns: m.cpu.map(|c| c.usage_usec * 1000).unwrap_or(0),
            memory_usage_bytes: memory.usage,
            memory_limit_bytes: limit(memory.usage_limit),
            pids: pids.current,
            pids_limit: limit(pids.limit),
            oom_kills: m.memory_events.map(|e| e.oom_kill).unwrap_or(0),
            cgroup_version: 2,
            timestamp: None,
        }
    }
}

impl ContainerdRuntime {
    /// CPU, memory, pids and OOM-kill figures of container `id` (running, or exited but not
    /// yet stopped). `NotFound` if it has no task.
    pub async fn container_metrics(&self, id: &str) -> Result<ContainerMetrics, RuntimeError> {
        crate::containers::check_id(id)?;
        let filter = format!("id=={id}");
        let reply = self
            .containerd()
            .tasks()
            .metrics(MetricsRequest {
                filters: vec![filter.clone()],
            })
            .await?;
        let metric = reply
            .metrics
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| not_found(id))?;
        let data = metric.data.ok_or_else(|| not_found(id))?;
        let mut out = if warren_proto::any::is::<v1::Metrics>(&data) {
            ContainerMetrics::from_v1(warren_proto::any::unpack(&data)?)
        } else if warren_proto::any::is::<v2::Metrics>(&data) {
            ContainerMetrics::from_v2(warren_proto::any::unpack(&data)?)
        } else {
            return Err(RuntimeError::Unsupported {
                op: "Tasks.Metrics",
                what: format!("metrics of type {}", data.type_url),
            });
        };
        out.timestamp = to_system_time(metric.timestamp.as_ref());
        Ok(out)
    }

    /// OOM kills in the container's cgroup (0 when it has none or no figures).
    pub(crate) async fn oom_kills(&self, id: &str) -> Result<u64, RuntimeError> {
        Ok(self.container_metrics(id).await?.oom_kills)
    }
}
