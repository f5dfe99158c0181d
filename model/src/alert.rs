//! Alerts of static-threshold rules and SLO burn rates, and SLO status.

use crate::{EntityId, SignalKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Comparison of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    /// `value <op> threshold`; false for NaN.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
        }
    }
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

/// Severity of a static-threshold rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleSeverity {
    Info,
    #[default]
    Warning,
    Critical,
}

/// How urgent a burn-rate alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BurnSeverity {
    /// Wake someone up.
    Page,
    /// Look at it during working hours.
    Ticket,
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds, not yet for `for`.
    Pending,
    /// The condition has held for at least `for`.
    Firing,
    /// Was firing and no longer holds; reported in exactly one cycle.
    Resolved,
}

/// A static-threshold alert on one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// The rule's name.
    pub rule: String,
    pub entity: EntityId,
    pub signal: SignalKind,
    /// Newest value seen (for a resolved alert: the value that resolved it, or the last one
    /// seen when the data went missing).
    pub value: f64,
    pub op: Op,
    /// Threshold in the signal's unit (ms, bytes, ratio, ...).
    pub threshold: f64,
    pub severity: RuleSeverity,
    pub labels: BTreeMap<String, String>,
    pub summary: Option<String>,
    /// Unix ms since the condition has held continuously.
    pub active_since_ms: i64,
    /// Unix ms the alert started firing, once it has.
    pub fired_at_ms: Option<i64>,
    /// Unix ms it resolved (only for `Resolved`).
    pub resolved_at_ms: Option<i64>,
    pub state: AlertState,
}

/// What an objective measures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Objective {
    /// Requests not answered 5xx.
    Availability,
    /// Requests at most `threshold_ms` long.
    Latency { threshold_ms: f64 },
}

/// The burn rate over one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowBurn {
    pub window_ms: i64,
    /// `None` without traffic in the window.
    pub burn_rate: Option<f64>,
    /// Events in the window.
    pub total: f64,
    /// Bad events in the window.
    pub bad: f64,
}

/// Whether a burn-rate alert is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BurnAlertState {
    Firing,
    /// Stopped firing in this cycle (reported once).
    Resolved,
}

/// A multiwindow burn-rate alert of one pair on one objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BurnAlert {
    pub service: String,
    pub namespace: Option<String>,
    pub objective: Objective,
    /// Target ratio of good events.
    pub target: f64,
    pub severity: BurnSeverity,
    pub factor: f64,
    pub long_window_ms: i64,
    pub short_window_ms: i64,
    /// Burn rates over the windows this cycle (`None` without traffic).
    pub long_burn: Option<f64>,
    pub short_burn: Option<f64>,
    /// Unix ms the pair started firing.
    pub since_ms: i64,
    pub state: BurnAlertState,
}

/// The state of one objective after a cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloStatus {
    pub service: String,
    pub namespace: Option<String>,
    pub objective: Objective,
    pub target: f64,
    /// Every distinct window of the burn-rate policy, shortest first.
    pub windows: Vec<WindowBurn>,
    pub period_ms: i64,
    /// Events and bad events seen over the period (as far as kept).
    pub period_total: f64,
    pub period_bad: f64,
    /// Share of the period's error budget left: 1 - (bad/total) / (1 - target). Negative when
    /// overspent; `None` without traffic.
    pub budget_remaining: Option<f64>,
}
