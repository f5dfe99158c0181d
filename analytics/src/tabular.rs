//! Root-cause ranking on a table of per-service metrics (the RCAEval layout), without a
//! detector run and without needing a topology.
//!
//! Input: a `time` column and one column per `<service>_<metric>` (`carts_cpu`,
//! `front-end_lat_99`, `orders-db_latency-50`), a fault injection time, optionally a separate
//! fault-free table and a call graph (`source` calls `target`).
//!
//! Method (BARO-style robust scoring, then an optional topology step):
//! 1. Per column, the normal period (rows before the injection, or the separate fault-free
//!    table) gives a median and a spread (IQR, MAD, floored; see [`NoiseFloors`]).
//! 2. Every row after the injection is turned into a deviation in units of that spread; the
//!    column's deviation is a high quantile of those ([`POST_QUANTILE`]), so one noisy point
//!    does not count but a fault that comes and goes (OOM restarts) still does.
//! 3. A service's score is its most deviant column, log-compressed and weighted by metric type
//!    (request rate counts less: a load change is usually someone upstream's doing).
//! 4. With a call graph, a service whose callees are clearly anomalous is discounted in
//!    proportion to how much of its own deviation they explain (symptoms flow upstream; the
//!    root is the anomalous service whose dependencies are healthy).
//!
//! Pure: no I/O. Reading CSV files is the binary's job.

use opscope_layout::format::bytes as format_bytes;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Fewest finite normal-period values a column needs to be scored.
pub const MIN_NORMAL_ROWS: usize = 4;
/// Quantile of a column's post-injection deviations taken as its deviation: 0.75 ignores a
/// few noisy points (up to a quarter of the window) yet keeps intermittent faults (a pod that
/// is OOMKilled and restarted every couple of minutes).
pub const POST_QUANTILE: f64 = 0.75;
/// Deviation (in spreads) from which a column is worth a line of evidence.
pub const EVIDENCE_DEVIATION: f64 = 3.0;
/// Deviation (in spreads) from which a callee counts as anomalous for the topology step.
pub const ANOMALOUS_DEVIATION: f64 = 5.0;
/// How much of a caller's score anomalous callees can take away (0.7: a caller whose own
/// deviation is fully explained by a callee keeps 30 % of its score).
pub const CALLEE_DISCOUNT: f64 = 0.7;

/// Weight of each metric type in a service's score (all 1 but the request rate).
fn weight(kind: MetricKind) -> f64 {
    match kind {
        MetricKind::Cpu
        | MetricKind::Memory
        | MetricKind::Latency
        | MetricKind::Errors
        | MetricKind::Restarts
        | MetricKind::Unavailable
        | MetricKind::Lag => 1.0,
        // A request-rate change is mostly the callers' (or the users') doing.
        MetricKind::Load => 0.5,
        // Unknown metrics (disk, sockets, ...) count, a little less than the known ones.
        MetricKind::Other => 0.8,
    }
}

/// Lower bounds of a column's spread, so that a flat normal period does not turn any wobble
/// into a huge deviation.
#[derive(Debug, Clone, Copy)]
pub struct NoiseFloors;

impl NoiseFloors {
    /// A move of 5 % of the normal median is never more than one spread.
    pub const RELATIVE: f64 = 0.05;
    /// Latency quantiles, 10 %: they are interpolated inside histogram buckets about twice as
    /// wide as their lower bound, so a few slow requests move a p99 by a fifth.
    pub const RELATIVE_LATENCY: f64 = 0.10;
    /// A post-injection point's spread is at least 1 % of its own value (a move from 0 to x is
    /// at most 100 spreads).
    pub const RELATIVE_POINT: f64 = 0.01;
    /// Error ratios (values within 0..=1): one percentage point.
    pub const ERROR_RATIO: f64 = 0.01;
    /// Counts (restarts, error counts, lag, load): one unit.
    pub const COUNT: f64 = 1.0;
    /// Anything else: essentially zero, only to avoid dividing by it.
    pub const ANY: f64 = 1e-9;
}

