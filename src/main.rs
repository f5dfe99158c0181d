//! The `opscope` command line: argument handling and wiring; the work lives in the crates.

mod config_cmd;
mod nab;
mod snapshot_cmd;
mod sources;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use opscope_engine::cycles::{Driver, Flow, WallClock, drive};
use opscope_engine::{self as engine, Engine, EngineConfig};
use tokio::time::MissedTickBehavior;
use opscope::eval;
use opscope::rcaeval;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "opscope",
    version,
    about = "AIOps-style operations console for microservice platforms on Kubernetes",
    long_about = "opscope scrapes cluster, service-mesh and message-broker metrics, flags anomalies, \
groups them into incidents and ranks their likely root causes with evidence.\n\n\
Start with `opscope demo`: a simulated shop cluster on loopback, the engine and the terminal UI, \
with a fault injected after a minute."
)]
struct Cli {
    /// Configuration file (TOML). Default: $OPSCOPE_CONFIG, else
    /// $XDG_CONFIG_HOME/opscope/config.toml (or ~/.config/opscope/config.toml) if present
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulated cluster + engine + terminal UI, with a fault injected after a while
    Demo(DemoArgs),
    /// Serve the simulated cluster's /metrics alone on a loopback port
    Sim(SimArgs),
    /// The terminal console on the named sources (scrape targets, Prometheus, Kubernetes;
    /// the simulator when none is named)
    Tui(TuiArgs),
    /// Headless: the engine on the named sources (or a recording, `--replay`) plus the HTTP
    /// API (`GET /api/v1/snapshot`, `POST /api/v1/annotations` for deploy tools), until Ctrl-C
    Run(RunArgs),
    /// Write what the collector sees (samples, failures, change events) to a Parquet file,
    /// cycle by cycle; replay it with `tui --replay FILE`, `run --replay FILE` or
    /// `snapshot --replay FILE`
    Record(RecordArgs),
    /// Collect once (or for --wait), analyse, print entities, edges, incidents and sources,
    /// and exit: 0 when it ran, 1 on bad arguments, 2 when every source failed
    Snapshot(snapshot_cmd::SnapshotArgs),
    /// Validate inputs
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// Rank the root cause of a fault from a metrics table (RCAEval layout: a `time` column
    /// and one `<service>_<metric>` column per metric)
    Rca(RcaArgs),
    /// The configuration file
    Config {
        #[command(subcommand)]
        what: config_cmd::ConfigCommand,
    },
    /// Score a `timestamp,value` CSV with the streaming anomaly ensemble: writes the rows
    /// with an added `anomaly_score` column in [0, 1], computed causally
    Detect {
        /// Input CSV with `timestamp` (YYYY-MM-DD HH:MM:SS) and `value` columns
        #[arg(long)]
        input: PathBuf,
        /// Output CSV
        #[arg(long)]
        output: PathBuf,
    },
    /// Measure accuracy
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
}

/// The simulated cluster's fault and randomness, shared by `demo` and `sim`.
#[derive(Args)]
struct FaultArgs {
    /// Fault scenario to inject (see `opscope sim --list-scenarios`)
    #[arg(long, default_value = "latency")]
    scenario: String,
    /// Delay before the fault starts, e.g. 60s, 2m
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    fault_after: Duration,
    /// How long the fault lasts
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    fault_duration: Duration,
    /// Seed of the simulation (same seed, same cluster and noise)
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    fault: FaultArgs,
    /// Time between engine cycles
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    interval: Duration,
}

#[derive(Args)]
struct SimArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    #[command(flatten)]
    fault: FaultArgs,
    /// Which service mesh's proxy metrics to serve
    #[arg(long, value_enum, default_value = "istio")]
    mesh: MeshArg,
    /// Also serve the Kafka brokers' metrics as a Strimzi cluster names them
    /// (/metrics/kafka-broker)
    #[arg(long)]
    strimzi: bool,
    /// List the scenarios and exit
    #[arg(long)]
    list_scenarios: bool,
    /// Instead of serving: write every fault scenario as RCAEval-layout cases into DIR
    /// (virtual clock, 15 s rows, 30 min before the fault and 12 min after) and exit
    #[arg(long, value_name = "DIR")]
    export_rcaeval: Option<PathBuf>,
    /// Seeds per scenario for --export-rcaeval (seeds 1..=N)
    #[arg(long, default_value_t = 3, requires = "export_rcaeval")]
    seeds: u64,
}

