//! Replay controls: the console sends commands to whatever drives a recorded run and shows its
//! position. The console only asks; the driver (the `opscope` binary) moves the engine.

use tokio::sync::{mpsc, watch};

pub use opscope_model::{ReplayCommand, ReplayStatus};

/// The console's end of a replay: commands out, status in.
#[derive(Debug, Clone)]
pub struct ReplayControls {
    /// Where the console sends what the operator asks.
    pub commands: mpsc::UnboundedSender<ReplayCommand>,
    /// The driver's position and state.
    pub status: watch::Receiver<ReplayStatus>,
}