/// What a metric column measures, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Cpu,
    Memory,
    Latency,
    Errors,
    /// Request (or message) rate.
    Load,
    Restarts,
    /// Replicas unavailable.
    Unavailable,
    /// Consumer lag / queue depth.
    Lag,
    /// A metric suffix this module does not interpret (disk, network, sockets, ...).
    Other,
}

/// A column name split into service and metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricName {
    pub service: String,
    /// The metric part as written (`lat_99`, `latency-50`, `cpu`).
    pub metric: String,
    pub kind: MetricKind,
    /// Quantile in percent for latency columns that name one (`lat_99` -> 99).
    pub quantile: Option<u32>,
}

/// Stems of metric suffixes that are recognised, with their kind. A suffix is recognised when
/// its first word (split on `_` and `-`) starts with one of these.
const STEMS: &[(&str, MetricKind)] = &[
    ("cpu", MetricKind::Cpu),
    ("mem", MetricKind::Memory),
    ("lat", MetricKind::Latency),
    ("duration", MetricKind::Latency),
    ("rt", MetricKind::Latency),
    ("response", MetricKind::Latency),
    ("err", MetricKind::Errors),
    ("fail", MetricKind::Errors),
    ("5xx", MetricKind::Errors),
    ("load", MetricKind::Load),
    ("workload", MetricKind::Load),
    ("qps", MetricKind::Load),
    ("rps", MetricKind::Load),
    ("tps", MetricKind::Load),
    ("req", MetricKind::Load),
    ("throughput", MetricKind::Load),
    ("restart", MetricKind::Restarts),
    ("unavail", MetricKind::Unavailable),
    ("lag", MetricKind::Lag),
    ("queue", MetricKind::Lag),
    ("disk", MetricKind::Other),
    ("net", MetricKind::Other),
    ("socket", MetricKind::Other),
    ("tx", MetricKind::Other),
    ("rx", MetricKind::Other),
    ("io", MetricKind::Other),
    ("thread", MetricKind::Other),
    ("gc", MetricKind::Other),
    ("fd", MetricKind::Other),
];

fn known_kind(metric: &str) -> Option<MetricKind> {
    let lower = metric.to_ascii_lowercase();
    let first = lower.split(['_', '-']).next().unwrap_or("");
    STEMS.iter().find_map(|(stem, kind)| {
        let exact_only = *stem == "rt" || *stem == "tx" || *stem == "rx" || *stem == "io";
        let hit = if exact_only {
            first == *stem
        } else {
            first.starts_with(stem)
        };
        hit.then_some(*kind)
    })
}

fn quantile_of(metric: &str) -> Option<u32> {
    let digits: String = metric
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok().filter(|q| (1..=100).contains(q))
}

/// Split `<service>_<metric>` at the last `_` whose right part is a recognised metric
/// (`front-end_lat_99` -> `front-end` + `lat_99`), otherwise at the last `_`; `None` when the
/// name has no `_` with text on both sides.
pub fn split_column(name: &str) -> Option<MetricName> {
    let make = |pos: usize, kind: MetricKind| {
        let metric = &name[pos + 1..];
        MetricName {
            service: name[..pos].to_owned(),
            metric: metric.to_owned(),
            kind,
            quantile: (kind == MetricKind::Latency)
                .then(|| quantile_of(metric))
                .flatten(),
        }
    };
    let positions: Vec<usize> = name.match_indices('_').map(|(i, _)| i).collect();
    for &pos in positions.iter().rev() {
        if pos == 0 || pos + 1 >= name.len() {
            continue;
        }
        if let Some(kind) = known_kind(&name[pos + 1..]) {
            return Some(make(pos, kind));
        }
    }
    positions
        .iter()
        .rev()
        .find(|&&pos| pos > 0 && pos + 1 < name.len())
        .map(|&pos| make(pos, MetricKind::Other))
}

/// A table of samples: a time column and named value columns of the same length. Missing
/// values are NaN.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Unix seconds.
    pub time: Vec<f64>,
    pub columns: Vec<Series>,
}

