//! `opscope snapshot`: collect from the sources once (two cycles, so that rates exist) or for a
//! while, analyse with the real engine, print the result as text or JSON, and exit.
//!
//! Exit codes: 0 when it ran, 1 on bad arguments or a failure of opscope itself, 2 when every
//! source failed (each one with its reason on stderr), so scripts and CI can branch on it.

use crate::sources::{self, SourceArgs};
use analytics::model::{EntityHealth, Health, Incident, IncidentStatus, Snapshot};
use anyhow::{Context, Result};
use clap::Args;
use collector::model::{EdgeKind, EntityId, SignalKind, SourceStatus};
use opscope_engine::cycles::{Driver, Flow, WallClock, drive};
use opscope_engine::sources::SourcePlan;
use opscope_engine::{Engine, EngineError};
use opscope_layout::phrase::{remediation_title, remediation_why};
use opscope_layout::{Describe, FormatValue};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// Exit code when every source failed.
pub const EXIT_SOURCES_FAILED: i32 = 2;

/// Arguments of `opscope snapshot`.
#[derive(Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Keep collecting for this long (a cycle every --interval, at least two cycles), e.g. 1m.
    /// Without it: two cycles one interval apart, since rates need two scrapes
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    wait: Option<Duration>,
    /// The snapshot as one JSON document instead of text: the same document as the HTTP API's
    /// `GET /api/v1/snapshot` ({"cycle", "ts_ms", "topology", "entities", "incidents",
    /// "sources", "changes", "alerts", "slos", "burn_alerts", "collector", "edge_health"})
    #[arg(long)]
    json: bool,
}

/// Cycles at 0, I, 2I, ... until `wait` has passed; at least two (rates need two scrapes).
fn cycles(wait: Option<Duration>, interval: Duration) -> u32 {
    let Some(wait) = wait else { return 2 };
    let i = interval.as_millis().max(1);
    let steps = wait.as_millis().div_ceil(i).max(1);
    u32::try_from(steps.saturating_add(1)).unwrap_or(u32::MAX)
}

/// Run `opscope snapshot`. Returns normally after printing (exit 0); exits the process with
/// [`EXIT_SOURCES_FAILED`] when every source failed.
pub fn run(a: SnapshotArgs, config: Option<&Path>) -> Result<()> {
    super::init_logs(false)?;
    let config = &super::load_config(config)?;
    let rt = super::runtime()?;
    let (snap, cycles) = if let Some(path) = &a.sources.replay {
        // The whole recording, as fast as it computes; the state at its end.
        let (replay, cfg) = super::load_replay(path, config)?;
        let bar = super::progress_bar(replay.times().len() as u64, "replaying", " cycles");
        let snap = rt
            .block_on(replay.run_to_end_with(&cfg, &|done, _| bar.set_position(done as u64)))
            .context("replaying the recording")?;
        bar.finish_and_clear();
        let n = u32::try_from(replay.times().len()).unwrap_or(u32::MAX);
        (snap, n)
    } else {
        let plan = a.sources.plan(config)?;
        let n_cycles = cycles(a.wait, plan.interval);
        let snap = rt.block_on(collect(&plan, n_cycles, config, a.wait.is_some()));
        snap?
    };
    rt.shutdown_timeout(Duration::from_secs(1));
    let text = if a.json {
        json_document(&snap)?
    } else {
        render_text(&snap, cycles)
    };
    write_stdout(&text)?;
    if let Some(why) = all_failed(&snap.sources) {
        eprintln!("error: every source failed:\n{why}");
        std::process::exit(EXIT_SOURCES_FAILED);
    }
    Ok(())
}

/// Print to stdout; a closed pipe (`opscope snapshot | head`) is not an error.
fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(()),
    }
}

