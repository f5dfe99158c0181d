//! Incident events: what the engine tells its subscribers (ChatOps) happened to an incident
//! between two cycles.

use serde::{Deserialize, Serialize};

use crate::{EntityId, Incident, Severity};

/// Something that happened to an incident between two snapshots. Each event carries the
/// incident's id and the incident as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum IncidentEvent {
    /// A new incident.
    Opened { id: u64, incident: Incident },
    /// The top cause's entity changed (or the first ranking arrived).
    Updated {
        id: u64,
        incident: Incident,
        /// The top cause's entity before, if there was one.
        previous_cause: Option<EntityId>,
    },
    /// The severity went up.
    Escalated {
        id: u64,
        incident: Incident,
        /// The severity before.
        from: Severity,
    },
    /// The incident is over (or was merged into another, which goes on).
    Resolved {
        id: u64,
        incident: Incident,
        /// From first seen to resolved, ms.
        duration_ms: i64,
    },
}

impl IncidentEvent {
    /// The incident's id.
    pub fn id(&self) -> u64 {
        match self {
            Self::Opened { id, .. }
            | Self::Updated { id, .. }
            | Self::Escalated { id, .. }
            | Self::Resolved { id, .. } => *id,
        }
    }

    /// The incident as it is now.
    pub fn incident(&self) -> &Incident {
        match self {
            Self::Opened { incident, .. }
            | Self::Updated { incident, .. }
            | Self::Escalated { incident, .. }
            | Self::Resolved { incident, .. } => incident,
        }
    }
}
