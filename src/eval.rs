//! Accuracy of the whole pipeline on the simulator's scenarios, on a virtual clock.
//!
//! Each run starts the simulator's HTTP server on a free loopback port, advances a virtual
//! clock one scrape interval at a time, and runs the real engine (scrape over HTTP, parse,
//! frames, signals, detection, incidents, ranking) on it. Nothing is shared with the
//! simulator but its `/metrics` text; the ground truth is read only to score the result.
//!
//! Grading, as an operator would meet it: per fault, the graded incident is the one where the
//! first anomaly with an onset after the fault start was detected (chosen by time, never by
//! the truth; see [`fault_incident`]); a hit is the true root entity (kind, namespace and
//! name) among its ranked causes; every incident opened during a fault run that touches none
//! of the faulty entities is a false incident, beside those of the fault-free run.

use analytics::model::{Cause, Incident, Snapshot};
use fixtures::{Clock, GroundTruth, RootKind, SimConfig, Simulator};
use opscope_engine::{Engine, EngineConfig};
use opscope_layout::Describe;
use opscope_layout::phrase::remediation_title;
use opscope_model::{EntityId, EntityKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Errors of an evaluation run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("simulator: {0}")]
    Sim(#[from] fixtures::SimError),
    #[error("engine: {0}")]
    Engine(#[from] opscope_engine::EngineError),
    #[error("scenario {0} has no ground truth (is it fault-free?)")]
    NoTruth(String),
    #[error("unknown scenario {0:?}; known: {1}")]
    UnknownScenario(String, String),
}

/// How a scenario is run.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    pub seed: u64,
    /// Scrape interval on the virtual clock.
    pub interval: Duration,
    /// Fault-free time before the fault, for the detectors' baselines.
    pub warmup: Duration,
    /// How long after the fault starts the run goes on.
    pub observe_for: Duration,
    /// The ranking is read this long after the incident is first detected (an operator's
    /// first look), or at the end of the run if that comes first.
    pub rank_after: Duration,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            seed: 7,
            interval: Duration::from_secs(15),
            warmup: Duration::from_secs(30 * 60),
            observe_for: Duration::from_secs(15 * 60),
            rank_after: Duration::from_secs(120),
        }
    }
}

/// One ranked cause, as reported.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedCause {
    /// The entity's kind (`workload`, `node`, ...).
    pub kind: String,
    pub entity: String,
    pub signal: String,
    pub score: f64,
    pub confidence: f64,
}

/// The outcome of one fault scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub truth: GroundTruth,
    /// Whether an incident related to the fault was raised.
    pub detected: bool,
    /// Seconds from fault start to the first anomaly of the incident being confirmed.
    pub detection_delay_s: Option<f64>,
    pub incident_title: Option<String>,
    pub top5: Vec<RankedCause>,
    pub hit_at_1: bool,
    pub hit_at_3: bool,
    /// The first evidence lines of the top cause.
    pub top_evidence: Vec<String>,
    /// The first suggested remediation, if any.
    pub remediation: Option<String>,
}

