//! Replay controls: the console sends commands to whatever drives a recorded run and shows its
//! position. The console only asks; the driver (the `opscope` binary) moves the engine.

use tokio::sync::{mpsc, watch};

/// What the operator asked of a replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplayCommand {
    /// Pause, or resume when paused.
    TogglePause,
    /// Multiply the speed by this factor (2.0 faster, 0.5 slower).
    Speed(f64),
    /// Move the position by this many milliseconds (negative: back).
    Seek(i64),
}

/// Where a replay stands.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
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

/// The console's end of a replay: commands out, status in.
#[derive(Debug, Clone)]
pub struct ReplayControls {
    /// Where the console sends what the operator asks.
    pub commands: mpsc::UnboundedSender<ReplayCommand>,
    /// The driver's position and state.
    pub status: watch::Receiver<ReplayStatus>,
}
