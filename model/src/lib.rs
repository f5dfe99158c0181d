//! opscope-model: the read model every face renders.
//!
//! Plain data with serde and nothing else, so that the terminal UI, the web UI (compiled to
//! `wasm32-unknown-unknown`), the chat notifiers and the JSON API all read one contract:
//! identities and topology ([`entity`]), signal kinds with their units ([`signal`]), change
//! events ([`change`]), findings ([`incident`]: anomalies, incidents, causes with structured
//! evidence, remediation), alerts and SLOs ([`alert`]), source freshness ([`source`]), replay
//! commands ([`replay`]), incident events for subscribers such as ChatOps ([`event`]) and the
//! [`Snapshot`] that holds them all, published after every engine cycle. Words for people are
//! made from these values by `opscope-layout`, never stored here.
//!
//! ```
//! use opscope_model::{Snapshot, SCHEMA_VERSION};
//! let doc = serde_json::to_value(Snapshot::default()).unwrap();
//! assert_eq!(doc["version"], SCHEMA_VERSION);
//! ```

pub mod alert;
pub mod change;
pub mod entity;
pub mod event;
pub mod incident;
pub mod replay;
pub mod signal;
pub mod snapshot;
pub mod source;

pub use alert::{
    Alert, AlertState, BurnAlert, BurnAlertState, BurnSeverity, Objective, Op, RuleSeverity,
    SloStatus, WindowBurn,
};
pub use change::{ChangeEvent, ChangeKind};
pub use entity::{Edge, EdgeKind, EntityId, EntityKind, Topology};
pub use event::IncidentEvent;
pub use incident::{
    Action, Anomaly, Cause, Direction, Evidence, Health, Incident, IncidentStatus, Remediation,
    Severity, TimelineEntry,
};
pub use replay::{ReplayCommand, ReplayStatus};
pub use signal::{Point, SignalHistory, SignalKey, SignalKind};
pub use snapshot::{EdgeHealth, EntityHealth, SCHEMA_VERSION, Snapshot};
pub use source::{CollectorStats, SourceStatus};