/// Start a simulator on loopback with a virtual clock set to its start.
pub async fn start_sim(
    cfg: SimConfig,
) -> Result<(fixtures::SimServer, Arc<std::sync::atomic::AtomicI64>), EvalError> {
    let start = cfg.start_ms;
    let sim = Simulator::new(cfg)?;
    let (clock, handle) = Clock::new_virtual(start);
    let server = fixtures::serve(sim, clock, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    Ok((server, handle))
}

/// A fault run to drive by hand (tests): the simulator on loopback, on a virtual clock, with
/// its fault `cycles_before_fault` cycles of `step` after cycle 0, and an engine scraping it.
pub struct Rig {
    pub sim: fixtures::SimServer,
    pub clock: Arc<std::sync::atomic::AtomicI64>,
    pub engine: Engine,
    /// The time of cycle 0.
    pub start_ms: i64,
    pub step_ms: i64,
}

impl Rig {
    /// Start the simulator and build the engine (no cycle run yet).
    pub async fn new(
        scenario: &str,
        seed: u64,
        cycles_before_fault: i64,
        step: Duration,
    ) -> Result<Self, EvalError> {
        let cfg = SimConfig::new(scenario, seed);
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        let fault_ms = cfg.fault_start_ms();
        let start_ms = fault_ms - cycles_before_fault * step_ms;
        // The simulator runs a minute before the first cycle, so that rates have history.
        let sim_cfg = SimConfig {
            start_ms: start_ms - 60_000,
            fault_after_ms: fault_ms - (start_ms - 60_000),
            ..cfg
        };
        let (sim, clock) = start_sim(sim_cfg).await?;
        let engine = Engine::new(&EngineConfig::for_interval(
            vec![format!("{}/metrics", sim.url())],
            step,
        ));
        Ok(Self {
            sim,
            clock,
            engine,
            start_ms,
            step_ms,
        })
    }

    /// The time of cycle `i`, with the simulator's clock set to it.
    pub fn at(&self, i: i64) -> i64 {
        let now = self.start_ms + i * self.step_ms;
        self.clock.store(now, Ordering::SeqCst);
        now
    }

    /// Run cycle `i`.
    pub async fn cycle(&mut self, i: i64) -> Result<Arc<Snapshot>, EvalError> {
        let now = self.at(i);
        Ok(self.engine.cycle(now).await?)
    }
}

/// The entity a fault's ground truth names as its root, by kind, namespace and name.
fn root_entity(truth: &GroundTruth) -> EntityId {
    match truth.root_kind {
        RootKind::Workload => EntityId::new(
            EntityKind::Workload,
            truth.root_namespace.clone(),
            truth.root_workload.clone(),
        ),
        RootKind::Node => EntityId::new(EntityKind::Node, "", truth.root_workload.clone()),
    }
}

/// Every entity a fault touches directly: its root, and for a fault on a call edge the
/// calling workload too (the delay is between the two).
fn faulty_entities(truth: &GroundTruth) -> Vec<EntityId> {
    let mut out = vec![root_entity(truth)];
    if let Some((source, _)) = &truth.edge {
        out.push(EntityId::new(
            EntityKind::Workload,
            truth.root_namespace.clone(),
            source.clone(),
        ));
    }
    out
}

/// Whether an incident is about one of `entities`: one of its anomalies or ranked causes is
/// on it (matched by kind, namespace and name).
fn touches(inc: &Incident, entities: &[EntityId]) -> bool {
    inc.anomalies
        .iter()
        .map(|a| &a.signal.entity)
        .chain(inc.causes.iter().map(|c| &c.entity))
        .any(|e| entities.contains(e))
}

/// The incident an operator would open first for a fault, which is the one graded: **the
/// incident in which the first anomaly with an onset at or after the fault start (less one
/// interval of slack) was detected**, with that detection time. It is chosen by time alone:
/// the ground truth's entities never choose among incidents (with overlapping faults, the
/// second fault's graded incident may be the first fault's, if that is where its first
/// symptom showed).
fn fault_incident<'a>(
    snap: &'a Snapshot,
    truth: &GroundTruth,
    slack_ms: i64,
) -> Option<(&'a Incident, i64)> {
    let fault_start_ms = truth.start_ms;
    snap.incidents
        .iter()
        .filter_map(|inc| {
            inc.anomalies
                .iter()
                .filter(|a| a.onset_ms >= fault_start_ms - slack_ms)
                .map(|a| a.detected_ms)
                .min()
                .map(|d| (inc, d))
        })
        .min_by_key(|(inc, d)| (*d, inc.id))
}

fn ranked(causes: &[Cause]) -> Vec<RankedCause> {
    causes
        .iter()
        .take(5)
        .map(|c| RankedCause {
            kind: c.entity.kind.as_str().to_owned(),
            entity: c.entity.name.clone(),
            signal: c.signal.label().to_owned(),
            score: (c.score * 1000.0).round() / 1000.0,
            confidence: (c.confidence * 1000.0).round() / 1000.0,
        })
        .collect()
}

