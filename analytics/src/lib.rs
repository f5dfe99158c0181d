//! analytics: signals + topology -> anomalies, incidents and ranked root causes.
//!
//! Pure computation, no I/O. An [`Analyzer`] is fed one [`Observation`] per engine cycle and
//! returns the [`Snapshot`] the UIs render:
//!
//! 1. every signal goes through its own causal detector ([`detect`]);
//! 2. active anomalies are grouped into incidents by topology and time ([`incidents`]);
//! 3. each open incident's likely root causes are ranked, with evidence ([`rca`]).
//!
//! ```
//! use analytics::Analyzer;
//! use collector::observe::Observation;
//! let mut a = Analyzer::default();
//! let snap = a.step(&Observation::default(), &[]);
//! assert!(snap.incidents.is_empty());
//! ```

pub mod backlog;
pub mod detect;
pub mod graph;
pub mod incidents;
pub mod model;
pub mod multivariate;
pub mod rca;
pub mod remediate;
pub mod rules;
pub mod slo;
pub mod tabular;

use collector::model::{
    ChangeEvent, EntityId, EntityKind, Point, SignalKey, SignalKind, SourceStatus,
};
use collector::observe::Observation;
use detect::{DetectorConfig, SignalDetector};
use graph::ServiceGraph;
use incidents::{IncidentConfig, IncidentTracker};
use model::{Anomaly, EntityHealth, Health, IncidentStatus, Snapshot};
use multivariate::EntityModels;
use opscope_layout::Describe;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// All analysis settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzerConfig {
    pub detector: DetectorConfig,
    pub incidents: IncidentConfig,
}

/// The analysis state carried from cycle to cycle.
#[derive(Debug)]
pub struct Analyzer {
    cfg: AnalyzerConfig,
    detectors: HashMap<SignalKey, SignalDetector>,
    tracker: IncidentTracker,
    cycle: u64,
    /// Change events seen, oldest first, kept for [`CHANGES_KEPT_MS`].
    changes: Vec<ChangeEvent>,
    /// k-means per workload over its signals taken together.
    models: EntityModels,
    /// Entities with confirmed anomalies in the previous cycle (kept out of training).
    last_anomalous: BTreeSet<EntityId>,
    /// Static-threshold rules from the config.
    rules: rules::RuleEngine,
    /// SLOs from the config.
    slos: slo::SloEngine,
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new(AnalyzerConfig::default())
    }
}

/// An alert of a rule as an incident member.
fn rule_anomaly(a: &rules::Alert, now: i64) -> Anomaly {
    let up = matches!(a.op, opscope_config::Op::Gt | opscope_config::Op::Ge);
    Anomaly {
        signal: SignalKey {
            entity: a.entity.clone(),
            kind: a.signal,
        },
        onset_ms: a.active_since_ms,
        detected_ms: a.fired_at_ms.unwrap_or(now),
        last_ms: now,
        score: match a.severity {
            opscope_config::Severity::Critical => 0.95,
            opscope_config::Severity::Warning => 0.7,
            opscope_config::Severity::Info => 0.4,
        },
        direction: if up {
            model::Direction::Up
        } else {
            model::Direction::Down
        },
        baseline: a.threshold,
        current: a.value,
        rule: Some(a.describe()),
    }
}

/// A firing SLO burn-rate pair as an incident member, on the service's error ratio or latency.
fn burn_anomaly(b: &slo::BurnAlert, obs: &Observation, now: i64) -> Option<Anomaly> {
    let entity = obs
        .topology
        .entities
        .iter()
        .find(|e| {
            e.kind == EntityKind::Workload
                && e.name == b.service
                && b.namespace.as_ref().is_none_or(|ns| *ns == e.namespace)
        })?
        .clone();
    let kind = match b.objective {
        slo::Objective::Availability => SignalKind::ErrorRatio,
        slo::Objective::Latency { .. } => SignalKind::LatencyP99,
    };
    let current = obs
        .signals
        .get(&SignalKey {
            entity: entity.clone(),
            kind,
        })
        .copied()
        .unwrap_or(f64::NAN);
    Some(Anomaly {
        signal: SignalKey { entity, kind },
        onset_ms: b.since_ms,
        detected_ms: b.since_ms,
        last_ms: now,
        score: match b.severity {
            opscope_config::BurnSeverity::Page => 0.95,
            opscope_config::BurnSeverity::Ticket => 0.7,
        },
        direction: model::Direction::Up,
        baseline: b.target,
        current,
        rule: Some(b.describe()),
    })
}

