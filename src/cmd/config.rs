//! `opscope config check FILE`: every problem of a configuration file as
//! `FILE:LINE:COL: error: field.path: reason`, or a one-line summary when it is valid.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// `opscope config ...`
#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file: every problem with its line, column and field path
    /// (exit code 1 on errors). Secret values are never printed.
    Check {
        /// The TOML file
        file: PathBuf,
    },
}

/// Run a `config` subcommand.
pub fn run(cmd: ConfigCommand) -> Result<()> {
    match cmd {
        ConfigCommand::Check { file } => {
            let (out, ok) = check_file(&file, &|k| std::env::var(k).ok())?;
            for line in &out.problems {
                eprintln!("{line}");
            }
            if ok {
                println!("{}", out.summary);
                Ok(())
            } else {
                eprintln!("{}", out.summary);
                std::process::exit(1);
            }
        }
    }
}

/// What `config check` prints.
#[derive(Debug)]
pub struct CheckOutput {
    /// One line per problem, in file order.
    pub problems: Vec<String>,
    /// "config OK: ..." or "FILE: N errors, M warnings".
    pub summary: String,
}

/// Check a file; `true` when it has no errors (warnings allowed).
pub fn check_file(
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(CheckOutput, bool)> {
    let src = std::fs::read_to_string(file)
        .with_context(|| format!("reading configuration {}", file.display()))?;
    Ok(check_text(&file.display().to_string(), &src, env))
}

/// Check a document named `name`.
pub fn check_text(
    name: &str,
    src: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (CheckOutput, bool) {
    let checked = opscope_config::check(src, env);
    let problems = checked.diagnostics.iter().map(|d| d.render(name)).collect();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let ok = !checked.has_errors();
    let summary = if ok {
        let warnings = match checked.warning_count() {
            0 => String::new(),
            n => format!(" ({})", plural(n, "warning")),
        };
        format!(
            "config OK: {}{warnings}",
            opscope_config::summary(&checked.config)
        )
    } else {
        format!(
            "{name}: {}, {}",
            plural(checked.error_count(), "error"),
            plural(checked.warning_count(), "warning")
        )
    };
    (CheckOutput { problems, summary }, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_ok() {
        let env = |k: &str| match k {
            "OPSCOPE_SLACK_WEBHOOK" => Some("https://hooks.example/T/B/secret".to_owned()),
            "OPSCOPE_API_TOKEN" => Some("a-long-enough-api-token".to_owned()),
            _ => None,
        };
        let (out, ok) = check_text("ex.toml", include_str!("../../config/example.toml"), &env);
        assert!(ok);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(
            out.summary,
            "config OK: 2 scrape targets, 1 NATS server, 1 RabbitMQ API, 3 SLOs, 5 rules, 1 notifier"
        );
    }

    #[test]
    fn broken_file_lists_every_error() {
        let src = "[sources]\ninterval = \"soon\"\n\n[[rule]]\nname = \"x\"\nsignal = \"cpu\"\nentity = \"a\"\nop = \">\"\nthreshold = 2\nfor = \"1m\"\nseverity = \"loud\"\n";
        let (out, ok) = check_text("bad.toml", src, &|_| None);
        assert!(!ok);
        assert_eq!(out.problems.len(), 2, "{:?}", out.problems);
        assert!(
            out.problems[0].starts_with("bad.toml:2:12: error: sources.interval: invalid duration")
        );
        assert!(
            out.problems[1]
                .starts_with("bad.toml:11:12: error: rule[0].severity: unknown value `loud`")
        );
        assert_eq!(out.summary, "bad.toml: 2 errors, 0 warnings");
    }
}
