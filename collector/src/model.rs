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
    /// A RabbitMQ (or other broker) queue, or a JetStream stream.
    Queue,
    /// A message broker server (a NATS server).
    Broker,
    /// A database or cache server (PostgreSQL, Redis), named `<system>@<address>`.
    Datastore,
    /// A consumer whose workload is not known: a Kafka consumer group, a JetStream durable
    /// consumer, a RabbitMQ client connection (by its client-provided name).
    ConsumerGroup,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Workload => "workload",
            EntityKind::Pod => "pod",
            EntityKind::Node => "node",
            EntityKind::Topic => "topic",
            EntityKind::Queue => "queue",
            EntityKind::Broker => "broker",
            EntityKind::Datastore => "datastore",
            EntityKind::ConsumerGroup => "consumer_group",
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
    /// `produces` / `consumes`: messages waiting behind this edge (queue depth, the consumer
    /// group's lag, a JetStream consumer's pending count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<f64>,
    /// How fast [`Self::backlog`] grew over the rate window, messages per second (negative
    /// when it drains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog_growth_per_s: Option<f64>,
}

impl Edge {
    /// An edge without traffic figures.
    pub fn new(kind: EdgeKind, from: EntityId, to: EntityId) -> Self {
        Self {
            from,
            to,
            kind,
            rate_per_s: None,
            error_ratio: None,
            p99_ms: None,
            backlog: None,
            backlog_growth_per_s: None,
        }
    }
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
    /// 99th percentile latency of requests into the workload as its callers see it
    /// (client-side, so it includes the network), milliseconds.
    CallerLatencyP99,
    /// Fraction of CPU scheduling periods in which the workload's containers were throttled at
    /// their limit (the worst pod), 0..=1.
    CpuThrottled,
    /// Containers of the workload waiting to start (CrashLoopBackOff, ImagePullBackOff, ...).
    ContainersWaiting,
    /// Messages delivered to consumers and not yet acknowledged (RabbitMQ unacked, JetStream
    /// ack pending).
    MessagesUnacked,
    /// Consumers attached to a queue or stream.
    Consumers,
    /// Messages published into a queue, topic, stream or broker per second.
    PublishRate,
    /// Messages delivered to consumers per second.
    DeliverRate,
    /// Partitions of a topic (or a broker's) with fewer in-sync replicas than replicas.
    UnderReplicatedPartitions,
    /// Client connections of a broker or datastore.
    Connections,
    /// Commands processed per second (Redis).
    OpsRate,
    /// Transactions (commits and rollbacks) per second (PostgreSQL).
    TransactionRate,
    /// Replication lag of a datastore's replicas, seconds (the worst replica).
    ReplicationLag,
    /// 1 when the exporter cannot reach its datastore (`redis_up` / `pg_up` is 0).
    ServiceDown,
}

