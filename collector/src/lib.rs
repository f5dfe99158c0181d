//! collector: sources -> sample frames -> topology and signals.
//!
//! A [`Collector`] scrapes its targets concurrently (each with its own timeout), parses the
//! exposition text with the crate's own parser ([`exposition`]), appends the samples to polars
//! frames per metric family ([`frames`]), and computes the [`signals::Observation`]: the
//! topology (calls, owns, runs_on, produces, consumes) and per-entity signal values. It knows
//! nothing of analytics or UIs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), collector::CollectError> {
//! use collector::{Collector, CollectorOptions};
//! let mut c = Collector::new(vec!["http://127.0.0.1:9100/metrics".into()], CollectorOptions::default());
//! let now = 1_700_000_000_000;
//! c.collect(now).await;
//! let obs = c.observe(now)?;
//! println!("{} entities, {} signals", obs.topology.entities.len(), obs.signals.len());
//! # Ok(()) }
//! ```

pub mod conventions;
pub mod exposition;
pub mod frames;
pub mod model;
pub mod record;
pub mod signals;
pub mod sources;

// The paths other crates have used since before `sources/` and `signals/`: kept as aliases.
pub use signals as observe;
pub use sources as source;
pub use sources::{nats, promql, rabbitmq, scrape};

use frames::FrameStore;
use model::{CollectorStats, SourceStatus};
use signals::{Observation, ObserveOptions};
use sources::PullSource;
use sources::scrape::{Scraper, Target};
use std::sync::Arc;
use std::time::Duration;

/// Errors of the collector as a whole.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Frames(#[from] frames::FrameError),
}

/// Tuning of a collector.
#[derive(Debug, Clone, Copy)]
pub struct CollectorOptions {
    /// Per-target timeout of one scrape.
    pub timeout: Duration,
    /// How long samples are kept in the frames, ms.
    pub retention_ms: i64,
    /// A collection of one target with more samples than this is refused (Prometheus'
    /// `sample_limit`): the target goes stale with the reason, the others are unaffected.
    pub samples_per_target: usize,
    /// At most this many series are held; samples of new series beyond it are dropped and
    /// counted (see [`CollectorStats`]).
    pub max_series: usize,
    pub observe: ObserveOptions,
}

impl Default for CollectorOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            retention_ms: 3_600_000,
            samples_per_target: 500_000,
            max_series: 200_000,
            observe: ObserveOptions::default(),
        }
    }
}

/// A source answered with `samples` samples at `ts_ms`.
fn fresh(st: &mut SourceStatus, ts_ms: i64, samples: usize) {
    st.stale = false;
    st.last_error = None;
    st.last_success_ms = Some(ts_ms);
    st.samples = samples;
}

/// Past collections, oldest first: `(ts_ms, [(source index, samples)])`.
pub type HistorySteps = Vec<(i64, Vec<(usize, sources::Samples)>)>;

/// Scrapes a set of targets into frames and derives observations from them.
#[derive(Debug)]
pub struct Collector {
    targets: Vec<Target>,
    /// Per target: the labels its samples get when they lack them (`instance`, `job`), see
    /// [`scrape::target_labels`].
    target_labels: Vec<Vec<(String, String)>>,
    /// Sources other than scrapes; their statuses follow the targets' in `status`.
    pulls: Vec<Arc<dyn PullSource>>,
    scraper: Scraper,
    store: FrameStore,
    status: Vec<SourceStatus>,
    opts: CollectorOptions,
    over_sample_limit_total: u64,
    /// When recording: what each source gave in the last collection.
    recording: Option<Vec<record::SourceCycle>>,
}

