//! The machine's own services that the tests talk to: checked with a TCP connect, started with
//! the machine's known command when they are down.

use crate::proc;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// How a stopped service is started on this kind of machine (Debian packages, no systemd).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// `pg_ctlcluster --skip-systemctl-redirect VERSION main start` for the installed version.
    PostgreSql,
    Argv(&'static str, &'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub addr: &'static str,
    pub start: Start,
    /// How long a start may take before the port answers.
    pub boot: Duration,
    /// Whether a test fails without it (else a warning only).
    pub needed: bool,
    pub used_by: &'static str,
}

pub const RABBITMQ_AMQP: &str = "127.0.0.1:5672";
pub const RABBITMQ_MANAGEMENT: &str = "127.0.0.1:15672";
pub const RABBITMQ_PROMETHEUS: &str = "127.0.0.1:15692";

pub const SERVICES: &[Service] = &[
    Service {
        name: "postgresql",
        addr: "127.0.0.1:5432",
        start: Start::PostgreSql,
        boot: Duration::from_secs(30),
        needed: true,
        used_by: "tests/brokers.rs (through prometheus-postgres-exporter)",
    },
    Service {
        name: "redis",
        addr: "127.0.0.1:6379",
        start: Start::Argv(
            "redis-server",
            &[
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "-::1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                "/var/lib/redis",
                "--logfile",
                "/var/log/redis/ci.log",
            ],
        ),
        boot: Duration::from_secs(15),
        needed: true,
        used_by: "tests/brokers.rs (through prometheus-redis-exporter)",
    },
    Service {
        name: "rabbitmq",
        addr: RABBITMQ_AMQP,
        start: Start::Argv("rabbitmq-server", &["-detached"]),
        boot: Duration::from_secs(90),
        needed: true,
        used_by: "tests/brokers.rs",
    },
    Service {
        name: "nats",
        addr: "127.0.0.1:4222",
        start: Start::Argv(
            "start-stop-daemon",
            &[
                "--start",
                "--oknodo",
                "--background",
                "--exec",
                "/usr/sbin/nats-server",
                "--",
                "-a",
                "127.0.0.1",
                "-p",
                "4222",
                "-js",
                "-sd",
                "/var/lib/nats-server",
                "-l",
                "/var/log/nats-server.log",
            ],
        ),
        boot: Duration::from_secs(15),
        // tests/brokers.rs starts its own nats-server on a free port; the machine's is for
        // trying sources by hand.
        needed: false,
        used_by: "`--nats` by hand (the tests start their own nats-server)",
    },
];

pub fn listening(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).ok())
        .is_some()
}

