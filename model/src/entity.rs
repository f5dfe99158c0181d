//! Entities, their relations and the topology.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Topology {
    /// Sorted, unique.
    pub entities: Vec<EntityId>,
    /// Sorted by (kind, from, to), unique per (kind, from, to).
    pub edges: Vec<Edge>,
}
