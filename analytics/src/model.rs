//! Findings and the published read model (`Snapshot`) that every UI renders: the types live in
//! `opscope-model`; this module names them where analytics always has.

pub use opscope_model::{
    Action, Anomaly, Cause, Direction, EdgeHealth, EntityHealth, Evidence, Health, Incident,
    IncidentStatus, Remediation, SCHEMA_VERSION, Severity, Snapshot, TimelineEntry,
};