/// One named column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// What [`rank`] works on.
#[derive(Debug, Clone, Copy)]
pub struct RankInput<'a> {
    pub data: &'a Table,
    /// A fault-free table; without it the rows of `data` before `inject_time` are the normal
    /// period.
    pub normal: Option<&'a Table>,
    /// Fault injection, Unix seconds: rows at or after it are the anomalous period.
    pub inject_time: f64,
    /// Call graph, `(caller, callee)`.
    pub edges: Option<&'a [(String, String)]>,
}

/// Why a table cannot be ranked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TabularError {
    #[error(
        "fewer than {MIN_NORMAL_ROWS} rows before the injection time {inject_time}: no normal period to compare with (give one with a separate fault-free table)"
    )]
    NoNormalPeriod { inject_time: f64 },
    #[error("no rows at or after the injection time {inject_time}")]
    NoAnomalousPeriod { inject_time: f64 },
    #[error("no column is named like <service>_<metric>")]
    NoServices,
}

/// One service in the ranking.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedService {
    pub service: String,
    /// Higher is more likely the root cause; comparable within one ranking only.
    pub score: f64,
    /// Why, in plain words, most telling first.
    pub evidence: Vec<String>,
}

/// Every service of the table, most likely root cause first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranking {
    pub ranking: Vec<RankedService>,
    /// Columns that were not used, with the reason (not part of the JSON output).
    #[serde(skip)]
    pub ignored: Vec<String>,
}

/// How far one column moved after the injection.
#[derive(Debug, Clone)]
struct ColumnScore {
    name: MetricName,
    /// Normal median.
    before: f64,
    /// A representative post-injection value (the one at [`POST_QUANTILE`] of deviation).
    after: f64,
    /// Deviation in spreads.
    deviation: f64,
    /// Values look like a ratio (all within 0..=1).
    ratio: bool,
}

fn finite(v: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut out: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
    out.sort_by(f64::total_cmp);
    out
}

/// Linear-interpolated quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn score_column(name: MetricName, normal: &[f64], post: &[f64]) -> Result<ColumnScore, String> {
    let n = finite(normal.iter().copied());
    let a: Vec<f64> = post.iter().copied().filter(|x| x.is_finite()).collect();
    if n.len() < MIN_NORMAL_ROWS {
        return Err(format!("{} normal value(s)", n.len()));
    }
    if a.is_empty() {
        return Err("no value after the injection".into());
    }
    let (lo, hi) = (n[0], n[n.len() - 1]);
    if a.iter().all(|x| *x == lo) && lo == hi {
        return Err("constant".into());
    }
    let med = quantile(&n, 0.5);
    let iqr = quantile(&n, 0.75) - quantile(&n, 0.25);
    let mad = 1.4826 * quantile(&finite(n.iter().map(|x| (x - med).abs())), 0.5);
    let ratio = n.iter().chain(a.iter()).all(|x| (0.0..=1.0).contains(x));
    let kind_floor = match name.kind {
        MetricKind::Errors if ratio => NoiseFloors::ERROR_RATIO,
        MetricKind::Errors
        | MetricKind::Restarts
        | MetricKind::Unavailable
        | MetricKind::Lag
        | MetricKind::Load => NoiseFloors::COUNT,
        _ => NoiseFloors::ANY,
    };
    let relative = if name.kind == MetricKind::Latency {
        NoiseFloors::RELATIVE_LATENCY
    } else {
        NoiseFloors::RELATIVE
    };
    let spread = iqr.max(mad).max(relative * med.abs()).max(kind_floor);
    // A point's spread is also at least a small fraction of the point itself, so that a move
    // away from a zero median counts as large but finite.
    let mut devs: Vec<(f64, f64)> = a
        .iter()
        .map(|x| {
            (
                (x - med).abs() / spread.max(NoiseFloors::RELATIVE_POINT * x.abs()),
                *x,
            )
        })
        .collect();
    devs.sort_by(|x, y| x.0.total_cmp(&y.0));
    let pos = ((devs.len() - 1) as f64 * POST_QUANTILE).round() as usize;
    let (deviation, after) = devs[pos.min(devs.len() - 1)];
    Ok(ColumnScore {
        name,
        before: med,
        after,
        deviation,
        ratio,
    })
}