/// Polls `addr` until it answers or `limit` has passed.
pub fn wait_listening(addr: &str, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if listening(addr) {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The newest PostgreSQL cluster version under `/etc/postgresql` (its directory names).
pub fn newest_postgres_version<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .filter_map(|n| n.parse::<f64>().ok().map(|v| (v, n)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// The command line that starts `s`, for running and for telling the user.
pub fn start_command(s: &Service) -> Result<(String, Vec<String>), String> {
    match s.start {
        Start::Argv(program, args) => Ok((
            program.to_owned(),
            args.iter().map(|a| (*a).to_owned()).collect(),
        )),
        Start::PostgreSql => {
            let dir = Path::new("/etc/postgresql");
            let names: Vec<String> = std::fs::read_dir(dir)
                .map_err(|e| format!("no PostgreSQL cluster under {} ({e})", dir.display()))?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            let version = newest_postgres_version(names.iter().map(String::as_str))
                .ok_or_else(|| format!("no PostgreSQL cluster under {}", dir.display()))?;
            Ok((
                "pg_ctlcluster".into(),
                ["--skip-systemctl-redirect", version, "main", "start"]
                    .iter()
                    .map(|a| (*a).to_owned())
                    .collect(),
            ))
        }
    }
}

/// A command line as one would type it (empty arguments quoted).
pub fn shell_words(program: &str, args: &[String]) -> String {
    let mut s = program.to_owned();
    for a in args {
        s.push(' ');
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!("'{a}'"));
        } else {
            s.push_str(a);
        }
    }
    s
}

/// Makes `s` listen if it can; `Err` says it is down and what was tried.
pub fn ensure(s: &Service) -> Result<(), String> {
    let label = format!("{} {}", s.name, s.addr);
    if listening(s.addr) {
        println!("{label}: up");
        return Ok(());
    }
    let (program, args) = start_command(s).map_err(|e| format!("{label}: down; {e}"))?;
    let typed = shell_words(&program, &args);
    println!("{label}: down, starting it: {typed}");
    let log = std::env::temp_dir().join(format!("opscope-xtask-{}.log", s.name));
    let started = proc::run_logged(&program, &args, &log, s.boot);
    let status = match started {
        Ok(status) => status,
        Err(e) => {
            return Err(format!(
                "{label}: down, and `{program}` cannot be run ({e}): is its Debian package \
                 installed? It is used by {}",
                s.used_by
            ));
        }
    };
    if wait_listening(s.addr, s.boot) {
        println!("{label}: up (started)");
        return Ok(());
    }
    let how = match status {
        Some(st) if !st.success() => format!("the start command failed ({st})"),
        Some(_) => format!("nothing listens {} s after starting", s.boot.as_secs()),
        None => format!(
            "the start command had not returned after {} s",
            s.boot.as_secs()
        ),
    };
    Err(format!(
        "{label}: DOWN: {how}; its output is in {}. Start it by hand (`{typed}`), then \
         `cargo xtask test` again. It is used by {}",
        log.display(),
        s.used_by
    ))
}

/// RabbitMQ's prometheus (15692) and management (15672) plugins, which tests/brokers.rs reads.
pub fn ensure_rabbitmq_plugins() -> Result<(), String> {
    let label = format!(
        "rabbitmq plugins (management {RABBITMQ_MANAGEMENT}, prometheus {RABBITMQ_PROMETHEUS})"
    );
    if listening(RABBITMQ_MANAGEMENT) && listening(RABBITMQ_PROMETHEUS) {
        println!("{label}: up");
        return Ok(());
    }
    if proc::which("rabbitmq-plugins").is_none() {
        return Err(format!(
            "{label}: down, and there is no rabbitmq-plugins (Debian package rabbitmq-server) \
             to enable them"
        ));
    }
    if !listening(RABBITMQ_AMQP) {
        return Err(format!(
            "{label}: not enabled, since RabbitMQ itself is down ({RABBITMQ_AMQP})"
        ));
    }
    println!("{label}: enabling rabbitmq_prometheus rabbitmq_management");
    let out = proc::run(
        "rabbitmq-plugins",
        &["enable", "rabbitmq_prometheus", "rabbitmq_management"],
        Duration::from_secs(120),
    )
    .map_err(|e| format!("{label}: cannot run rabbitmq-plugins ({e})"))?;
    if !out.success() {
        return Err(format!(
            "{label}: `rabbitmq-plugins enable rabbitmq_prometheus rabbitmq_management` failed: \
             {}",
            out.text()
        ));
    }
    let limit = Duration::from_secs(60);
    let down: Vec<&str> = [RABBITMQ_MANAGEMENT, RABBITMQ_PROMETHEUS]
        .into_iter()
        .filter(|a| !wait_listening(a, limit))
        .collect();
    if down.is_empty() {
        println!("{label}: up (enabled)");
        Ok(())
    } else {
        Err(format!(
            "{label}: enabled, yet nothing listens on {} after {} s; see `rabbitmq-plugins list` \
             and RabbitMQ's log",
            down.join(", "),
            limit.as_secs()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The tests that free a loopback port and expect it to stay closed run one at a time (a
    /// parallel test's `bind(0)` could be handed the same port).
    static PORTS: Mutex<()> = Mutex::new(());

    #[test]
    fn newest_postgres_version_compares_numbers() {
        assert_eq!(newest_postgres_version(["9.6", "15", "13"]), Some("15"));
        assert_eq!(newest_postgres_version(["15", "README"]), Some("15"));
        assert_eq!(newest_postgres_version(["conf"]), None);
    }

    #[test]
    fn shell_words_quote_empty_arguments() {
        let (program, args) = start_command(&SERVICES[1]).expect("redis has a fixed command");
        let typed = shell_words(&program, &args);
        assert!(
            typed.starts_with("redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"),
            "{typed}"
        );
    }

    #[test]
    fn a_closed_port_is_not_listening_and_an_open_one_is() {
        let _one_at_a_time = PORTS.lock().unwrap_or_else(|e| e.into_inner());
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds loopback");
        let addr = l.local_addr().expect("addr").to_string();
        assert!(listening(&addr));
        drop(l);
        assert!(!wait_listening(&addr, Duration::from_millis(300)));
    }

    #[test]
    fn a_service_that_will_not_start_is_reported_down_with_its_command() {
        let _one_at_a_time = PORTS.lock().unwrap_or_else(|e| e.into_inner());
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds loopback");
        let addr: &'static str = Box::leak(l.local_addr().expect("addr").to_string().into());
        drop(l);
        let s = Service {
            name: "xtask-selftest",
            addr,
            start: Start::Argv("false", &[]),
            boot: Duration::from_millis(300),
            needed: true,
            used_by: "this test",
        };
        let e = ensure(&s).expect_err("nothing listens and `false` starts nothing");
        assert!(e.contains(&format!("xtask-selftest {addr}: DOWN")), "{e}");
        assert!(e.contains("the start command failed"), "{e}");
        assert!(e.contains("Start it by hand (`false`)"), "{e}");
    }

    #[test]
    fn every_service_has_a_loopback_address() {
        for s in SERVICES {
            let a: SocketAddr = s.addr.parse().expect("a socket address");
            assert!(a.ip().is_loopback(), "{}", s.name);
        }
    }
}
