//! The Prometheus HTTP API as a source: the signals' inputs are computed by PromQL on the
//! server (rates over the server's own samples, sums by the labels the signals group by), so the
//! same source works on Prometheus, Thanos, Mimir or VictoriaMetrics and moves only aggregated
//! series over the wire.
//!
//! Which families and labels to ask for is not a second list kept by hand: it is what
//! [`crate::signals`] reads ([`crate::signals::wanted`]), so a signal added there is fetched
//! here too. For each family the query is
//!
//! - a counter (name ends in `_total`): `sum by (L) (rate(F[W]))`, stored as a *rated* family
//!   (see [`crate::frames::FamilyFrame::rated`]);
//! - a histogram (the signals read its `le`): `sum by (L) (rate(F_bucket[W]))`, rated, under
//!   the sample name `F_bucket`; quantiles are then taken from those summed bucket rates
//!   exactly as PromQL's `histogram_quantile` does (the same function the scrape path uses);
//! - anything else (gauges, info metrics): `sum by (L) (F)`.
//!
//! `L` is every label the signals read of the family, so the local filters (e.g. "a real
//! container, not the pod cgroup") still apply to the aggregated series. `W` is the source's
//! rate window: a few of the server's scrape intervals (default 1 m).
//!
//! **History.** The server keeps what it scraped, so the source can answer for the past too
//! ([`PullSource::history`]): the same queries as range queries (`query_range`, one per
//! query over the whole span), split into one sample set per step. The engine feeds these to
//! the detectors before its first live cycle (a warm start), so that opscope started during an
//! outage does not learn the outage as normal.

use super::scrape::error_chain;
use super::{History, HistoryFuture, OwnedSample, PullFuture, PullSource, Samples};
use crate::exposition::{MetricType, is_label_name, is_metric_name};
use crate::signals::ObserveOptions;
use prometheus_http_query::Client;
use prometheus_http_query::response::PromqlResult;
use std::collections::BTreeMap;
use std::time::Duration;

/// Why the Prometheus source could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    #[error("invalid Prometheus URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
}

/// One PromQL query and where its result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushdown {
    /// Frame family the result is stored under.
    pub family: String,
    /// Sample name of the stored rows (`F_bucket` for histogram buckets, else the family).
    pub sample: String,
    /// The query.
    pub promql: String,
    /// Result values are per-second rates.
    pub rated: bool,
}

/// Build the queries for `wanted` (family, labels) pairs with rate window `window`.
pub fn plan(wanted: &[(String, Vec<String>)], window: Duration) -> Vec<Pushdown> {
    let w = promql_duration(window);
    wanted
        .iter()
        .filter(|(f, _)| is_metric_name(f))
        .map(|(family, labels)| {
            let labels: Vec<&str> = labels
                .iter()
                .map(String::as_str)
                .filter(|l| is_label_name(l))
                .collect();
            let histogram = labels.contains(&"le");
            let by = labels.join(", ");
            if histogram {
                let sample = format!("{family}_bucket");
                Pushdown {
                    family: family.clone(),
                    promql: format!("sum by ({by}) (rate({sample}[{w}]))"),
                    sample,
                    rated: true,
                }
            } else if family.ends_with("_total") {
                Pushdown {
                    family: family.clone(),
                    sample: family.clone(),
                    promql: format!("sum by ({by}) (rate({family}[{w}]))"),
                    rated: true,
                }
            } else {
                Pushdown {
                    family: family.clone(),
                    sample: family.clone(),
                    promql: format!("sum by ({by}) ({family})"),
                    rated: false,
                }
            }
        })
        .collect()
}

