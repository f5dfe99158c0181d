//! Signals: derived per-entity time series, with units.

use crate::EntityId;
use serde::{Deserialize, Serialize};

/// A derived per-entity time series. Analytics works on these, never on metric names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
}

/// Which signal of which entity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignalKey {
    pub entity: EntityId,
    pub kind: SignalKind,
}

/// One value of a signal. `ts_ms` is Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    pub ts_ms: i64,
    pub value: f64,
}

/// What a face asks for when it charts a signal over time: answered by whoever keeps the
/// history (the web server's snapshot history today; the engine's frames may answer it later).
/// Plain data in, plain data out.
pub trait SignalHistory: Send + Sync {
    /// The points of `entity`'s `kind` from `from_ms` to `to_ms` (inclusive), oldest first;
    /// `None` when the series is unknown.
    fn range(
        &self,
        entity: &EntityId,
        kind: SignalKind,
        from_ms: i64,
        to_ms: i64,
    ) -> Option<Vec<Point>>;
    /// The anomaly scores in [0, 1] of that signal over the range, oldest first (empty when
    /// none are kept).
    fn scores(&self, entity: &EntityId, kind: SignalKind, from_ms: i64, to_ms: i64) -> Vec<Point>;
    /// Every entity with the signal kinds kept for it, sorted.
    fn catalog(&self) -> Vec<(EntityId, Vec<SignalKind>)>;
}