impl SignalKind {
    pub const ALL: [SignalKind; 24] = [
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
        SignalKind::CallerLatencyP99,
        SignalKind::CpuThrottled,
        SignalKind::ContainersWaiting,
        SignalKind::MessagesUnacked,
        SignalKind::Consumers,
        SignalKind::PublishRate,
        SignalKind::DeliverRate,
        SignalKind::UnderReplicatedPartitions,
        SignalKind::Connections,
        SignalKind::OpsRate,
        SignalKind::TransactionRate,
        SignalKind::ReplicationLag,
        SignalKind::ServiceDown,
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
            SignalKind::CallerLatencyP99 => "latency p99 seen by callers",
            SignalKind::CpuThrottled => "CPU throttling",
            SignalKind::ContainersWaiting => "containers waiting",
            SignalKind::MessagesUnacked => "messages unacked",
            SignalKind::Consumers => "consumers",
            SignalKind::PublishRate => "messages in",
            SignalKind::DeliverRate => "messages out",
            SignalKind::UnderReplicatedPartitions => "under-replicated partitions",
            SignalKind::Connections => "connections",
            SignalKind::OpsRate => "operations",
            SignalKind::TransactionRate => "transactions",
            SignalKind::ReplicationLag => "replication lag",
            SignalKind::ServiceDown => "down",
        }
    }

    /// Unit suffix for display.
    pub fn unit(self) -> &'static str {
        match self {
            SignalKind::RequestRate => "req/s",
            SignalKind::ErrorRatio | SignalKind::NodeCpuBusy | SignalKind::CpuThrottled => "ratio",
            SignalKind::LatencyP99 | SignalKind::CallerLatencyP99 => "ms",
            SignalKind::CpuCores => "cores",
            SignalKind::MemoryBytes | SignalKind::NodeMemAvailable => "bytes",
            SignalKind::Restarts => "restarts",
            SignalKind::ReplicasUnavailable => "replicas",
            SignalKind::ContainersWaiting => "containers",
            SignalKind::ConsumerLag | SignalKind::QueueDepth | SignalKind::MessagesUnacked => {
                "messages"
            }
            SignalKind::Consumers => "consumers",
            SignalKind::PublishRate | SignalKind::DeliverRate => "msg/s",
            SignalKind::UnderReplicatedPartitions => "partitions",
            SignalKind::Connections => "connections",
            SignalKind::OpsRate => "ops/s",
            SignalKind::TransactionRate => "tx/s",
            SignalKind::ReplicationLag => "s",
            SignalKind::ServiceDown => "down",
        }
    }

    /// Format a value of this signal for people ("412 ms", "3.2%", "1.4 GiB").
    pub fn format_value(self, v: f64) -> String {
        if !v.is_finite() {
            return format!("{v}");
        }
        match self {
            SignalKind::ErrorRatio | SignalKind::NodeCpuBusy | SignalKind::CpuThrottled => {
                format!("{:.1}%", v * 100.0)
            }
            SignalKind::LatencyP99 | SignalKind::CallerLatencyP99 => {
                if v >= 1000.0 {
                    format!("{:.2} s", v / 1000.0)
                } else {
                    format!("{v:.0} ms")
                }
            }
            SignalKind::MemoryBytes | SignalKind::NodeMemAvailable => format_bytes(v),
            SignalKind::RequestRate => format!("{v:.1} req/s"),
            SignalKind::CpuCores => format!("{v:.2} cores"),
            SignalKind::Restarts
            | SignalKind::ReplicasUnavailable
            | SignalKind::ContainersWaiting => format!("{v:.0}"),
            SignalKind::ConsumerLag | SignalKind::QueueDepth | SignalKind::MessagesUnacked => {
                format!("{v:.0} msgs")
            }
            SignalKind::Consumers
            | SignalKind::UnderReplicatedPartitions
            | SignalKind::Connections => format!("{v:.0}"),
            SignalKind::PublishRate | SignalKind::DeliverRate => format!("{v:.1} msg/s"),
            SignalKind::OpsRate => format!("{v:.1} ops/s"),
            SignalKind::TransactionRate => format!("{v:.1} tx/s"),
            SignalKind::ReplicationLag => format!("{v:.1} s"),
            SignalKind::ServiceDown => String::from(if v > 0.5 { "down" } else { "up" }),
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

/// What changed in the platform: the things an operator asks about first ("did anyone deploy?").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChangeKind {
    /// A new revision of a Deployment began rolling out (a new ReplicaSet).
    Rollout {
        /// The ReplicaSet it replaces, if known.
        from_revision: Option<String>,
        /// The new ReplicaSet.
        to_revision: String,
        /// Container image(s) of the new revision, if known.
        image: Option<String>,
    },
    /// Desired replicas changed.
    Scale { from: i64, to: i64 },
    /// A deploy marked by an external tool (CI/CD, GitOps) through the annotations API.
    Annotation { text: String },
    /// A container terminated and was restarted (its last termination, from the pod status).
    Restart {
        pod: String,
        container: String,
        /// Why it terminated (`OOMKilled`, `Error`, ...).
        reason: String,
    },
    /// A Kubernetes Warning event (`BackOff`, `OOMKilling`, `FailedScheduling`,
    /// `Unhealthy`, ...).
    Warning {
        /// The object it is about, `kind/name` (`pod/cartservice-...`, `node/node-a`).
        object: String,
        reason: String,
        message: String,
    },
}

impl ChangeKind {
    /// A deploy: a new revision rolled out, or one marked by a deploy tool. Only these count
    /// as "something was deployed just before" in root-cause ranking and remediation.
    pub fn is_deploy(&self) -> bool {
        matches!(
            self,
            ChangeKind::Rollout { .. } | ChangeKind::Annotation { .. }
        )
    }
}

/// One change event on an entity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// When it happened, Unix ms.
    pub ts_ms: i64,
    pub entity: EntityId,
    pub kind: ChangeKind,
}

