//! Metrics-only root-cause ranking in the RCAEval layout: reading and writing cases, and
//! scoring the ranking against ground truth.
//!
//! A *case* is a directory with
//! - `data.csv`: a `time` column (Unix seconds) and one column per `<service>_<metric>`;
//! - `inject_time.txt` (or `inject_time`): the fault injection time, Unix seconds;
//! - `edges.csv` (optional): the call graph, `source,target` rows (source calls target);
//! - `changes.csv` (optional): change events, `service,time` rows (Unix seconds);
//! - `truth.json`: `{"roots": [...], "kinds": [...]}`, or `truth` (the root-cause service(s),
//!   one per line or comma-separated) with `fault` (the fault type), as in the Nezha cases.
//!
//! The fault type is read by the evaluator only, to group cases for leave-one-fault-type-out
//! and per-type figures; the ranking sees `data.csv`, `edges.csv` and `changes.csv` only.
//!
//! `opscope sim --export-rcaeval DIR` writes such cases from the simulator: every fault
//! scenario, seeds 1..=N, run on a virtual clock through the real collector (scrape over
//! loopback HTTP, signals from [`collector::observe::Observation`]). Rows every 15 s; 30 min of
//! fault-free data before the injection and 12 min after (see [`ExportOptions`]). Columns per
//! workload (the workload name is the service): `cpu` (cores), `mem` (working-set bytes),
//! `lat_50` / `lat_90` / `lat_99` (latency quantiles of requests to it as its callers see
//! them, network included, ms; server-side for the gateway), `error` (5xx ratio),
//! `load` (requests/s), `restarts` (per rate window), `unavailable` (replicas), `lag` (Kafka
//! consumer lag of its group, messages) and `queue` (messages ready in a queue it consumes);
//! per node: `cpu` (busy fraction) and `mem` (bytes in use). A cell is empty when the
//! collector has no value (the first scrape has no rates yet).
//!
//! The ranking itself is [`analytics::tabular`].

use analytics::tabular::{self, Params, RankInput, Ranking, Series, Table};
use collector::Collector;
use collector::model::{ChangeEvent, ChangeKind, EntityId};
use collector::model::{EdgeKind, EntityKind, SignalKind};
use collector::observe::ObserveOptions;
use fixtures::SimConfig;
use opscope_engine::EngineConfig;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Errors of reading, writing or evaluating cases.
#[derive(Debug, thiserror::Error)]
pub enum RcaEvalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Csv {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("ranking {path}: {source}")]
    Rank {
        path: PathBuf,
        source: tabular::TabularError,
    },
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    #[error("collector: {0}")]
    Collect(#[from] collector::CollectError),
    #[error("collector frames: {0}")]
    Frames(#[from] collector::frames::FrameError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RcaEvalError + '_ {
    move |source| RcaEvalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Cell texts read as a missing value.
fn is_missing(cell: &str) -> bool {
    cell.is_empty()
        || ["nan", "null", "na", "n/a", "none", "-"]
            .iter()
            .any(|m| cell.eq_ignore_ascii_case(m))
}

/// Parse an RCAEval-layout CSV. `path` only names the source in errors.
pub fn parse_table(reader: impl Read, path: &Path) -> Result<Table, RcaEvalError> {
    let csv_err = |line: u64, reason: String| RcaEvalError::Csv {
        path: path.to_owned(),
        line,
        reason,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| csv_err(1, format!("reading the header: {e}")))?
        .clone();
    let time_col = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("time") || h.eq_ignore_ascii_case("timestamp"))
        .ok_or_else(|| {
            csv_err(
                1,
                format!(
                    "no `time` column in the header ({} column(s): {})",
                    headers.len(),
                    headers.iter().take(5).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
    let names: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| *i != time_col && !h.is_empty())
        .map(|(i, h)| (i, h.to_owned()))
        .collect();
    let mut table = Table {
        time: Vec::new(),
        columns: names
            .iter()
            .map(|(_, n)| Series {
                name: n.clone(),
                values: Vec::new(),
            })
            .collect(),
    };
    let mut skipped = 0usize;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            let reason = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("{len} field(s), the header has {expected_len}"),
                _ => e.to_string(),
            };
            csv_err(line, reason)
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let num = |i: usize, name: &str| -> Result<f64, RcaEvalError> {
            let cell = rec.get(i).unwrap_or("");
            if is_missing(cell) {
                return Ok(f64::NAN);
            }
            cell.parse::<f64>()
                .map_err(|_| csv_err(line, format!("column {name}: {cell:?} is not a number")))
        };
        let t = num(time_col, "time")?;
        if !t.is_finite() {
            skipped += 1;
            continue;
        }
        table.time.push(t);
        for ((i, name), col) in names.iter().zip(table.columns.iter_mut()) {
            col.values.push(num(*i, name)?);
        }
    }
    if skipped > 0 {
        tracing::warn!(path = %path.display(), rows = skipped, "rows without a time skipped");
    }
    Ok(table)
}

/// Read an RCAEval-layout CSV file.
pub fn read_table(path: &Path) -> Result<Table, RcaEvalError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    parse_table(std::io::BufReader::new(f), path)
}

/// Read a call graph: `source,target` rows (a header naming those columns is optional).
pub fn read_edges(path: &Path) -> Result<Vec<(String, String)>, RcaEvalError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(std::io::BufReader::new(f));
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| RcaEvalError::Csv {
            path: path.to_owned(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            reason: e.to_string(),
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(i as u64 + 1);
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if rec.len() < 2 || rec[0].is_empty() || rec[1].is_empty() {
            return Err(RcaEvalError::Csv {
                path: path.to_owned(),
                line,
                reason: "expected `source,target`".into(),
            });
        }
        if i == 0 && rec[0].eq_ignore_ascii_case("source") && rec[1].eq_ignore_ascii_case("target")
        {
            continue;
        }
        out.push((rec[0].to_owned(), rec[1].to_owned()));
    }
    Ok(out)
}

/// Read a Unix-seconds timestamp file such as `inject_time.txt`.
pub fn read_inject_time(path: &Path) -> Result<f64, RcaEvalError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
        .ok_or_else(|| RcaEvalError::Format {
            path: path.to_owned(),
            reason: format!("expected Unix seconds, found {:?}", text.trim()),
        })
}

