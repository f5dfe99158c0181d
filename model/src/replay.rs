//! Replay of a recording: what a face asks of it and where it stands.

use serde::{Deserialize, Serialize};

/// What the operator asked of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "command", content = "value")]
pub enum ReplayCommand {
    /// Pause, or resume when paused.
    TogglePause,
    /// Multiply the speed by this factor (2.0 faster, 0.5 slower).
    Speed(f64),
    /// Move the position by this many milliseconds (negative: back).
    Seek(i64),
}

/// Where a replay stands.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayStatus {
    /// Time of the recording's first cycle, Unix ms.
    pub start_ms: i64,
    /// Time of its last cycle, Unix ms.
    pub end_ms: i64,
    /// Time of the cycle on screen, Unix ms.
    pub position_ms: i64,
    /// Recorded time per wall-clock time.
    pub speed: f64,
    /// Paused by the operator.
    pub paused: bool,
    /// The last cycle has been played.
    pub finished: bool,
}
