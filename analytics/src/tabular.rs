//! Root-cause ranking on a table of per-service metrics (the RCAEval layout), without a
//! detector run and without needing a topology.
//!
//! Input: a `time` column and one column per `<service>_<metric>` (`carts_cpu`,
//! `front-end_lat_99`, `ts-order-service_client_lat_99`), a fault injection time, optionally a
//! separate fault-free table, a call graph (`source` calls `target`) and change events
//! (rollouts, releases, config changes).
//!
//! Method (robust, scale-free scoring, then the topology and change steps):
//! 1. Rows stand for the interval up to the next row. Rows that end before the injection are
//!    the normal period (or the separate fault-free table); the row whose interval holds the
//!    injection and the rows after it are the anomalous period.
//! 2. Quantities that cannot be negative are compared on a log scale (a move is a ratio, so
//!    columns in any unit compare), error ratios linearly. Per column the normal period gives
//!    a median and a spread (MAD, at least [`Params::spread_floor`]).
//! 3. Each anomalous row becomes a signed deviation in spreads; the column's deviation is the
//!    [`Params::persist`]-th largest in the harmful direction (CPU, memory, latency, errors
//!    up; success down; anything else either way), so a fault must last a few rows and one
//!    noisy point does not count. A series that had values and stops reporting is evidence too.
//! 4. A service's score is its most deviant column, weighted by metric type and
//!    log-compressed.
//! 5. With a call graph: a service whose callers wait longer on their outgoing calls
//!    while it serves as fast as before is blamed for the delay (the network on the way to
//!    it); a service whose callees are clearly anomalous is discounted in proportion to how
//!    much of its own deviation they explain (symptoms flow upstream); request metrics that
//!    stop while the service still runs count against its callers (nothing reaches it); the
//!    live ranking's graph walk ([`crate::rca::pagerank`]) adds its share; onset order
//!    ([`crate::rca::onset_order`]) favours the earliest trouble, with or without a graph.
//! 6. Changes: a deploy of a service shortly before its first deviation (the rule of the live
//!    ranking, [`crate::rca::change_evidence`]) puts it ahead of the services without one
//!    when it deviates itself; the metrics order both groups.
//!
//! Evidence is `opscope_model` [`Evidence`] values where a kind fits (worded by
//! `opscope_layout::phrase`), so the table and the live ranking say the same things the same
//! way. Pure: no I/O. Reading CSV files is the binary's job.

use crate::model::{Direction, Evidence};
use collector::model::{ChangeEvent, EntityId, SignalKind};
use opscope_layout::format::bytes as format_bytes;
use opscope_layout::phrase::Describe;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Fewest finite normal-period values for full confidence: with fewer (but at least one) the
/// table is still ranked, with a note that the ranking is less certain.
pub const MIN_NORMAL_ROWS: usize = 4;
/// Deviation (in spreads) from which a column is worth a line of evidence.
pub const EVIDENCE_DEVIATION: f64 = 3.0;
/// Deviation (in spreads) from which a callee counts as anomalous for the topology step.
pub const ANOMALOUS_DEVIATION: f64 = 5.0;

/// Weight of onset order in a service's score (log-compressed deviations run 0..~3): the
/// earliest trouble gains a quarter, as in the live ranking's [`crate::rca::onset_order`].
pub const ONSET_WEIGHT: f64 = 0.25;

/// The few tuned constants of the ranking. `opscope eval rca` chooses among [`Params::grid`]
/// per held-out fault type (leave-one-fault-type-out). [`Params::default`], what `opscope rca`
/// uses, is the middle of the grid for the spread floor (with a floor of 1 a x20 move is
/// under [`EVIDENCE_DEVIATION`] and would go unsaid), the low end for the symptom weight, the
/// callee discount on and no graph walk; on the Nezha cases the folds choose a floor of 1 and
/// 3 rows (`opscope eval rca` prints the setting of each fold).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Smallest spread of a column, in log units for quantities (0.5: a move of x1.65 is one
    /// spread) and as a fraction of the median for signed columns.
    pub spread_floor: f64,
    /// Weight of the symptoms a fault is felt by (latency, errors) against resource use (CPU,
    /// memory), which shows mostly where the fault is.
    pub latency_weight: f64,
    /// Anomalous rows a column must deviate in: its deviation is the `persist`-th largest.
    pub persist: usize,
    /// How much of a caller's score anomalous callees can take away (0: none; 0.7: a caller
    /// fully explained by a callee keeps 30 %).
    pub callee_discount: f64,
    /// Weight of the graph walk (the live ranking's personalized PageRank over anomalous
    /// services, toward their anomalous callees), in units of log-compressed deviation; 0
    /// without it. Used only with a call graph.
    pub walk_weight: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            spread_floor: 0.5,
            latency_weight: 0.3,
            persist: 2,
            callee_discount: 0.7,
            walk_weight: 0.0,
        }
    }
}

