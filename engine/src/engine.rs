//! The engine: collect from every source, analyse, one snapshot per cycle.

use crate::incidents::IncidentEvent;
use analytics::model::Snapshot;
use analytics::{Analyzer, AnalyzerConfig};
use collector::{Collector, CollectorOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Errors of one engine cycle.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("computing signals: {0}")]
    Collect(#[from] collector::CollectError),
}

/// What the engine watches and how often.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `/metrics` URLs to scrape.
    pub scrape: Vec<String>,
    /// Time between cycles.
    pub interval: Duration,
    pub collector: CollectorOptions,
    pub analyzer: AnalyzerConfig,
    /// Static-threshold rules (from the config).
    pub rules: Vec<opscope_config::Rule>,
    /// SLOs (from the config).
    pub slos: Vec<opscope_config::Slo>,
    /// How far back the first cycle reads the history of sources that keep one (a
    /// Prometheus-compatible server): the detectors learn from that span before the first live
    /// cycle, so an engine started during an outage does not take the outage for normal. Zero
    /// turns the warm start off.
    pub warm_start: Duration,
}

/// Default [`EngineConfig::warm_start`]: 30 minutes, enough for every detector's warm-up at
/// a 15 s interval.
pub const WARM_START: Duration = Duration::from_secs(30 * 60);

impl EngineConfig {
    /// Sensible settings for `interval`: the scrape timeout stays below the interval, and
    /// rates are taken over one interval (plus slack), at least 15 s, so that consecutive
    /// values of a 15 s engine are independent.
    pub fn for_interval(scrape: Vec<String>, interval: Duration) -> Self {
        let interval_ms = interval.as_millis() as i64;
        let collector = CollectorOptions {
            timeout: (interval * 4 / 5).max(Duration::from_millis(500)),
            observe: collector::observe::ObserveOptions {
                interval_ms,
                rate_window_ms: (interval_ms + 500).max(15_500),
                ..Default::default()
            },
            ..Default::default()
        };
        Self {
            scrape,
            interval,
            collector,
            analyzer: AnalyzerConfig::default(),
            rules: Vec::new(),
            slos: Vec::new(),
            warm_start: WARM_START,
        }
    }
}

/// Incident events a slow subscriber may fall behind by before it loses the oldest.
pub const INCIDENT_EVENTS_BUFFER: usize = 256;

/// Collector + analyzer, stepped one cycle at a time.
#[derive(Debug)]
pub struct Engine {
    collector: Collector,
    /// Sources that add inventory and change events to each observation (Kubernetes).
    enrichers: Vec<Box<dyn collector::source::Enricher>>,
    analyzer: Analyzer,
    /// When recording: the change events of the last observation.
    recorded_changes: Option<Vec<collector::model::ChangeEvent>>,
    /// Incident events, sent by the engine loop ([`crate::cycles::drive`]).
    pub(crate) incidents: broadcast::Sender<IncidentEvent>,
    interval: Duration,
    /// What the first cycle does first: read the sources' history (see
    /// [`EngineConfig::warm_start`]); `None` once done.
    warm_start: Option<Duration>,
    /// Past cycles the warm start ran.
    warm_cycles: usize,
    /// When the detectors have learnt enough to judge (see [`Snapshot::learning_until_ms`]):
    /// set by the first cycle, warm start included.
    learning_until_ms: Option<i64>,
    /// Cycles of data the detectors need before their first verdict.
    warm_up_cycles: i64,
}

impl Engine {
    pub fn new(cfg: &EngineConfig) -> Self {
        Self {
            collector: Collector::new(cfg.scrape.clone(), cfg.collector),
            enrichers: Vec::new(),
            recorded_changes: None,
            incidents: broadcast::channel(INCIDENT_EVENTS_BUFFER).0,
            analyzer: Analyzer::new(cfg.analyzer).with_rules(cfg.rules.clone(), cfg.slos.clone()),
            interval: cfg.interval,
            warm_start: (!cfg.warm_start.is_zero()).then_some(cfg.warm_start),
            warm_cycles: 0,
            learning_until_ms: None,
            // Two collections before the first rate, then the detectors' own warm-up.
            warm_up_cycles: cfg.analyzer.detector.level.min_history as i64 + 2,
        }
    }

