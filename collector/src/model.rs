//! The collector's vocabulary: entities, edges, topology and signals.
//!
//! Everything analytics and the UIs need to know about the observed platform is expressed in
//! these types, never in raw metric names.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A Deployment/StatefulSet/DaemonSet (the unit a mesh reports as `workload`).
    Workload,
    Pod,
    Node,
    /// A Kafka topic.
    Topic,
    /// A RabbitMQ (or other broker) queue.
    Queue,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Workload => "workload",
            EntityKind::Pod => "pod",
            EntityKind::Node => "node",
            EntityKind::Topic => "topic",
            EntityKind::Queue => "queue",
        }
    }
}

/// Identity of an entity. `namespace` is empty for cluster-scoped things (nodes, topics).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityId {
    pub kind: EntityKind,
    pub namespace: String,
    pub name: String,
}

impl EntityId {
    pub fn new(kind: EntityKind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }
    pub fn workload(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(EntityKind::Workload, namespace, name)
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind.as_str(), self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind.as_str(), self.namespace, self.name)
        }
    }
}

/// How two entities are related.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Request traffic seen by the mesh: source workload -> destination workload.
    Calls,
    /// pod -> node.
    RunsOn,
    /// workload -> pod.
    Owns,
    /// workload -> topic/queue.
    Produces,
    /// workload -> topic/queue (the consumer is the edge's `from`).
    Consumes,
}

/// A directed relation, with traffic figures where the kind has them (`calls`, and the
/// message rate on `produces` / `consumes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub from: EntityId,
    pub to: EntityId,
    pub kind: EdgeKind,
    /// Requests (or messages) per second over the newest rate window.
    pub rate_per_s: Option<f64>,
    /// Fraction of requests answered 5xx, 0..=1.
    pub error_ratio: Option<f64>,
    /// 99th percentile latency seen by the caller, milliseconds.
    pub p99_ms: Option<f64>,
}

/// The observed platform at one moment: entities and their relations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// Sorted, unique.
    pub entities: Vec<EntityId>,
    /// Sorted by (kind, from, to), unique per (kind, from, to).
    pub edges: Vec<Edge>,
}

/// A derived per-entity time series. Analytics works on these, never on metric names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// Requests received per second (mesh, reporter=destination).
    RequestRate,
    /// Fraction of received requests answered 5xx, 0..=1.
    ErrorRatio,
    /// 99th percentile server-side latency, milliseconds.
    LatencyP99,
    /// CPU used, cores.
    CpuCores,
    /// Memory working set, bytes (sum over the workload's pods).
    MemoryBytes,
    /// Container restarts during the rate window (count).
    Restarts,
    /// Desired replicas minus available replicas.
    ReplicasUnavailable,
    /// Consumer-group lag, messages (sum over partitions).
    ConsumerLag,
    /// Messages ready in a queue.
    QueueDepth,
    /// Node CPU busy fraction, 0..=1.
    NodeCpuBusy,
    /// Node memory available, bytes.
    NodeMemAvailable,
}

impl SignalKind {
    pub const ALL: [SignalKind; 11] = [
        SignalKind::RequestRate,
        SignalKind::ErrorRatio,
        SignalKind::LatencyP99,
        SignalKind::CpuCores,
        SignalKind::MemoryBytes,
        SignalKind::Restarts,
        SignalKind::ReplicasUnavailable,
        SignalKind::ConsumerLag,
        SignalKind::QueueDepth,
        SignalKind::NodeCpuBusy,
        SignalKind::NodeMemAvailable,
    ];

    /// Short human name, as shown in UIs and evidence.
    pub fn label(self) -> &'static str {
        match self {
            SignalKind::RequestRate => "request rate",
            SignalKind::ErrorRatio => "error ratio",
            SignalKind::LatencyP99 => "latency p99",
            SignalKind::CpuCores => "CPU",
            SignalKind::MemoryBytes => "memory",
            SignalKind::Restarts => "restarts",
            SignalKind::ReplicasUnavailable => "replicas unavailable",
            SignalKind::ConsumerLag => "consumer lag",
            SignalKind::QueueDepth => "queue depth",
            SignalKind::NodeCpuBusy => "node CPU busy",
            SignalKind::NodeMemAvailable => "node memory available",
        }
    }

    /// Unit suffix for display.
    pub fn unit(self) -> &'static str {
        match self {
            SignalKind::RequestRate => "req/s",
            SignalKind::ErrorRatio | SignalKind::NodeCpuBusy => "ratio",
            SignalKind::LatencyP99 => "ms",
            SignalKind::CpuCores => "cores",
            SignalKind::MemoryBytes | SignalKind::NodeMemAvailable => "bytes",
            SignalKind::Restarts => "restarts",
            SignalKind::ReplicasUnavailable => "replicas",
            SignalKind::ConsumerLag | SignalKind::QueueDepth => "messages",
        }
    }

    /// Format a value of this signal for people ("412 ms", "3.2%", "1.4 GiB").
    pub fn format_value(self, v: f64) -> String {
        if !v.is_finite() {
            return format!("{v}");
        }
        match self {
            SignalKind::ErrorRatio | SignalKind::NodeCpuBusy => format!("{:.1}%", v * 100.0),
            SignalKind::LatencyP99 => {
                if v >= 1000.0 {
                    format!("{:.2} s", v / 1000.0)
                } else {
                    format!("{v:.0} ms")
                }
            }
            SignalKind::MemoryBytes | SignalKind::NodeMemAvailable => format_bytes(v),
            SignalKind::RequestRate => format!("{v:.1} req/s"),
            SignalKind::CpuCores => format!("{v:.2} cores"),
            SignalKind::Restarts | SignalKind::ReplicasUnavailable => format!("{v:.0}"),
            SignalKind::ConsumerLag | SignalKind::QueueDepth => format!("{v:.0} msgs"),
        }
    }
}

/// Bytes in binary units, one decimal.
pub fn format_bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = v.abs();
    let mut i = 0;
    while x >= 1024.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}{x:.1} {}", UNITS[i])
}

/// Which signal of which entity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SignalKey {
    pub entity: EntityId,
    pub kind: SignalKind,
}

/// One value of a signal. `ts_ms` is Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub ts_ms: i64,
    pub value: f64,
}

/// Freshness of one configured source, as shown to the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// The URL or name of the source.
    pub name: String,
    /// Unix ms of the last successful collection, if any.
    pub last_success_ms: Option<i64>,
    /// True when the last attempt failed or timed out.
    pub stale: bool,
    /// The last error in plain words.
    pub last_error: Option<String>,
    /// Samples taken in the last successful collection.
    pub samples: usize,
    /// Duration of the last attempt, milliseconds.
    pub duration_ms: u64,
}