/// Rank every service of `input.data`, most likely root cause first.
pub fn rank(input: &RankInput<'_>) -> Result<Ranking, TabularError> {
    let data = input.data;
    let post_rows: Vec<usize> = (0..data.time.len())
        .filter(|&i| data.time[i] >= input.inject_time)
        .collect();
    if post_rows.is_empty() {
        return Err(TabularError::NoAnomalousPeriod {
            inject_time: input.inject_time,
        });
    }
    let pre_rows: Vec<usize> = (0..data.time.len())
        .filter(|&i| data.time[i] < input.inject_time)
        .collect();
    if input.normal.is_none() && pre_rows.len() < MIN_NORMAL_ROWS {
        return Err(TabularError::NoNormalPeriod {
            inject_time: input.inject_time,
        });
    }
    let mut services: BTreeSet<String> = BTreeSet::new();
    let mut ignored = Vec::new();
    let mut cols: BTreeMap<String, Vec<ColumnScore>> = BTreeMap::new();
    for s in &data.columns {
        let Some(name) = split_column(&s.name) else {
            ignored.push(format!("{}: not named <service>_<metric>", s.name));
            continue;
        };
        services.insert(name.service.clone());
        let normal: Vec<f64> = match input.normal {
            Some(t) => match t.columns.iter().find(|c| c.name == s.name) {
                Some(c) => c.values.clone(),
                None => {
                    ignored.push(format!("{}: not in the normal table", s.name));
                    continue;
                }
            },
            None => pre_rows.iter().map(|&i| s.values[i]).collect(),
        };
        let post: Vec<f64> = post_rows.iter().map(|&i| s.values[i]).collect();
        match score_column(name, &normal, &post) {
            Ok(c) => cols.entry(c.name.service.clone()).or_default().push(c),
            Err(why) => ignored.push(format!("{}: {why}", s.name)),
        }
    }
    if services.is_empty() {
        return Err(TabularError::NoServices);
    }
    for list in cols.values_mut() {
        list.sort_by(|a, b| {
            (b.deviation * weight(b.name.kind)).total_cmp(&(a.deviation * weight(a.name.kind)))
        });
    }
    // Own score: the most deviant column, log-compressed (a 1000x spread move is not 100x as
    // telling as a 10x one) and weighted by type.
    let own: BTreeMap<&str, f64> = services
        .iter()
        .map(|s| {
            let v = cols
                .get(s)
                .and_then(|l| l.first())
                .map(|c| weight(c.name.kind) * c.deviation.ln_1p())
                .unwrap_or(0.0);
            (s.as_str(), v)
        })
        .collect();
    let worst_dev = |s: &str| {
        cols.get(s)
            .and_then(|l| l.first())
            .map(|c| c.deviation)
            .unwrap_or(0.0)
    };
    let mut callees: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in input.edges.unwrap_or(&[]) {
        if from != to && services.contains(from) && services.contains(to) {
            callees
                .entry(from.as_str())
                .or_default()
                .insert(to.as_str());
        }
    }
    let mut out: Vec<RankedService> = services
        .iter()
        .map(|s| {
            let mut score = own[s.as_str()];
            let mut evidence: Vec<String> = cols
                .get(s)
                .map(|l| {
                    l.iter()
                        .filter(|c| c.deviation >= EVIDENCE_DEVIATION)
                        .take(3)
                        .map(phrase)
                        .collect()
                })
                .unwrap_or_default();
            if evidence.is_empty() {
                evidence.push(if let Some(c) = cols.get(s).and_then(|l| l.first()) {
                    format!(
                        "no metric moved clearly beyond its normal spread (largest: {})",
                        phrase(c)
                    )
                } else {
                    "no usable metric (empty or constant columns)".to_owned()
                });
            }
            if input.edges.is_some() {
                let deps = callees.get(s.as_str()).cloned().unwrap_or_default();
                let sick: Vec<&str> = deps
                    .iter()
                    .copied()
                    .filter(|d| worst_dev(d) >= ANOMALOUS_DEVIATION)
                    .collect();
                if sick.is_empty() {
                    if deps.is_empty() {
                        evidence.push("it calls no other service".into());
                    } else if score > 0.0 {
                        evidence.push(format!(
                            "the services it calls look normal: {}",
                            list(&deps.iter().copied().collect::<Vec<_>>())
                        ));
                    }
                } else {
                    let strongest = sick.iter().map(|d| own[d]).fold(0.0, f64::max);
                    let explained = if score > 0.0 {
                        (strongest / score).min(1.0)
                    } else {
                        1.0
                    };
                    score *= 1.0 - CALLEE_DISCOUNT * explained;
                    evidence.push(format!(
                        "calls anomalous {}: likely a symptom of {}",
                        list(&sick),
                        if sick.len() == 1 { "it" } else { "them" }
                    ));
                }
            }
            RankedService {
                service: s.clone(),
                score: (score * 1000.0).round() / 1000.0,
                evidence,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.service.cmp(&b.service))
    });
    Ok(Ranking {
        ranking: out,
        ignored,
    })
}