/// Read change events: `service,time` rows (Unix seconds; a `service,time` header is
/// optional; rollouts, releases, config changes). Each becomes a marked deploy of the service.
pub fn read_changes(path: &Path) -> Result<Vec<ChangeEvent>, RcaEvalError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    parse_changes(std::io::BufReader::new(f), path)
}

/// Parse change events (see [`read_changes`]); `path` only names the source in errors.
pub fn parse_changes(reader: impl Read, path: &Path) -> Result<Vec<ChangeEvent>, RcaEvalError> {
    let csv_err = |line: u64, reason: String| RcaEvalError::Csv {
        path: path.to_owned(),
        line,
        reason,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(reader);
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "changes".into());
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec =
            rec.map_err(|e| csv_err(e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(i as u64 + 1);
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if i == 0
            && rec.len() >= 2
            && rec[0].eq_ignore_ascii_case("service")
            && rec[1].eq_ignore_ascii_case("time")
        {
            continue;
        }
        if rec.len() != 2 || rec[0].is_empty() {
            return Err(csv_err(
                line,
                format!("expected `service,time`, found {} field(s)", rec.len()),
            ));
        }
        let t: f64 = rec[1]
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| csv_err(line, format!("time {:?} is not Unix seconds", &rec[1])))?;
        out.push(ChangeEvent {
            ts_ms: (t * 1000.0).round() as i64,
            entity: EntityId::workload("", &rec[0]),
            kind: ChangeKind::Annotation {
                text: format!("change listed in {source}"),
            },
        });
    }
    Ok(out)
}

/// What `opscope rca` ranks.
#[derive(Debug, Clone)]
pub struct RcaFiles {
    pub input: PathBuf,
    pub normal: Option<PathBuf>,
    /// Unix seconds.
    pub inject_time: f64,
    pub edges: Option<PathBuf>,
    /// Change events, `service,time` rows.
    pub changes: Option<PathBuf>,
    pub params: Params,
}

/// Read the files and rank every service.
pub fn rank_files(f: &RcaFiles) -> Result<Ranking, RcaEvalError> {
    let data = read_table(&f.input)?;
    let normal = f.normal.as_deref().map(read_table).transpose()?;
    let edges = f.edges.as_deref().map(read_edges).transpose()?;
    let changes = f.changes.as_deref().map(read_changes).transpose()?;
    let r = tabular::rank(&RankInput {
        data: &data,
        normal: normal.as_ref(),
        inject_time: f.inject_time,
        edges: edges.as_deref(),
        changes: changes.as_deref().unwrap_or(&[]),
        params: f.params,
    })
    .map_err(|source| RcaEvalError::Rank {
        path: f.input.clone(),
        source,
    })?;
    for i in &r.ignored {
        tracing::info!(column = %i, "column ignored");
    }
    Ok(r)
}

/// A ranking as a readable table.
pub fn format_ranking(r: &Ranking) -> String {
    let mut out = String::new();
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&format!(
        "{:>4}  {:<28} {:>7}  evidence\n",
        "rank", "service", "score"
    ));
    for (i, s) in r.ranking.iter().enumerate() {
        let mut ev = s.evidence.iter();
        out.push_str(&format!(
            "{:>4}  {:<28} {:>7.3}  {}\n",
            i + 1,
            s.service,
            s.score,
            ev.next().map(String::as_str).unwrap_or("")
        ));
        for e in ev {
            out.push_str(&format!("{:>4}  {:<28} {:>7}  {e}\n", "", "", ""));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Export from the simulator

/// How cases are exported.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    /// Seeds 1..=`seeds` are run per scenario.
    pub seeds: u64,
    /// Time between rows (scrape interval on the virtual clock).
    pub interval: Duration,
    /// Fault-free time before the injection.
    pub normal: Duration,
    /// Time after the injection.
    pub after: Duration,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            seeds: 3,
            interval: Duration::from_secs(15),
            normal: Duration::from_secs(30 * 60),
            after: Duration::from_secs(12 * 60),
        }
    }
}

