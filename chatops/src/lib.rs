//! chatops: incident notifications for chat tools (a later issue builds them).
//!
//! Like every face it reads the read model (`opscope-model`) only: incident events and
//! snapshots arrive from the engine through channels.

pub use opscope_model::Snapshot;
