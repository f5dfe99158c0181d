//! Annotations: change events that deploy tools post (through the HTTP API of `opscope run`),
//! held here and added to every observation as an [`Enricher`] for as long as rollouts are
//! shown. The HTTP side (validation, the token) lives in the `web` crate.

use crate::model::{ChangeEvent, SourceStatus};
use crate::signals::{Observation, change_is_recent};
use crate::sources::Enricher;
use std::sync::{Arc, Mutex, PoisonError};

/// Annotations kept (the oldest go first).
pub const MAX_ANNOTATIONS: usize = 10_000;

/// Change events posted through the API, shared between the server and the engine.
#[derive(Debug, Clone, Default)]
pub struct Annotations {
    inner: Arc<Mutex<Vec<ChangeEvent>>>,
}

impl Annotations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ChangeEvent>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add one, dropping the oldest past [`MAX_ANNOTATIONS`].
    pub fn push(&self, e: ChangeEvent) {
        let mut v = self.lock();
        v.push(e);
        v.sort();
        if v.len() > MAX_ANNOTATIONS {
            let extra = v.len() - MAX_ANNOTATIONS;
            v.drain(..extra);
        }
    }

    /// Every annotation held, oldest first.
    pub fn all(&self) -> Vec<ChangeEvent> {
        self.lock().clone()
    }

    /// The engine's end: an [`Enricher`] that adds the annotations to every observation.
    pub fn feed(&self) -> AnnotationFeed {
        AnnotationFeed {
            annotations: self.clone(),
            last_ms: None,
        }
    }
}

/// Adds posted annotations to observations, for as long as rollouts are shown.
#[derive(Debug)]
pub struct AnnotationFeed {
    annotations: Annotations,
    last_ms: Option<i64>,
}

impl Enricher for AnnotationFeed {
    fn enrich(&mut self, obs: &mut Observation, now_ms: i64) {
        self.last_ms = Some(now_ms);
        let visible: Vec<ChangeEvent> = self
            .annotations
            .lock()
            .iter()
            .filter(|c| change_is_recent(c.ts_ms, now_ms))
            .cloned()
            .collect();
        obs.add_changes(visible);
    }

    fn status(&self) -> SourceStatus {
        SourceStatus {
            name: "annotations API".to_owned(),
            last_success_ms: self.last_ms,
            stale: false,
            last_error: None,
            samples: self.annotations.lock().len(),
            duration_ms: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChangeKind, EntityId};
    use crate::signals::CHANGE_LOOKBACK_MS;

    fn deploy(now: i64) -> ChangeEvent {
        ChangeEvent {
            ts_ms: now,
            entity: EntityId::workload("shop", "cart"),
            kind: ChangeKind::Annotation {
                text: "deploy".into(),
            },
        }
    }

    #[test]
    fn the_feed_adds_recent_annotations_once() {
        let a = Annotations::default();
        let now = 1_700_000_000_000;
        let ev = deploy(now);
        a.push(ev.clone());
        let mut feed = a.feed();
        let mut obs = Observation {
            changes: vec![ev.clone()],
            ..Observation::default()
        };
        feed.enrich(&mut obs, now + 1000);
        assert_eq!(obs.changes, vec![ev]);
        let mut later = Observation::default();
        feed.enrich(&mut later, now + CHANGE_LOOKBACK_MS + 1000);
        assert!(later.changes.is_empty());
    }

    #[test]
    fn the_oldest_go_past_the_cap() {
        let a = Annotations::default();
        for i in 0..(MAX_ANNOTATIONS as i64 + 5) {
            a.push(deploy(i));
        }
        let all = a.all();
        assert_eq!(all.len(), MAX_ANNOTATIONS);
        assert_eq!(all[0].ts_ms, 5);
    }
}