/// Ground truth of a case, as written to `truth.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseTruth {
    /// Root-cause service(s): workload names, or a node name for a node fault.
    pub roots: Vec<String>,
    /// Fault kinds, one per fault.
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub scenario: String,
    #[serde(default)]
    pub seed: u64,
    /// Unix seconds.
    #[serde(default)]
    pub inject_time: f64,
}

/// One exported case.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedCase {
    pub dir: PathBuf,
    pub truth: CaseTruth,
    pub rows: usize,
    pub columns: usize,
}

/// Node memory total as node_exporter names it; with `MemAvailable` (a collector signal) it
/// gives the memory in use. Read here, not in the collector, because only the export needs it.
const NODE_MEM_TOTAL: &str = "node_memory_MemTotal_bytes";

fn node_name(instance: &str) -> &str {
    match instance.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => instance,
    }
}

/// Column suffix of a workload signal.
fn workload_metric(kind: SignalKind) -> Option<&'static str> {
    Some(match kind {
        SignalKind::RequestRate => "load",
        SignalKind::ErrorRatio => "error",
        SignalKind::LatencyP99 => "lat_99",
        SignalKind::CpuCores => "cpu",
        SignalKind::MemoryBytes => "mem",
        SignalKind::Restarts => "restarts",
        SignalKind::ReplicasUnavailable => "unavailable",
        SignalKind::ConsumerLag => "lag",
        _ => return None,
    })
}

/// Column order within a service.
const METRIC_ORDER: [&str; 11] = [
    "cpu",
    "mem",
    "lat_50",
    "lat_90",
    "lat_99",
    "error",
    "load",
    "restarts",
    "unavailable",
    "lag",
    "queue",
];