/// Start the simulator if planned, run the engine cycles, return the last snapshot and the
/// number of cycles run.
async fn collect(
    plan: &SourcePlan,
    cycles: u32,
    config: &opscope_config::Config,
    waiting: bool,
) -> Result<(Arc<Snapshot>, u32)> {
    let started = sources::start(plan, config).await?;
    let (mut engine, server) = (started.engine, started.sim);
    let mut driver = Collect {
        clock: WallClock::new(plan.interval, MissedTickBehavior::Delay),
        cycles,
        done: 0,
        waiting,
        last: None,
    };
    let result = drive(&mut engine, &mut driver).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    result?;
    let snap = driver.last.context("no engine cycle ran")?;
    Ok((snap, driver.done))
}

/// `snapshot`'s cycles: `cycles` of them on the wall clock, fewer when nothing answers.
struct Collect {
    clock: WallClock,
    cycles: u32,
    done: u32,
    /// `--wait` given: go on even when nothing answered.
    waiting: bool,
    last: Option<Arc<Snapshot>>,
}

impl Driver for Collect {
    type Error = anyhow::Error;

    async fn next(&mut self, _: &mut Engine) -> Result<Option<i64>> {
        if self.done >= self.cycles {
            return Ok(None);
        }
        Ok(Some(self.clock.tick().await))
    }

    fn cycled(&mut self, _: &Engine, _: i64, snap: Arc<Snapshot>) -> Result<Flow> {
        self.done += 1;
        tracing::debug!(cycle = self.done, "snapshot cycle done");
        // Nothing answered the first time: without --wait there is no point in waiting.
        let give_up = !self.waiting
            && snap
                .sources
                .iter()
                .all(|s| s.stale && s.last_success_ms.is_none());
        self.last = Some(snap);
        Ok(if give_up { Flow::Stop } else { Flow::Continue })
    }

    fn failed(&mut self, error: EngineError) -> Result<Flow> {
        Err(anyhow::Error::new(error).context("engine cycle"))
    }
}

/// The `--json` document: the snapshot serialized as the HTTP API serializes it (indented).
fn json_document(snap: &Snapshot) -> Result<String> {
    let mut t = serde_json::to_string_pretty(snap).context("encoding the snapshot")?;
    t.push('\n');
    Ok(t)
}

