//! Debian's real `prometheus-node-exporter`, scraped directly: its samples carry no `instance`
//! label, so the collector adds the target's (as Prometheus does) and the node gets a name.
//!
//! Needs the Debian package `prometheus-node-exporter` (the project's test runner installs it);
//! without it the test fails and says how to install it.

use collector::model::{EntityKind, SignalKey, SignalKind};
use collector::{Collector, CollectorOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BINARY: &str = "prometheus-node-exporter";

/// The exporter's process, killed when the test ends, also when it panics.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(BINARY))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{BINARY} is not installed: this test scrapes the real exporter. Install it with \
                 `apt-get update -qq && apt-get install -y -qq prometheus-node-exporter`"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn spawn_exporter(listen: &str) -> Exporter {
    let child = Command::new(find_binary())
        .args([
            &format!("--web.listen-address={listen}"),
            // Only what the test reads: no collector that needs privileges or is slow.
            "--collector.disable-defaults",
            "--collector.cpu",
            "--collector.meminfo",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
    let mut exporter = Exporter(child);
    let addr: SocketAddr = listen.parse().expect("loopback address");
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = exporter.0.try_wait() {
            panic!("{BINARY} exited before listening on {listen}: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{BINARY} did not listen on {listen} within 15 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    exporter
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_scrape_of_node_exporter_names_the_node_after_the_target() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _exporter = spawn_exporter(&listen);

    let mut c = Collector::new(
        vec![format!("http://{listen}/metrics")],
        CollectorOptions::default(),
    );
    // Two collections: CPU busy is a rate of counters.
    c.collect(wall_ms()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let now = wall_ms();
    c.collect(now).await;
    assert!(!c.sources()[0].stale, "{:?}", c.sources()[0]);
    let obs = c.observe(now).expect("observation");

    let nodes: Vec<_> = obs
        .topology
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Node)
        .collect();
    assert_eq!(nodes.len(), 1, "one node, the scraped one: {nodes:?}");
    let node = nodes[0];
    assert_eq!(
        node.name, "127.0.0.1",
        "named after the target's host: {node:?}"
    );
    let signal = |kind| {
        obs.signals
            .get(&SignalKey {
                entity: node.clone(),
                kind,
            })
            .copied()
    };
    let busy = signal(SignalKind::NodeCpuBusy).expect("node CPU busy");
    assert!(
        (0.0..=1.0).contains(&busy),
        "CPU busy is a fraction: {busy}"
    );
    let available = signal(SignalKind::NodeMemAvailable).expect("node memory available");
    assert!(available > 0.0, "memory available: {available}");
}