fn list(names: &[&str]) -> String {
    if names.len() > 4 {
        format!("{} and {} more", names[..4].join(", "), names.len() - 4)
    } else {
        names.join(", ")
    }
}

/// A number with few digits: 0.0123, 1.23, 12.3, 1234.
fn num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// "x4.1" for a rise of 1.5x or more, else "+12%" / "-40%".
fn change(before: f64, after: f64) -> String {
    if before.abs() > 1e-12 && after / before >= 1.5 {
        format!("x{:.1}", after / before)
    } else if before.abs() > 1e-12 {
        format!("{:+.0}%", (after - before) / before.abs() * 100.0)
    } else if after > before {
        "up from 0".into()
    } else {
        "down".into()
    }
}

/// One column's move in plain words. Units follow the export of `opscope sim
/// --export-rcaeval`: latency ms, CPU cores, memory bytes, rates per second.
fn phrase(c: &ColumnScore) -> String {
    let (b, a) = (c.before, c.after);
    let spread = format!("{:.1} spreads from normal", c.deviation);
    let text = match c.name.kind {
        MetricKind::Latency => {
            let label = match c.name.quantile {
                Some(q) => format!("latency p{q}"),
                None => "latency".to_owned(),
            };
            format!(
                "{label} {} after injection ({} ms -> {} ms)",
                change(b, a),
                num(b),
                num(a)
            )
        }
        MetricKind::Cpu => format!(
            "cpu {}{} cores ({} -> {})",
            if a >= b { "+" } else { "-" },
            num((a - b).abs()),
            num(b),
            num(a)
        ),
        MetricKind::Memory if b.abs().max(a.abs()) >= 1024.0 * 1024.0 => format!(
            "memory {} {} ({} -> {})",
            if a >= b { "grew" } else { "fell" },
            format_bytes((a - b).abs()),
            format_bytes(b),
            format_bytes(a)
        ),
        MetricKind::Errors if c.ratio => {
            format!("error ratio {:.1}% -> {:.1}%", b * 100.0, a * 100.0)
        }
        MetricKind::Load => format!(
            "request rate {} ({} -> {} /s)",
            change(b, a),
            num(b),
            num(a)
        ),
        MetricKind::Restarts => format!("restarts {} -> {}", num(b), num(a)),
        MetricKind::Unavailable => format!("replicas unavailable {} -> {}", num(b), num(a)),
        MetricKind::Lag => format!("lag/backlog {} -> {}", num(b), num(a)),
        _ => format!(
            "{} {} ({} -> {})",
            c.name.metric,
            change(b, a),
            num(b),
            num(a)
        ),
    };
    format!("{text}; {spread}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_last_known_metric_suffix() {
        let s = split_column("front-end_lat_99").expect("splits");
        assert_eq!(
            (s.service.as_str(), s.metric.as_str(), s.kind, s.quantile),
            ("front-end", "lat_99", MetricKind::Latency, Some(99))
        );
        let s = split_column("orders-db_latency-50").expect("splits");
        assert_eq!(
            (s.service.as_str(), s.kind, s.quantile),
            ("orders-db", MetricKind::Latency, Some(50))
        );
        let s = split_column("my_svc_cpu").expect("splits");
        assert_eq!((s.service.as_str(), s.kind), ("my_svc", MetricKind::Cpu));
        let s = split_column("carts_mem").expect("splits");
        assert_eq!((s.service.as_str(), s.kind), ("carts", MetricKind::Memory));
        let s = split_column("istio-ingressgateway_error").expect("splits");
        assert_eq!(s.kind, MetricKind::Errors);
        // Unknown suffix: the last `_`.
        let s = split_column("user_db_frobs").expect("splits");
        assert_eq!(
            (s.service.as_str(), s.metric.as_str(), s.kind),
            ("user_db", "frobs", MetricKind::Other)
        );
        // `rt` only as a whole word: `carts_rtx` is not latency.
        assert_eq!(
            split_column("carts_rtx").map(|s| s.kind),
            Some(MetricKind::Other)
        );
        assert_eq!(split_column("nounderscore"), None);
        assert_eq!(split_column("_cpu"), None);
        assert_eq!(split_column("carts_"), None);
    }

    /// A table with `n_pre` normal rows and `n_post` rows after injection at t = n_pre; each
    /// column is `base + noise` before and `base * factor + noise` after.
    fn table(cols: &[(&str, f64, f64)], n_pre: usize, n_post: usize) -> Table {
        let n = n_pre + n_post;
        let time: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let columns = cols
            .iter()
            .enumerate()
            .map(|(k, (name, base, factor))| Series {
                name: (*name).to_owned(),
                values: (0..n)
                    .map(|i| {
                        // Deterministic wobble of +-2 %.
                        let noise = ((i * 7 + k * 13) % 5) as f64 / 100.0 - 0.02;
                        let v = if i >= n_pre { base * factor } else { *base };
                        v * (1.0 + noise)
                    })
                    .collect(),
            })
            .collect();
        Table { time, columns }
    }

    fn order(r: &Ranking) -> Vec<&str> {
        r.ranking.iter().map(|s| s.service.as_str()).collect()
    }

    #[test]
    fn metrics_only_puts_the_most_deviant_service_first() {
        let t = table(
            &[
                ("front-end_lat_99", 100.0, 1.5),
                ("carts_lat_99", 10.0, 6.0),
                ("carts_cpu", 0.1, 1.0),
                ("orders_cpu", 0.2, 1.0),
                ("orders_mem", 5e7, 1.0),
            ],
            40,
            20,
        );
        let r = rank(&RankInput {
            data: &t,
            normal: None,
            inject_time: 40.0,
            edges: None,
        })
        .expect("ranks");
        assert_eq!(order(&r), ["carts", "front-end", "orders"]);
        let ev = &r.ranking[0].evidence[0];
        assert!(
            ev.starts_with("latency p99 x5.") || ev.starts_with("latency p99 x6."),
            "{ev}"
        );
        assert!(r.ranking[0].score > r.ranking[1].score);
    }

    #[test]
    fn edges_discount_a_caller_whose_callee_is_anomalous() {
        // The caller moves more (in spreads) than the real root below it.
        let t = table(
            &[
                ("front-end_error", 0.001, 300.0),
                ("currency_error", 0.001, 200.0),
                ("ads_error", 0.001, 1.0),
            ],
            40,
            20,
        );
        let base = RankInput {
            data: &t,
            normal: None,
            inject_time: 40.0,
            edges: None,
        };
        let alone = rank(&base).expect("ranks");
        assert_eq!(order(&alone)[0], "front-end");
        let edges = vec![
            ("front-end".to_owned(), "currency".to_owned()),
            ("front-end".to_owned(), "ads".to_owned()),
        ];
        let with = rank(&RankInput {
            edges: Some(&edges),
            ..base
        })
        .expect("ranks");
        assert_eq!(order(&with), ["currency", "front-end", "ads"]);
        assert!(
            with.ranking[1]
                .evidence
                .iter()
                .any(|e| e.contains("calls anomalous currency"))
        );
        assert!(
            with.ranking[0]
                .evidence
                .iter()
                .any(|e| e.contains("calls no other service"))
        );
    }

    #[test]
    fn a_separate_normal_table_is_used_and_constant_columns_ignored() {
        let normal = table(&[("a_cpu", 1.0, 1.0), ("b_cpu", 1.0, 1.0)], 20, 0);
        let mut data = table(&[("a_cpu", 1.0, 1.0), ("b_cpu", 3.0, 1.0)], 0, 10);
        data.time.iter_mut().for_each(|t| *t += 100.0);
        data.columns.push(Series {
            name: "c_mem".into(),
            values: vec![5.0; 10],
        });
        let r = rank(&RankInput {
            data: &data,
            normal: Some(&normal),
            inject_time: 100.0,
            edges: None,
        })
        .expect("ranks");
        assert_eq!(order(&r), ["b", "a", "c"]);
        assert!(r.ignored.iter().any(|i| i.starts_with("c_mem")));
        assert!(r.ranking[2].evidence[0].contains("no usable metric"));
    }

    #[test]
    fn missing_values_are_skipped_and_periods_checked() {
        let mut t = table(&[("a_cpu", 1.0, 5.0), ("b_cpu", 1.0, 1.0)], 20, 10);
        t.columns[0].values[3] = f64::NAN;
        t.columns[0].values[25] = f64::NAN;
        let input = RankInput {
            data: &t,
            normal: None,
            inject_time: 20.0,
            edges: None,
        };
        assert_eq!(order(&rank(&input).expect("ranks")), ["a", "b"]);
        assert!(matches!(
            rank(&RankInput {
                inject_time: 1.0,
                ..input
            }),
            Err(TabularError::NoNormalPeriod { .. })
        ));
        assert!(matches!(
            rank(&RankInput {
                inject_time: 1e9,
                ..input
            }),
            Err(TabularError::NoAnomalousPeriod { .. })
        ));
    }

    #[test]
    fn evidence_is_in_plain_words() {
        let t = table(
            &[
                ("a_mem", 100.0 * 1024.0 * 1024.0, 2.0),
                ("b_cpu", 0.5, 5.0),
                ("c_lat_50", 20.0, 4.0),
            ],
            20,
            10,
        );
        let r = rank(&RankInput {
            data: &t,
            normal: None,
            inject_time: 20.0,
            edges: None,
        })
        .expect("ranks");
        let ev = |s: &str| {
            r.ranking
                .iter()
                .find(|x| x.service == s)
                .map(|x| x.evidence[0].clone())
                .unwrap_or_default()
        };
        assert!(ev("a").starts_with("memory grew 10"), "{}", ev("a"));
        assert!(ev("b").starts_with("cpu +2."), "{}", ev("b"));
        assert!(ev("c").starts_with("latency p50 x4."), "{}", ev("c"));
    }

    proptest::proptest! {
        /// Every service appears exactly once, sorted by score, whatever the values.
        #[test]
        fn every_service_once_sorted(vals in proptest::collection::vec(-1e6f64..1e6, 60)) {
            let names = ["a_cpu", "a_mem", "b-x_lat_99", "c_error"];
            let columns = names.iter().enumerate().map(|(k, n)| Series {
                name: (*n).to_owned(),
                values: vals.iter().skip(k).chain(vals.iter().take(k)).copied().take(20).collect(),
            }).collect();
            let t = Table { time: (0..20).map(f64::from).collect(), columns };
            let r = rank(&RankInput { data: &t, normal: None, inject_time: 10.0, edges: None }).expect("ranks");
            let mut got: Vec<&str> = r.ranking.iter().map(|s| s.service.as_str()).collect();
            proptest::prop_assert!(r.ranking.windows(2).all(|w| w[0].score >= w[1].score));
            got.sort_unstable();
            proptest::prop_assert_eq!(got, vec!["a", "b-x", "c"]);
        }
    }
}
