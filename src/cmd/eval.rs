//! `opscope eval ...`: accuracy on NAB, on the simulator's scenarios, and on RCAEval cases.

use super::{init_logs, runtime};
use anyhow::{Context, Result};
use clap::Subcommand;
use opscope::{eval, rcaeval};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Run `opscope detect`'s detector over the NAB series listed in the label file and print
    /// NAB scores for the standard, reward_low_FP and reward_low_FN profiles: held out first
    /// (leave-one-category-out: each top-level folder scored at the threshold tuned on the
    /// others), in-sample beside it (one threshold tuned on the same data, as NAB does)
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
    /// Run the live per-signal detectors over every server of a labelled multi-metric dataset
    /// (the Application Server Dataset layout: omi-N/train.csv, test.csv with `label`,
    /// interpretation.txt), the training rows to warm up, then the test rows causally; print
    /// event-level precision, recall, F1, detection delay and how often the blamed metrics are
    /// the labelled ones, leave-one-server-out first
    Entity {
        /// Dataset directory, e.g. ../shared/data/anomaly/asd
        #[arg(long)]
        data: PathBuf,
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

/// Run an `eval` subcommand.
pub fn run(what: EvalCommand) -> Result<()> {
    init_logs(false)?;
    match what {
        EvalCommand::Nab { data, labels, json } => crate::nab::eval_nab(&data, &labels, json),
        EvalCommand::Entity { data, json } => eval_entity(&data, json),
        EvalCommand::Scenarios {
            json,
            seed,
            fault_free,
            only,
        } => eval_scenarios(json, seed, fault_free, only),
        EvalCommand::Rca {
            cases,
            json,
            no_edges,
        } => eval_rca(&cases, json, no_edges),
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
    let unrelated: usize = report
        .unrelated_incidents
        .iter()
        .map(|(_, t)| t.len())
        .sum();
    println!(
        "fault runs: {unrelated} incident(s) about no faulty entity in {:.1} simulated hours{}",
        report.fault_run_hours,
        if unrelated == 0 {
            String::new()
        } else {
            let all: Vec<String> = report
                .unrelated_incidents
                .iter()
                .flat_map(|(s, t)| t.iter().map(move |t| format!("[{s}] {t}")))
                .collect();
            format!(": {}", all.join("; "))
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

fn eval_entity(data: &std::path::Path, json: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let servers =
        opscope::entity::load(data).with_context(|| format!("reading {}", data.display()))?;
    let report = opscope::entity::evaluate(&servers);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        );
    } else {
        print!("{}", opscope::entity::format_report(&report));
        println!(
            "({} servers, {:.1} s wall)",
            servers.len(),
            started.elapsed().as_secs_f64()
        );
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
