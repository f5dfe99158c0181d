//! `opscope check metrics`: validate exposition text like `promtool check metrics`.

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use std::io::Read;

#[derive(Subcommand)]
pub enum CheckCommand {
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
pub enum FormatArg {
    Prometheus,
    Openmetrics,
}

/// Run a `check` subcommand.
pub fn run(what: CheckCommand) -> Result<()> {
    match what {
        CheckCommand::Metrics { file, format } => check_metrics(&file, format),
    }
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