#[derive(Args)]
struct RcaArgs {
    /// CSV with a `time` column (Unix seconds) and `<service>_<metric>` columns
    #[arg(long)]
    input: PathBuf,
    /// Fault-free CSV of the same layout; without it the rows before --inject-time are normal
    #[arg(long)]
    normal: Option<PathBuf>,
    /// Fault injection time, Unix seconds
    #[arg(long)]
    inject_time: f64,
    /// Call graph CSV with `source,target` rows (source calls target)
    #[arg(long)]
    edges: Option<PathBuf>,
    /// Machine-readable output: {"ranking": [{"service", "score", "evidence"}]}
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RunArgs {
    /// Address of the HTTP API (a non-loopback address requires a token) [default: the
    /// config's `api.listen`, 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Environment variable holding the API bearer token (default: the config's `[api]`
    /// token, else OPSCOPE_API_TOKEN if set)
    #[arg(long, value_name = "NAME", conflicts_with = "api_token_file")]
    api_token_env: Option<String>,
    /// File holding the API bearer token
    #[arg(long, value_name = "FILE")]
    api_token_file: Option<PathBuf>,
    #[command(flatten)]
    sources: sources::SourceArgs,
}

#[derive(Args)]
struct RecordArgs {
    /// The Parquet file to write (replaced if it exists)
    #[arg(long, value_name = "FILE.parquet")]
    out: PathBuf,
    /// Stop after this long (default: until Ctrl-C)
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    #[command(flatten)]
    sources: sources::SourceArgs,
}

#[derive(Args)]
struct TuiArgs {
    #[command(flatten)]
    sources: sources::SourceArgs,
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Validate exposition text like `promtool check metrics`: exit 0 when it parses,
    /// non-zero with the line number and reason when it does not
    Metrics {
        /// File to read, or `-` for standard input
        #[arg(default_value = "-")]
        file: String,
        /// Format; taken from the content (`# EOF` means OpenMetrics) when not given
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum MeshArg {
    Istio,
    Linkerd,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Prometheus,
    Openmetrics,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Run `opscope detect`'s ensemble over the NAB series listed in the label file and print
    /// NAB scores for the standard, reward_low_FP and reward_low_FN profiles (one threshold
    /// per profile, tuned on the same data as NAB does)
    Nab {
        /// NAB data directory (holding e.g. realTraffic/speed_7578.csv)
        #[arg(long)]
        data: PathBuf,
        /// Label file (labels/combined_windows.json)
        #[arg(long)]
        labels: PathBuf,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Run every simulator scenario on a virtual clock through the whole pipeline over
    /// loopback HTTP, and score detection and root-cause ranking against the ground truth
    Scenarios {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Simulated fault-free time over which false incidents are counted
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        fault_free: Duration,
        /// Run only these scenarios (repeatable; default: every fault scenario)
        #[arg(long = "scenario")]
        only: Vec<String>,
    },
    /// Run `opscope rca` on every case directory under --cases (data.csv, inject_time.txt,
    /// edges.csv, truth.json) and score AC@1, AC@3 and Avg@5 against the truth
    Rca {
        /// Directory of cases, e.g. written by `opscope sim --export-rcaeval`
        #[arg(long)]
        cases: PathBuf,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// Ignore edges.csv (metrics only)
        #[arg(long)]
        no_edges: bool,
    },
}

fn main() {
    // Bad arguments exit 1 (as documented for `snapshot`); --help and --version exit 0.
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        std::process::exit(if e.use_stderr() { 1 } else { 0 });
    });
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Logs go to stderr, or to a file while the terminal UI owns the screen.
fn init_logs(to_file: bool) -> Result<Option<PathBuf>> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("OPSCOPE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    if to_file {
        let path = std::env::temp_dir().join("opscope.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening log file {}", path.display()))?;
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
        Ok(Some(path))
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
        Ok(None)
    }
}

fn run(cli: Cli) -> Result<()> {
    let config = cli.config;
    match cli.command {
        Command::Demo(a) => demo(a, &load_config(config.as_deref())?),
        Command::Sim(a) => sim(a),
        Command::Tui(a) => tui_cmd(a, &load_config(config.as_deref())?),
        Command::Run(a) => {
            init_logs(false)?;
            run_cmd(a, &load_config(config.as_deref())?)
        }
        Command::Record(a) => {
            init_logs(false)?;
            record_cmd(a, &load_config(config.as_deref())?)
        }
        Command::Snapshot(a) => {
            init_logs(false)?;
            snapshot_cmd::run(a, &load_config(config.as_deref())?)
        }
        Command::Rca(a) => {
            init_logs(false)?;
            rca_cmd(a)
        }
        Command::Eval {
            what:
                EvalCommand::Rca {
                    cases,
                    json,
                    no_edges,
                },
        } => {
            init_logs(false)?;
            eval_rca(&cases, json, no_edges)
        }
        Command::Check {
            what: CheckCommand::Metrics { file, format },
        } => check_metrics(&file, format),
        Command::Config { what } => config_cmd::run(what),
        Command::Detect { input, output } => {
            init_logs(false)?;
            nab::detect(&input, &output)
        }
        Command::Eval {
            what: EvalCommand::Nab { data, labels, json },
        } => {
            init_logs(false)?;
            nab::eval_nab(&data, &labels, json)
        }
        Command::Eval {
            what:
                EvalCommand::Scenarios {
                    json,
                    seed,
                    fault_free,
                    only,
                },
        } => {
            init_logs(false)?;
            eval_scenarios(json, seed, fault_free, only)
        }
    }
}

/// A simulator starting now, with the scenario checked against the known ones.
fn simulator(f: &FaultArgs) -> Result<fixtures::Simulator> {
    let cfg = fixtures::SimConfig {
        scenario: f.scenario.clone(),
        seed: f.seed,
        start_ms: engine::wall_ms(),
        fault_after_ms: f.fault_after.as_millis() as i64,
        fault_duration_ms: f.fault_duration.as_millis() as i64,
    };
    fixtures::Simulator::new(cfg)
        .with_context(|| format!("scenario {:?} (known: {})", f.scenario, known_scenarios()))
}

fn known_scenarios() -> String {
    fixtures::scenarios()
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The configuration (`--config`, else the default places, else defaults); warnings are
/// printed, errors stop the program with every problem listed.
fn load_config(path: Option<&std::path::Path>) -> Result<opscope_config::Config> {
    let loaded = opscope_config::load(path).context("loading the configuration")?;
    let file = loaded
        .path
        .as_ref()
        .map_or_else(|| "(defaults)".to_owned(), |p| p.display().to_string());
    for w in &loaded.warnings {
        eprintln!("{}", w.render(&file));
    }
    Ok(loaded.config)
}

fn demo(a: DemoArgs, config: &opscope_config::Config) -> Result<()> {
    let log = init_logs(true)?;
    let rt = runtime()?;
    let sim = simulator(&a.fault)?;
    let server = rt
        .block_on(fixtures::serve(
            sim,
            fixtures::Clock::Real,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .context("starting the simulated cluster on loopback")?;
    let url = format!("{}/metrics", server.url());
    tracing::info!(%url, "simulator listening");
    let title = format!(
        "opscope demo — simulated shop, scenario {} (fault in {}) — {}",
        a.fault.scenario,
        humantime::format_duration(a.fault.fault_after),
        url
    );
    let mut cfg = EngineConfig::for_interval(vec![url], a.interval);
    opscope_engine::sources::apply_limits(&mut cfg, config);
    let result = console(&rt, Engine::new(&cfg), a.interval, title);
    drop(server);
    rt.shutdown_timeout(Duration::from_secs(1));
    if let (Err(_), Some(p)) = (&result, log) {
        eprintln!("(logs in {})", p.display());
    }
    result
}

fn tui_cmd(a: TuiArgs, config: &opscope_config::Config) -> Result<()> {
    if let Some(path) = &a.sources.replay {
        return tui_replay(path, a.sources.speed, config);
    }
    let plan = a.sources.plan(config)?;
    init_logs(true)?;
    let rt = runtime()?;
    let started = rt.block_on(sources::start(&plan, config))?;
    let title = format!("opscope — {}", started.describe);
    let r = console(&rt, started.engine, plan.interval, title);
    drop(started.sim);
    rt.shutdown_timeout(Duration::from_secs(1));
    r
}

/// A recording read from `path`, and the engine settings to replay it with: those of a live
/// engine at the recorded interval, with the config's limits, rules and SLOs.
pub(crate) fn load_replay(
    path: &std::path::Path,
    config: &opscope_config::Config,
) -> Result<(opscope_engine::replay::Replay, EngineConfig)> {
    let replay = opscope_engine::replay::Replay::load(path)
        .with_context(|| format!("--replay {}", path.display()))?;
    let mut cfg = replay.engine_config();
    opscope_engine::sources::apply_limits(&mut cfg, config);
    Ok((replay, cfg))
}

/// A recording playing in the background: its snapshots, its position, and where to send
/// pause, speed and seek. The replay holds its last cycle while `commands` is open.
struct Playing {
    snapshots: tokio::sync::watch::Receiver<Arc<analytics::model::Snapshot>>,
    status: tokio::sync::watch::Receiver<tui::replay::ReplayStatus>,
    commands: tokio::sync::mpsc::UnboundedSender<tui::replay::ReplayCommand>,
}

/// Start playing `replay` at `speed` on the current runtime.
fn play(replay: opscope_engine::replay::Replay, cfg: EngineConfig, speed: f64) -> Playing {
    let (tx, snapshots) =
        tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
    let (status_tx, status) = tokio::sync::watch::channel(tui::replay::ReplayStatus::default());
    let (commands, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        if let Err(e) = replay.play(&cfg, speed, tx, status_tx, cmd_rx).await {
            tracing::error!(error = %e, "replay stopped");
        }
    });
    Playing {
        snapshots,
        status,
        commands,
    }
}

/// A recording in the console, with pause, speed and seek.
fn tui_replay(path: &std::path::Path, speed: f64, config: &opscope_config::Config) -> Result<()> {
    let (replay, cfg) = load_replay(path, config)?;
    init_logs(true)?;
    let rt = runtime()?;
    let title = format!(
        "opscope replay — {} ({} cycles, {})",
        path.display(),
        replay.times().len(),
        replay.sources().join(", ")
    );
    let playing = {
        let _in_runtime = rt.enter();
        play(replay, cfg, speed)
    };
    let r = tui::run(
        playing.snapshots,
        tui::TuiOptions {
            title,
            tick: Duration::from_millis(250),
            replay: Some(tui::replay::ReplayControls {
                commands: playing.commands,
                status: playing.status,
            }),
        },
    )
    .context("terminal UI");
    rt.shutdown_timeout(Duration::from_secs(1));
    r
}

/// The API token from a file or an environment variable; never printed.
fn api_token(
    env: Option<&str>,
    file: Option<&std::path::Path>,
    config: &opscope_config::Api,
) -> Result<Option<Arc<str>>> {
    let raw = match (env, file) {
        (_, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("--api-token-file {}", f.display()))?,
        ),
        (Some(name), None) => Some(
            std::env::var(name)
                .with_context(|| format!("--api-token-env {name}: the variable is not set"))?,
        ),
        (None, None) => match config.token_source().context("the config's [api] token")? {
            Some(src) => match src.resolve(&|k| std::env::var(k).ok()) {
                Ok(t) => Some(t.expose().to_owned()),
                // As `config check` says: an unset variable leaves annotations off.
                Err(e @ opscope_config::SecretError::MissingEnv(_)) => {
                    tracing::warn!("[api] token: {e}; annotations are refused");
                    None
                }
                Err(e) => return Err(e).context("the config's [api] token"),
            },
            None => std::env::var("OPSCOPE_API_TOKEN").ok(),
        },
    };
    match raw.map(|t| t.trim().to_owned()) {
        Some(t) if t.chars().count() < opscope_config::MIN_TOKEN_CHARS => anyhow::bail!(
            "the API token must be at least {} characters",
            opscope_config::MIN_TOKEN_CHARS
        ),
        Some(t) => Ok(Some(Arc::from(t))),
        None => Ok(None),
    }
}

/// `opscope run`: engine + API, headless, until Ctrl-C.
fn run_cmd(a: RunArgs, config: &opscope_config::Config) -> Result<()> {
    let listen = a.listen.unwrap_or(config.api.listen);
    let rt = runtime()?;
    if let Some(path) = &a.sources.replay {
        return rt.block_on(run_replay(path, a.sources.speed, listen, config));
    }
    let token = api_token(
        a.api_token_env.as_deref(),
        a.api_token_file.as_deref(),
        &config.api,
    )?;
    let plan = a.sources.plan(config)?;
    rt.block_on(async {
        let started = sources::start(&plan, config).await?;
        let (mut engine, sim) = (started.engine, started.sim);
        let annotations = web::Annotations::default();
        engine.add_enricher(Box::new(annotations.feed()));
        let (tx, rx) = tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
        let has_token = token.is_some();
        let server = web::serve(
            listen,
            web::ApiState {
                snapshot: rx,
                annotations,
                token,
                protect_reads: false,
            },
        )
        .await
        .context("starting the HTTP API")?;
        eprintln!(
            "opscope running on {} every {}; API on http://{}/api/v1/snapshot{}",
            started.describe,
            humantime::format_duration(plan.interval),
            server.addr,
            if has_token {
                ", annotations: POST /api/v1/annotations"
            } else {
                " (no token: annotations disabled; set OPSCOPE_API_TOKEN)"
            }
        );
        let engine_task = tokio::spawn(engine::run(engine, plan.interval, tx));
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        engine_task.abort();
        drop(server);
        if let Some(s) = sim {
            s.shutdown().await;
        }
        Ok(())
    })
}

/// `opscope run --replay FILE`: the API serves the recording's snapshots as it plays, at
/// `speed`; annotations are refused (the recording's change events are fixed).
async fn run_replay(
    path: &std::path::Path,
    speed: f64,
    listen: SocketAddr,
    config: &opscope_config::Config,
) -> Result<()> {
    let (replay, cfg) = load_replay(path, config)?;
    let times = replay.times();
    let (cycles, span_s) = (times.len(), (times[times.len() - 1] - times[0]) / 1000);
    let mut playing = play(replay, cfg, speed);
    let server = web::serve(
        listen,
        web::ApiState {
            snapshot: playing.snapshots.clone(),
            annotations: web::Annotations::default(),
            token: None,
            protect_reads: false,
        },
    )
    .await
    .context("starting the HTTP API")?;
    eprintln!(
        "opscope replaying {} ({cycles} cycles, x{speed}); API on http://{}/api/v1/snapshot \
         (annotations off while replaying)",
        path.display(),
        server.addr
    );
    let bar = progress_bar(
        u64::try_from(span_s).unwrap_or(0).max(1),
        "replaying",
        "s recorded",
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            changed = playing.status.changed() => {
                if changed.is_err() {
                    break;
                }
                let st = *playing.status.borrow_and_update();
                bar.set_position(u64::try_from((st.position_ms - st.start_ms) / 1000).unwrap_or(0));
                if st.finished && !bar.is_finished() {
                    bar.finish_and_clear();
                    eprintln!("replay finished; serving its last state until Ctrl-C");
                }
            }
            _ = &mut ctrl_c => break,
        }
    }
    bar.finish_and_clear();
    drop(server);
    Ok(())
}

/// `opscope record`: collect on the wall clock, write each cycle, show progress on stderr.
fn record_cmd(a: RecordArgs, config: &opscope_config::Config) -> Result<()> {
    if a.sources.replay.is_some() {
        anyhow::bail!("record watches live sources; --replay cannot be recorded again");
    }
    let plan = a.sources.plan(config)?;
    let rt = runtime()?;
    rt.block_on(async {
        let started = sources::start(&plan, config).await?;
        let (mut engine, sim) = (started.engine, started.sim);
        engine.start_recording();
        let rec = collector::record::Recorder::create(&a.out)
            .with_context(|| format!("--out {}", a.out.display()))?;
        let bar = match a.duration {
            Some(d) => progress_bar(d.as_secs().max(1), "recording", "s"),
            None => indicatif::ProgressBar::new_spinner(),
        };
        eprintln!(
            "recording {} every {} into {} (Ctrl-C stops)",
            started.describe,
            humantime::format_duration(plan.interval),
            a.out.display()
        );
        let mut driver = Recording {
            clock: WallClock::new(plan.interval, MissedTickBehavior::Delay),
            ctrl_c: Box::pin(tokio::signal::ctrl_c()),
            rec,
            out: &a.out,
            bar,
            start: std::time::Instant::now(),
            duration: a.duration,
        };
        drive(&mut engine, &mut driver).await?;
        let Recording { rec, bar, .. } = driver;
        let (cycles, rows) = (rec.cycles(), rec.rows());
        let bytes = rec
            .finish()
            .with_context(|| format!("finishing {}", a.out.display()))?;
        bar.finish_and_clear();
        eprintln!(
            "wrote {}: {cycles} cycles, {rows} rows, {} (replay: opscope tui --replay {})",
            a.out.display(),
            collector::model::format_bytes(bytes as f64),
            a.out.display()
        );
        if let Some(s) = sim {
            s.shutdown().await;
        }
        Ok(())
    })
}

/// `opscope record`'s cycles: on the wall clock until Ctrl-C or the duration, each written to
/// the recording.
struct Recording<'a> {
    clock: WallClock,
    ctrl_c: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>,
    rec: collector::record::Recorder,
    out: &'a std::path::Path,
    bar: indicatif::ProgressBar,
    start: std::time::Instant,
    duration: Option<Duration>,
}

