//! Findings: anomalies, incidents, their causes with evidence, and remediation.

use crate::{ChangeEvent, EntityId, Point, SignalKey, SignalKind};
use serde::{Deserialize, Serialize};

/// Health of an entity, worst last. Colours and symbols for it live in the UIs' style tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

/// A signal that left its normal range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// One fact behind a cause, as values: faces put it into words (`opscope-layout`), each in its
/// own markup and, later, language. `entity`, where a variant has it, is another member of the
/// incident than the cause itself (`None`: the cause).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Evidence {
    /// A signal left its normal range: from `baseline` to `current` (in the signal's unit)
    /// since `since_ms`. "latency p99 x20.8 (24 ms -> 496 ms) since 12:03:10".
    Deviation {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entity: Option<EntityId>,
        signal: SignalKind,
        direction: Direction,
        baseline: f64,
        current: f64,
        /// Unix ms the deviation began.
        since_ms: i64,
    },
    /// A static-threshold rule or SLO burn-rate alert fires; `alert` is what fired.
    AlertFiring {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entity: Option<EntityId>,
        alert: String,
    },
    /// A deploy (rollout or marked deploy) on the cause, `before_onset_ms` before its first
    /// anomaly (negative: after it).
    Change {
        change: ChangeEvent,
        before_onset_ms: i64,
    },
    /// Its last container termination (`OOMKilled`, `Error`, ...).
    Terminated { reason: String },
    /// Its signals taken together are unlike the last hour's normal mix: `distance_ratio`
    /// times the usual k-means distance.
    UnusualMix { distance_ratio: f64 },
    /// Containers wait to start (`CrashLoopBackOff`, `ImagePullBackOff`, ...).
    ContainersWaiting { reason: String },
    /// Callers wait longer while it serves in `latency_p99_ms` itself: the delay is on the way
    /// to it (network).
    ServesFastItself { latency_p99_ms: f64 },
    /// A node: degraded workloads run on it.
    DegradedWorkloadsOnNode { workloads: Vec<EntityId> },
    /// Its callers are degraded too.
    CallersDegraded { callers: Vec<EntityId> },
    /// It began `lead_ms` before its first degraded caller.
    BeganBeforeCallers { lead_ms: i64 },
    /// A consumer that backs up still consumes `rate_per_s` messages per second from `from`.
    Consumes { from: EntityId, rate_per_s: f64 },
    /// It calls no other service: the problem starts here.
    CallsNothing,
    /// Its dependencies are healthy.
    DependenciesHealthy { dependencies: Vec<EntityId> },
    /// It depends on degraded entities.
    DependsOnDegraded { dependencies: Vec<EntityId> },
}

/// A likely root cause of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// A timeline entry of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub ts_ms: i64,
    pub text: String,
}

/// Anomalies that belong together: connected in the topology and close in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Remediation {
    /// What to do and why, as values; faces word it (`opscope-layout`).
    pub action: Action,
    /// The command to run, if one fits (e.g. `kubectl rollout undo deployment/x -n shop`).
    pub command: Option<String>,
}

/// What a remediation does, with the facts that make it fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Action {
    /// Cordon and drain a saturated node.
    MoveWorkOffNode { node: EntityId },
    /// Roll back a workload whose rollout came `before_onset_ms` before the first anomaly.
    RollBack {
        workload: EntityId,
        change: ChangeEvent,
        before_onset_ms: i64,
    },
    /// Revert a deploy marked by a deploy tool `before_onset_ms` before the first anomaly.
    RevertDeploy {
        workload: EntityId,
        note: String,
        before_onset_ms: i64,
    },
    /// Read why its containers cannot start (they wait in `reason`).
    ReadWhyWaiting { workload: EntityId, reason: String },
    /// Give it more memory, then find the leak; `terminated` is the termination reason, if any.
    MoreMemory {
        workload: EntityId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminated: Option<String>,
    },
    /// Scale out: CPU is at its limit.
    ScaleOut { workload: EntityId },
    /// Restart or scale the consumers: messages pile up.
    RestartConsumers { workload: EntityId },
    /// Check the network path to it.
    CheckNetwork { workload: EntityId },
    /// Read its logs and recent errors: it degrades while its dependencies are healthy.
    ReadLogs { workload: EntityId },
}