impl Collector {
    pub fn new(urls: Vec<String>, opts: CollectorOptions) -> Self {
        let targets: Vec<Target> = urls
            .into_iter()
            .map(|url| Target {
                url,
                timeout: opts.timeout,
            })
            .collect();
        let target_labels = targets
            .iter()
            .map(|t| scrape::target_labels(&t.url))
            .collect();
        let status = targets
            .iter()
            .map(|t| SourceStatus {
                name: t.url.clone(),
                last_success_ms: None,
                stale: true,
                last_error: None,
                samples: 0,
                duration_ms: 0,
            })
            .collect();
        Self {
            targets,
            target_labels,
            pulls: Vec::new(),
            scraper: Scraper::new(),
            store: FrameStore::new(opts.retention_ms).with_max_series(opts.max_series),
            status,
            opts,
            over_sample_limit_total: 0,
            recording: None,
        }
    }

    /// Add a non-scrape source (Prometheus HTTP API, broker monitoring endpoints, ...).
    pub fn add_source(&mut self, source: Arc<dyn PullSource>) {
        self.status.push(SourceStatus {
            name: source.name().to_owned(),
            last_success_ms: None,
            stale: true,
            last_error: None,
            samples: 0,
            duration_ms: 0,
        });
        self.pulls.push(source);
    }

