//! The command line as a user runs it.

use std::io::Write;
use std::process::{Command, Stdio};

fn opscope(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opscope"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("waits");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn shared(path: &str) -> String {
    format!(
        "{}/../shared/data/exposition/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn check_metrics_accepts_real_exporter_output() {
    for f in [
        "node-exporter.prom.txt",
        "prometheus-2.42.prom.txt",
        "alertmanager-0.25.prom.txt",
    ] {
        let (code, out, err) = opscope(&["check", "metrics", &shared(f)], "");
        assert_eq!(code, 0, "{f}: {out}{err}");
        assert!(out.contains("OK ("), "{f}: {out}");
    }
}

#[test]
fn check_metrics_rejects_with_line_number() {
    let text = "# TYPE a counter\na_total 1\na_total{code=\"200\" 2\n";
    let (code, _, err) = opscope(&["check", "metrics", "-"], text);
    assert_eq!(code, 1);
    assert!(err.contains("<stdin>:3: error:"), "{err}");
}

#[test]
fn check_metrics_openmetrics_needs_eof() {
    let text = "# TYPE a counter\na_total 1\n";
    let (code, _, err) = opscope(&["check", "metrics", "--format", "openmetrics", "-"], text);
    assert_eq!(code, 1, "{err}");
    let (code, out, err) = opscope(
        &["check", "metrics", "-"],
        "# TYPE a counter\na_total 1\n# EOF\n",
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let (code, _, err) = opscope(&["check", "metrics", "/nonexistent/metrics.txt"], "");
    assert_eq!(code, 1);
    assert!(err.contains("reading /nonexistent/metrics.txt"), "{err}");
}

#[test]
fn unknown_scenario_lists_known_ones() {
    let (code, _, err) = opscope(
        &["sim", "--scenario", "nope", "--listen", "127.0.0.1:0"],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("latency") && err.contains("memory-leak"),
        "{err}"
    );
}

#[test]
fn list_scenarios() {
    let (code, out, _) = opscope(&["sim", "--list-scenarios"], "");
    assert_eq!(code, 0);
    for s in [
        "latency",
        "errors",
        "cpu-hog",
        "memory-leak",
        "consumer-stall",
        "none",
    ] {
        assert!(out.contains(s), "{out}");
    }
}

#[test]
fn config_check_reports_every_error_with_its_line() {
    let example = format!("{}/config/example.toml", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = opscope(&["config", "check", &example], "");
    assert_eq!(code, 0, "the example config is valid: {err}");
    assert!(out.contains("config OK"), "{out}");

    let dir = std::env::temp_dir().join(format!("opscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[sources]\ninterval = \"soon\"\n\n[[rule]]\nname = \"x\"\nsignal = \"nonsense\"\nop = \">\"\nthreshold = 1\n",
    )
    .expect("write");
    let (code, _, err) = opscope(&["config", "check", &bad.to_string_lossy()], "");
    assert_eq!(code, 1, "{err}");
    let file = bad.to_string_lossy();
    assert!(
        err.contains(&format!("{file}:2:")) && err.contains("sources.interval"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:6:")) && err.contains("rule[0].signal"),
        "{err}"
    );
    // A broken config stops the console before it starts, with the same messages.
    let (code, _, err) = opscope(
        &[
            "--config",
            &bad.to_string_lossy(),
            "tui",
            "--scrape",
            "http://127.0.0.1:9/metrics",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("sources.interval"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