/// `90s` -> `90s`, `1500ms` -> `1500ms` (PromQL durations).
fn promql_duration(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A Prometheus-compatible query API.
#[derive(Clone)]
pub struct PromSource {
    name: String,
    client: Client,
    queries: Vec<Pushdown>,
    timeout: Duration,
}

impl PromSource {
    /// A source querying `url` (the server's base URL, e.g. `http://127.0.0.1:9090`, or a
    /// path prefix such as Thanos' or Mimir's `/prometheus`) with rate window `window`, for the
    /// signals computed with `opts`. Each query is bounded by `timeout`.
    pub fn new(
        url: &str,
        window: Duration,
        timeout: Duration,
        opts: ObserveOptions,
    ) -> Result<Self, PromError> {
        let bad = |reason: String| PromError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("expected an http:// or https:// URL".into()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("opscope/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let client = Client::from(http, url).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            name: format!("prometheus {url}"),
            client,
            queries: plan(&crate::signals::wanted(opts), window),
            timeout,
        })
    }

    /// The queries run every cycle.
    pub fn queries(&self) -> &[Pushdown] {
        &self.queries
    }

    async fn pull_all(&self, now_ms: i64) -> Result<Samples, String> {
        let at = now_ms.div_euclid(1000);
        let timeout_ms = i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX);
        let results = self
            .run_queries(|q| {
                let req = self.client.query(&q.promql).at(at).timeout(timeout_ms);
                async move { req.get().await.map_err(|e| error_chain(&e)) }
            })
            .await;
        let mut out = Samples::default();
        let mut errors = Vec::new();
        for (i, res) in results {
            let q = &self.queries[i];
            let data = match res {
                Ok(r) => r,
                Err(e) => {
                    errors.push(format!("{}: {e}", q.promql));
                    continue;
                }
            };
            let Some(vector) = data.data().as_vector() else {
                errors.push(format!("{}: not an instant vector", q.promql));
                continue;
            };
            let fam = out.family(&q.family, q.metric_type());
            fam.rated = q.rated;
            for v in vector {
                fam.samples.push(OwnedSample {
                    name: q.sample.clone(),
                    labels: labels_of(v.metric()),
                    value: v.sample().value(),
                    ts_ms: Some(now_ms),
                });
            }
        }
        self.failures(errors, "some PromQL queries failed")?;
        out.families.retain(|f| !f.samples.is_empty());
        Ok(out)
    }
}

impl PromSource {
    /// The queries as range queries from `from_ms` to `to_ms` every `step_ms`, split into one
    /// sample set per step (oldest first). Steps where the server had nothing are left out.
    async fn history_all(&self, from_ms: i64, to_ms: i64, step_ms: i64) -> Result<History, String> {
        let step_ms = step_ms.max(1000);
        // Prometheus refuses more than 11,000 points per series: keep the newest.
        let from_ms = from_ms.max(to_ms - step_ms * (MAX_RANGE_POINTS - 1));
        let (start, end) = (from_ms.div_euclid(1000), to_ms.div_euclid(1000));
        if end < start {
            return Ok(History::new());
        }
        let step = step_ms as f64 / 1000.0;
        // A range query reads far more than an instant one: give it a few timeouts.
        let timeout = self.timeout * 4;
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let results = self
            .run_queries(|q| {
                let req = self
                    .client
                    .query_range(&q.promql, start, end, step)
                    .timeout(timeout_ms);
                async move {
                    match tokio::time::timeout(timeout, req.get()).await {
                        Ok(r) => r.map_err(|e| error_chain(&e)),
                        Err(_) => Err(format!("timed out after {timeout:?}")),
                    }
                }
            })
            .await;
        let mut steps: BTreeMap<i64, Samples> = BTreeMap::new();
        let mut errors = Vec::new();
        for (i, res) in results {
            let q = &self.queries[i];
            let data = match res {
                Ok(r) => r,
                Err(e) => {
                    errors.push(format!("{}: {e}", q.promql));
                    continue;
                }
            };
            let Some(matrix) = data.data().as_matrix() else {
                errors.push(format!("{}: not a range vector", q.promql));
                continue;
            };
            for series in matrix {
                let labels = labels_of(series.metric());
                for point in series.samples() {
                    let ts_ms = (point.timestamp() * 1000.0).round() as i64;
                    let fam = steps
                        .entry(ts_ms)
                        .or_default()
                        .family(&q.family, q.metric_type());
                    fam.rated = q.rated;
                    fam.samples.push(OwnedSample {
                        name: q.sample.clone(),
                        labels: labels.clone(),
                        value: point.value(),
                        ts_ms: Some(ts_ms),
                    });
                }
            }
        }
        self.failures(errors, "some PromQL range queries failed")?;
        Ok(steps.into_iter().collect())
    }

