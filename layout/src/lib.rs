//! opscope-layout: what every face (terminal, browser, chat) shares below its own rendering.
//!
//! - [`graph`]: the layered layout of the topology, in abstract units (one unit is a character
//!   across and a line down): the terminal maps units to cells, the web UI to SVG pixels.
//! - [`format`]: values with units, clock times, durations, edge and SLO figures.
//! - [`phrase`]: the model's facts in words: change events, alerts, anomalies, a cause's
//!   evidence and a remediation ([`Describe`]).
//!
//! Depends on `opscope-model` only and builds for `wasm32-unknown-unknown`.
//!
//! ```
//! use opscope_layout::{Describe, format};
//! use opscope_model::{ChangeEvent, ChangeKind, EntityId, SignalKind};
//! assert_eq!(format::value(SignalKind::LatencyP99, 412.0), "412 ms");
//! let scaled = ChangeEvent {
//!     ts_ms: 0,
//!     entity: EntityId::workload("shop", "cartservice"),
//!     kind: ChangeKind::Scale { from: 2, to: 4 },
//! };
//! assert_eq!(scaled.describe(), "scaled 2 -> 4 replicas");
//! ```

pub mod format;
pub mod graph;
pub mod phrase;

pub use phrase::{Describe, FormatValue};
