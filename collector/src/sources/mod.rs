//! Where samples come from, one module per source: [`scrape`] (HTTP `/metrics` endpoints),
//! [`promql`] (the Prometheus HTTP API), [`nats`] and [`rabbitmq`] (brokers' JSON monitoring
//! endpoints).
//!
//! Sources other than a `/metrics` scrape: anything that yields samples each cycle (the
//! Prometheus HTTP API, a broker's JSON monitoring endpoints) implements [`PullSource`];
//! anything that adds inventory or change events to an observation (the Kubernetes API)
//! implements [`Enricher`].

pub mod annotations;
pub mod nats;
pub mod promql;
pub mod rabbitmq;
pub mod scrape;

use crate::exposition::{Exposition, Family, Label, MetricType, Sample};
use crate::model::SourceStatus;
use crate::signals::Observation;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// One sample with owned names, for sources that do not parse exposition text.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedSample {
    /// Full sample name, e.g. `foo_bucket`.
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Unix ms; `None` takes the collection time.
    pub ts_ms: Option<i64>,
}

/// One metric family with owned names.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedFamily {
    /// The family's frame name (counters end in `_total`, as in the Prometheus text format).
    pub name: String,
    pub kind: MetricType,
    pub samples: Vec<OwnedSample>,
    /// The values are per-second rates over the rate window computed by the source (PromQL
    /// `rate()` pushed down to the server), not raw counter values.
    pub rated: bool,
}

/// What one collection of a [`PullSource`] produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub families: Vec<OwnedFamily>,
}

impl Samples {
    /// Add a family (or more samples to an existing one of the same name).
    pub fn family(&mut self, name: &str, kind: MetricType) -> &mut OwnedFamily {
        let pos = self.families.iter().position(|f| f.name == name);
        let i = match pos {
            Some(i) => i,
            None => {
                self.families.push(OwnedFamily {
                    name: name.to_owned(),
                    kind,
                    samples: Vec::new(),
                    rated: false,
                });
                self.families.len() - 1
            }
        };
        &mut self.families[i]
    }

    /// An owned copy of a parsed payload (for recording).
    pub fn from_exposition(exp: &Exposition<'_>) -> Self {
        Self::from_exposition_with(exp, &[])
    }

    /// An owned copy of a parsed payload with `target_labels` added to every sample that lacks
    /// them (what a scrape stored, see [`scrape::target_labels`]).
    pub fn from_exposition_with(exp: &Exposition<'_>, target_labels: &[(&str, &str)]) -> Self {
        let mut out = Samples::default();
        for f in &exp.families {
            let fam = out.family(f.name, f.kind);
            fam.samples.extend(f.samples.iter().map(|s| {
                let mut labels: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_owned(), l.value.as_ref().to_owned()))
                    .collect();
                for (k, v) in target_labels {
                    if !s.labels.iter().any(|l| l.name == *k) {
                        labels.push(((*k).to_owned(), (*v).to_owned()));
                    }
                }
                OwnedSample {
                    name: s.name.to_owned(),
                    labels,
                    value: s.value,
                    ts_ms: s.timestamp_ms,
                }
            }));
        }
        out
    }

    /// Number of samples over all families.
    pub fn sample_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }

    /// A borrowed view in the parser's shape, for the frame store. Only families whose
    /// `rated` flag equals `rated` are included.
    pub fn as_exposition(&self, rated: bool) -> Exposition<'_> {
        Exposition {
            families: self
                .families
                .iter()
                .filter(|f| f.rated == rated)
                .map(|f| Family {
                    name: &f.name,
                    kind: f.kind,
                    help: None,
                    unit: None,
                    samples: f
                        .samples
                        .iter()
                        .map(|s| Sample {
                            name: &s.name,
                            labels: s
                                .labels
                                .iter()
                                .map(|(n, v)| Label {
                                    name: n,
                                    value: Cow::Borrowed(v),
                                })
                                .collect(),
                            value: s.value,
                            timestamp_ms: s.ts_ms,
                            exemplar: None,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The future a [`PullSource`] returns.
pub type PullFuture<'a> = Pin<Box<dyn Future<Output = Result<Samples, String>> + Send + 'a>>;

/// What a source held at past moments, oldest first: one `(ts_ms, samples)` per step.
pub type History = Vec<(i64, Samples)>;

/// The future [`PullSource::history`] returns.
pub type HistoryFuture<'a> = Pin<Box<dyn Future<Output = Result<History, String>> + Send + 'a>>;

/// A source polled once per cycle. Errors are plain words for the operator ("cannot reach
/// http://...: connection refused"); the collector marks the source stale with them and goes
/// on. Implementations bound their own time (the collector also applies its timeout).
pub trait PullSource: Send + Sync + std::fmt::Debug {
    /// Name shown in source freshness (usually the URL).
    fn name(&self) -> &str;
    /// Collect once, for the moment `now_ms`.
    fn pull(&self, now_ms: i64) -> PullFuture<'_>;
    /// What this source would have given at every `step_ms` from `from_ms` to `to_ms`
    /// (inclusive), for a source that keeps history (a metrics server); `None` for one that
    /// only knows the present (a `/metrics` endpoint, a broker's monitoring port).
    fn history(&self, from_ms: i64, to_ms: i64, step_ms: i64) -> Option<HistoryFuture<'_>> {
        let _ = (from_ms, to_ms, step_ms);
        None
    }
}

/// A source that adds to an observation after it was computed from the frames: inventory
/// (entities and edges), change events, termination reasons.
pub trait Enricher: Send + std::fmt::Debug {
    /// Add what this source knows at `now_ms` to `obs`.
    fn enrich(&mut self, obs: &mut Observation, now_ms: i64);
    /// Freshness of this source.
    fn status(&self) -> SourceStatus;
}
