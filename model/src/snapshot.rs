//! The snapshot: the state published after each engine cycle, the one public JSON document.

use crate::{
    ChangeEvent, CollectorStats, EdgeKind, EntityId, Health, Incident, IncidentStatus, SignalKind,
    SourceStatus, Topology,
};
use serde::{Deserialize, Serialize};

/// Health of one entity with the signal values behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntityHealth {
    pub entity: EntityId,
    pub health: Health,
    /// Newest value of each signal the entity has, in the signal's unit. In JSON an object
    /// keyed by signal kind: `{"request_rate": 12.5, "latency_p99": 41.0}` (a value that is
    /// not a finite number is left out).
    #[serde(with = "signal_map")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = std::collections::BTreeMap<String, f64>)
    )]
    pub signals: Vec<(SignalKind, f64)>,
    /// Anomaly score in [0, 1] of each signal this cycle, from its detector (0 while it learns
    /// what is normal). In JSON an object keyed by signal kind, left out when empty.
    #[serde(default, with = "signal_map", skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = std::collections::BTreeMap<String, f64>)
    )]
    pub scores: Vec<(SignalKind, f64)>,
}

/// Health of a `produces` / `consumes` edge from the backlog behind it
/// (the analytics' backlog rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Version of the snapshot document ([`Snapshot::version`]). It changes only when a field is
/// removed, renamed or changes meaning; new optional fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// The immutable state published after each engine cycle: the one public JSON document, served
/// by `opscope snapshot --json` and `GET /api/v1/snapshot` alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// [`SCHEMA_VERSION`] of the document.
    #[serde(default = "schema_version")]
    pub version: u32,
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
    pub alerts: Vec<crate::Alert>,
    /// Every declared SLO's burn rates and error budget.
    #[serde(default)]
    pub slos: Vec<crate::SloStatus>,
    /// SLO burn-rate alerts firing now.
    #[serde(default)]
    pub burn_alerts: Vec<crate::BurnAlert>,
    /// The collector's self-metrics (series against the limit, samples refused).
    #[serde(default)]
    pub collector: crate::CollectorStats,
    /// Health of the `produces` / `consumes` edges that have a backlog.
    #[serde(default)]
    pub edge_health: Vec<EdgeHealth>,
    /// The detectors are still learning what is normal, until this time (Unix ms): a quiet
    /// console then means "not judged yet", not "healthy". Absent once they are warm (or warm
    /// started from a metrics server's history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_until_ms: Option<i64>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            version: SCHEMA_VERSION,
            cycle: 0,
            ts_ms: 0,
            topology: Topology::default(),
            entities: Vec::new(),
            incidents: Vec::new(),
            sources: Vec::new(),
            changes: Vec::new(),
            alerts: Vec::new(),
            slos: Vec::new(),
            burn_alerts: Vec::new(),
            collector: CollectorStats::default(),
            edge_health: Vec::new(),
            learning_until_ms: None,
        }
    }
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

/// `Vec<(SignalKind, f64)>` as a JSON object keyed by signal kind.
mod signal_map {
    use crate::SignalKind;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(v: &[(SignalKind, f64)], s: S) -> Result<S::Ok, S::Error> {
        let finite = v.iter().filter(|(_, x)| x.is_finite());
        let mut m = s.serialize_map(Some(finite.clone().count()))?;
        for (k, x) in finite {
            m.serialize_entry(k, x)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(SignalKind, f64)>, D::Error> {
        struct Signals;
        impl<'de> Visitor<'de> for Signals {
            type Value = Vec<(SignalKind, f64)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of signal kind to value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<SignalKind, Option<f64>>()? {
                    if let Some(v) = v {
                        out.push((k, v));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(Signals)
    }
}