impl Driver for Recording<'_> {
    type Error = anyhow::Error;

    async fn next(&mut self, _: &mut Engine) -> Result<Option<i64>> {
        tokio::select! {
            now = self.clock.tick() => Ok(Some(now)),
            _ = &mut self.ctrl_c => Ok(None),
        }
    }

    fn cycled(
        &mut self,
        engine: &Engine,
        now: i64,
        snap: Arc<analytics::model::Snapshot>,
    ) -> Result<Flow> {
        self.rec
            .write(&engine.recorded(now))
            .with_context(|| format!("writing {}", self.out.display()))?;
        let stale = snap.sources.iter().filter(|s| s.stale).count();
        self.bar.set_position(self.start.elapsed().as_secs());
        self.bar.set_message(format!(
            "{} cycles, {} rows, {} open incident(s){}",
            self.rec.cycles(),
            self.rec.rows(),
            snap.open_incidents().count(),
            if stale > 0 {
                format!(", {stale} source(s) stale")
            } else {
                String::new()
            }
        ));
        Ok(if self.duration.is_some_and(|d| self.start.elapsed() >= d) {
            Flow::Stop
        } else {
            Flow::Continue
        })
    }

    fn failed(&mut self, error: engine::EngineError) -> Result<Flow> {
        Err(anyhow::Error::new(error).context("engine cycle"))
    }
}

