//! opscope: the binary's library half — the accuracy evaluation (simulator scenarios, NAB,
//! RCAEval, per-entity) — so that end-to-end tests drive exactly what the CLI runs.
//!
//! The engine itself (collect -> frames -> signals -> detect -> incidents -> causes, one
//! immutable [`analytics::model::Snapshot`] per cycle on a `tokio::sync::watch` channel), the
//! source registry and record/replay live in the `opscope-engine` crate.

pub mod entity;
pub mod eval;
pub mod rcaeval;
