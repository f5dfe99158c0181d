//! Change events: rollouts, scaling, restarts, warnings, deploy annotations.

use crate::EntityId;
use serde::{Deserialize, Serialize};

/// What changed in the platform: the things an operator asks about first ("did anyone deploy?").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChangeKind {
    /// A new revision of a Deployment began rolling out (a new ReplicaSet).
    Rollout {
        /// The ReplicaSet it replaces, if known.
        from_revision: Option<String>,
        /// The new ReplicaSet.
        to_revision: String,
        /// Container image(s) of the new revision, if known.
        image: Option<String>,
    },
    /// Desired replicas changed.
    Scale { from: i64, to: i64 },
    /// A deploy marked by an external tool (CI/CD, GitOps) through the annotations API.
    Annotation { text: String },
    /// A container terminated and was restarted (its last termination, from the pod status).
    Restart {
        pod: String,
        container: String,
        /// Why it terminated (`OOMKilled`, `Error`, ...).
        reason: String,
    },
    /// A Kubernetes Warning event (`BackOff`, `OOMKilling`, `FailedScheduling`,
    /// `Unhealthy`, ...).
    Warning {
        /// The object it is about, `kind/name` (`pod/cartservice-...`, `node/node-a`).
        object: String,
        reason: String,
        message: String,
    },
}

impl ChangeKind {
    /// A deploy: a new revision rolled out, or one marked by a deploy tool. Only these count
    /// as "something was deployed just before" in root-cause ranking and remediation.
    pub fn is_deploy(&self) -> bool {
        matches!(
            self,
            ChangeKind::Rollout { .. } | ChangeKind::Annotation { .. }
        )
    }
}

/// One change event on an entity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEvent {
    /// When it happened, Unix ms.
    pub ts_ms: i64,
    pub entity: EntityId,
    pub kind: ChangeKind,
}
