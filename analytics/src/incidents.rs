//! Incidents: anomalies that are connected in the topology and close in time, with a lifecycle
//! (open -> resolved after a quiet period) and a timeline.

use crate::fmt_time;
use crate::graph::ServiceGraph;
use crate::model::{Anomaly, Incident, IncidentStatus, Severity, TimelineEntry};
use collector::model::{SignalKey, SignalKind};
use std::collections::BTreeSet;

/// Grouping and lifecycle settings.
#[derive(Debug, Clone, Copy)]
pub struct IncidentConfig {
    /// A new anomaly joins an open incident if it is within this many hops of a member.
    pub max_hops: usize,
    /// ... and its onset is no later than this after the incident's last activity (ms).
    pub join_gap_ms: i64,
    /// An incident resolves after this long without any active member anomaly (ms).
    pub quiet_ms: i64,
    /// Resolved incidents kept for display.
    pub keep_resolved: usize,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        Self {
            max_hops: 2,
            join_gap_ms: 10 * 60_000,
            quiet_ms: 5 * 60_000,
            keep_resolved: 20,
        }
    }
}

/// Keeps the incidents across cycles.
#[derive(Debug)]
pub struct IncidentTracker {
    next_id: u64,
    incidents: Vec<Incident>,
    /// Number of incidents ever opened.
    opened: u64,
}

