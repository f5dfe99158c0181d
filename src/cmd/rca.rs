//! `opscope rca`: rank the root cause of a fault from a metrics table (RCAEval layout).

use super::init_logs;
use anyhow::{Context, Result};
use clap::Args;
use opscope::rcaeval;
use std::path::PathBuf;

#[derive(Args)]
pub struct RcaArgs {
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
    /// Change events CSV with `service,time` rows (Unix seconds; rollouts, releases, config
    /// changes): a service changed just before its trouble is ranked ahead
    #[arg(long)]
    changes: Option<PathBuf>,
    /// Machine-readable output: {"ranking": [{"service", "score", "evidence"}]}
    #[arg(long)]
    json: bool,
}

/// Run `opscope rca`.
pub fn run(a: RcaArgs) -> Result<()> {
    init_logs(false)?;
    let ranking = rcaeval::rank_files(&rcaeval::RcaFiles {
        input: a.input,
        normal: a.normal,
        inject_time: a.inject_time,
        edges: a.edges,
        changes: a.changes,
        params: analytics::tabular::Params::default(),
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