/// When every source's last attempt failed: one line per source with its reason.
fn all_failed(sources: &[SourceStatus]) -> Option<String> {
    if sources.is_empty() || sources.iter().any(|s| !s.stale) {
        return None;
    }
    Some(
        sources
            .iter()
            .map(|s| {
                format!(
                    "  {}: {}",
                    s.name,
                    s.last_error.as_deref().unwrap_or("no data")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Number of entities that have each signal.
fn signal_counts(entities: &[EntityHealth]) -> BTreeMap<SignalKind, usize> {
    let mut m = BTreeMap::new();
    for e in entities {
        for (k, _) in &e.signals {
            *m.entry(*k).or_insert(0) += 1;
        }
    }
    m
}

fn health_str(h: Health) -> &'static str {
    match h {
        Health::Unknown => "unknown",
        Health::Ok => "ok",
        Health::Warning => "warning",
        Health::Critical => "critical",
    }
}

fn edge_kind_str(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Calls => "calls",
        EdgeKind::RunsOn => "runs_on",
        EdgeKind::Owns => "owns",
        EdgeKind::Produces => "produces",
        EdgeKind::Consumes => "consumes",
    }
}

/// `namespace/name`, or `name` for cluster-scoped entities.
fn short(id: &EntityId) -> String {
    if id.namespace.is_empty() {
        id.name.clone()
    } else {
        format!("{}/{}", id.namespace, id.name)
    }
}

fn fmt_time(ms: i64) -> String {
    u64::try_from(ms)
        .ok()
        .map(|ms| std::time::UNIX_EPOCH + Duration::from_millis(ms))
        .map_or_else(
            || ms.to_string(),
            |t| humantime::format_rfc3339_seconds(t).to_string(),
        )
}

/// The text report.
fn render_text(s: &Snapshot, cycles: u32) -> String {
    let mut o = String::new();
    // Writing into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        o,
        "opscope snapshot at {} ({} cycle(s), {} entities, {} edges)",
        fmt_time(s.ts_ms),
        cycles,
        s.entities.len(),
        s.topology.edges.len()
    );
    if let Some(until) = s.learning_until_ms {
        let _ = writeln!(
            o,
            "  the detectors are still learning what is normal ({} left): no incident yet means not judged yet (--wait longer, or --prometheus for a warm start)",
            opscope_layout::format::duration(until - s.ts_ms)
        );
    }

    let _ = writeln!(o, "\nSOURCES");
    for src in &s.sources {
        let state = if src.stale { "STALE" } else { "fresh" };
        let _ = write!(
            o,
            "  {state:<6} {}  {} samples in {} ms",
            src.name, src.samples, src.duration_ms
        );
        if let Some(e) = &src.last_error {
            let _ = write!(o, "  last error: {e}");
        }
        let _ = writeln!(o);
    }
    let c = &s.collector;
    if c.max_series > 0 {
        let _ = writeln!(
            o,
            "  collector: {} series (limit {}), frames ~{}",
            c.series,
            c.max_series,
            opscope_layout::format::bytes(c.frame_bytes as f64)
        );
    }
    if c.dropped_samples_total > 0 {
        let _ = writeln!(
            o,
            "  WARNING series limit reached: {} samples of new series dropped (raise limits.max_series)",
            c.dropped_samples_total
        );
    }
    if c.over_sample_limit_total > 0 {
        let _ = writeln!(
            o,
            "  WARNING {} collection(s) refused over the per-target limit of {} samples (limits.samples_per_target)",
            c.over_sample_limit_total, c.samples_per_target
        );
    }

    let _ = writeln!(o, "\nENTITIES");
    let name_w = s
        .entities
        .iter()
        .map(|e| e.entity.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let ns_w = s
        .entities
        .iter()
        .map(|e| e.entity.namespace.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        o,
        "  {:<8} {:<ns_w$} {:<name_w$} {:<8} signals",
        "kind", "namespace", "name", "health"
    );
    for e in &s.entities {
        let signals: Vec<String> = e
            .signals
            .iter()
            .map(|(k, v)| format!("{} {}", k.label(), k.format_value(*v)))
            .collect();
        let ns = if e.entity.namespace.is_empty() {
            "-"
        } else {
            &e.entity.namespace
        };
        let _ = writeln!(
            o,
            "  {:<8} {:<ns_w$} {:<name_w$} {:<8} {}",
            e.entity.kind.as_str(),
            ns,
            e.entity.name,
            health_str(e.health),
            signals.join(", ")
        );
    }

    let _ = writeln!(o, "\nEDGES");
    let mut structural: BTreeMap<&'static str, usize> = BTreeMap::new();
    for e in &s.topology.edges {
        if matches!(e.kind, EdgeKind::Owns | EdgeKind::RunsOn) {
            *structural.entry(edge_kind_str(e.kind)).or_insert(0) += 1;
            continue;
        }
        let mut figures = Vec::new();
        if let Some(r) = e.rate_per_s {
            figures.push(format!("{r:.1}/s"));
        }
        if let Some(r) = e.error_ratio {
            figures.push(format!("errors {}", SignalKind::ErrorRatio.format_value(r)));
        }
        if let Some(p) = e.p99_ms {
            figures.push(format!("p99 {}", SignalKind::LatencyP99.format_value(p)));
        }
        let _ = writeln!(
            o,
            "  {:<8} {} -> {}  {}",
            edge_kind_str(e.kind),
            short(&e.from),
            short(&e.to),
            figures.join(", ")
        );
    }
    if !structural.is_empty() {
        let parts: Vec<String> = structural.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(o, "  (+ {} edges; all in --json)", parts.join(", "));
    }

    let _ = writeln!(o, "\nSIGNALS");
    let counts = signal_counts(&s.entities);
    if counts.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for (k, n) in &counts {
        let _ = writeln!(o, "  {:<22} {n}", k.label());
    }

    let open: Vec<&Incident> = s
        .incidents
        .iter()
        .filter(|i| i.status == IncidentStatus::Open)
        .collect();
    let _ = writeln!(o, "\nINCIDENTS ({} open)", open.len());
    for inc in open {
        let _ = writeln!(
            o,
            "  INC-{} [{:?}] {} (since {})",
            inc.id,
            inc.severity,
            inc.title,
            fmt_time(inc.first_seen_ms)
        );
        for (n, c) in inc.causes.iter().take(3).enumerate() {
            let _ = writeln!(
                o,
                "    {}. {} ({}, confidence {:.0}%)",
                n + 1,
                c.entity,
                c.signal.label(),
                c.confidence * 100.0
            );
            for ev in c.evidence.iter().take(3) {
                let _ = writeln!(o, "       - {}", ev.describe());
            }
        }
        for r in &inc.remediation {
            let _ = writeln!(
                o,
                "    fix: {} — {}",
                remediation_title(r),
                remediation_why(r)
            );
            if let Some(cmd) = &r.command {
                let _ = writeln!(o, "         $ {cmd}");
            }
        }
    }

    if !s.slos.is_empty() {
        let _ = writeln!(o, "\nSLOS");
        for slo in &s.slos {
            let what = match slo.objective {
                analytics::slo::Objective::Availability => "availability".to_owned(),
                analytics::slo::Objective::Latency { threshold_ms } => {
                    format!("latency <= {threshold_ms} ms")
                }
            };
            let budget = slo.budget_remaining.map_or("no traffic".to_owned(), |b| {
                format!("{:.1}% budget left", b * 100.0)
            });
            let _ = writeln!(
                o,
                "  {} {} {:.2}%: {budget}",
                slo.service,
                what,
                slo.target * 100.0
            );
        }
    }
    let firing: Vec<String> = s
        .alerts
        .iter()
        .filter(|a| a.state == analytics::rules::AlertState::Firing)
        .map(|a| a.describe())
        .chain(
            s.burn_alerts
                .iter()
                .filter(|b| b.state == analytics::slo::BurnAlertState::Firing)
                .map(|b| b.describe()),
        )
        .collect();
    if !firing.is_empty() {
        let _ = writeln!(o, "\nFIRING ALERTS");
        for f in firing {
            let _ = writeln!(o, "  {f}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::model::{Cause, Evidence, Remediation, Severity};
    use collector::model::Edge;

    fn status(name: &str, stale: bool, err: Option<&str>) -> SourceStatus {
        SourceStatus {
            name: name.to_owned(),
            last_success_ms: (!stale).then_some(1_000),
            stale,
            last_error: err.map(str::to_owned),
            samples: if stale { 0 } else { 42 },
            duration_ms: 3,
        }
    }

    fn snapshot() -> Snapshot {
        let front = EntityId::workload("shop", "frontend");
        let checkout = EntityId::workload("shop", "checkoutservice");
        Snapshot {
            cycle: 2,
            ts_ms: 1_700_000_000_000,
            topology: collector::model::Topology {
                entities: vec![checkout.clone(), front.clone()],
                edges: vec![Edge {
                    from: front.clone(),
                    to: checkout.clone(),
                    kind: EdgeKind::Calls,
                    rate_per_s: Some(12.5),
                    error_ratio: Some(0.02),
                    p99_ms: Some(250.0),
                    backlog: None,
                    backlog_growth_per_s: None,
                }],
            },
            entities: vec![
                EntityHealth {
                    scores: Vec::new(),
                    entity: checkout.clone(),
                    health: Health::Critical,
                    signals: vec![
                        (SignalKind::RequestRate, 12.5),
                        (SignalKind::LatencyP99, 1500.0),
                    ],
                },
                EntityHealth {
                    scores: Vec::new(),
                    entity: front,
                    health: Health::Ok,
                    signals: vec![(SignalKind::RequestRate, 30.0)],
                },
            ],
            incidents: vec![Incident {
                id: 7,
                status: IncidentStatus::Open,
                severity: Severity::Critical,
                title: "latency p99 up on checkoutservice".to_owned(),
                first_seen_ms: 1_700_000_000_000,
                last_seen_ms: 1_700_000_000_000,
                resolved_ms: None,
                anomalies: vec![],
                causes: vec![Cause {
                    entity: checkout,
                    signal: SignalKind::LatencyP99,
                    score: 1.0,
                    confidence: 0.8,
                    evidence: vec![Evidence::Deviation {
                        entity: None,
                        signal: SignalKind::LatencyP99,
                        direction: opscope_model::Direction::Up,
                        baseline: 200.0,
                        current: 1500.0,
                        since_ms: 1_700_000_000_000,
                    }],
                    series: vec![],
                }],
                timeline: vec![],
                remediation: vec![Remediation {
                    action: opscope_model::Action::ReadLogs {
                        workload: EntityId::workload("shop", "checkoutservice"),
                    },
                    command: Some(
                        "kubectl logs -n shop deploy/checkoutservice --since=15m".to_owned(),
                    ),
                }],
            }],
            sources: vec![status("http://a/metrics", false, None)],
            ..Snapshot::default()
        }
    }

    #[test]
    fn text_shows_entities_edges_incidents_and_sources() {
        let t = render_text(&snapshot(), 2);
        assert!(t.contains("checkoutservice"), "{t}");
        assert!(
            t.contains("1.50 s"),
            "signal formatted with format_value: {t}"
        );
        assert!(
            t.contains(
                "calls    shop/frontend -> shop/checkoutservice  12.5/s, errors 2.0%, p99 250 ms"
            ),
            "{t}"
        );
        assert!(t.contains("INC-7"), "{t}");
        assert!(t.contains("confidence 80%"), "{t}");
        assert!(
            t.contains("latency p99 x7.5 (200 ms -> 1.50 s) since"),
            "{t}"
        );
        assert!(
            t.contains("$ kubectl logs -n shop deploy/checkoutservice"),
            "{t}"
        );
        assert!(t.contains("fresh  http://a/metrics  42 samples"), "{t}");
        assert!(t.contains("INCIDENTS (1 open)"), "{t}");
    }

    #[test]
    fn json_is_the_snapshot_document() {
        let snap = snapshot();
        let text = json_document(&snap).expect("encodes");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        for k in [
            "cycle",
            "ts_ms",
            "topology",
            "entities",
            "incidents",
            "sources",
            "changes",
            "alerts",
            "slos",
            "burn_alerts",
            "collector",
            "edge_health",
        ] {
            assert!(v.get(k).is_some(), "missing {k}: {v}");
        }
        assert_eq!(v, serde_json::to_value(&snap).expect("encodes"));
        let back: Snapshot = serde_json::from_str(&text).expect("decodes as a Snapshot");
        assert_eq!(back, snap);
        assert_eq!(v["entities"][0]["entity"]["name"], "checkoutservice");
        assert_eq!(v["topology"]["edges"][0]["kind"], "calls");
        assert_eq!(v["sources"][0]["stale"], false);
    }

    #[test]
    fn all_failed_only_when_every_source_is_stale() {
        let ok = status("http://a/metrics", false, None);
        let bad = status("http://b/metrics", true, Some("connection refused"));
        assert_eq!(all_failed(&[ok.clone(), bad.clone()]), None);
        assert_eq!(all_failed(&[]), None);
        let why = all_failed(&[bad]).expect("failed");
        assert!(
            why.contains("http://b/metrics: connection refused"),
            "{why}"
        );
    }

    #[test]
    fn cycles_cover_the_wait_and_never_fewer_than_two() {
        let s = Duration::from_secs;
        assert_eq!(cycles(None, s(5)), 2);
        assert_eq!(cycles(Some(s(0)), s(5)), 2);
        assert_eq!(cycles(Some(s(5)), s(5)), 2);
        assert_eq!(cycles(Some(s(6)), s(5)), 3);
        assert_eq!(cycles(Some(s(60)), s(15)), 5);
    }
}