/// Run one fault scenario through the whole pipeline and score it: one result per fault (a
/// scenario with overlapping faults gives one result for each), and the incidents opened
/// during the run that are about none of the faulty entities.
pub async fn run_scenario(name: &str, opts: EvalOptions) -> Result<FaultRun, EvalError> {
    let interval_ms = opts.interval.as_millis() as i64;
    let cfg = SimConfig {
        scenario: name.to_owned(),
        seed: opts.seed,
        start_ms: fixtures::DEFAULT_START_MS,
        fault_after_ms: opts.warmup.as_millis() as i64,
        fault_duration_ms: opts.observe_for.as_millis() as i64 + 60_000,
    };
    let (server, clock) = start_sim(cfg.clone()).await?;
    let truths = server.with_sim(|s| s.ground_truth());
    if truths.is_empty() {
        return Err(EvalError::NoTruth(name.to_owned()));
    }
    let mut engine = Engine::new(&EngineConfig::for_interval(
        vec![format!("{}/metrics", server.url())],
        opts.interval,
    ));
    let first_start = truths
        .iter()
        .map(|t| t.start_ms)
        .min()
        .unwrap_or(cfg.start_ms);
    let end = first_start + opts.observe_for.as_millis() as i64;
    let rank_after = opts.rank_after.as_millis() as i64;
    let mut t = cfg.start_ms;
    // Per fault: the snapshot its ranking is read from, once its incident is old enough.
    let mut chosen: Vec<Option<Arc<Snapshot>>> = vec![None; truths.len()];
    let mut last = None;
    // Every incident seen during the run, as last seen.
    let mut seen: BTreeMap<u64, Incident> = BTreeMap::new();
    while t <= end {
        clock.store(t, Ordering::SeqCst);
        let snap = engine.cycle(t).await?;
        for inc in &snap.incidents {
            seen.insert(inc.id, inc.clone());
        }
        for (i, truth) in truths.iter().enumerate() {
            if chosen[i].is_none()
                && let Some((_, detected)) = fault_incident(&snap, truth, interval_ms)
                && t >= detected + rank_after
            {
                chosen[i] = Some(snap.clone());
            }
        }
        last = Some(snap);
        t += interval_ms;
    }
    server.shutdown().await;
    let last = last.unwrap_or_default();
    let faulty: Vec<EntityId> = truths.iter().flat_map(faulty_entities).collect();
    let unrelated = seen
        .values()
        .filter(|inc| !touches(inc, &faulty))
        .map(describe_incident)
        .collect();
    let results = truths
        .into_iter()
        .zip(chosen)
        .map(|(truth, snap)| {
            let snap = snap.unwrap_or_else(|| last.clone());
            score(name, truth, &snap, interval_ms)
        })
        .collect();
    Ok(FaultRun {
        scenario: name.to_owned(),
        results,
        unrelated,
    })
}

/// One scenario run.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRun {
    pub scenario: String,
    /// One per fault.
    pub results: Vec<ScenarioResult>,
    /// Incidents opened during the run (warm-up included) that touch none of the faulty
    /// entities: false incidents.
    pub unrelated: Vec<String>,
}

fn describe_incident(inc: &Incident) -> String {
    format!(
        "INC-{} at {}: {}",
        inc.id,
        analytics::fmt_time(inc.first_seen_ms),
        inc.title
    )
}

fn score(name: &str, truth: GroundTruth, snap: &Snapshot, interval_ms: i64) -> ScenarioResult {
    let found = fault_incident(snap, &truth, interval_ms);
    let (top5, title, delay, evidence, remediation) = match found {
        Some((inc, detected)) => (
            ranked(&inc.causes),
            Some(inc.title.clone()),
            Some((detected - truth.start_ms) as f64 / 1000.0),
            inc.causes
                .first()
                .map(|c| c.evidence.iter().map(Describe::describe).collect())
                .unwrap_or_default(),
            inc.remediation.first().map(|r| match &r.command {
                Some(c) => format!("{}: {c}", remediation_title(r)),
                None => remediation_title(r),
            }),
        ),
        None => (Vec::new(), None, None, Vec::new(), None),
    };
    let root = root_entity(&truth);
    let pos = found.and_then(|(inc, _)| inc.causes.iter().take(5).position(|c| c.entity == root));
    ScenarioResult {
        scenario: name.to_owned(),
        detected: found.is_some(),
        detection_delay_s: delay,
        incident_title: title,
        hit_at_1: pos == Some(0),
        hit_at_3: pos.is_some_and(|p| p < 3),
        top5,
        top_evidence: evidence,
        remediation,
        truth,
    }
}