/// A progress bar on stderr (drawn only when stderr is a terminal): `what` before it, the
/// position and length in `unit` after it, then the message.
pub(crate) fn progress_bar(len: u64, what: &str, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}}{unit} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Engine in the background, terminal UI in the foreground until the user quits.
fn console(
    rt: &tokio::runtime::Runtime,
    engine: Engine,
    interval: Duration,
    title: String,
) -> Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
    rt.spawn(engine::run(engine, interval, tx));
    tui::run(
        rx,
        tui::TuiOptions {
            title,
            tick: Duration::from_millis(250),
            ..Default::default()
        },
    )
    .context("terminal UI")
}

fn sim(a: SimArgs) -> Result<()> {
    if a.list_scenarios {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for s in fixtures::scenarios() {
            // A closed pipe (`| head`) ends the listing quietly.
            if writeln!(out, "{:<16} {}", s.name, s.description).is_err() {
                break;
            }
        }
        return Ok(());
    }
    init_logs(false)?;
    let rt = runtime()?;
    if let Some(dir) = &a.export_rcaeval {
        return export_rcaeval(&rt, dir, a.seeds);
    }
    let mesh = match a.mesh {
        MeshArg::Istio => fixtures::Mesh::Istio,
        MeshArg::Linkerd => fixtures::Mesh::Linkerd,
    };
    let sim = simulator(&a.fault)?.with_mesh(mesh).with_strimzi(a.strimzi);
    rt.block_on(async move {
        let server = fixtures::serve(sim, fixtures::Clock::Real, a.listen)
            .await
            .with_context(|| format!("listening on {}", a.listen))?;
        println!("simulated cluster: {}/metrics (scenario {}, fault after {})", server.url(), a.fault.scenario, humantime::format_duration(a.fault.fault_after));
        let components: Vec<&str> = fixtures::Component::ALL
            .iter()
            .filter(|c| a.strimzi || **c != fixtures::Component::KafkaBroker)
            .map(|c| c.as_str())
            .collect();
        println!(
            "components: /metrics/{{{}}}, ground truth: /ground-truth; the Kubernetes API at the same address (--kube-url). Ctrl-C stops.",
            components.join(",")
        );
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(())
    })
}