    /// Collect from every target and source concurrently and append what parsed. A failing
    /// one is marked stale with the reason; the others are unaffected. `now_ms` stamps samples
    /// that carry no timestamp of their own.
    pub async fn collect(&mut self, now_ms: i64) {
        enum Got {
            Scrape(Result<scrape::Fetched, scrape::ScrapeError>),
            Pull(Result<sources::Samples, String>),
        }
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let (scraper, t) = (self.scraper.clone(), t.clone());
            set.spawn(async move {
                let (r, took) = scraper.fetch(&t).await;
                (i, (Got::Scrape(r), took))
            });
        }
        let n = self.targets.len();
        let timeout = self.opts.timeout;
        for (j, p) in self.pulls.iter().enumerate() {
            let p = Arc::clone(p);
            set.spawn(async move {
                let start = std::time::Instant::now();
                let r = tokio::time::timeout(timeout, p.pull(now_ms))
                    .await
                    .unwrap_or_else(|_| Err(format!("timed out after {} ms", timeout.as_millis())));
                (n + j, (Got::Pull(r), start.elapsed()))
            });
        }
        let mut results = Vec::with_capacity(self.status.len());
        while let Some(joined) = set.join_next().await {
            if let Ok(r) = joined {
                results.push(r);
            }
        }
        results.sort_by_key(|(i, _)| *i);
        let dropped_before = self.store.dropped_samples();
        if let Some(r) = &mut self.recording {
            r.clear();
        }
        for (i, (got, took)) in results {
            let outcome = match got {
                Got::Scrape(res) => res
                    .map_err(|e| e.to_string())
                    .and_then(|f| self.ingest(i, &f, now_ms)),
                Got::Pull(res) => res.and_then(|s| {
                    let n = self.ingest_samples(&s, now_ms);
                    if let (Some(r), Ok(_)) = (&mut self.recording, &n) {
                        r.push(record::SourceCycle {
                            source: self.status[i].name.clone(),
                            result: Ok(s),
                        });
                    }
                    n
                }),
            };
            if let (Some(r), Err(e)) = (&mut self.recording, &outcome) {
                r.push(record::SourceCycle {
                    source: self.status[i].name.clone(),
                    result: Err(e.clone()),
                });
            }
            let st = &mut self.status[i];
            st.duration_ms = took.as_millis() as u64;
            match outcome {
                Ok(n) => fresh(st, now_ms, n),
                Err(e) => {
                    tracing::warn!(target = %st.name, error = %e, "scrape failed");
                    st.stale = true;
                    st.last_error = Some(e);
                }
            }
        }
        let dropped = self.store.dropped_samples() - dropped_before;
        if dropped > 0 {
            tracing::warn!(
                max_series = self.opts.max_series,
                dropped,
                "series limit reached: samples of new series dropped this cycle (raise limits.max_series)"
            );
        }
    }

    /// The history of every source that keeps one ([`PullSource::history`]), from `from_ms`
    /// to `to_ms` every `step_ms`: per step (oldest first), each such source's samples by its
    /// index among the sources. A source whose history cannot be read is skipped with a warning
    /// (it is then simply not warm-started); sources without history give nothing.
    pub async fn history(&self, from_ms: i64, to_ms: i64, step_ms: i64) -> HistorySteps {
        let mut steps: std::collections::BTreeMap<i64, Vec<(usize, sources::Samples)>> =
            std::collections::BTreeMap::new();
        let n = self.targets.len();
        for (j, p) in self.pulls.iter().enumerate() {
            let Some(fut) = p.history(from_ms, to_ms, step_ms) else {
                continue;
            };
            match fut.await {
                Ok(h) => {
                    for (ts, samples) in h {
                        steps.entry(ts).or_default().push((n + j, samples));
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %p.name(), error = %e, "history unavailable: no warm start from it");
                }
            }
        }
        steps.into_iter().collect()
    }

    /// Take one step of [`Collector::history`] as the collection at `ts_ms`: only the sources
    /// in it are touched (their freshness included); nothing is fetched.
    pub fn ingest_history(&mut self, ts_ms: i64, step: &[(usize, sources::Samples)]) {
        for (i, samples) in step {
            let outcome = self.ingest_samples(samples, ts_ms);
            let Some(st) = self.status.get_mut(*i) else {
                continue;
            };
            match outcome {
                Ok(n) => fresh(st, ts_ms, n),
                Err(e) => {
                    tracing::warn!(target = %st.name, error = %e, "history step refused");
                }
            }
        }
    }

    /// Keep a copy of what every source gives from now on, for [`Collector::recorded`].
    pub fn start_recording(&mut self) {
        self.recording = Some(Vec::new());
    }

    /// What each source gave in the last collection (empty unless recording), in source
    /// order: samples, or the reason the source failed.
    pub fn recorded(&self) -> &[record::SourceCycle] {
        self.recording.as_deref().unwrap_or(&[])
    }

    /// The collector's own figures: series held against the limit, what the limits refused.
    pub fn stats(&self) -> CollectorStats {
        CollectorStats {
            series: self.store.series_count(),
            max_series: self.opts.max_series,
            dropped_samples_total: self.store.dropped_samples(),
            samples_per_target: self.opts.samples_per_target,
            over_sample_limit_total: self.over_sample_limit_total,
            frame_bytes: self.store.estimated_bytes(),
        }
    }

    fn ingest(&mut self, i: usize, f: &scrape::Fetched, now_ms: i64) -> Result<usize, String> {
        let format = match f.content_type.as_deref() {
            Some(ct) if ct.starts_with("application/openmetrics-text") => {
                exposition::Format::OpenMetrics
            }
            _ => exposition::detect_format(&f.body),
        };
        let exp =
            exposition::parse(&f.body, format).map_err(|e| format!("malformed exposition: {e}"))?;
        self.check_sample_limit(exp.sample_count())?;
        // Added by the frame store where the samples become rows (the pairs are borrowed; the
        // parsed exposition is not rewritten).
        let labels: Vec<(&str, &str)> = self
            .target_labels
            .get(i)
            .map(|l| l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .unwrap_or_default();
        let n = self
            .store
            .append(&exp, now_ms, &labels)
            .map_err(|e| e.to_string())?;
        if let Some(r) = &mut self.recording {
            r.push(record::SourceCycle {
                source: self.status[i].name.clone(),
                result: Ok(sources::Samples::from_exposition_with(&exp, &labels)),
            });
        }
        Ok(n)
    }

    fn check_sample_limit(&mut self, n: usize) -> Result<(), String> {
        if n > self.opts.samples_per_target {
            self.over_sample_limit_total += 1;
            return Err(format!(
                "sample limit exceeded: {n} samples > {} (limits.samples_per_target); nothing of this collection was kept",
                self.opts.samples_per_target
            ));
        }
        Ok(())
    }

    fn ingest_samples(&mut self, s: &sources::Samples, now_ms: i64) -> Result<usize, String> {
        self.check_sample_limit(s.sample_count())?;
        let raw = self
            .store
            .append(&s.as_exposition(false), now_ms, &[])
            .map_err(|e| e.to_string())?;
        let rated = self
            .store
            .append_rated(&s.as_exposition(true), now_ms)
            .map_err(|e| e.to_string())?;
        Ok(raw + rated)
    }

    /// Topology and signals at `now_ms` from what has been collected.
    pub fn observe(&self, now_ms: i64) -> Result<Observation, CollectError> {
        Ok(signals::observe(&self.store, now_ms, self.opts.observe)?)
    }

    /// Freshness of every target, in the order given.
    pub fn sources(&self) -> &[SourceStatus] {
        &self.status
    }

    pub fn store(&self) -> &FrameStore {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const T: i64 = 1_700_000_000_000;
    const MEM: &str = "node_memory_MemAvailable_bytes";

    /// One scrape of `text` from a target at 10.0.0.7:9100, recorded.
    fn scraped(text: &str) -> Collector {
        let mut c = Collector::new(
            vec!["http://10.0.0.7:9100/metrics".into()],
            CollectorOptions::default(),
        );
        c.start_recording();
        let f = scrape::Fetched {
            body: text.to_owned(),
            content_type: None,
        };
        c.ingest(0, &f, T).expect("ingest");
        c
    }

    fn key(instance: &str, job: &str) -> Vec<String> {
        vec![instance.to_owned(), job.to_owned()]
    }

    #[test]
    fn a_scrape_adds_the_target_labels_only_where_a_sample_lacks_them() {
        let c = scraped(
            "# TYPE node_memory_MemAvailable_bytes gauge\n\
             node_memory_MemAvailable_bytes 1\n\
             node_memory_MemAvailable_bytes{instance=\"node-a:9100\",job=\"node\"} 2\n\
             node_memory_MemAvailable_bytes{instance=\"node-b:9100\"} 3\n",
        );
        let by = ["instance", "job"];
        let got = c
            .store()
            .window(MEM, T - 1000, T, &by)
            .expect("window")
            .latest_by(|_, _| true, &by, f64::max);
        let want = BTreeMap::from([
            (key("10.0.0.7:9100", "scrape"), 1.0),
            (key("node-a:9100", "node"), 2.0),
            (key("node-b:9100", "scrape"), 3.0),
        ]);
        assert_eq!(got, want);

        // The recording holds what was stored, so a replay sees the same labels.
        let rec = c.recorded();
        assert_eq!(rec.len(), 1);
        let samples = rec[0].result.as_ref().expect("recorded samples");
        let labels: Vec<&[(String, String)]> = samples.families[0]
            .samples
            .iter()
            .map(|s| s.labels.as_slice())
            .collect();
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            labels,
            [
                pairs(&[("instance", "10.0.0.7:9100"), ("job", "scrape")]).as_slice(),
                pairs(&[("instance", "node-a:9100"), ("job", "node")]).as_slice(),
                pairs(&[("instance", "node-b:9100"), ("job", "scrape")]).as_slice(),
            ]
        );
    }

    #[test]
    fn a_node_exporter_without_instance_becomes_a_node_named_after_the_target() {
        let c = scraped(
            "# TYPE node_memory_MemAvailable_bytes gauge\nnode_memory_MemAvailable_bytes 5\n",
        );
        let obs = c.observe(T).expect("observe");
        let node = model::EntityId::new(model::EntityKind::Node, "", "10.0.0.7");
        assert!(obs.topology.entities.contains(&node), "{:?}", obs.topology);
        let key = model::SignalKey {
            entity: node,
            kind: model::SignalKind::NodeMemAvailable,
        };
        assert_eq!(obs.signals.get(&key), Some(&5.0));
    }
}