/// How long change events are kept for ranking and timelines.
pub const CHANGES_KEPT_MS: i64 = 6 * 3_600_000;

/// `HH:MM:SS` (UTC) of a Unix-ms timestamp, as used in evidence and timelines.
pub use opscope_layout::format::clock as fmt_time;

impl Analyzer {
    pub fn new(cfg: AnalyzerConfig) -> Self {
        Self {
            cfg,
            detectors: HashMap::new(),
            tracker: IncidentTracker::new(),
            cycle: 0,
            changes: Vec::new(),
            models: EntityModels::default(),
            last_anomalous: BTreeSet::new(),
            rules: rules::RuleEngine::new(Vec::new()),
            slos: slo::SloEngine::new(Vec::new()),
        }
    }

    /// With the static-threshold rules and SLOs of the config: their firing alerts join
    /// incidents like detector anomalies do.
    pub fn with_rules(
        mut self,
        rules: Vec<opscope_config::Rule>,
        slos: Vec<opscope_config::Slo>,
    ) -> Self {
        self.rules = rules::RuleEngine::new(rules);
        self.slos = slo::SloEngine::new(slos);
        self
    }

    /// Signals with detector state, the bytes the detectors hold (with map entries and the
    /// multivariate models), and the bytes of the chart history (kept for the faces, not
    /// detector state).
    pub fn detector_state(&self) -> (usize, usize, usize) {
        // A map entry is its key plus the detector (whose own size `state_bytes` counts).
        let bytes = self
            .detectors
            .iter()
            .map(|(k, d)| {
                d.state_bytes() - d.history_bytes()
                    + std::mem::size_of::<SignalKey>()
                    + k.entity.namespace.capacity()
                    + k.entity.name.capacity()
            })
            .sum::<usize>()
            + self.models.state_bytes();
        let history = self.detectors.values().map(|d| d.history_bytes()).sum();
        (self.detectors.len(), bytes, history)
    }

    /// Bytes of the per-signal detectors alone (no keys, no chart history, no models).
    pub fn detector_bytes(&self) -> usize {
        self.detectors.values().map(|d| d.detector_bytes()).sum()
    }

    /// Incidents ever opened by this analyzer.
    pub fn incidents_opened(&self) -> u64 {
        self.tracker.opened_total()
    }