fn check_metrics(file: &str, format: Option<FormatArg>) -> Result<()> {
    let mut text = String::new();
    let name = if file == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        "<stdin>".to_owned()
    } else {
        text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        file.to_owned()
    };
    let format = format.map(|f| match f {
        FormatArg::Prometheus => collector::exposition::Format::Prometheus,
        FormatArg::Openmetrics => collector::exposition::Format::OpenMetrics,
    });
    match collector::exposition::check(&text, format) {
        Ok(report) => {
            for w in &report.warnings {
                println!("{name}: warning: {w}");
            }
            println!(
                "{name}: OK ({} families, {} samples)",
                report.families, report.samples
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("{name}:{}: error: {}", e.line, e.reason);
            std::process::exit(1);
        }
    }
}

fn eval_scenarios(json: bool, seed: u64, fault_free: Duration, only: Vec<String>) -> Result<()> {
    let rt = runtime()?;
    let opts = eval::EvalOptions {
        seed,
        ..eval::EvalOptions::default()
    };
    let started = std::time::Instant::now();
    let report = rt
        .block_on(eval::run_all(opts, fault_free, &only))
        .context("running the scenarios")?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        );
        return Ok(());
    }
    println!(
        "{:<16} {:<22} {:>6} {:>6} {:>9}  top causes",
        "scenario", "true root", "hit@1", "hit@3", "delay"
    );
    for r in &report.scenarios {
        let top: Vec<String> = r.top5.iter().map(|c| c.entity.clone()).collect();
        println!(
            "{:<16} {:<22} {:>6} {:>6} {:>9}  {}",
            r.scenario,
            format!("{} ({})", r.truth.root_workload, r.truth.kind.as_str()),
            r.hit_at_1,
            r.hit_at_3,
            r.detection_delay_s
                .map(|d| format!("{d:.0} s"))
                .unwrap_or_else(|| "missed".into()),
            top.join(", ")
        );
    }
    println!();
    println!(
        "AC@1 {:.2}  AC@3 {:.2}  mean detection delay {}",
        report.ac_at_1,
        report.ac_at_3,
        report
            .mean_detection_delay_s
            .map(|d| format!("{d:.0} s"))
            .unwrap_or_else(|| "n/a".into())
    );
    println!(
        "fault-free: {} incident(s) in {:.0} simulated hours{}",
        report.fault_free.incidents,
        report.fault_free.simulated_hours,
        if report.fault_free.titles.is_empty() {
            String::new()
        } else {
            format!(": {}", report.fault_free.titles.join("; "))
        }
    );
    println!(
        "(seed {}, scrape interval {} s, {:.1} s wall)",
        report.seed,
        report.interval_s,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn export_rcaeval(rt: &tokio::runtime::Runtime, dir: &std::path::Path, seeds: u64) -> Result<()> {
    let opts = rcaeval::ExportOptions {
        seeds,
        ..rcaeval::ExportOptions::default()
    };
    let started = std::time::Instant::now();
    let cases = rt
        .block_on(rcaeval::export_all(dir, &opts))
        .with_context(|| format!("exporting cases into {}", dir.display()))?;
    for c in &cases {
        println!(
            "{}: {} rows x {} columns, root(s) {}",
            c.dir.display(),
            c.rows,
            c.columns,
            c.truth.roots.join(", ")
        );
    }
    println!(
        "{} case(s) in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn rca_cmd(a: RcaArgs) -> Result<()> {
    let ranking = rcaeval::rank_files(&rcaeval::RcaFiles {
        input: a.input,
        normal: a.normal,
        inject_time: a.inject_time,
        edges: a.edges,
    })?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ranking).context("encoding the ranking")?
        );
    } else {
        print!("{}", rcaeval::format_ranking(&ranking));
    }
    Ok(())
}

fn eval_rca(cases: &std::path::Path, json: bool, no_edges: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let report = rcaeval::eval_cases(cases, !no_edges)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        );
    } else {
        print!("{}", rcaeval::format_report(&report));
        println!("({:.2} s wall)", started.elapsed().as_secs_f64());
    }
    Ok(())
}
