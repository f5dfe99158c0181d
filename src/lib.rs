//! opscope: the binary's library half — the engine loop and the accuracy evaluation — so that
//! end-to-end tests drive exactly what the CLI runs.
//!
//! The engine runs collect -> frames -> signals -> detect -> incidents -> causes and publishes
//! an immutable [`analytics::model::Snapshot`] per cycle on a `tokio::sync::watch` channel.

pub mod engine;
pub mod eval;
pub mod rcaeval;
pub mod replay;