impl Params {
    /// The settings leave-one-out chooses from: 3 x 3 x 2 x 2 x 2 = 72 points.
    pub fn grid() -> Vec<Params> {
        let mut out = Vec::new();
        for spread_floor in [0.25, 0.5, 1.0] {
            for latency_weight in [0.3, 0.6, 1.0] {
                for persist in [2, 3] {
                    for callee_discount in [0.0, 0.7] {
                        for walk_weight in [0.0, 0.5] {
                            out.push(Params {
                                spread_floor,
                                latency_weight,
                                persist,
                                callee_discount,
                                walk_weight,
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

/// Weight of each metric type in a service's own score.
fn weight(kind: MetricKind, p: &Params) -> f64 {
    match kind {
        MetricKind::Cpu
        | MetricKind::Memory
        | MetricKind::Restarts
        | MetricKind::Unavailable
        | MetricKind::Lag => 1.0,
        // Latency and errors are felt by the callers of a failing service as much as at it
        // (timeouts): they count as symptoms.
        MetricKind::Latency | MetricKind::Errors | MetricKind::Success => p.latency_weight,
        // The service's view of its own outgoing calls: evidence against its callees (the
        // network step), not against itself.
        MetricKind::CallerLatency => 0.0,
        // A request-rate change is mostly the callers' (or the users') doing.
        MetricKind::Load => 0.25,
        // Unknown metrics (disk, sockets, network bytes, ...) count, less than the known ones.
        MetricKind::Other => 0.5,
    }
}

/// What a metric column measures, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Cpu,
    Memory,
    Latency,
    /// Latency of the service's own outgoing calls, measured on its side (`client_lat_99`).
    CallerLatency,
    Errors,
    /// Success ratio or percentage: a drop is bad.
    Success,
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
    ("success", MetricKind::Success),
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
    let mut words = lower.split(['_', '-']);
    let first = words.next().unwrap_or("");
    // `client_lat_99`: the latency this service sees on its own outgoing calls.
    if first == "client" || first == "caller" {
        return (known_kind(lower[first.len()..].trim_start_matches(['_', '-']))
            == Some(MetricKind::Latency))
        .then_some(MetricKind::CallerLatency);
    }
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

/// Split `<service>_<metric>` at the first `_`: service names may contain `-` but not `_`,
/// metric names may contain `_` (`ts-order-service_client_lat_99` -> `ts-order-service` +
/// `client_lat_99`). `None` when the name has no `_` with text on both sides.
pub fn split_column(name: &str) -> Option<MetricName> {
    let pos = name.find('_')?;
    if pos == 0 || pos + 1 >= name.len() {
        return None;
    }
    let metric = &name[pos + 1..];
    let kind = known_kind(metric).unwrap_or(MetricKind::Other);
    Some(MetricName {
        service: name[..pos].to_owned(),
        metric: metric.to_owned(),
        kind,
        quantile: matches!(kind, MetricKind::Latency | MetricKind::CallerLatency)
            .then(|| quantile_of(metric))
            .flatten(),
    })
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
    /// Change events (rollouts, releases, config changes) on the services, any order; the
    /// entity name is the service.
    pub changes: &'a [ChangeEvent],
    pub params: Params,
}

/// Why a table cannot be ranked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TabularError {
    #[error(
        "no row before the injection time {inject_time}: no normal period to compare with (give one with a separate fault-free table)"
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
    /// The same facts as values, where a model kind fits (not part of the JSON output).
    #[serde(skip)]
    pub facts: Vec<Evidence>,
}

/// Every service of the table, most likely root cause first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranking {
    pub ranking: Vec<RankedService>,
    /// What limits the ranking (a short normal period, ...), in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
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
    /// A representative anomalous value (the one at the column's deviation).
    after: f64,
    /// Deviation in spreads, in the harmful direction (>= 0).
    deviation: f64,
    /// Which way the value moved at `after`.
    direction: Direction,
    /// Unix seconds of the first anomalous row beyond [`EVIDENCE_DEVIATION`], if any.
    onset: Option<f64>,
    /// Anomalous rows without a value while the normal period had values: the series stopped.
    vanished: bool,
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

/// Which way a metric type hurts: `Some(Up)`, `Some(Down)`, or `None` for either way.
fn harmful(kind: MetricKind) -> Option<Direction> {
    match kind {
        MetricKind::Success => Some(Direction::Down),
        MetricKind::Load | MetricKind::Other => None,
        _ => Some(Direction::Up),
    }
}

/// A column's deviation after the injection. `post` is `(time, value)` per anomalous row.
fn score_column(
    name: MetricName,
    normal: &[f64],
    post: &[(f64, f64)],
    p: &Params,
) -> Result<ColumnScore, String> {
    let n = finite(normal.iter().copied());
    let a: Vec<(f64, f64)> = post.iter().copied().filter(|x| x.1.is_finite()).collect();
    if n.is_empty() {
        return Err("no normal value".into());
    }
    let normal_missing = normal.len() - n.len();
    let missing = post.len() - a.len();
    let vanished =
        missing >= p.persist.min(post.len()).max(1) && normal_missing * 2 < normal.len().max(1);
    let (lo, hi) = (n[0], n[n.len() - 1]);
    if !vanished && a.iter().all(|x| x.1 == lo) && lo == hi {
        return Err("constant".into());
    }
    let ratio = n
        .iter()
        .chain(a.iter().map(|x| &x.1))
        .all(|x| (0.0..=1.0).contains(x));
    let quantity = n.iter().chain(a.iter().map(|x| &x.1)).all(|x| *x >= 0.0);
    let linear =
        !quantity || (ratio && matches!(name.kind, MetricKind::Errors | MetricKind::Success));
    // Quantities on a log scale, offset by their typical size so that zero stays finite.
    let positive: Vec<f64> = n.iter().copied().filter(|x| *x > 0.0).collect();
    let offset = if positive.is_empty() {
        a.iter().map(|x| x.1).fold(0.0, f64::max) * 0.01
    } else {
        quantile(&positive, 0.5)
    }
    .max(1e-12);
    let tr = |x: f64| if linear { x } else { (x + offset).ln() };
    let t = finite(n.iter().map(|x| tr(*x)));
    let med = quantile(&t, 0.5);
    let mad = 1.4826 * quantile(&finite(t.iter().map(|x| (x - med).abs())), 0.5);
    let floor = if linear {
        if ratio {
            0.01
        } else {
            (p.spread_floor * 0.1 * quantile(&n, 0.5).abs()).max(1e-9)
        }
    } else {
        p.spread_floor
    };
    let spread = mad.max(floor);
    let dir = harmful(name.kind);
    let signed = |x: f64| (tr(x) - med) / spread;
    let harm = |d: f64| match dir {
        Some(Direction::Up) => d,
        Some(Direction::Down) => -d,
        None => d.abs(),
    };
    let mut devs: Vec<(f64, f64)> = a.iter().map(|x| (harm(signed(x.1)), x.1)).collect();
    devs.sort_by(|x, y| y.0.total_cmp(&x.0));
    let before = quantile(&n, 0.5);
    let (mut deviation, after) = match devs.get(p.persist.max(1) - 1).or(devs.last()) {
        Some(&(d, v)) => (d.max(0.0), v),
        None => (0.0, f64::NAN),
    };
    if vanished {
        deviation = deviation.max(EVIDENCE_DEVIATION);
    }
    let onset = post
        .iter()
        .find(|x| {
            if x.1.is_finite() {
                harm(signed(x.1)) >= EVIDENCE_DEVIATION
            } else {
                vanished
            }
        })
        .map(|x| x.0);
    Ok(ColumnScore {
        name,
        before,
        after,
        deviation,
        direction: if after.is_finite() && after < before {
            Direction::Down
        } else {
            Direction::Up
        },
        onset,
        vanished,
        ratio,
    })
}

/// The model signal a column is, where one fits (units as `opscope sim --export-rcaeval`
/// writes them: latency ms, CPU cores, memory bytes, rates per second).
fn signal_of(c: &ColumnScore) -> Option<SignalKind> {
    Some(match c.name.kind {
        MetricKind::Latency if c.name.quantile == Some(99) => SignalKind::LatencyP99,
        MetricKind::Cpu => SignalKind::CpuCores,
        MetricKind::Memory => SignalKind::MemoryBytes,
        MetricKind::Errors if c.ratio => SignalKind::ErrorRatio,
        MetricKind::Load => SignalKind::RequestRate,
        MetricKind::Restarts => SignalKind::Restarts,
        MetricKind::Unavailable => SignalKind::ReplicasUnavailable,
        MetricKind::Lag => SignalKind::ConsumerLag,
        _ => return None,
    })
}

/// A column's move as evidence: an `Evidence::Deviation` where a model signal fits, else
/// words made here.
fn column_evidence(c: &ColumnScore, inject_time: f64) -> (String, Option<Evidence>) {
    if c.vanished {
        return (
            format!("{} stopped reporting after the injection", c.name.metric),
            None,
        );
    }
    let since_ms = (c.onset.unwrap_or(inject_time) * 1000.0) as i64;
    // The model's units: latency in ms (a p99 under 1 is taken as seconds, as RCAEval tables
    // from real systems write it), CPU in cores (a column over 1 core at its normal median
    // reads as a percentage and keeps its own words). Only the wording depends on this.
    let scale = match c.name.kind {
        MetricKind::Latency => Some(latency_to_ms(c)),
        MetricKind::Cpu if c.before.abs() > 1.0 => None,
        _ => Some(1.0),
    };
    match (signal_of(c), scale) {
        (Some(signal), Some(k)) if c.after.is_finite() => {
            let ev = Evidence::Deviation {
                entity: None,
                signal,
                direction: c.direction,
                baseline: c.before * k,
                current: c.after * k,
                since_ms,
            };
            (
                format!("{}; {:.1} spreads from normal", ev.describe(), c.deviation),
                Some(ev),
            )
        }
        _ => (phrase(c), None),
    }
}

fn workload(service: &str) -> EntityId {
    EntityId::workload("", service)
}

/// Rank every service of `input.data`, most likely root cause first.
pub fn rank(input: &RankInput<'_>) -> Result<Ranking, TabularError> {
    let p = &input.params;
    let data = input.data;
    let n = data.time.len();
    // A row stands for the interval up to the next one (the median step for the last).
    let mut steps: Vec<f64> = data
        .time
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| d.is_finite() && *d > 0.0)
        .collect();
    steps.sort_by(f64::total_cmp);
    let step = if steps.is_empty() {
        0.0
    } else {
        quantile(&steps, 0.5)
    };
    let row_end = |i: usize| {
        data.time
            .get(i + 1)
            .copied()
            .filter(|t| *t > data.time[i])
            .unwrap_or(data.time[i] + step)
    };
    let post_rows: Vec<usize> = (0..n)
        .filter(|&i| data.time[i] >= input.inject_time || row_end(i) > input.inject_time)
        .collect();
    if post_rows.is_empty() {
        return Err(TabularError::NoAnomalousPeriod {
            inject_time: input.inject_time,
        });
    }
    let pre_rows: Vec<usize> = (0..n)
        .filter(|&i| data.time[i] < input.inject_time && row_end(i) <= input.inject_time)
        .collect();
    let mut notes = Vec::new();
    let normal_rows = match input.normal {
        Some(t) => t.time.len(),
        None => pre_rows.len(),
    };
    if normal_rows == 0 {
        return Err(TabularError::NoNormalPeriod {
            inject_time: input.inject_time,
        });
    }
    if normal_rows < MIN_NORMAL_ROWS {
        notes.push(format!(
            "low confidence: only {normal_rows} normal row(s) before the injection (fewer than {MIN_NORMAL_ROWS}); normal spreads are floors, not measured"
        ));
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
        let post: Vec<(f64, f64)> = post_rows
            .iter()
            .map(|&i| (data.time[i], s.values[i]))
            .collect();
        match score_column(name, &normal, &post, p) {
            Ok(c) => cols.entry(c.name.service.clone()).or_default().push(c),
            Err(why) => ignored.push(format!("{}: {why}", s.name)),
        }
    }
    if services.is_empty() {
        return Err(TabularError::NoServices);
    }
    // Request metrics that stop while the service's CPU or memory still report: it is up but
    // nothing reaches it any more, so the cause is upstream (its callers stopped calling). They
    // do not count against it; with a call graph they count against its callers. A service
    // whose every series stops is down: that counts against it.
    let mut unreached: BTreeSet<String> = BTreeSet::new();
    for (s, list) in cols.iter_mut() {
        let alive = list
            .iter()
            .any(|c| matches!(c.name.kind, MetricKind::Cpu | MetricKind::Memory) && !c.vanished);
        let mut any = false;
        for c in list.iter_mut().filter(|c| c.vanished && alive) {
            c.deviation = 0.0;
            c.onset = None;
            any = true;
        }
        if any {
            unreached.insert(s.clone());
        }
    }
    for list in cols.values_mut() {
        list.sort_by(|a, b| {
            (b.deviation * weight(b.name.kind, p))
                .total_cmp(&(a.deviation * weight(a.name.kind, p)))
        });
    }
    let worst = |s: &str| -> f64 {
        cols.get(s)
            .map(|l| {
                l.iter()
                    .filter(|c| weight(c.name.kind, p) > 0.0)
                    .map(|c| c.deviation)
                    .fold(0.0, f64::max)
            })
            .unwrap_or(0.0)
    };
    let col_of = |s: &str, kind: MetricKind| -> f64 {
        cols.get(s)
            .map(|l| {
                l.iter()
                    .filter(|c| c.name.kind == kind)
                    .map(|c| c.deviation)
                    .fold(0.0, f64::max)
            })
            .unwrap_or(0.0)
    };
    // Own score: the most deviant column, weighted by type and log-compressed (a 1000-spread
    // move is not 100x as telling as a 10-spread one).
    let mut own: BTreeMap<&str, f64> = services
        .iter()
        .map(|s| {
            let v = cols
                .get(s)
                .and_then(|l| l.first())
                .map(|c| (weight(c.name.kind, p) * c.deviation).ln_1p())
                .unwrap_or(0.0);
            (s.as_str(), v)
        })
        .collect();
    // When the service's trouble began: the onset of the column behind its score (a caller's
    // errors that follow its latency are later than the callee's latency), else its earliest.
    let onset_of = |s: &str| -> Option<f64> {
        cols.get(s).and_then(|l| {
            l.first().and_then(|c| c.onset).or_else(|| {
                l.iter()
                    .filter(|c| weight(c.name.kind, p) > 0.0)
                    .filter_map(|c| c.onset)
                    .min_by(f64::total_cmp)
            })
        })
    };
    let onsets: BTreeMap<&str, i64> = services
        .iter()
        .filter_map(|s| onset_of(s).map(|o| (s.as_str(), (o * 1000.0) as i64)))
        .collect();
    let first = onsets.values().copied().min().unwrap_or(0);
    let last = onsets.values().copied().max().unwrap_or(0);
    let mut callees: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut callers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in input.edges.unwrap_or(&[]) {
        if from != to && services.contains(from) && services.contains(to) {
            callees
                .entry(from.as_str())
                .or_default()
                .insert(to.as_str());
            callers
                .entry(to.as_str())
                .or_default()
                .insert(from.as_str());
        }
    }
    // Network step: its callers wait longer on their outgoing calls (on average over the
    // callers) while the service itself serves as fast as before.
    let mut network: BTreeMap<&str, f64> = BTreeMap::new();
    if input.edges.is_some() {
        for s in &services {
            let Some(cs) = callers.get(s.as_str()) else {
                continue;
            };
            let rise = cs
                .iter()
                .map(|c| col_of(c, MetricKind::CallerLatency))
                .sum::<f64>()
                / cs.len().max(1) as f64;
            let net = rise - col_of(s, MetricKind::Latency);
            // No threshold: any excess of its callers' wait over its own latency counts, as a
            // deviation of its own (the delay is attributed here, not felt here): unweighted.
            if rise.is_finite() && net > 0.0 {
                let v = net.ln_1p();
                if let Some(o) = own.get_mut(s.as_str()) {
                    // Said as evidence where it is what ranks the service.
                    if v > *o {
                        network.insert(s.as_str(), net);
                    }
                    *o = o.max(v);
                }
            }
        }
    }
    // Callers of services nothing reaches any more: they stopped calling.
    let mut stopped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in &unreached {
        for c in callers.get(u.as_str()).into_iter().flatten() {
            if !unreached.contains(*c) {
                stopped.entry(*c).or_default().push(u.as_str());
            }
        }
    }
    for s in stopped.keys() {
        if let Some(o) = own.get_mut(s) {
            *o = o.max(ANOMALOUS_DEVIATION.ln_1p());
        }
    }
    // Onset order, as the live ranking scores it: the earliest trouble ranks higher.
    for (s, o) in own.iter_mut() {
        if let Some(&t) = onsets.get(s) {
            *o += ONSET_WEIGHT * crate::rca::onset_order(t, first, last);
        }
    }
    // Graph walk, the live ranking's personalized PageRank: from each anomalous service to
    // its anomalous callees, so the walk drifts toward where the trouble starts.
    let pr_w = p.walk_weight;
    if input.edges.is_some() && pr_w > 0.0 {
        let anomalous: BTreeSet<&str> = services
            .iter()
            .map(String::as_str)
            .filter(|s| worst(s) >= EVIDENCE_DEVIATION || network.contains_key(s))
            .collect();
        let nodes: Vec<EntityId> = anomalous.iter().map(|s| workload(s)).collect();
        if !nodes.is_empty() {
            let deps = |e: &EntityId| -> BTreeSet<EntityId> {
                callees
                    .get(e.name.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|d| anomalous.contains(*d))
                    .map(|d| workload(d))
                    .collect()
            };
            let w = |e: &EntityId| own.get(e.name.as_str()).copied().unwrap_or(0.0).max(1e-3);
            let pr = crate::rca::pagerank(&nodes, &deps, &w);
            let max = pr.values().copied().fold(f64::MIN_POSITIVE, f64::max);
            let bonus: Vec<(String, f64)> = pr
                .iter()
                .map(|(e, v)| (e.name.clone(), pr_w * v / max))
                .collect();
            for (s, b) in bonus {
                if let Some(o) = own.get_mut(s.as_str()) {
                    *o += b;
                }
            }
        }
    }
    let own = own;
    let mut out: Vec<(bool, RankedService)> = services
        .iter()
        .map(|s| {
            let mut score = own[s.as_str()];
            let mut evidence: Vec<String> = Vec::new();
            let mut facts: Vec<Evidence> = Vec::new();
            let onset_s = onset_of(s).unwrap_or(input.inject_time);
            let change = crate::rca::change_evidence(
                input.changes,
                &workload(s),
                (onset_s * 1000.0) as i64,
            );
            let changed = change.is_some() && worst(s) >= EVIDENCE_DEVIATION;
            if let Some(ev) = change {
                evidence.push(ev.describe());
                facts.push(ev);
            }
            for c in cols
                .get(s)
                .into_iter()
                .flatten()
                .filter(|c| c.deviation >= EVIDENCE_DEVIATION && weight(c.name.kind, p) > 0.0)
                .take(3)
            {
                let (text, fact) = column_evidence(c, input.inject_time);
                evidence.push(text);
                facts.extend(fact);
            }
            if unreached.contains(s) {
                evidence.push(
                    "its request metrics stopped after the injection while it still runs: nothing reaches it (the cause is upstream)"
                        .into(),
                );
            }
            if let Some(gone) = stopped.get(s.as_str()) {
                evidence.push(format!(
                    "the services it calls stopped receiving requests: {} (it no longer gets as far as calling them)",
                    gone.join(", ")
                ));
            }
            if let Some(net) = network.get(s.as_str()) {
                let cs: Vec<EntityId> = callers
                    .get(s.as_str())
                    .into_iter()
                    .flatten()
                    .map(|c| workload(c))
                    .collect();
                let ev = Evidence::CallersDegraded { callers: cs };
                evidence.push(format!(
                    "{}: they wait longer on their outgoing calls ({net:.1} spreads more than its own latency moved)",
                    ev.describe()
                ));
                facts.push(ev);
                if let Some(c) = cols
                    .get(s)
                    .and_then(|l| l.iter().find(|c| c.name.kind == MetricKind::Latency))
                {
                    let ev = Evidence::ServesFastItself {
                        // In ms, read as `column_evidence` reads latency units.
                        latency_p99_ms: c.after * latency_to_ms(c),
                    };
                    evidence.push(ev.describe());
                    facts.push(ev);
                }
            }
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
                    .filter(|d| {
                        worst(d) >= ANOMALOUS_DEVIATION
                            || network.get(d).is_some_and(|n| *n >= ANOMALOUS_DEVIATION)
                    })
                    .collect();
                if sick.is_empty() {
                    let ev = if deps.is_empty() {
                        Some(Evidence::CallsNothing)
                    } else if score > 0.0 {
                        Some(Evidence::DependenciesHealthy {
                            dependencies: deps.iter().map(|d| workload(d)).collect(),
                        })
                    } else {
                        None
                    };
                    if let Some(ev) = ev {
                        evidence.push(ev.describe());
                        facts.push(ev);
                    }
                } else {
                    let strongest = sick.iter().map(|d| own[d]).fold(0.0, f64::max);
                    let explained = if score > 0.0 {
                        (strongest / score).min(1.0)
                    } else {
                        1.0
                    };
                    score *= 1.0 - p.callee_discount * explained;
                    let ev = Evidence::DependsOnDegraded {
                        dependencies: sick.iter().map(|d| workload(d)).collect(),
                    };
                    evidence.push(format!("{}: likely a symptom", ev.describe()));
                    facts.push(ev);
                }
            }
            (
                changed,
                RankedService {
                    service: s.clone(),
                    score: (score * 1000.0).round() / 1000.0,
                    evidence,
                    facts,
                },
            )
        })
        .collect();
    // Services deployed just before their trouble first; the metrics order the rest.
    out.sort_by(|(ca, a), (cb, b)| {
        cb.cmp(ca)
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| a.service.cmp(&b.service))
    });
    Ok(Ranking {
        ranking: out.into_iter().map(|(_, r)| r).collect(),
        notes,
        ignored,
    })
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

/// Factor from a latency column's unit to ms: a column whose normal median is under 1 is in
/// seconds (as RCAEval tables from real systems write it), else in ms. One factor per column,
/// so both ends of a move are in the same unit.
fn latency_to_ms(c: &ColumnScore) -> f64 {
    if c.before.abs() < 1.0 { 1000.0 } else { 1.0 }
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
            let k = latency_to_ms(c);
            format!(
                "{label} {} after injection ({} ms -> {} ms)",
                change(b, a),
                num(b * k),
                num(a * k)
            )
        }
        MetricKind::CallerLatency => format!(
            "latency of its outgoing calls{} {} ({} -> {})",
            c.name
                .quantile
                .map(|q| format!(" p{q}"))
                .unwrap_or_default(),
            change(b, a),
            num(b),
            num(a)
        ),
        MetricKind::Success => format!("success {} ({} -> {})", change(b, a), num(b), num(a)),
        MetricKind::Cpu => format!(
            "cpu {}{} ({} -> {})",
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
    fn splits_at_the_first_underscore() {
        let s = split_column("ts-order-service_client_lat_99").expect("splits");
        assert_eq!(
            (s.service.as_str(), s.metric.as_str(), s.kind, s.quantile),
            (
                "ts-order-service",
                "client_lat_99",
                MetricKind::CallerLatency,
                Some(99)
            )
        );
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
        let s = split_column("carts_mem").expect("splits");
        assert_eq!((s.service.as_str(), s.kind), ("carts", MetricKind::Memory));
        let s = split_column("istio-ingressgateway_error").expect("splits");
        assert_eq!(s.kind, MetricKind::Errors);
        let s = split_column("cartservice_success").expect("splits");
        assert_eq!(s.kind, MetricKind::Success);
        // Everything after the first `_` is the metric, known or not.
        let s = split_column("user_db_frobs").expect("splits");
        assert_eq!(
            (s.service.as_str(), s.metric.as_str(), s.kind),
            ("user", "db_frobs", MetricKind::Other)
        );
        let s = split_column("adservice_sys_read").expect("splits");
        assert_eq!(
            (s.service.as_str(), s.metric.as_str()),
            ("adservice", "sys_read")
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
                ("carts_lat_99", 10.0, 30.0),
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
            changes: &[],
            params: Params::default(),
        })
        .expect("ranks");
        assert_eq!(order(&r), ["carts", "front-end", "orders"]);
        let ev = &r.ranking[0].evidence[0];
        // Worded by the model's phrasing, as the live ranking's evidence is.
        assert!(
            ev.starts_with("latency p99 x") && ev.contains(" since "),
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
            changes: &[],
            params: Params::default(),
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
                .any(|e| e.contains("depends on degraded: currency"))
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
            changes: &[],
            params: Params::default(),
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
            changes: &[],
            params: Params::default(),
        };
        assert_eq!(order(&rank(&input).expect("ranks")), ["a", "b"]);
        assert!(matches!(
            rank(&RankInput {
                inject_time: 0.0,
                ..input
            }),
            Err(TabularError::NoNormalPeriod { .. })
        ));
        assert!(rank(&input).expect("ranks").notes.is_empty());
        // A short normal period (2 rows): ranked all the same, with a note.
        let short = rank(&RankInput {
            inject_time: 2.0,
            ..input
        })
        .expect("a short normal period still ranks");
        assert_eq!(order(&short)[0], "a");
        assert!(
            short
                .notes
                .iter()
                .any(|n| n.starts_with("low confidence: only 2 normal row(s)")),
            "{:?}",
            short.notes
        );
        assert!(matches!(
            rank(&RankInput {
                inject_time: 1e9,
                ..input
            }),
            Err(TabularError::NoAnomalousPeriod { .. })
        ));
    }

    #[test]
    fn rollouts_narrow_the_candidates_and_metrics_pick_the_bad_one() {
        use collector::model::ChangeKind;
        // Three services roll out just before the injection; only b goes bad. c, not rolled
        // out, moves the most: without changes it comes first, with them b does.
        let t = table(
            &[
                ("a_cpu", 1.0, 1.0),
                ("b_cpu", 1.0, 30.0),
                ("c_cpu", 1.0, 200.0),
                ("d_cpu", 1.0, 1.0),
            ],
            20,
            10,
        );
        let deploy = |s: &str, at_s: i64| ChangeEvent {
            ts_ms: at_s * 1000,
            entity: EntityId::workload("", s),
            kind: ChangeKind::Annotation {
                text: "release".into(),
            },
        };
        let changes = vec![deploy("a", 19), deploy("b", 19), deploy("d", 18)];
        let base = RankInput {
            data: &t,
            normal: None,
            inject_time: 20.0,
            edges: None,
            changes: &[],
            params: Params::default(),
        };
        assert_eq!(order(&rank(&base).expect("ranks"))[0], "c");
        let with = rank(&RankInput {
            changes: &changes,
            ..base
        })
        .expect("ranks");
        assert_eq!(order(&with)[..2], ["b", "c"]);
        // The change is the first evidence, worded as the live ranking words it.
        assert!(
            with.ranking[0].evidence[0].starts_with("deploy marked: release at "),
            "{:?}",
            with.ranking[0].evidence
        );
        assert!(matches!(
            with.ranking[0].facts[0],
            Evidence::Change {
                before_onset_ms: 1000,
                ..
            }
        ));
        // A rolled-out service that stays healthy is not promoted.
        assert!(order(&with)[2..].contains(&"a") && order(&with)[2..].contains(&"d"));
    }

    #[test]
    fn request_metrics_that_stop_point_upstream_with_edges() {
        // `pay` still runs (cpu reports) but its latency stops: `shop` no longer calls it.
        let mut t = table(
            &[
                ("shop_cpu", 1.0, 1.0),
                ("shop_lat_99", 100.0, 1.0),
                ("pay_cpu", 1.0, 1.0),
                ("pay_lat_99", 10.0, 1.0),
                ("ads_cpu", 1.0, 1.0),
            ],
            20,
            10,
        );
        for v in &mut t.columns[3].values[20..] {
            *v = f64::NAN;
        }
        let edges = vec![
            ("shop".to_owned(), "pay".to_owned()),
            ("shop".to_owned(), "ads".to_owned()),
        ];
        let r = rank(&RankInput {
            data: &t,
            normal: None,
            inject_time: 20.0,
            edges: Some(&edges),
            changes: &[],
            params: Params::default(),
        })
        .expect("ranks");
        assert_eq!(order(&r)[0], "shop");
        assert!(
            r.ranking[0]
                .evidence
                .iter()
                .any(|e| e.contains("stopped receiving requests: pay")),
            "{:?}",
            r.ranking[0].evidence
        );
        let pay = r
            .ranking
            .iter()
            .find(|x| x.service == "pay")
            .expect("pay ranked");
        assert!(
            pay.evidence
                .iter()
                .any(|e| e.contains("nothing reaches it"))
        );
        // Every series of a service stops: it is down, and that counts against it.
        for v in &mut t.columns[2].values[20..] {
            *v = f64::NAN;
        }
        let r = rank(&RankInput {
            data: &t,
            normal: None,
            inject_time: 20.0,
            edges: Some(&edges),
            changes: &[],
            params: Params::default(),
        })
        .expect("ranks");
        assert_eq!(order(&r)[0], "pay");
        assert!(
            r.ranking[0]
                .evidence
                .iter()
                .any(|e| e.contains("stopped reporting"))
        );
    }

    #[test]
    fn evidence_is_in_plain_words() {
        let t = table(
            &[
                ("a_mem", 100.0 * 1024.0 * 1024.0, 20.0),
                ("b_cpu", 0.5, 20.0),
                ("c_lat_50", 20.0, 20.0),
            ],
            20,
            10,
        );
        let r = rank(&RankInput {
            data: &t,
            normal: None,
            inject_time: 20.0,
            edges: None,
            changes: &[],
            params: Params::default(),
        })
        .expect("ranks");
        let ev = |s: &str| {
            r.ranking
                .iter()
                .find(|x| x.service == s)
                .map(|x| x.evidence[0].clone())
                .unwrap_or_default()
        };
        // Signals the model knows are worded by `opscope_layout::phrase`, the rest here.
        assert!(ev("a").starts_with("memory x"), "{}", ev("a"));
        assert!(ev("a").contains("MiB -> "), "{}", ev("a"));
        assert!(ev("b").starts_with("CPU x"), "{}", ev("b"));
        assert!(ev("c").starts_with("latency p50 x"), "{}", ev("c"));
        let b = r
            .ranking
            .iter()
            .find(|x| x.service == "b")
            .expect("b ranked");
        assert!(matches!(
            b.facts.first(),
            Some(Evidence::Deviation {
                signal: SignalKind::CpuCores,
                direction: Direction::Up,
                ..
            })
        ));
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
            let r = rank(&RankInput { data: &t, normal: None, inject_time: 10.0, edges: None, changes: &[], params: Params::default() }).expect("ranks");
            let mut got: Vec<&str> = r.ranking.iter().map(|s| s.service.as_str()).collect();
            proptest::prop_assert!(r.ranking.windows(2).all(|w| w[0].score >= w[1].score));
            got.sort_unstable();
            proptest::prop_assert_eq!(got, vec!["a", "b-x", "c"]);
        }
    }
}
