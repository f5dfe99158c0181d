//! Findings and the published read model (`Snapshot`) that every UI renders.

use collector::model::{
    ChangeEvent, EdgeKind, EntityId, Point, SignalKey, SignalKind, SourceStatus, Topology,
};
use serde::{Deserialize, Serialize};

/// Health of an entity, worst last. Colours and symbols for it live in the UIs' style tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No data yet, or the source is stale.
    Unknown,
    Ok,
    Warning,
    Critical,
}

/// Which way a signal moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

/// A signal that left its normal range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub signal: SignalKey,
    /// Unix ms when the deviation began (may be earlier than detection).
    pub onset_ms: i64,
    /// Unix ms when the detector first fired.
    pub detected_ms: i64,
    /// Unix ms of the newest sample that was still anomalous.
    pub last_ms: i64,
    /// Anomaly score in [0, 1].
    pub score: f64,
    pub direction: Direction,
    /// Typical value before the onset.
    pub baseline: f64,
    /// Newest observed value.
    pub current: f64,
    /// For an alert from a rule or an SLO burn rate (not a detector): what fired, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// One sentence of evidence for a cause, in the operator's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub text: String,
}

/// A likely root cause of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    pub entity: EntityId,
    /// The signal that best shows the problem at this entity.
    pub signal: SignalKind,
    /// Ranking score; higher is more likely. Comparable within one incident only.
    pub score: f64,
    /// Confidence in [0, 1] that this is the root cause.
    pub confidence: f64,
    pub evidence: Vec<Evidence>,
    /// Recent values of `signal`, oldest first, for the chart.
    pub series: Vec<Point>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// A timeline entry of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub ts_ms: i64,
    pub text: String,
}

/// Anomalies that belong together: connected in the topology and close in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable, increasing id ("INC-7" is shown as `format!("INC-{id}")`).
    pub id: u64,
    pub status: IncidentStatus,
    pub severity: Severity,
    /// Short headline, e.g. "latency p99 up on checkoutservice and 3 more".
    pub title: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub resolved_ms: Option<i64>,
    pub anomalies: Vec<Anomaly>,
    /// Best first.
    pub causes: Vec<Cause>,
    /// Oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// What an operator could do about the top cause, best first. Shown, never executed.
    #[serde(default)]
    pub remediation: Vec<Remediation>,
}

/// A suggested action for an incident. opscope shows it; a person decides and runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    /// What to do, in a few words ("Roll back cartservice").
    pub title: String,
    /// Why this fits, from the evidence.
    pub why: String,
    /// The command to run, if one fits (e.g. `kubectl rollout undo deployment/x -n shop`).
    pub command: Option<String>,
}

/// Health of one entity with the signal values behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityHealth {
    pub entity: EntityId,
    pub health: Health,
    /// Newest value of each signal the entity has.
    pub signals: Vec<(SignalKind, f64)>,
}

/// Health of a `produces` / `consumes` edge from the backlog behind it
/// ([`crate::backlog::edge_health`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeHealth {
    pub from: EntityId,
    pub to: EntityId,
    pub kind: EdgeKind,
    pub health: Health,
    /// Why, in words: "backlog 120 msgs, +5.0 msg/s: growing while the consumer takes none".
    pub reason: String,
    /// Messages waiting.
    pub backlog: f64,
    /// Messages per second the backlog grew by over the rate window.
    pub growth_per_s: Option<f64>,
}

/// The immutable state published after each engine cycle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Engine cycle number, from 1.
    pub cycle: u64,
    /// Unix ms of the data this snapshot describes.
    pub ts_ms: i64,
    pub topology: Topology,
    /// Workloads, topics, queues and nodes, sorted by entity id.
    pub entities: Vec<EntityHealth>,
    /// Open incidents first (newest first), then recently resolved ones.
    pub incidents: Vec<Incident>,
    pub sources: Vec<SourceStatus>,
    /// Recent change events (rollouts, scaling, deploy annotations), oldest first.
    #[serde(default)]
    pub changes: Vec<ChangeEvent>,
    /// Static-threshold rule alerts, pending and firing.
    #[serde(default)]
    pub alerts: Vec<crate::rules::Alert>,
    /// Every declared SLO's burn rates and error budget.
    #[serde(default)]
    pub slos: Vec<crate::slo::SloStatus>,
    /// SLO burn-rate alerts firing now.
    #[serde(default)]
    pub burn_alerts: Vec<crate::slo::BurnAlert>,
    /// The collector's self-metrics (series against the limit, samples refused).
    #[serde(default)]
    pub collector: collector::model::CollectorStats,
    /// Health of the `produces` / `consumes` edges that have a backlog.
    #[serde(default)]
    pub edge_health: Vec<EdgeHealth>,
}

impl Snapshot {
    pub fn health_of(&self, id: &EntityId) -> Health {
        self.entities
            .iter()
            .find(|e| &e.entity == id)
            .map(|e| e.health)
            .unwrap_or(Health::Unknown)
    }
    pub fn open_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents
            .iter()
            .filter(|i| i.status == IncidentStatus::Open)
    }
}
