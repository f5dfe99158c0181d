//! `cargo xtask test`: sets up what the test suite uses on this machine, then runs
//! `cargo test --workspace`. Standard library only, so it builds in seconds.

mod args;
mod packages;
mod proc;
mod services;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// The crates the wasm front end will use: they must build for `wasm32-unknown-unknown`.
const WASM_CRATES: &[&str] = &["opscope-model", "opscope-layout"];
const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xtask: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let (setup, run, cargo_args) = match command {
        args::Command::Help => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        args::Command::Test {
            setup,
            run,
            cargo_args,
        } => (setup, run, cargo_args),
    };
    if setup {
        if let Err(problems) = set_up() {
            eprintln!("\nxtask: the set-up is not complete:");
            for p in &problems {
                eprintln!("- {p}");
            }
            eprintln!("(`cargo xtask test --no-setup` runs the suite all the same)");
            return ExitCode::FAILURE;
        }
        println!("set-up: done");
    }
    if !run {
        return ExitCode::SUCCESS;
    }
    run_tests(&cargo_args)
}

/// The cargo that runs us (`$CARGO`, set by `cargo run`), else `cargo` from PATH.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// The workspace root: xtask sits one level below it.
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| Path::new("."))
}

/// Every step, in order; the problems that remain, each saying what to do.
fn set_up() -> Result<(), Vec<String>> {
    // Without the programs, no other step matters: stop at once (with the command to run).
    packages::ensure().map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    for s in services::SERVICES {
        if let Err(e) = services::ensure(s) {
            if s.needed {
                problems.push(e);
            } else {
                println!("warning: {e}");
            }
        }
    }
    if let Err(e) = services::ensure_rabbitmq_plugins() {
        problems.push(e);
    }
    if let Err(e) = wasm_build() {
        problems.push(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Whether the active toolchain has the standard library for `target`.
fn has_target(target: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    proc::run(
        &rustc,
        &["--print", "target-libdir", "--target", target],
        Duration::from_secs(30),
    )
    .ok()
    .filter(proc::Output::success)
    .is_some_and(|o| Path::new(o.stdout.trim()).is_dir())
}

/// `cargo build -p opscope-model -p opscope-layout --target wasm32-unknown-unknown`.
fn wasm_build() -> Result<(), String> {
    let label = format!("wasm build ({})", WASM_CRATES.join(", "));
    if !has_target(WASM_TARGET) {
        // rust-toolchain.toml lists the target; a rustup that did not add it by itself
        // (RUSTUP_AUTO_INSTALL=0) adds it here, for the pinned toolchain only.
        if proc::which("rustup").is_none() {
            return Err(format!(
                "{label}: the toolchain has no {WASM_TARGET} standard library and there is no \
                 rustup to add it"
            ));
        }
        println!("{label}: adding the {WASM_TARGET} target (rustup target add {WASM_TARGET})");
        let out = proc::run(
            "rustup",
            &["target", "add", WASM_TARGET],
            Duration::from_secs(600),
        )
        .map_err(|e| format!("{label}: cannot run rustup ({e})"))?;
        if !out.success() {
            return Err(format!(
                "{label}: `rustup target add {WASM_TARGET}` failed: {}",
                out.text()
            ));
        }
    }
    let mut args = vec!["build", "--quiet", "--target", WASM_TARGET];
    for c in WASM_CRATES {
        args.extend(["-p", c]);
    }
    let status = Command::new(cargo())
        .args(&args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("{label}: cannot run cargo ({e})"))?;
    if status.success() {
        println!("{label}: builds for {WASM_TARGET}");
        Ok(())
    } else {
        Err(format!(
            "{label}: does not build for {WASM_TARGET} (errors above): these crates must stay \
             wasm-safe (serde only, no I/O, threads or clocks); \
             tests/architecture.rs names the dependency that pulls in something else"
        ))
    }
}

/// `cargo test --workspace ARGS...`, exiting with its code.
fn run_tests(cargo_args: &[String]) -> ExitCode {
    let cargo = cargo();
    let shown: Vec<&str> = ["cargo", "test", "--workspace"]
        .into_iter()
        .chain(cargo_args.iter().map(String::as_str))
        .collect();
    println!("running: {}", shown.join(" "));
    let status = Command::new(&cargo)
        .args(["test", "--workspace"])
        .args(cargo_args)
        .current_dir(workspace_root())
        .status();
    match status {
        Ok(s) => match s.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1).max(1)),
            None => {
                eprintln!("xtask: cargo test was killed ({s})");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("xtask: cannot run {} ({e})", cargo.display());
            ExitCode::FAILURE
        }
    }
}
