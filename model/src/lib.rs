//! opscope-model: the read model every face renders.

pub mod replay;

pub use replay::{ReplayCommand, ReplayStatus};