/// Incidents opened over `duration` of the fault-free scenario.
pub async fn false_incidents(
    duration: Duration,
    opts: EvalOptions,
) -> Result<FaultFree, EvalError> {
    let cfg = SimConfig {
        scenario: "none".to_owned(),
        seed: opts.seed,
        start_ms: fixtures::DEFAULT_START_MS,
        fault_after_ms: 0,
        fault_duration_ms: 0,
    };
    let (server, clock) = start_sim(cfg.clone()).await?;
    let mut engine = Engine::new(&EngineConfig::for_interval(
        vec![format!("{}/metrics", server.url())],
        opts.interval,
    ));
    let interval_ms = opts.interval.as_millis() as i64;
    let end = cfg.start_ms + duration.as_millis() as i64;
    let mut t = cfg.start_ms;
    let mut titles = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    while t <= end {
        clock.store(t, Ordering::SeqCst);
        let snap = engine.cycle(t).await?;
        for inc in &snap.incidents {
            if seen.insert(inc.id) {
                titles.push(describe_incident(inc));
            }
        }
        t += interval_ms;
    }
    server.shutdown().await;
    Ok(FaultFree {
        simulated_hours: duration.as_secs_f64() / 3600.0,
        incidents: engine.incidents_opened(),
        titles,
    })
}

/// The fault-free run's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct FaultFree {
    pub simulated_hours: f64,
    pub incidents: u64,
    pub titles: Vec<String>,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenarios: Vec<ScenarioResult>,
    /// False incidents during the fault runs (see [`FaultRun::unrelated`]), per scenario.
    pub unrelated_incidents: Vec<(String, Vec<String>)>,
    /// Simulated hours of the fault runs (warm-up included).
    pub fault_run_hours: f64,
    pub ac_at_1: f64,
    pub ac_at_3: f64,
    pub mean_detection_delay_s: Option<f64>,
    pub fault_free: FaultFree,
    pub interval_s: f64,
    pub seed: u64,
}

/// Every fault scenario (or those named in `only`) plus a fault-free run.
pub async fn run_all(
    opts: EvalOptions,
    fault_free_for: Duration,
    only: &[String],
) -> Result<Report, EvalError> {
    let known: Vec<&str> = fixtures::scenarios().iter().map(|s| s.name).collect();
    if let Some(bad) = only.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(EvalError::UnknownScenario(bad.clone(), known.join(", ")));
    }
    let mut results = Vec::new();
    let mut unrelated = Vec::new();
    let mut runs = 0u32;
    for s in fixtures::scenarios() {
        if s.name == "none" || (!only.is_empty() && !only.iter().any(|n| n == s.name)) {
            continue;
        }
        let run = run_scenario(s.name, opts).await?;
        runs += 1;
        results.extend(run.results);
        if !run.unrelated.is_empty() {
            unrelated.push((run.scenario, run.unrelated));
        }
    }
    let run_hours = (opts.warmup + opts.observe_for).as_secs_f64() / 3600.0;
    let n = results.len().max(1) as f64;
    let delays: Vec<f64> = results.iter().filter_map(|r| r.detection_delay_s).collect();
    Ok(Report {
        ac_at_1: results.iter().filter(|r| r.hit_at_1).count() as f64 / n,
        ac_at_3: results.iter().filter(|r| r.hit_at_3).count() as f64 / n,
        mean_detection_delay_s: (!delays.is_empty())
            .then(|| delays.iter().sum::<f64>() / delays.len() as f64),
        fault_free: false_incidents(fault_free_for, opts).await?,
        scenarios: results,
        unrelated_incidents: unrelated,
        fault_run_hours: f64::from(runs) * run_hours,
        interval_s: opts.interval.as_secs_f64(),
        seed: opts.seed,
    })
}