type Row = BTreeMap<(String, &'static str), f64>;

/// Latency of each workload as its callers see it (network included): the request-weighted
/// mean over its calling edges of the caller-side quantile; the workload's own server-side
/// quantile when no caller reports one (the gateway). The quantile is the observation's.
fn latency_columns(obs: &collector::observe::Observation, metric: &'static str, row: &mut Row) {
    let mut seen: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for e in &obs.topology.edges {
        if e.kind != EdgeKind::Calls || e.to.kind != EntityKind::Workload {
            continue;
        }
        if let (Some(p), Some(r)) = (e.p99_ms, e.rate_per_s)
            && p.is_finite()
            && r > 0.0
        {
            let acc = seen.entry(e.to.name.as_str()).or_default();
            acc.0 += p * r;
            acc.1 += r;
        }
    }
    for (key, &v) in &obs.signals {
        if key.entity.kind == EntityKind::Workload && key.kind == SignalKind::LatencyP99 {
            let v = match seen.get(key.entity.name.as_str()) {
                Some((pw, w)) if *w > 0.0 => pw / w,
                _ => v,
            };
            row.insert((key.entity.name.clone(), metric), v);
        }
    }
    for (name, (pw, w)) in seen {
        row.entry((name.to_owned(), metric)).or_insert(pw / w);
    }
}

/// Export one (scenario, seed) case into `dir/<scenario>_<seed>/`.
pub async fn export_case(
    dir: &Path,
    scenario: &str,
    seed: u64,
    opts: &ExportOptions,
) -> Result<ExportedCase, RcaEvalError> {
    let interval_ms = opts.interval.as_millis().max(1000) as i64;
    let after_ms = opts.after.as_millis() as i64;
    let cfg = SimConfig {
        scenario: scenario.to_owned(),
        seed,
        start_ms: fixtures::DEFAULT_START_MS,
        fault_after_ms: opts.normal.as_millis() as i64,
        fault_duration_ms: after_ms + 60_000,
    };
    let (server, clock) = crate::eval::start_sim(cfg.clone()).await?;
    let truths = server.with_sim(|s| s.ground_truth());
    let Some(inject_ms) = truths.iter().map(|t| t.start_ms).min() else {
        server.shutdown().await;
        return Err(crate::eval::EvalError::NoTruth(scenario.to_owned()).into());
    };
    let ecfg = EngineConfig::for_interval(vec![format!("{}/metrics", server.url())], opts.interval);
    let mut col = Collector::new(ecfg.scrape.clone(), ecfg.collector);
    let quantiles = [(0.5, "lat_50"), (0.9, "lat_90")];
    let mut rows: Vec<(i64, Row)> = Vec::new();
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    let end = inject_ms + after_ms;
    let mut t = cfg.start_ms;
    while t <= end {
        clock.store(t, Ordering::SeqCst);
        col.collect(t).await;
        let obs = col.observe(t)?;
        let mut row = Row::new();
        let mut queue_consumers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in &obs.topology.edges {
            match e.kind {
                EdgeKind::Calls
                    if e.from.kind == EntityKind::Workload && e.to.kind == EntityKind::Workload =>
                {
                    edges.insert((e.from.name.clone(), e.to.name.clone()));
                }
                EdgeKind::Consumes if e.to.kind == EntityKind::Queue => queue_consumers
                    .entry(e.to.name.clone())
                    .or_default()
                    .push(e.from.name.clone()),
                _ => {}
            }
        }
        let mut node_avail: BTreeMap<String, f64> = BTreeMap::new();
        for (key, &v) in &obs.signals {
            let name = key.entity.name.clone();
            match (key.entity.kind, key.kind) {
                (EntityKind::Workload, k) => {
                    // Latency columns are the callers' view, written by `latency_columns`.
                    if let Some(m) = workload_metric(k)
                        && k != SignalKind::LatencyP99
                    {
                        row.insert((name, m), v);
                    }
                }
                (EntityKind::Node, SignalKind::NodeCpuBusy) => {
                    row.insert((name, "cpu"), v);
                }
                (EntityKind::Node, SignalKind::NodeMemAvailable) => {
                    node_avail.insert(name, v);
                }
                (EntityKind::Queue, SignalKind::QueueDepth) => {
                    for c in queue_consumers.get(&name).into_iter().flatten() {
                        *row.entry((c.clone(), "queue")).or_insert(0.0) += v;
                    }
                }
                _ => {}
            }
        }
        if !node_avail.is_empty() {
            let from = t - ecfg.collector.observe.rate_window_ms.max(60_000);
            let w = col.store().window(NODE_MEM_TOTAL, from, t, &["instance"])?;
            for (k, total) in w.latest_by(|_, _| true, &["instance"], f64::max) {
                let node = node_name(&k[0]).to_owned();
                if let Some(avail) = node_avail.get(&node) {
                    row.insert((node, "mem"), total - avail);
                }
            }
        }
        latency_columns(&obs, "lat_99", &mut row);
        for (q, m) in quantiles {
            let o = collector::observe::observe(
                col.store(),
                t,
                ObserveOptions {
                    quantile: q,
                    ..ecfg.collector.observe
                },
            )?;
            latency_columns(&o, m, &mut row);
        }
        rows.push((t, row));
        t += interval_ms;
    }
    server.shutdown().await;

    let mut roots: Vec<String> = Vec::new();
    for g in &truths {
        if !roots.contains(&g.root_workload) {
            roots.push(g.root_workload.clone());
        }
    }
    let truth = CaseTruth {
        roots,
        kinds: truths.iter().map(|g| g.kind.as_str().to_owned()).collect(),
        scenario: scenario.to_owned(),
        seed,
        inject_time: inject_ms as f64 / 1000.0,
    };
    let case_dir = dir.join(format!("{scenario}_{seed}"));
    std::fs::create_dir_all(&case_dir).map_err(io(&case_dir))?;
    let columns = write_data(&case_dir.join("data.csv"), &rows)?;
    let p = case_dir.join("inject_time.txt");
    std::fs::write(&p, format!("{}\n", inject_ms / 1000)).map_err(io(&p))?;
    let p = case_dir.join("edges.csv");
    let mut text = String::from("source,target\n");
    for (a, b) in &edges {
        text.push_str(&format!("{a},{b}\n"));
    }
    std::fs::write(&p, text).map_err(io(&p))?;
    let p = case_dir.join("truth.json");
    let json = serde_json::to_string_pretty(&truth).map_err(|e| RcaEvalError::Format {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&p, json + "\n").map_err(io(&p))?;
    Ok(ExportedCase {
        dir: case_dir,
        truth,
        rows: rows.len(),
        columns,
    })
}

/// Write the rows; returns the number of metric columns.
fn write_data(path: &Path, rows: &[(i64, Row)]) -> Result<usize, RcaEvalError> {
    let rank = |m: &str| METRIC_ORDER.iter().position(|x| *x == m).unwrap_or(99);
    let mut cols: Vec<(String, &'static str)> = rows
        .iter()
        .flat_map(|(_, r)| r.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    cols.sort_by(|a, b| a.0.cmp(&b.0).then(rank(a.1).cmp(&rank(b.1))));
    let mut text = String::from("time");
    for (s, m) in &cols {
        text.push_str(&format!(",{s}_{m}"));
    }
    text.push('\n');
    for (t, r) in rows {
        text.push_str(&format!("{}", t / 1000));
        for c in &cols {
            text.push(',');
            if let Some(v) = r.get(c) {
                text.push_str(&format!("{v}"));
            }
        }
        text.push('\n');
    }
    std::fs::write(path, text).map_err(io(path))?;
    Ok(cols.len())
}

/// Export every fault scenario of the simulator for seeds 1..=`opts.seeds`.
pub async fn export_all(
    dir: &Path,
    opts: &ExportOptions,
) -> Result<Vec<ExportedCase>, RcaEvalError> {
    let mut out = Vec::new();
    for s in fixtures::scenarios() {
        if s.name == "none" {
            continue;
        }
        for seed in 1..=opts.seeds {
            let c = export_case(dir, s.name, seed, opts).await?;
            tracing::info!(case = %c.dir.display(), rows = c.rows, "exported");
            out.push(c);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// Top-k depth of the accuracy figures (AC@1..AC@5).
pub const K: usize = 5;

/// The outcome of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub case: String,
    pub roots: Vec<String>,
    pub kinds: Vec<String>,
    /// 1-based rank of each root (None when the root is not in the table).
    pub root_ranks: Vec<Option<usize>>,
    /// AC@1..AC@5: the fraction of the roots found in the top k.
    pub ac: [f64; K],
    pub top5: Vec<String>,
    /// Evidence of the top-ranked service.
    pub top_evidence: Vec<String>,
}

/// AC@1, AC@3 and Avg@5 of a group of cases.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Figures {
    pub cases: usize,
    pub ac_at_1: f64,
    pub ac_at_3: f64,
    /// Mean of AC@1..AC@5.
    pub avg_at_5: f64,
}

impl Figures {
    fn of<'a>(acs: impl IntoIterator<Item = &'a [f64; K]>) -> Figures {
        let list: Vec<&[f64; K]> = acs.into_iter().collect();
        let n = list.len().max(1) as f64;
        let mean = |k: usize| list.iter().map(|a| a[k]).sum::<f64>() / n;
        Figures {
            cases: list.len(),
            ac_at_1: mean(0),
            ac_at_3: mean(2),
            avg_at_5: (0..K).map(mean).sum::<f64>() / K as f64,
        }
    }
}

/// One fold of leave-one-fault-type-out: the setting chosen on the other types' cases and the
/// held-out type's figures with it.
#[derive(Debug, Clone, Serialize)]
pub struct Fold {
    pub fault: String,
    pub params: Params,
    /// Avg@5 of the chosen setting on the other types' cases.
    pub train_avg_at_5: f64,
    pub held_out: Figures,
    /// The same type scored with the setting chosen on every case.
    pub in_sample: Figures,
}

/// Accuracy over a directory of cases.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Leave-one-fault-type-out, one fold per fault type (empty with fewer than two types).
    pub folds: Vec<Fold>,
    /// Every case scored by its own fold (its type held out); None with fewer than two types.
    pub held_out: Option<Figures>,
    /// The setting chosen on every case (Avg@5), and its figures: in-sample.
    pub in_sample_params: Params,
    pub in_sample: Figures,
    pub ac_at_1: f64,
    pub ac_at_3: f64,
    /// Mean of AC@1..AC@5 (in-sample).
    pub avg_at_5: f64,
    pub edges_used: bool,
    /// How multi-root cases are scored.
    pub note: &'static str,
    /// Per case, ranked with the in-sample setting.
    pub cases: Vec<CaseResult>,
}

/// A case directory read once.
struct Case {
    name: String,
    data: Table,
    inject_time: f64,
    edges: Option<Vec<(String, String)>>,
    changes: Vec<ChangeEvent>,
    truth: CaseTruth,
}

/// Read the first of `names` that exists in `dir`.
fn first_existing(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// The truth of a case: `truth.json`, or `truth` (+ `fault`).
pub fn read_truth(dir: &Path) -> Result<CaseTruth, RcaEvalError> {
    let tp = dir.join("truth.json");
    if tp.is_file() {
        let text = std::fs::read_to_string(&tp).map_err(io(&tp))?;
        return serde_json::from_str(&text).map_err(|e| RcaEvalError::Format {
            path: tp.clone(),
            reason: e.to_string(),
        });
    }
    let tp = dir.join("truth");
    let text = std::fs::read_to_string(&tp).map_err(io(&tp))?;
    let roots: Vec<String> = text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if roots.is_empty() {
        return Err(RcaEvalError::Format {
            path: tp,
            reason: "no root-cause service named".into(),
        });
    }
    let fp = dir.join("fault");
    let kinds = if fp.is_file() {
        let f = std::fs::read_to_string(&fp).map_err(io(&fp))?;
        vec![f.trim().to_owned()]
            .into_iter()
            .filter(|k| !k.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    Ok(CaseTruth {
        roots,
        kinds,
        scenario: String::new(),
        seed: 0,
        inject_time: 0.0,
    })
}

fn inject_time_of(dir: &Path) -> Result<f64, RcaEvalError> {
    match first_existing(dir, &["inject_time.txt", "inject_time"]) {
        Some(p) => read_inject_time(&p),
        None => Err(RcaEvalError::Format {
            path: dir.to_owned(),
            reason: "no inject_time.txt (or inject_time) file".into(),
        }),
    }
}

fn read_case(dir: &Path, use_edges: bool) -> Result<Case, RcaEvalError> {
    let edges = dir.join("edges.csv");
    let changes = dir.join("changes.csv");
    Ok(Case {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        data: read_table(&dir.join("data.csv"))?,
        inject_time: inject_time_of(dir)?,
        edges: (use_edges && edges.is_file())
            .then(|| read_edges(&edges))
            .transpose()?,
        changes: if changes.is_file() {
            read_changes(&changes)?
        } else {
            Vec::new()
        },
        truth: read_truth(dir)?,
    })
}

fn rank_read(c: &Case, params: Params, dir: &Path) -> Result<Ranking, RcaEvalError> {
    tabular::rank(&RankInput {
        data: &c.data,
        normal: None,
        inject_time: c.inject_time,
        edges: c.edges.as_deref(),
        changes: &c.changes,
        params,
    })
    .map_err(|source| RcaEvalError::Rank {
        path: dir.join(&c.name).join("data.csv"),
        source,
    })
}

/// Rank one case directory with the default setting.
pub fn rank_case(dir: &Path, use_edges: bool) -> Result<Ranking, RcaEvalError> {
    let edges = dir.join("edges.csv");
    let changes = dir.join("changes.csv");
    rank_files(&RcaFiles {
        input: dir.join("data.csv"),
        normal: None,
        inject_time: inject_time_of(dir)?,
        edges: (use_edges && edges.is_file()).then_some(edges),
        changes: changes.is_file().then_some(changes),
        params: Params::default(),
    })
}

/// AC@1..AC@k of one ranking against its roots: the fraction of roots in the top k.
pub fn accuracy(order: &[&str], roots: &[String]) -> [f64; K] {
    let mut ac = [0.0; K];
    if roots.is_empty() {
        return ac;
    }
    for (k, slot) in ac.iter_mut().enumerate() {
        let top = &order[..order.len().min(k + 1)];
        let found = roots.iter().filter(|r| top.contains(&r.as_str())).count();
        *slot = found as f64 / roots.len() as f64;
    }
    ac
}

fn result_of(c: &Case, r: &Ranking) -> CaseResult {
    let order: Vec<&str> = r.ranking.iter().map(|s| s.service.as_str()).collect();
    CaseResult {
        case: c.name.clone(),
        root_ranks: c
            .truth
            .roots
            .iter()
            .map(|root| order.iter().position(|s| s == root).map(|p| p + 1))
            .collect(),
        ac: accuracy(&order, &c.truth.roots),
        top5: order.iter().take(K).map(|s| (*s).to_owned()).collect(),
        top_evidence: r
            .ranking
            .first()
            .map(|s| s.evidence.clone())
            .unwrap_or_default(),
        roots: c.truth.roots.clone(),
        kinds: c.truth.kinds.clone(),
    }
}

/// The fault-type group of a case (evaluation only).
fn group(t: &CaseTruth) -> String {
    if t.kinds.is_empty() {
        "unknown".into()
    } else {
        t.kinds.join("+")
    }
}

/// The grid point with the best Avg@5 over the cases `pick` selects (then AC@1; then the
/// earlier grid point).
fn choose(acs: &[Vec<[f64; K]>], pick: &dyn Fn(usize) -> bool) -> (usize, f64) {
    let mut best = (0, f64::MIN, f64::MIN);
    for (g, per_case) in acs.iter().enumerate() {
        let f = Figures::of(
            per_case
                .iter()
                .enumerate()
                .filter(|(i, _)| pick(*i))
                .map(|(_, a)| a),
        );
        if (f.avg_at_5, f.ac_at_1) > (best.1, best.2) {
            best = (g, f.avg_at_5, f.ac_at_1);
        }
    }
    (best.0, best.1)
}

/// Rank and score every case directory (a subdirectory with `data.csv`) under `dir`: each
/// setting of [`Params::grid`] on every case, then leave-one-fault-type-out (per type, the
/// setting with the best Avg@5 on the other types' cases scores the held-out type) and the
/// in-sample figure (the setting best on every case).
pub fn eval_cases(dir: &Path, use_edges: bool) -> Result<EvalReport, RcaEvalError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("data.csv").is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(RcaEvalError::Format {
            path: dir.to_owned(),
            reason: "no case directory (a subdirectory with data.csv) found".into(),
        });
    }
    let cases: Vec<Case> = dirs
        .iter()
        .map(|d| read_case(d, use_edges))
        .collect::<Result<_, _>>()?;
    let grid = Params::grid();
    let mut rankings: Vec<Vec<Ranking>> = Vec::with_capacity(grid.len());
    for p in &grid {
        rankings.push(
            cases
                .iter()
                .map(|c| rank_read(c, *p, dir))
                .collect::<Result<_, _>>()?,
        );
    }
    let acs: Vec<Vec<[f64; K]>> = rankings
        .iter()
        .map(|rs| {
            cases
                .iter()
                .zip(rs)
                .map(|(c, r)| result_of(c, r).ac)
                .collect()
        })
        .collect();
    let groups: Vec<String> = cases.iter().map(|c| group(&c.truth)).collect();
    let types: BTreeSet<&str> = groups.iter().map(String::as_str).collect();
    let (all_g, _) = choose(&acs, &|_| true);
    let mut folds = Vec::new();
    let mut held: Vec<[f64; K]> = Vec::new();
    if types.len() >= 2 {
        for t in &types {
            let (g, train) = choose(&acs, &|i| groups[i] != *t);
            let mine = |gi: usize| {
                Figures::of(
                    acs[gi]
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| groups[*i] == *t)
                        .map(|(_, a)| a),
                )
            };
            held.extend(
                acs[g]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| groups[*i] == *t)
                    .map(|(_, a)| *a),
            );
            folds.push(Fold {
                fault: (*t).to_owned(),
                params: grid[g],
                train_avg_at_5: train,
                held_out: mine(g),
                in_sample: mine(all_g),
            });
        }
    }
    let results: Vec<CaseResult> = cases
        .iter()
        .zip(&rankings[all_g])
        .map(|(c, r)| result_of(c, r))
        .collect();
    let in_sample = Figures::of(results.iter().map(|r| &r.ac));
    Ok(EvalReport {
        cases: results,
        folds,
        held_out: (types.len() >= 2).then(|| Figures::of(held.iter())),
        in_sample_params: grid[all_g],
        ac_at_1: in_sample.ac_at_1,
        ac_at_3: in_sample.ac_at_3,
        avg_at_5: in_sample.avg_at_5,
        in_sample,
        edges_used: use_edges,
        note: "AC@k of a case with several roots is the fraction of its roots ranked in the top k",
    })
}

fn params_text(p: &Params) -> String {
    format!(
        "floor {} latency weight {} persist {} callee discount {} walk {}",
        p.spread_floor, p.latency_weight, p.persist, p.callee_discount, p.walk_weight
    )
}

/// The report as a readable table: leave-one-fault-type-out first, in-sample beside it, then
/// the cases.
pub fn format_report(r: &EvalReport) -> String {
    let mut out = String::new();
    let fig = |f: &Figures| format!("{:>5.2} {:>5.2} {:>5.2}", f.ac_at_1, f.ac_at_3, f.avg_at_5);
    if let Some(h) = &r.held_out {
        let w = r
            .folds
            .iter()
            .map(|f| f.fault.len())
            .max()
            .unwrap_or(0)
            .max(10);
        out.push_str(&format!(
            "{:<w$} leave-one-fault-type-out (held out) | in-sample\n{:<w$} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} {:>5}  setting chosen without the type\n",
            "",
            "fault type",
            "cases",
            "AC@1",
            "AC@3",
            "Avg@5",
            "AC@1",
            "AC@3",
            "Avg@5",
            w = w
        ));
        for f in &r.folds {
            out.push_str(&format!(
                "{:<w$} {:>5} {} | {}  {}\n",
                f.fault,
                f.held_out.cases,
                fig(&f.held_out),
                fig(&f.in_sample),
                params_text(&f.params),
                w = w
            ));
        }
        out.push_str(&format!(
            "{:<w$} {:>5} {} | {}  in-sample: {}\n\n",
            "all",
            h.cases,
            fig(h),
            fig(&r.in_sample),
            params_text(&r.in_sample_params),
            w = w
        ));
    }
    out.push_str(&format!(
        "{:<22} {:<34} {:>6} {:>5} {:>5}  top 3\n",
        "case", "root(s) (kind)", "rank", "AC@1", "AC@3"
    ));
    for c in &r.cases {
        let ranks: Vec<String> = c
            .root_ranks
            .iter()
            .map(|x| x.map(|p| p.to_string()).unwrap_or_else(|| "-".into()))
            .collect();
        out.push_str(&format!(
            "{:<22} {:<34} {:>6} {:>5.2} {:>5.2}  {}\n",
            c.case,
            format!("{} ({})", c.roots.join("+"), c.kinds.join("+")),
            ranks.join(","),
            c.ac[0],
            c.ac[2],
            c.top5
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push_str(&format!(
        "\n{} case(s), edges {}: in-sample AC@1 {:.3}  AC@3 {:.3}  Avg@5 {:.3} ({})\n({})\n",
        r.cases.len(),
        if r.edges_used { "used" } else { "not used" },
        r.ac_at_1,
        r.ac_at_3,
        r.avg_at_5,
        params_text(&r.in_sample_params),
        r.note
    ));
    if let Some(h) = &r.held_out {
        out.push_str(&format!(
            "held out (leave-one-fault-type-out): AC@1 {:.3}  AC@3 {:.3}  Avg@5 {:.3}\n",
            h.ac_at_1, h.ac_at_3, h.avg_at_5
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Table, RcaEvalError> {
        parse_table(text.as_bytes(), Path::new("t.csv"))
    }

    #[test]
    fn parses_missing_cells_as_nan() {
        let t = parse("time,a_cpu,b_lat_99\n1.5,0.1,\n2,NaN,3\n").expect("parses");
        assert_eq!(t.time, [1.5, 2.0]);
        assert_eq!(t.columns[0].values[0], 0.1);
        assert!(t.columns[0].values[1].is_nan());
        assert!(t.columns[1].values[0].is_nan());
        assert_eq!(t.columns[1].values[1], 3.0);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("a_cpu,b_cpu\n1,2\n").expect_err("no time");
        assert!(e.to_string().contains("t.csv:1: no `time` column"), "{e}");
        let e = parse("time,a_cpu\n1,2\n2,abc\n").expect_err("not a number");
        assert!(e.to_string().starts_with("t.csv:3: column a_cpu"), "{e}");
        let e = parse("time,a_cpu\n1,2\n2,3,4\n").expect_err("ragged");
        assert!(e.to_string().starts_with("t.csv:3:"), "{e}");
    }

    #[test]
    fn changes_parse_with_an_optional_header_and_errors_name_the_line() {
        let p = Path::new("changes.csv");
        let c = parse_changes(
            "service,time\ncartservice,1700000000\n\nfront-end,1700000060.5\n".as_bytes(),
            p,
        )
        .expect("parses");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].entity.name, "cartservice");
        assert_eq!(c[1].ts_ms, 1_700_000_060_500);
        assert!(c.iter().all(|e| e.kind.is_deploy()));
        let c = parse_changes("cartservice,1700000000\n".as_bytes(), p).expect("no header");
        assert_eq!(c.len(), 1);
        let e = parse_changes("service,time\ncarts,1\ncarts,yesterday\n".as_bytes(), p)
            .expect_err("not a time");
        assert!(
            e.to_string()
                .starts_with("changes.csv:3: time \"yesterday\""),
            "{e}"
        );
        let e = parse_changes("carts,1,extra\n".as_bytes(), p).expect_err("three fields");
        assert!(
            e.to_string()
                .starts_with("changes.csv:1: expected `service,time`"),
            "{e}"
        );
    }

    #[test]
    fn nezha_style_truth_files_are_read() {
        let dir = std::env::temp_dir().join(format!("opscope-truth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("truth"), "cartservice\n").expect("write");
        std::fs::write(dir.join("fault"), "network_delay\n").expect("write");
        let t = read_truth(&dir).expect("reads");
        assert_eq!(t.roots, ["cartservice"]);
        assert_eq!(t.kinds, ["network_delay"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_setting_is_chosen_on_the_cases_picked_only() {
        let hit = [1.0; K];
        let miss = [0.0; K];
        // Grid point 0 is right on cases 0 and 1, point 1 on case 2 only.
        let acs = vec![vec![hit, hit, miss], vec![miss, miss, hit]];
        assert_eq!(choose(&acs, &|_| true).0, 0);
        // Case 2 held out: chosen on cases 0 and 1, point 0.
        assert_eq!(choose(&acs, &|i| i != 2), (0, 1.0));
        // Cases 0 and 1 held out: chosen on case 2, point 1.
        assert_eq!(choose(&acs, &|i| i == 2), (1, 1.0));
        let f = Figures::of([hit, miss].iter());
        assert_eq!((f.cases, f.ac_at_1, f.avg_at_5), (2, 0.5, 0.5));
    }

    /// A Nezha-layout case: `bad` and `loud` move after the injection at t = 600 (`loud` more),
    /// rows every 60 s.
    fn write_case(dir: &Path, truth: &str, fault: &str, changes: Option<&str>) {
        std::fs::create_dir_all(dir).expect("case dir");
        let mut text = String::from("time,bad_cpu,loud_cpu,calm_cpu\n");
        for i in 0..16 {
            let t = i * 60;
            let after = t >= 600;
            let wobble = f64::from(i % 3) * 0.01;
            text.push_str(&format!(
                "{t},{},{},{}\n",
                if after { 30.0 } else { 1.0 + wobble },
                if after { 200.0 } else { 1.0 + wobble },
                1.0 + wobble
            ));
        }
        std::fs::write(dir.join("data.csv"), text).expect("data");
        std::fs::write(dir.join("inject_time"), "600\n").expect("inject");
        std::fs::write(dir.join("truth"), format!("{truth}\n")).expect("truth");
        std::fs::write(dir.join("fault"), format!("{fault}\n")).expect("fault");
        if let Some(c) = changes {
            std::fs::write(dir.join("changes.csv"), c).expect("changes");
        }
    }

    #[test]
    fn eval_reads_nezha_cases_with_changes_and_holds_each_fault_type_out() {
        let root = std::env::temp_dir().join(format!("opscope-eval-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // Case 1: `bad` was released just before: the change picks it over the louder `loud`.
        write_case(
            &root.join("c1"),
            "bad",
            "release",
            Some("service,time\nbad,590\ncalm,580\n"),
        );
        // Case 2: no change file: the loudest service comes first.
        write_case(&root.join("c2"), "loud", "cpu", None);
        let r = eval_cases(&root, true).expect("evaluates");
        assert_eq!(r.cases.len(), 2);
        assert_eq!(r.cases[0].top5[0], "bad", "{:?}", r.cases[0]);
        assert!(
            r.cases[0].top_evidence[0].starts_with("deploy marked: change listed in changes.csv")
        );
        assert_eq!(r.cases[1].top5[0], "loud");
        assert_eq!(r.folds.len(), 2);
        assert_eq!(r.held_out.map(|h| h.ac_at_1), Some(1.0));
        assert_eq!(r.ac_at_1, 1.0);
        let text = format_report(&r);
        assert!(
            text.starts_with("           leave-one-fault-type-out (held out)"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn accuracy_counts_the_fraction_of_roots() {
        let roots = vec!["b".to_owned(), "d".to_owned()];
        assert_eq!(
            accuracy(&["b", "a", "c", "d", "e"], &roots),
            [0.5, 0.5, 0.5, 1.0, 1.0]
        );
        assert_eq!(accuracy(&["a"], &["a".to_owned()]), [1.0; K]);
        assert_eq!(accuracy(&["x", "y"], &["a".to_owned()]), [0.0; K]);
    }
}
