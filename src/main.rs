//! The `opscope` command line: argument parsing only. Each command is one function in
//! `cmd/<command>.rs`; the work lives in the crates.

mod cmd;
mod nab;
mod sources;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
    Demo(cmd::demo::DemoArgs),
    /// Serve the simulated cluster's /metrics alone on a loopback port
    Sim(cmd::sim::SimArgs),
    /// The terminal console on the named sources (scrape targets, Prometheus, Kubernetes;
    /// the simulator when none is named)
    Tui(cmd::tui::TuiArgs),
    /// Headless: the engine on the named sources (or a recording, `--replay`) plus the HTTP
    /// API (`GET /api/v1/snapshot`, `POST /api/v1/annotations` for deploy tools), until Ctrl-C
    Run(cmd::run::RunArgs),
    /// Write what the collector sees (samples, failures, change events) to a Parquet file,
    /// cycle by cycle; replay it with `tui --replay FILE`, `run --replay FILE` or
    /// `snapshot --replay FILE`
    Record(cmd::record::RecordArgs),
    /// Collect once (or for --wait), analyse, print entities, edges, incidents and sources,
    /// and exit: 0 when it ran, 1 on bad arguments, 2 when every source failed
    Snapshot(cmd::snapshot::SnapshotArgs),
    /// Validate inputs
    Check {
        #[command(subcommand)]
        what: cmd::check::CheckCommand,
    },
    /// Rank the root cause of a fault from a metrics table (RCAEval layout: a `time` column
    /// and one `<service>_<metric>` column per metric)
    Rca(cmd::rca::RcaArgs),
    /// The configuration file
    Config {
        #[command(subcommand)]
        what: cmd::config::ConfigCommand,
    },
    /// Score a `timestamp,value` CSV with the streaming anomaly ensemble: writes the rows
    /// with an added `anomaly_score` column in [0, 1], computed causally
    Detect(cmd::detect::DetectArgs),
    /// Measure accuracy
    Eval {
        #[command(subcommand)]
        what: cmd::eval::EvalCommand,
    },
}

fn main() {
    // Bad arguments exit 1 (as documented for `snapshot`); --help and --version exit 0.
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        std::process::exit(if e.use_stderr() { 1 } else { 0 });
    });
    let config = cli.config.as_deref();
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a, config),
        Command::Sim(a) => cmd::sim::run(a),
        Command::Tui(a) => cmd::tui::run(a, config),
        Command::Run(a) => cmd::run::run(a, config),
        Command::Record(a) => cmd::record::run(a, config),
        Command::Snapshot(a) => cmd::snapshot::run(a, config),
        Command::Check { what } => cmd::check::run(what),
        Command::Rca(a) => cmd::rca::run(a),
        Command::Config { what } => cmd::config::run(what),
        Command::Detect(a) => cmd::detect::run(a),
        Command::Eval { what } => cmd::eval::run(what),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