/// Severity of a set of anomalies.
fn severity(anoms: &[Anomaly]) -> Severity {
    let critical = anoms.iter().any(|a| {
        a.score >= 0.95
            || (a.signal.kind == SignalKind::ErrorRatio && a.current >= 0.05)
            || a.signal.kind == SignalKind::Restarts
    });
    if critical {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

fn describe(a: &Anomaly) -> String {
    if let Some(r) = &a.rule {
        return format!("alert {r}");
    }
    let dir = match a.direction {
        crate::model::Direction::Up => "up",
        crate::model::Direction::Down => "down",
    };
    format!(
        "{} {} on {}",
        a.signal.kind.label(),
        dir,
        a.signal.entity.name
    )
}

impl Default for IncidentTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl IncidentTracker {
    pub fn new() -> Self {
        Self {
            next_id: 1,
            incidents: Vec::new(),
            opened: 0,
        }
    }

    /// All incidents: open ones first (newest first), then resolved ones (newest first).
    pub fn incidents(&self) -> Vec<Incident> {
        let mut v = self.incidents.clone();
        v.sort_by(|a, b| {
            (a.status, std::cmp::Reverse(a.first_seen_ms), a.id).cmp(&(
                b.status,
                std::cmp::Reverse(b.first_seen_ms),
                b.id,
            ))
        });
        v
    }

    pub fn incidents_mut(&mut self) -> impl Iterator<Item = &mut Incident> {
        self.incidents.iter_mut()
    }

    /// How many incidents were ever opened.
    pub fn opened_total(&self) -> u64 {
        self.opened
    }

    /// Fold this cycle's active anomalies into the incidents.
    pub fn update(
        &mut self,
        now_ms: i64,
        active: &[Anomaly],
        graph: &ServiceGraph,
        cfg: &IncidentConfig,
    ) {
        for a in active {
            let svc = graph.service_of(&a.signal.entity);
            // Already a member: refresh it.
            if let Some(inc) = self.incidents.iter_mut().find(|i| {
                i.status == IncidentStatus::Open
                    && i.anomalies
                        .iter()
                        .any(|m| m.signal == a.signal && m.rule == a.rule)
            }) {
                if let Some(m) = inc
                    .anomalies
                    .iter_mut()
                    .find(|m| m.signal == a.signal && m.rule == a.rule)
                {
                    if m.onset_ms != a.onset_ms && m.last_ms < a.onset_ms {
                        inc.timeline.push(TimelineEntry {
                            ts_ms: a.detected_ms,
                            text: format!("{} again (onset {})", describe(a), fmt_time(a.onset_ms)),
                        });
                    }
                    *m = a.clone();
                }
                inc.last_seen_ms = now_ms;
                continue;
            }
            // Joins every open incident it is related to; several are merged into the oldest.
            let related: Vec<usize> = self
                .incidents
                .iter()
                .enumerate()
                .filter(|(_, i)| {
                    i.status == IncidentStatus::Open
                        && a.onset_ms <= i.last_seen_ms + cfg.join_gap_ms
                        && i.anomalies.iter().any(|m| {
                            graph.within(&graph.service_of(&m.signal.entity), &svc, cfg.max_hops)
                        })
                })
                .map(|(k, _)| k)
                .collect();
            match related.split_first() {
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.opened += 1;
                    self.incidents.push(Incident {
                        id,
                        status: IncidentStatus::Open,
                        severity: severity(std::slice::from_ref(a)),
                        title: describe(a),
                        first_seen_ms: a.detected_ms,
                        last_seen_ms: now_ms,
                        resolved_ms: None,
                        anomalies: vec![a.clone()],
                        causes: Vec::new(),
                        remediation: Vec::new(),
                        timeline: vec![TimelineEntry {
                            ts_ms: a.detected_ms,
                            text: format!(
                                "opened: {} (onset {})",
                                describe(a),
                                fmt_time(a.onset_ms)
                            ),
                        }],
                    });
                }
                Some((&first, rest)) => {
                    // Merge the others (highest index first so indices stay valid).
                    for &k in rest.iter().rev() {
                        let other = self.incidents.remove(k);
                        let inc = &mut self.incidents[first];
                        inc.timeline.push(TimelineEntry {
                            ts_ms: now_ms,
                            text: format!("merged INC-{} ({})", other.id, other.title),
                        });
                        inc.anomalies.extend(other.anomalies);
                        inc.timeline.extend(other.timeline);
                        inc.first_seen_ms = inc.first_seen_ms.min(other.first_seen_ms);
                    }
                    let inc = &mut self.incidents[first];
                    inc.timeline.push(TimelineEntry {
                        ts_ms: a.detected_ms,
                        text: format!("{} (onset {})", describe(a), fmt_time(a.onset_ms)),
                    });
                    inc.anomalies.push(a.clone());
                    inc.last_seen_ms = now_ms;
                }
            }
        }
        let active_keys: BTreeSet<&SignalKey> = active.iter().map(|a| &a.signal).collect();
        for inc in self
            .incidents
            .iter_mut()
            .filter(|i| i.status == IncidentStatus::Open)
        {
            inc.timeline.sort_by_key(|t| t.ts_ms);
            let sev = severity(&inc.anomalies);
            if sev > inc.severity {
                inc.severity = sev;
                inc.timeline.push(TimelineEntry {
                    ts_ms: now_ms,
                    text: "escalated to critical".into(),
                });
            }
            let any_active = inc
                .anomalies
                .iter()
                .any(|m| active_keys.contains(&m.signal));
            if !any_active && now_ms - inc.last_seen_ms >= cfg.quiet_ms {
                inc.status = IncidentStatus::Resolved;
                inc.resolved_ms = Some(now_ms);
                inc.timeline.push(TimelineEntry {
                    ts_ms: now_ms,
                    text: format!("resolved: quiet since {}", fmt_time(inc.last_seen_ms)),
                });
            }
        }
        // Keep a bounded number of resolved incidents.
        let resolved = self
            .incidents
            .iter()
            .filter(|i| i.status == IncidentStatus::Resolved)
            .count();
        if resolved > cfg.keep_resolved {
            let mut drop = resolved - cfg.keep_resolved;
            self.incidents.retain(|i| {
                if drop > 0 && i.status == IncidentStatus::Resolved {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }
}

/// "<top cause or first symptom> (+N more affected)".
pub fn title(inc: &Incident) -> String {
    let services: BTreeSet<&str> = inc
        .anomalies
        .iter()
        .map(|a| a.signal.entity.name.as_str())
        .collect();
    let head = match inc.causes.first() {
        Some(c) => format!("{} on {}", c.signal.label(), c.entity.name),
        None => inc.anomalies.first().map(describe).unwrap_or_default(),
    };
    if services.len() > 1 {
        format!("{head} (+{} more affected)", services.len() - 1)
    } else {
        head
    }
}