impl ChangeEvent {
    /// One line for people: "rollout cartservice-7f9c -> cartservice-5b2d (image shop/cart:v1.5.0)".
    pub fn describe(&self) -> String {
        match &self.kind {
            ChangeKind::Rollout {
                from_revision,
                to_revision,
                image,
            } => {
                let mut s = match from_revision {
                    Some(f) => format!("rollout {f} -> {to_revision}"),
                    None => format!("rollout of {to_revision}"),
                };
                if let Some(i) = image {
                    s.push_str(&format!(" (image {i})"));
                }
                s
            }
            ChangeKind::Scale { from, to } => format!("scaled {from} -> {to} replicas"),
            ChangeKind::Annotation { text } => format!("deploy marked: {text}"),
            ChangeKind::Restart {
                pod,
                container,
                reason,
            } => format!("container {container} of {pod} restarted ({reason})"),
            ChangeKind::Warning {
                object,
                reason,
                message,
            } => {
                if message.is_empty() {
                    format!("warning {reason} on {object}")
                } else {
                    format!("warning {reason} on {object}: {message}")
                }
            }
        }
    }
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

/// The collector's own figures (its self-metrics): memory bounds and what they refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectorStats {
    /// Series held in the frames now.
    pub series: usize,
    /// The series limit (`limits.max_series`).
    pub max_series: usize,
    /// Samples of new series dropped because the series limit was reached, since the start.
    pub dropped_samples_total: u64,
    /// The per-target sample limit (`limits.samples_per_target`).
    pub samples_per_target: usize,
    /// Collections refused whole because a target sent more samples than that, since the start.
    pub over_sample_limit_total: u64,
    /// Approximate bytes held by the frames.
    pub frame_bytes: usize,
}

/// Requests a workload received during one rate window (increase of the mesh request counter),
/// for SLOs: exact counts rather than rate x ratio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// All requests.
    pub total: f64,
    /// Requests answered 5xx.
    pub errors: f64,
}

/// Increase of a request-duration histogram during one rate window: `counts[i]` requests took
/// at most `bounds_ms[i]` (cumulative, bounds ascending, the last bound is `+Inf`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistogramDelta {
    pub bounds_ms: Vec<f64>,
    pub counts: Vec<f64>,
}

impl HistogramDelta {
    /// All observations (the `+Inf` bucket); 0 without one.
    pub fn total(&self) -> f64 {
        match (self.bounds_ms.last(), self.counts.last()) {
            (Some(b), Some(&c)) if b.is_infinite() && c.is_finite() => c.max(0.0),
            _ => 0.0,
        }
    }

    /// Estimated observations slower than `threshold_ms`: linear interpolation inside the
    /// bucket that holds the threshold (as `histogram_quantile` does), everything above the
    /// highest finite bound counted as slower. `None` without an `+Inf` bucket.
    pub fn slower_than(&self, threshold_ms: f64) -> Option<f64> {
        if self.bounds_ms.len() != self.counts.len()
            || !self.bounds_ms.last().is_some_and(|b| b.is_infinite())
        {
            return None;
        }
        let total = self.total();
        let mut prev = (0.0_f64, 0.0_f64);
        for (&le, &count) in self.bounds_ms.iter().zip(&self.counts) {
            let count = if count.is_finite() {
                count.max(prev.1)
            } else {
                prev.1
            };
            if threshold_ms <= le {
                let at_most = if le.is_infinite() || le <= prev.0 {
                    prev.1
                } else {
                    prev.1 + (count - prev.1) * (threshold_ms - prev.0).max(0.0) / (le - prev.0)
                };
                return Some((total - at_most).max(0.0));
            }
            prev = (le, count);
        }
        Some((total - prev.1).max(0.0))
    }
}

#[cfg(test)]
mod histogram_delta_tests {
    use super::HistogramDelta;

    #[test]
    fn slower_than_interpolates_within_the_bucket() {
        // 100 requests: 50 <= 100 ms, 90 <= 200 ms, 100 <= 400 ms.
        let h = HistogramDelta {
            bounds_ms: vec![100.0, 200.0, 400.0, f64::INFINITY],
            counts: vec![50.0, 90.0, 100.0, 100.0],
        };
        assert_eq!(h.total(), 100.0);
        assert_eq!(h.slower_than(100.0), Some(50.0));
        // 150 ms is halfway through (100, 200]: 50 + 40 / 2 = 70 at most -> 30 slower.
        assert_eq!(h.slower_than(150.0), Some(30.0));
        assert_eq!(h.slower_than(400.0), Some(0.0));
        assert_eq!(h.slower_than(1000.0), Some(0.0));
        // Below the first bound: interpolated from 0.
        assert_eq!(h.slower_than(50.0), Some(75.0));
        let no_inf = HistogramDelta {
            bounds_ms: vec![100.0],
            counts: vec![5.0],
        };
        assert_eq!(no_inf.slower_than(10.0), None);
    }
}