    /// Analyse one observation and produce the snapshot for it.
    pub fn step(&mut self, obs: &Observation, sources: &[SourceStatus]) -> Snapshot {
        self.cycle += 1;
        let now = obs.ts_ms;
        let dcfg = self.cfg.detector;
        let mut active: Vec<Anomaly> = Vec::new();
        let window_s = obs.rate_window_ms as f64 / 1000.0;
        let unusual = self.models.step(&obs.signals, &self.last_anomalous);
        for (key, &value) in &obs.signals {
            let requests = matches!(
                key.kind,
                SignalKind::ErrorRatio | SignalKind::LatencyP99 | SignalKind::CallerLatencyP99
            )
            .then(|| {
                let rate = SignalKey {
                    entity: key.entity.clone(),
                    kind: SignalKind::RequestRate,
                };
                obs.signals.get(&rate).map(|r| r * window_s)
            })
            .flatten();
            let det = self
                .detectors
                .entry(key.clone())
                .or_insert_with(|| SignalDetector::with_config(key.kind, &dcfg));
            let ctx = detect::StepContext {
                requests,
                min_span_ms: obs.rate_window_ms - obs.interval_ms,
                unusual: unusual.get(&key.entity).is_some_and(|s| *s >= 1.0),
            };
            if let Some(a) = det.step_with(key, now, value, &dcfg, &ctx) {
                active.push(a);
            }
        }
        let alerts = self.rules.evaluate(obs);
        let slo_report = self.slos.evaluate(obs);
        active.extend(
            alerts
                .iter()
                .filter(|a| a.state == rules::AlertState::Firing)
                .map(|a| rule_anomaly(a, now)),
        );
        active.extend(
            slo_report
                .alerts
                .iter()
                .filter(|b| b.state == slo::BurnAlertState::Firing)
                .filter_map(|b| burn_anomaly(b, obs, now)),
        );
        let graph = ServiceGraph::new(&obs.topology);
        self.last_anomalous = active
            .iter()
            .map(|a| graph.service_of(&a.signal.entity))
            .collect();
        self.tracker
            .update(now, &active, &graph, &self.cfg.incidents);
        self.remember_changes(now, &obs.changes);

        let detectors = &self.detectors;
        let history = |e: &EntityId, k: SignalKind| -> Vec<Point> {
            detectors
                .get(&SignalKey {
                    entity: e.clone(),
                    kind: k,
                })
                .map(|d| d.history().copied().collect())
                .unwrap_or_default()
        };
        let input = rca::RankInput {
            graph: &graph,
            topology: &obs.topology,
            terminations: &obs.terminations,
            history: &history,
            changes: &self.changes,
            waiting: &obs.waiting,
            unusual: &unusual,
        };
        let facts = remediate::Facts {
            changes: &self.changes,
            terminations: &obs.terminations,
            waiting: &obs.waiting,
        };
        for inc in self.tracker.incidents_mut() {
            if inc.status == IncidentStatus::Open {
                inc.causes = rca::rank(inc, &input);
                inc.title = incidents::title(inc);
                inc.remediation = remediate::suggest(inc, &facts);
                // Changes to the incident's entities shortly before or during it go on its
                // timeline, once each.
                let since = inc.first_seen_ms - remediate::CHANGE_BEFORE_MS;
                for c in self.changes.iter().filter(|c| c.ts_ms >= since) {
                    if !inc
                        .anomalies
                        .iter()
                        .any(|a| graph.service_of(&a.signal.entity) == c.entity)
                    {
                        continue;
                    }
                    let entry = model::TimelineEntry {
                        ts_ms: c.ts_ms,
                        text: format!("change: {} on {}", c.describe(), c.entity.name),
                    };
                    if !inc.timeline.contains(&entry) {
                        inc.timeline.push(entry);
                        inc.timeline.sort_by_key(|t| t.ts_ms);
                    }
                }
            }
        }

        Snapshot {
            version: model::SCHEMA_VERSION,
            cycle: self.cycle,
            ts_ms: now,
            topology: obs.topology.clone(),
            entities: health(obs, &active, &graph, &self.detectors),
            incidents: self.tracker.incidents(),
            sources: sources.to_vec(),
            changes: self.changes.clone(),
            alerts: alerts
                .into_iter()
                .filter(|a| a.state != rules::AlertState::Resolved)
                .collect(),
            slos: slo_report.statuses,
            burn_alerts: slo_report
                .alerts
                .into_iter()
                .filter(|b| b.state == slo::BurnAlertState::Firing)
                .collect(),
            collector: Default::default(),
            edge_health: backlog::edge_health(&obs.topology.edges),
            // The engine knows when the detectors started; it sets this.
            learning_until_ms: None,
        }
    }

    /// Keep the change events not seen before, for [`CHANGES_KEPT_MS`].
    fn remember_changes(&mut self, now: i64, seen: &[ChangeEvent]) {
        for c in seen {
            if c.ts_ms >= now - CHANGES_KEPT_MS && !self.changes.contains(c) {
                self.changes.push(c.clone());
            }
        }
        self.changes.retain(|c| c.ts_ms >= now - CHANGES_KEPT_MS);
        self.changes.sort();
    }
}

/// Health of workloads, topics, queues and nodes from their active anomalies.
fn health(
    obs: &Observation,
    active: &[Anomaly],
    graph: &ServiceGraph,
    detectors: &HashMap<SignalKey, SignalDetector>,
) -> Vec<EntityHealth> {
    let mut worst: BTreeMap<EntityId, Health> = BTreeMap::new();
    for a in active {
        let h = if a.score >= 0.9 {
            Health::Critical
        } else {
            Health::Warning
        };
        let e = graph.service_of(&a.signal.entity);
        let slot = worst.entry(e).or_insert(Health::Ok);
        *slot = (*slot).max(h);
    }
    let mut signals: BTreeMap<EntityId, Vec<(SignalKind, f64)>> = BTreeMap::new();
    let mut scores: BTreeMap<EntityId, Vec<(SignalKind, f64)>> = BTreeMap::new();
    for (k, v) in &obs.signals {
        signals
            .entry(k.entity.clone())
            .or_default()
            .push((k.kind, *v));
        if let Some(d) = detectors.get(k) {
            scores
                .entry(k.entity.clone())
                .or_default()
                .push((k.kind, d.score()));
        }
    }
    obs.topology
        .entities
        .iter()
        .filter(|e| e.kind != EntityKind::Pod)
        .map(|e| {
            let sigs = signals.remove(e).unwrap_or_default();
            let base = if sigs.is_empty() && e.kind == EntityKind::Workload {
                Health::Unknown
            } else {
                Health::Ok
            };
            EntityHealth {
                entity: e.clone(),
                health: worst.get(e).copied().unwrap_or(base).max(base),
                signals: sigs,
                scores: scores.remove(e).unwrap_or_default(),
            }
        })
        .collect()
}
