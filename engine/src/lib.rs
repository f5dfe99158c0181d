//! opscope-engine: where the pipeline is assembled.
//!
//! - [`engine`]: the [`Engine`] (collector + analyzer, stepped one cycle at a time) and its
//!   settings.
//! - [`cycles`]: the one engine loop ([`cycles::drive`]) that `run`, `tui`, `record`,
//!   `snapshot` and replay share, each with its own [`cycles::Driver`]; [`run`] is the live one
//!   (wall clock, snapshots on a watch channel).
//! - [`sources`]: the source registry: what a command asks for, resolved against the
//!   configuration, and the engine built on it.
//! - [`replay`]: a recording played back through a fresh engine, with pause, speed and seek.
//! - [`incidents`]: incident events (opened, updated, escalated, resolved) derived from
//!   consecutive snapshots ([`incidents::incident_events`]) and sent by the engine loop to
//!   [`Engine::subscribe_incidents`]'s subscribers (ChatOps).
//!
//! The engine knows no face: it publishes an immutable [`analytics::model::Snapshot`] per cycle
//! on a `tokio::sync::watch` channel, and replay is steered through plain channels of
//! [`opscope_model::ReplayCommand`] and [`opscope_model::ReplayStatus`].

pub mod cycles;
pub mod engine;
pub mod incidents;
pub mod replay;
pub mod sources;

pub use cycles::run;
pub use engine::{Engine, EngineConfig, EngineError, WARM_START, wall_ms};
pub use incidents::{IncidentEvent, incident_events};