    /// Mark the time of the first data: the detectors are learning for the warm-up after it.
    fn first_data(&mut self, ts_ms: i64) {
        if self.learning_until_ms.is_none() {
            let interval_ms = self.interval.as_millis() as i64;
            self.learning_until_ms = Some(ts_ms + self.warm_up_cycles * interval_ms);
        }
    }

    /// Add a source polled every cycle (Prometheus HTTP API, broker monitoring, ...).
    pub fn add_source(&mut self, source: Arc<dyn collector::source::PullSource>) {
        self.collector.add_source(source);
    }

    /// Add a source that enriches every observation (Kubernetes inventory and changes).
    pub fn add_enricher(&mut self, e: Box<dyn collector::source::Enricher>) {
        self.enrichers.push(e);
    }

    /// Run one cycle for the moment `now_ms` (Unix ms; the wall clock, or a virtual one). The
    /// first cycle first runs the warm start (see [`EngineConfig::warm_start`]).
    pub async fn cycle(&mut self, now_ms: i64) -> Result<Arc<Snapshot>, EngineError> {
        if let Some(span) = self.warm_start.take() {
            self.warm_up(now_ms, span).await?;
        }
        self.collector.collect(now_ms).await;
        let mut obs = self.collector.observe(now_ms)?;
        let mut sources = self.collector.sources().to_vec();
        for e in &mut self.enrichers {
            e.enrich(&mut obs, now_ms);
            sources.push(e.status());
        }
        if let Some(c) = &mut self.recorded_changes {
            c.clone_from(&obs.changes);
        }
        let mut snap = self.analyzer.step(&obs, &sources);
        snap.collector = self.collector.stats();
        self.first_data(now_ms);
        snap.learning_until_ms = self.learning_until_ms.filter(|until| now_ms < *until);
        Ok(Arc::new(snap))
    }

    /// The warm start: the sources' history over `span` before `now_ms`, one past cycle per
    /// interval, through the same signals and detectors as a live cycle (enrichers and
    /// recording left out). Anomalies and incidents found in it stand, with their past onsets:
    /// an engine started two minutes into an outage reports it on its first live cycle.
    async fn warm_up(&mut self, now_ms: i64, span: Duration) -> Result<(), EngineError> {
        let step_ms = (self.interval.as_millis() as i64).max(1000);
        let from = now_ms - span.as_millis() as i64;
        let steps = self
            .collector
            .history(from, now_ms - step_ms, step_ms)
            .await;
        if steps.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        for (ts, step) in &steps {
            self.first_data(*ts);
            self.collector.ingest_history(*ts, step);
            let obs = self.collector.observe(*ts)?;
            let sources = self.collector.sources().to_vec();
            self.analyzer.step(&obs, &sources);
        }
        self.warm_cycles = steps.len();
        tracing::info!(
            cycles = steps.len(),
            from_ms = steps.first().map_or(0, |s| s.0),
            took_ms = started.elapsed().as_millis() as u64,
            "warm start from the sources' history"
        );
        Ok(())
    }

    /// Past cycles the warm start ran (0: none, or no source keeps history).
    pub fn warm_cycles(&self) -> usize {
        self.warm_cycles
    }

    /// Keep what every source gives from now on, for [`Engine::recorded`].
    pub fn start_recording(&mut self) {
        self.collector.start_recording();
        self.recorded_changes = Some(Vec::new());
    }

    /// What the last cycle saw, as a recording cycle at `ts_ms` (empty unless recording).
    pub fn recorded(&self, ts_ms: i64) -> collector::record::Cycle {
        collector::record::Cycle {
            ts_ms,
            sources: self.collector.recorded().to_vec(),
            changes: self.recorded_changes.clone().unwrap_or_default(),
        }
    }

    /// Go on as `fresh` (a replay seeking back starts again from its first cycle); the
    /// subscribers of incident events stay subscribed.
    pub fn restart_with(&mut self, fresh: Engine) {
        let incidents = self.incidents.clone();
        *self = fresh;
        self.incidents = incidents;
    }

    /// Incident events (opened, updated, escalated, resolved) from every cycle the engine loop
    /// runs from now on. A subscriber that falls more than a few hundred events behind loses
    /// the oldest (`RecvError::Lagged`).
    pub fn subscribe_incidents(&self) -> broadcast::Receiver<IncidentEvent> {
        self.incidents.subscribe()
    }

    /// Incidents opened since the engine started.
    pub fn incidents_opened(&self) -> u64 {
        self.analyzer.incidents_opened()
    }
}

/// Unix ms now.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
