//! Small process and filesystem helpers (std only).

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// `name` as found on `PATH` (an executable file), as `Command::new(name)` would find it.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What a finished (or killed) command left.
pub struct Output {
    /// `None` when it was killed for taking longer than its limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// stdout then stderr, trimmed, for messages.
    pub fn text(&self) -> String {
        let mut t = self.stdout.trim().to_owned();
        let e = self.stderr.trim();
        if !e.is_empty() {
            if !t.is_empty() {
                t.push('\n');
            }
            t.push_str(e);
        }
        t
    }
}

/// Runs `program args` with no input, capturing its output, killed after `limit`.
pub fn run<S: AsRef<OsStr>>(
    program: impl AsRef<OsStr>,
    args: &[S],
    limit: Duration,
) -> std::io::Result<Output> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let join =
        |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        status,
        stdout: join(out),
        stderr: join(err),
    })
}

fn reader(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs a command that starts a daemon: its output goes to `log` (a daemon that keeps our
/// pipes open would otherwise never let us read to the end); waits at most `limit`.
pub fn run_logged(
    program: &str,
    args: &[String],
    log: &Path,
    limit: Duration,
) -> std::io::Result<Option<ExitStatus>> {
    let file = std::fs::File::create(log)?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()?;
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(Some(s));
        }
        if start.elapsed() >= limit {
            // A start command that never returns is left running: it may be the daemon.
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The effective user id from `/proc/self/status` (`Uid:` real, effective, saved, fs).
pub fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| effective_uid(&s))
        == Some(0)
}

/// The version a program prints for `--version`: the word after "version", else the first
/// word that looks like one (`v1.45.0`, `2.42.0+ds`).
pub fn version_in(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let looks = |w: &str| {
        let w = w.strip_prefix('v').unwrap_or(w);
        w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.')
    };
    let after_version = words
        .windows(2)
        .find(|p| p[0].eq_ignore_ascii_case("version") && looks(p[1]))
        .map(|p| p[1]);
    after_version
        .or_else(|| words.iter().copied().find(|w| looks(w)))
        .map(|w| w.strip_prefix('v').unwrap_or(w).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_the_second_field() {
        let status = "Name:\txtask\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t1000\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn versions_as_the_exporters_print_them() {
        assert_eq!(
            version_in("prometheus, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0+ds-5)")
                .as_deref(),
            Some("2.42.0+ds")
        );
        assert_eq!(
            version_in("INFO[0000] Redis Metrics Exporter v1.45.0    build date: 2023-01-01")
                .as_deref(),
            Some("1.45.0")
        );
        assert_eq!(version_in("usage: foo [-h]").as_deref(), None);
    }

    #[test]
    fn which_finds_a_shell_and_not_a_made_up_name() {
        assert!(which("sh").is_some());
        assert!(which("opscope-no-such-program-here").is_none());
    }

    #[test]
    fn run_captures_output_and_kills_what_overruns() {
        let out = run(
            "sh",
            &["-c", "echo out; echo err >&2"],
            Duration::from_secs(10),
        )
        .expect("sh runs");
        assert!(out.success());
        assert_eq!(out.text(), "out\nerr");
        let slow = run("sleep", &["5"], Duration::from_millis(100)).expect("sleep runs");
        assert!(slow.status.is_none());
    }
}
