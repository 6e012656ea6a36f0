//! The Prometheus metrics of `/metrics`: the ones Warren's runtime documents (operation
//! durations, running containers, per-container CPU and memory, OOM kills, containerd
//! connection, client errors, snapshots) plus warrend's own restart counters. Counters and
//! histograms are updated as things happen; gauges are collected at scrape time.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use warren_runtime::ContainerState;

use super::Daemon;

/// A label set such as `[("container", "web")]`.
pub type Labels = Vec<(String, String)>;

/// Every metric warrend exports, registered once.
pub struct Metrics {
    registry: Registry,
    /// Seconds per image pull.
    pub pull_duration: Histogram,
    /// Seconds per container create.
    pub create_duration: Histogram,
    /// Seconds per container start.
    pub start_duration: Histogram,
    running: Gauge,
    cpu: Family<Labels, Gauge<f64, AtomicU64>>,
    memory: Family<Labels, Gauge>,
    /// OOM kills seen in the event stream.
    pub oom_kills: Counter,
    connected: Gauge,
    /// Failed runtime calls, by operation.
    pub errors: Family<Labels, Counter>,
    snapshots: Gauge,
    /// Times the supervisor restarted the managed containerd.
    pub supervisor_restarts: Counter,
    /// Restarts made by restart policies.
    pub container_restarts: Counter,
    /// Times the event stream broke and was subscribed again.
    pub event_resubscriptions: Counter,
    connections: Gauge,
    health: Family<Labels, Gauge>,
    /// One scrape at a time (the per-container families are cleared and refilled).
    scrape: tokio::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Register every metric under its documented name.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let buckets = || Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let m = Metrics {
            pull_duration: buckets(),
            create_duration: buckets(),
            start_duration: buckets(),
            running: Gauge::default(),
            cpu: Family::default(),
            memory: Family::default(),
            oom_kills: Counter::default(),
            connected: Gauge::default(),
            errors: Family::default(),
            snapshots: Gauge::default(),
            supervisor_restarts: Counter::default(),
            container_restarts: Counter::default(),
            event_resubscriptions: Counter::default(),
            connections: Gauge::default(),
            health: Family::default(),
            registry: Registry::default(),
            scrape: tokio::sync::Mutex::new(()),
        };
        registry.register_with_unit(
            "runtime_image_pull_duration",
            "Time to pull an image",
            Unit::Seconds,
            m.pull_duration.clone(),
        );
        registry.register_with_unit(
            "runtime_container_create_duration",
            "Time to create a container",
            Unit::Seconds,
            m.create_duration.clone(),
        );
        registry.register_with_unit(
            "runtime_container_start_duration",
            "Time to start a container",
            Unit::Seconds,
            m.start_duration.clone(),
        );
        registry.register(
            "runtime_containers_running",
            "Containers whose process runs",
            m.running.clone(),
        );
        registry.register_with_unit(
            "runtime_container_cpu_usage",
            "CPU time a running container has used",
            Unit::Seconds,
            m.cpu.clone(),
        );
        registry.register_with_unit(
            "runtime_container_memory_usage",
            "Memory a running container uses",
            Unit::Bytes,
            m.memory.clone(),
        );
        registry.register(
            "runtime_oom_kills",
            "Containers the kernel's OOM killer acted in",
            m.oom_kills.clone(),
        );
        registry.register(
            "runtime_containerd_connected",
            "1 when containerd answers",
            m.connected.clone(),
        );
        registry.register(
            "runtime_containerd_errors",
            "Failed runtime operations, by operation",
            m.errors.clone(),
        );
        registry.register(
            "runtime_containerd_snapshots_total",
            "Snapshots in the namespace's snapshotter",
            m.snapshots.clone(),
        );
        registry.register(
            "warrend_supervisor_restarts",
            "Times the managed containerd was restarted after it died",
            m.supervisor_restarts.clone(),
        );
        registry.register(
            "warrend_container_restarts",
            "Containers restarted by their restart policy",
            m.container_restarts.clone(),
        );
        registry.register(
            "warrend_event_resubscriptions",
            "Times containerd's event stream broke and was subscribed again (exits are then reconciled)",
            m.event_resubscriptions.clone(),
        );
        registry.register(
            "warrend_containerd_connections",
            "Connections the runtime opened to containerd: 1 while the first one holds",
            m.connections.clone(),
        );
        registry.register(
            "warrend_container_health_status",
            "1 for a checked container's current health status (starting, healthy, unhealthy), 0 for the others",
            m.health.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Count a failed operation.
    pub fn error(&self, op: &str) {
        self.errors
            .get_or_create(&vec![("op".to_string(), op.to_string())])
            .inc();
    }

    /// Collect the gauges and render everything in the OpenMetrics text format.
    pub async fn render(&self, daemon: &Daemon) -> String {
        let _one = self.scrape.lock().await;
        self.collect(daemon).await;
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "could not encode the metrics");
        }
        out
    }

    async fn collect(&self, daemon: &Daemon) {
        let up = tokio::time::timeout(Duration::from_secs(2), daemon.rt.daemon_version())
            .await
            .is_ok_and(|r| r.is_ok());
        self.connected.set(up as i64);
        self.connections.set(daemon.rt.connections() as i64);
        self.cpu.clear();
        self.memory.clear();
        daemon.health.fill_metrics(&self.health);
        if !up {
            return;
        }
        let list = match daemon.rt.list_containers().await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "metrics: listing containers failed");
                return;
            }
        };
        let running: Vec<_> = list
            .into_iter()
            .filter(|c| c.status.state == ContainerState::Running)
            .collect();
        self.running.set(running.len() as i64);
        let stats =
            futures::future::join_all(running.iter().map(|c| daemon.rt.container_metrics(&c.id)))
                .await;
        for (c, s) in running.iter().zip(stats) {
            let Ok(s) = s else { continue };
            let labels = vec![("container".to_string(), c.id.clone())];
            self.cpu
                .get_or_create(&labels)
                .set(s.cpu_usage_ns as f64 / 1e9);
            self.memory
                .get_or_create(&labels)
                .set(s.memory_usage_bytes as i64);
        }
        if let Some(n) = snapshot_count(daemon).await {
            self.snapshots.set(n as i64);
        }
    }
}

/// How many snapshots the runtime's snapshotter holds in the namespace.
async fn snapshot_count(daemon: &Daemon) -> Option<usize> {
    daemon.rt.snapshot_count().await.ok()
}