    /// One request per query, all at once; the answers in query order (so that every sample
    /// set lists its families in the same order), each the result or the reason it failed.
    async fn run_queries<F>(
        &self,
        request: impl Fn(&Pushdown) -> F,
    ) -> Vec<(usize, Result<PromqlResult, String>)>
    where
        F: std::future::Future<Output = Result<PromqlResult, String>> + Send + 'static,
    {
        let mut set = tokio::task::JoinSet::new();
        for (i, q) in self.queries.iter().enumerate() {
            let req = request(q);
            set.spawn(async move { (i, req.await) });
        }
        let mut results = Vec::with_capacity(self.queries.len());
        while let Some(joined) = set.join_next().await {
            if let Ok(r) = joined {
                results.push(r);
            }
        }
        results.sort_by_key(|(i, _)| *i);
        results
    }

    /// A server that answers no query is down (the first reason is the error); some failing
    /// queries among many are a warning.
    fn failures(&self, mut errors: Vec<String>, warning: &'static str) -> Result<(), String> {
        if errors.is_empty() {
            return Ok(());
        }
        if errors.len() == self.queries.len() {
            return Err(errors.swap_remove(0));
        }
        tracing::warn!(source = %self.name, failed = errors.len(), first = %errors[0], "{warning}");
        Ok(())
    }
}

/// Most points Prometheus returns per series of a range query.
const MAX_RANGE_POINTS: i64 = 11_000;

/// A result series' labels, sorted, without `__name__`.
fn labels_of(metric: &std::collections::HashMap<String, String>) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = metric
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.sort();
    labels
}

impl Pushdown {
    /// The kind decides the frame name: a counter's frame ends in `_total`, a histogram's is
    /// its family name.
    fn metric_type(&self) -> MetricType {
        match (self.rated, self.sample != self.family) {
            (true, true) => MetricType::Histogram,
            (true, false) => MetricType::Counter,
            (false, _) => MetricType::Gauge,
        }
    }
}

impl std::fmt::Debug for PromSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromSource")
            .field("name", &self.name)
            .field("queries", &self.queries.len())
            .finish()
    }
}

impl PullSource for PromSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn pull(&self, now_ms: i64) -> PullFuture<'_> {
        Box::pin(self.pull_all(now_ms))
    }

    fn history(&self, from_ms: i64, to_ms: i64, step_ms: i64) -> Option<HistoryFuture<'_>> {
        Some(Box::pin(self.history_all(from_ms, to_ms, step_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conventions::{cadvisor, ksm};

    #[test]
    fn every_family_the_signals_read_gets_one_query() {
        let wanted = crate::signals::wanted(ObserveOptions::default());
        let plan = plan(&wanted, Duration::from_secs(60));
        assert_eq!(plan.len(), wanted.len());
        let q = |f: &str| {
            plan.iter()
                .find(|p| p.family == f)
                .unwrap_or_else(|| panic!("{f} not queried: {plan:#?}"))
        };
        let cpu = q(cadvisor::CPU);
        assert!(cpu.rated);
        assert_eq!(
            cpu.promql,
            "sum by (container, namespace, pod) (rate(container_cpu_usage_seconds_total[60s]))"
        );
        let info = q(ksm::POD_INFO);
        assert!(!info.rated);
        assert!(info.promql.starts_with("sum by ("), "{}", info.promql);
        assert!(info.promql.contains("created_by_name"), "{}", info.promql);
        let hist = q("istio_request_duration_milliseconds");
        assert!(hist.rated);
        assert_eq!(hist.sample, "istio_request_duration_milliseconds_bucket");
        assert!(
            hist.promql
                .contains("rate(istio_request_duration_milliseconds_bucket[60s])")
        );
        // Rollout inputs are asked for even when no ReplicaSet is known yet.
        q(ksm::RS_CREATED);
        q(ksm::CONTAINER_INFO);
    }

    #[test]
    fn hostile_names_never_reach_a_query() {
        let wanted = vec![
            ("up} or vector(1".to_owned(), vec!["job".to_owned()]),
            (
                "ok_metric".to_owned(),
                vec!["a) or (b".to_owned(), "pod".to_owned()],
            ),
        ];
        let plan = plan(&wanted, Duration::from_millis(1500));
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].promql, "sum by (pod) (ok_metric)");
        assert_eq!(promql_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        let e = PromSource::new(
            "localhost:9090",
            Duration::from_secs(60),
            Duration::from_secs(5),
            ObserveOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("http://"), "{e}");
    }
}
