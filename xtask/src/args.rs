//! The command line: `cargo xtask test [--no-setup | --setup-only] [ARGS...]`.

use std::fmt;

pub const USAGE: &str = "\
usage: cargo xtask test [--no-setup | --setup-only] [ARGS...]

Sets up what the test suite uses on this machine (Debian packages for the real Prometheus
and exporters, RabbitMQ's plugins, the local PostgreSQL, Redis, RabbitMQ and NATS, the wasm
build of the read model), then runs `cargo test --workspace ARGS...`.

  --no-setup    run the suite only
  --setup-only  set up only, run no test
  ARGS          passed to `cargo test --workspace` as they are (`-p collector`, `-- --nocapture`)";

/// What to do, read off the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Test {
        setup: bool,
        run: bool,
        /// Passed on to `cargo test --workspace`.
        cargo_args: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    NoTask,
    UnknownTask(String),
    Conflicting,
    ArgsWithSetupOnly(Vec<String>),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTask => write!(f, "no task given"),
            Self::UnknownTask(t) => write!(f, "unknown task `{t}` (the one task is `test`)"),
            Self::Conflicting => write!(f, "--no-setup and --setup-only exclude each other"),
            Self::ArgsWithSetupOnly(a) => write!(
                f,
                "--setup-only runs no test, so it takes no test arguments (got `{}`)",
                a.join(" ")
            ),
        }
    }
}

impl std::error::Error for ArgsError {}

/// Reads the arguments after the program name. Our own options are taken wherever they stand
/// before a `--`; everything else, and everything from `--` on, goes to `cargo test`.
pub fn parse<I, S>(args: I) -> Result<Command, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let task = args.next().ok_or(ArgsError::NoTask)?;
    match task.as_str() {
        "test" => {}
        "help" | "-h" | "--help" => return Ok(Command::Help),
        _ => return Err(ArgsError::UnknownTask(task)),
    }
    let (mut no_setup, mut setup_only) = (false, false);
    let mut cargo_args = Vec::new();
    let mut after_dashes = false;
    for a in args {
        if after_dashes {
            cargo_args.push(a);
            continue;
        }
        match a.as_str() {
            "--no-setup" => no_setup = true,
            "--setup-only" => setup_only = true,
            "--" => {
                after_dashes = true;
                cargo_args.push(a);
            }
            _ => cargo_args.push(a),
        }
    }
    if no_setup && setup_only {
        return Err(ArgsError::Conflicting);
    }
    if setup_only && !cargo_args.is_empty() {
        return Err(ArgsError::ArgsWithSetupOnly(cargo_args));
    }
    Ok(Command::Test {
        setup: !no_setup,
        run: !setup_only,
        cargo_args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(setup: bool, run: bool, cargo_args: &[&str]) -> Command {
        Command::Test {
            setup,
            run,
            cargo_args: cargo_args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn plain_test_sets_up_and_runs() {
        assert_eq!(parse(["test"]), Ok(test(true, true, &[])));
    }

    #[test]
    fn cargo_arguments_pass_through_in_order() {
        assert_eq!(
            parse(["test", "-p", "collector", "--", "--nocapture", "brokers"]),
            Ok(test(
                true,
                true,
                &["-p", "collector", "--", "--nocapture", "brokers"]
            ))
        );
    }

    #[test]
    fn own_options_are_taken_anywhere_before_dashes() {
        assert_eq!(
            parse(["test", "-p", "tui", "--no-setup"]),
            Ok(test(false, true, &["-p", "tui"]))
        );
        assert_eq!(parse(["test", "--setup-only"]), Ok(test(true, false, &[])));
    }

    #[test]
    fn options_after_dashes_belong_to_the_test_binary() {
        assert_eq!(
            parse(["test", "--", "--no-setup"]),
            Ok(test(true, true, &["--", "--no-setup"]))
        );
    }

    #[test]
    fn conflicts_and_unknown_tasks_are_errors() {
        assert_eq!(
            parse(["test", "--no-setup", "--setup-only"]),
            Err(ArgsError::Conflicting)
        );
        assert_eq!(
            parse(["test", "--setup-only", "-p", "tui"]),
            Err(ArgsError::ArgsWithSetupOnly(vec![
                "-p".into(),
                "tui".into()
            ]))
        );
        assert_eq!(
            parse(["build"]),
            Err(ArgsError::UnknownTask("build".into()))
        );
        assert_eq!(parse(Vec::<String>::new()), Err(ArgsError::NoTask));
        assert_eq!(parse(["--help"]), Ok(Command::Help));
    }
}
