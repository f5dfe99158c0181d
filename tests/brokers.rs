//! Brokers and backing services against the real servers of the machine: RabbitMQ (its
//! prometheus plugin and management API), NATS with JetStream (a `nats-server -m` started
//! here), Redis and PostgreSQL through Debian's exporters (started here). A service that
//! cannot be reached fails its test with the reason; nothing passes silently.

use analytics::model::{EntityHealth, Health, Snapshot};
use collector::model::{EdgeKind, EntityId, EntityKind, SignalKind};
use opscope_engine::{Engine, EngineConfig, wall_ms};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const RABBIT_AMQP: &str = "127.0.0.1:5672";
const RABBIT_MGMT: &str = "127.0.0.1:15672";
const RABBIT_PROM: &str = "127.0.0.1:15692";
/// `guest:guest`, base64.
const GUEST_AUTH: &str = "Z3Vlc3Q6Z3Vlc3Q=";

// ---------------------------------------------------------------------------------------------
// Helpers: ports, processes, plain HTTP/1.0 over loopback.

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds a loopback port");
    l.local_addr().expect("addr").port()
}

fn reachable(addr: &str) -> bool {
    addr.parse()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).ok())
        .is_some()
}

fn require(addr: &str, what: &str) {
    assert!(
        reachable(addr),
        "{what} is not reachable at {addr}: this test needs the machine's {what} running"
    );
}

fn wait_for(addr: &str, what: &str, limit: Duration) {
    let start = Instant::now();
    while !reachable(addr) {
        assert!(
            start.elapsed() < limit,
            "{what} did not start listening on {addr} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(program: &'static str, args: &[&str], env: &[(&str, &str)]) -> Killed {
    let mut c = Command::new(program);
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    match c.spawn() {
        Ok(child) => Killed(child),
        Err(e) => panic!("cannot start {program} ({e}); is its Debian package installed?"),
    }
}

/// One HTTP/1.0 request (no chunking, the server closes): (status, body).
fn http(
    method: &str,
    addr: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: Basic {a}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method != "GET" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send request");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `opscope snapshot ... --json`: the API's `Snapshot` document.
fn opscope_snapshot(args: &[&str]) -> Snapshot {
    let out = Command::new(env!("CARGO_BIN_EXE_opscope"))
        .arg("snapshot")
        .args(args)
        .arg("--json")
        .env_remove("OPSCOPE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("HOME", "/nonexistent")
        .output()
        .expect("runs opscope");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "opscope snapshot {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not a Snapshot ({e}): {stdout}"))
}

/// The entity of this kind and name (any namespace).
fn entity_named<'a>(s: &'a Snapshot, kind: EntityKind, name: &str) -> &'a EntityHealth {
    s.entities
        .iter()
        .find(|e| e.entity.kind == kind && e.entity.name == name)
        .unwrap_or_else(|| {
            let have: Vec<String> = s.entities.iter().map(|e| e.entity.to_string()).collect();
            panic!("no {kind:?} {name} in the snapshot; entities: {have:?}")
        })
}

/// The entity's newest value of `k`.
fn value(e: &EntityHealth, k: SignalKind) -> Option<f64> {
    e.signals
        .iter()
        .find(|(kind, _)| *kind == k)
        .map(|(_, v)| *v)
}

fn signal(s: &Snapshot, e: &EntityId, k: SignalKind) -> Option<f64> {
    s.entities
        .iter()
        .find(|h| &h.entity == e)
        .and_then(|h| h.signals.iter().find(|(kind, _)| *kind == k))
        .map(|(_, v)| *v)
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ.

/// Enable the prometheus and management plugins when their ports are closed (idempotent).
fn rabbit_plugins() {
    require(RABBIT_AMQP, "RabbitMQ");
    if reachable(RABBIT_PROM) && reachable(RABBIT_MGMT) {
        return;
    }
    let out = Command::new("rabbitmq-plugins")
        .args(["enable", "rabbitmq_prometheus", "rabbitmq_management"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run rabbitmq-plugins ({e})"));
    assert!(
        out.status.success() || reachable(RABBIT_PROM),
        "rabbitmq-plugins enable failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(
        RABBIT_PROM,
        "RabbitMQ's prometheus plugin",
        Duration::from_secs(60),
    );
    wait_for(
        RABBIT_MGMT,
        "RabbitMQ's management API",
        Duration::from_secs(60),
    );
}

/// A queue on vhost `/`, deleted when dropped.
struct Queue(String);

impl Queue {
    fn declare(name: String) -> Self {
        let (code, body) = http(
            "PUT",
            RABBIT_MGMT,
            &format!("/api/queues/%2F/{name}"),
            Some(GUEST_AUTH),
            Some(r#"{"durable":false,"auto_delete":false}"#),
        );
        assert!(matches!(code, 201 | 204), "declare {name}: {code} {body}");
        Queue(name)
    }

    fn publish(&self, n: usize) {
        publish(&self.0, n);
    }

    /// Wait until the management API and the prometheus plugin both report `ready` messages.
    fn wait_ready(&self, ready: u64) {
        let start = Instant::now();
        let line = format!(
            "rabbitmq_queue_messages_ready{{vhost=\"/\",queue=\"{}\"}} {ready}",
            self.0
        );
        loop {
            let (_, metrics) = http("GET", RABBIT_PROM, "/metrics/per-object", None, None);
            let (_, q) = http(
                "GET",
                RABBIT_MGMT,
                &format!("/api/queues/%2F/{}", self.0),
                Some(GUEST_AUTH),
                None,
            );
            let mgmt = serde_json::from_str::<serde_json::Value>(&q)
                .ok()
                .and_then(|v| v["messages_ready"].as_u64());
            if metrics.lines().any(|l| l == line) && mgmt == Some(ready) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "queue {} never reported {ready} ready messages (management API: {mgmt:?})",
                self.0
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Publish `n` messages to `queue` through the default exchange (management API).
fn publish(queue: &str, n: usize) {
    let body = format!(
        r#"{{"properties":{{}},"routing_key":"{queue}","payload":"order","payload_encoding":"string"}}"#
    );
    for _ in 0..n {
        let (code, resp) = http(
            "POST",
            RABBIT_MGMT,
            "/api/exchanges/%2F/amq.default/publish",
            Some(GUEST_AUTH),
            Some(&body),
        );
        assert!(
            code == 200 && resp.contains("true"),
            "publish: {code} {resp}"
        );
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        let _ = http(
            "DELETE",
            RABBIT_MGMT,
            &format!("/api/queues/%2F/{}", self.0),
            Some(GUEST_AUTH),
            None,
        );
    }
}

#[test]
fn rabbitmq_queue_depth_from_the_prometheus_plugin() {
    rabbit_plugins();
    let q = Queue::declare(unique("opscope-depth"));
    q.publish(25);
    q.wait_ready(25);
    let url = format!("http://{RABBIT_PROM}/metrics/per-object");
    let snap = opscope_snapshot(&["--scrape", &url, "--interval", "1s"]);
    let e = entity_named(&snap, EntityKind::Queue, &q.0);
    assert_eq!(value(e, SignalKind::QueueDepth), Some(25.0), "{e:?}");
    assert_eq!(value(e, SignalKind::MessagesUnacked), Some(0.0), "{e:?}");
    assert_eq!(value(e, SignalKind::Consumers), Some(0.0), "{e:?}");
    let src = &snap.sources[0];
    assert!(!src.stale, "{src:?}");
}

/// A minimal AMQP 0-9-1 consumer (auto-ack) on its own thread, for the consumer-stops test:
/// RabbitMQ lists it under the client-provided connection name `name`.
struct AmqpConsumer {
    sock: TcpStream,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn shortstr(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn longstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

fn method_frame(channel: u16, class: u16, method: u16, args: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    payload.extend_from_slice(&class.to_be_bytes());
    payload.extend_from_slice(&method.to_be_bytes());
    payload.extend_from_slice(args);
    let mut f = vec![1u8];
    f.extend_from_slice(&channel.to_be_bytes());
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(&payload);
    f.push(0xCE);
    f
}

/// Read one frame: (type, payload).
fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 7];
    s.read_exact(&mut head)?;
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
    let mut payload = vec![0u8; size + 1];
    s.read_exact(&mut payload)?;
    payload.pop();
    Ok((head[0], payload))
}

/// Read frames until the method `(class, method)`; its arguments.
fn expect_method(s: &mut TcpStream, class: u16, method: u16) -> Vec<u8> {
    loop {
        let (kind, p) = read_frame(s).expect("AMQP frame from RabbitMQ");
        if kind == 1 && p.len() >= 4 {
            let (c, m) = (
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            );
            if (c, m) == (class, method) {
                return p[4..].to_vec();
            }
            assert!(
                !matches!((c, m), (10, 50) | (20, 40)),
                "RabbitMQ closed the connection or channel: {:?}",
                String::from_utf8_lossy(&p)
            );
        }
    }
}

impl AmqpConsumer {
    fn start(queue: &str, name: &str) -> Self {
        let mut s = TcpStream::connect(RABBIT_AMQP).expect("AMQP connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        s.write_all(b"AMQP\x00\x00\x09\x01")
            .expect("protocol header");
        expect_method(&mut s, 10, 10); // Connection.Start
        let mut props = Vec::new();
        shortstr(&mut props, "connection_name");
        props.push(b'S');
        longstr(&mut props, name.as_bytes());
        let mut args = Vec::new();
        longstr(&mut args, &props); // client-properties table
        shortstr(&mut args, "PLAIN");
        longstr(&mut args, b"\0guest\0guest");
        shortstr(&mut args, "en_US");
        s.write_all(&method_frame(0, 10, 11, &args))
            .expect("StartOk");
        let tune = expect_method(&mut s, 10, 30);
        let mut ok = tune[..6].to_vec(); // channel-max, frame-max
        ok.extend_from_slice(&0u16.to_be_bytes()); // no heartbeats
        s.write_all(&method_frame(0, 10, 31, &ok)).expect("TuneOk");
        let mut open = Vec::new();
        shortstr(&mut open, "/");
        shortstr(&mut open, "");
        open.push(0);
        s.write_all(&method_frame(0, 10, 40, &open)).expect("Open");
        expect_method(&mut s, 10, 41);
        let mut ch = Vec::new();
        shortstr(&mut ch, "");
        s.write_all(&method_frame(1, 20, 10, &ch))
            .expect("Channel.Open");
        expect_method(&mut s, 20, 11);
        let mut consume = 0u16.to_be_bytes().to_vec();
        shortstr(&mut consume, queue);
        shortstr(&mut consume, "");
        consume.push(0b0000_0010); // no-ack
        consume.extend_from_slice(&0u32.to_be_bytes());
        s.write_all(&method_frame(1, 60, 20, &consume))
            .expect("Basic.Consume");
        expect_method(&mut s, 60, 21);
        s.set_read_timeout(None).ok();
        let mut reader = s.try_clone().expect("clone socket");
        let thread = std::thread::spawn(move || while read_frame(&mut reader).is_ok() {});
        AmqpConsumer {
            sock: s,
            thread: Some(thread),
        }
    }

    /// The consumer goes away (as a crashed worker does).
    fn stop(&mut self) {
        let _ = self.sock.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AmqpConsumer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_queue_that_grows_after_its_consumer_stops_is_an_unhealthy_edge() {
    rabbit_plugins();
    let q = Queue::declare(unique("opscope-stall"));
    let worker = unique("opscope-worker");
    let mut consumer = AmqpConsumer::start(&q.0, &worker);

    // A producer publishing about 10 messages a second for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (stop, name) = (Arc::clone(&stop), q.0.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                publish(&name, 1);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let mut cfg = EngineConfig::for_interval(
        vec![format!("http://{RABBIT_PROM}/metrics/per-object")],
        Duration::from_secs(2),
    );
    cfg.collector.timeout = Duration::from_secs(5);
    let mut engine = Engine::new(&cfg);
    engine.add_source(Arc::new(
        collector::rabbitmq::RabbitMgmtSource::new(
            &format!("http://{RABBIT_MGMT}"),
            "guest",
            "guest",
        )
        .expect("source"),
    ));
    let queue = EntityId::new(EntityKind::Queue, "", &q.0);
    let consumer_id = EntityId::new(EntityKind::ConsumerGroup, "", &worker);
    let edge_of = |s: &Snapshot| {
        s.edge_health
            .iter()
            .find(|h| h.kind == EdgeKind::Consumes && h.from == consumer_id && h.to == queue)
            .cloned()
    };

    // While the consumer drains, the edge is there and healthy.
    let mut snap = Arc::new(Snapshot::default());
    for _ in 0..6 {
        snap = engine.cycle(wall_ms()).await.expect("cycle");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for s in &snap.sources {
        assert!(!s.stale, "source {} failed: {:?}", s.name, s.last_error);
    }
    let edge = snap
        .topology
        .edges
        .iter()
        .find(|e| e.kind == EdgeKind::Consumes && e.from == consumer_id && e.to == queue)
        .unwrap_or_else(|| {
            panic!(
                "no consumes edge {consumer_id} -> {queue}: {:?}",
                snap.topology.edges
            )
        });
    assert!(
        edge.rate_per_s.is_some_and(|r| r > 1.0),
        "the consumer takes the messages: {edge:?}"
    );
    let before = edge_of(&snap).expect("edge health while draining");
    assert_eq!(before.health, Health::Ok, "{before:?}");
    let depth_before = signal(&snap, &queue, SignalKind::QueueDepth).unwrap_or(f64::NAN);
    assert!(depth_before < 10.0, "drained queue depth {depth_before}");

    // The consumer stops; publishing goes on.
    consumer.stop();
    let stopped = Instant::now();
    let mut critical_after = None;
    while stopped.elapsed() < Duration::from_secs(40) {
        snap = engine.cycle(wall_ms()).await.expect("cycle");
        if edge_of(&snap).is_some_and(|h| h.health == Health::Critical) {
            critical_after = Some(stopped.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = publisher.join();
    let after = edge_of(&snap).expect("the edge is remembered after its consumer went");
    let took = critical_after.unwrap_or_else(|| panic!("edge never turned critical: {after:?}"));
    eprintln!(
        "consumer stopped -> edge critical after {:.1} s: {}",
        took.as_secs_f64(),
        after.reason
    );
    assert!(after.backlog >= 10.0, "{after:?}");
    assert!(after.growth_per_s.is_some_and(|g| g > 1.0), "{after:?}");
    let depth = signal(&snap, &queue, SignalKind::QueueDepth).unwrap_or(0.0);
    assert!(depth >= 10.0, "queue depth {depth}");
    assert!(
        signal(&snap, &queue, SignalKind::PublishRate).is_some_and(|r| r > 1.0),
        "publish rate from the management API"
    );
}

// ---------------------------------------------------------------------------------------------
// NATS with JetStream.

/// A NATS client speaking the text protocol, for set-up only.
struct Nats {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Nats {
    fn connect(addr: &str) -> Self {
        let w = TcpStream::connect(addr).expect("NATS connect");
        w.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut n = Nats {
            r: BufReader::new(w.try_clone().expect("clone")),
            w,
        };
        let info = n.line();
        assert!(info.starts_with("INFO"), "{info}");
        n.send("CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"opscope-test\"}\r\nSUB _INBOX.opscope 1\r\n");
        n.flush();
        n
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).expect("NATS line");
        l.trim_end().to_owned()
    }

    fn send(&mut self, s: &str) {
        self.w.write_all(s.as_bytes()).expect("NATS write");
    }

    /// PING and wait for the PONG: everything sent before has been processed.
    fn flush(&mut self) {
        self.send("PING\r\n");
        loop {
            let l = self.line();
            if l == "PONG" {
                return;
            }
            assert!(!l.starts_with("-ERR"), "{l}");
        }
    }

    /// Request on `subject`, the reply's payload.
    fn request(&mut self, subject: &str, body: &str) -> String {
        self.send(&format!(
            "PUB {subject} _INBOX.opscope {}\r\n{body}\r\n",
            body.len()
        ));
        loop {
            let l = self.line();
            assert!(!l.starts_with("-ERR"), "{l}");
            if l.starts_with("MSG ") {
                return self.line();
            }
            if l == "PING" {
                self.send("PONG\r\n");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_jetstream_pending_is_consumer_lag_on_the_consumes_edge() {
    let (port, mport) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(unique("opscope-nats"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (p, m) = (port.to_string(), mport.to_string());
    let _server = spawn(
        "nats-server",
        &[
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            &p,
            "-m",
            &m,
            "-sd",
            dir.to_str().unwrap_or("/tmp"),
        ],
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    wait_for(&addr, "nats-server", Duration::from_secs(15));
    wait_for(
        &format!("127.0.0.1:{mport}"),
        "nats-server monitoring",
        Duration::from_secs(15),
    );
    let mut nats = Nats::connect(&addr);
    let r = nats.request(
        "$JS.API.STREAM.CREATE.ORDERS",
        r#"{"name":"ORDERS","subjects":["orders.>"],"storage":"memory"}"#,
    );
    assert!(!r.contains("\"error\""), "stream create: {r}");
    let r = nats.request(
        "$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.worker",
        r#"{"stream_name":"ORDERS","config":{"durable_name":"worker","ack_policy":"explicit","deliver_policy":"all"}}"#,
    );
    assert!(!r.contains("\"error\""), "consumer create: {r}");
    let publish = |n: &mut Nats, count: usize| {
        for i in 0..count {
            let body = format!("order-{i}");
            n.send(&format!("PUB orders.new {}\r\n{body}\r\n", body.len()));
        }
        n.flush();
    };
    publish(&mut nats, 30);
    // The worker fetches 5 and acknowledges none: 5 ack pending, 25 pending.
    nats.send("PUB $JS.API.CONSUMER.MSG.NEXT.ORDERS.worker _INBOX.opscope 1\r\n5\r\n");
    nats.flush();

    let mut engine = Engine::new(&EngineConfig::for_interval(
        Vec::new(),
        Duration::from_secs(1),
    ));
    engine.add_source(Arc::new(
        collector::nats::NatsSource::new(
            &format!("http://127.0.0.1:{mport}"),
            Duration::from_secs(3),
        )
        .expect("source"),
    ));
    for _ in 0..3 {
        engine.cycle(wall_ms()).await.expect("cycle");
        publish(&mut nats, 20);
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let snap = engine.cycle(wall_ms()).await.expect("cycle");
    assert!(!snap.sources[0].stale, "{:?}", snap.sources[0]);

    let server = snap
        .entities
        .iter()
        .find(|e| e.entity.kind == EntityKind::Broker)
        .unwrap_or_else(|| panic!("no NATS server entity: {:?}", snap.entities));
    let conns = signal(&snap, &server.entity, SignalKind::Connections);
    assert!(conns.is_some_and(|c| c >= 1.0), "{server:?}");
    let stream = EntityId::new(EntityKind::Topic, "", "ORDERS");
    let consumer = EntityId::new(EntityKind::ConsumerGroup, "", "worker@ORDERS");
    let pending = signal(&snap, &consumer, SignalKind::ConsumerLag).expect("pending as lag");
    // 30 + 3 x 20 published, 5 delivered.
    assert_eq!(pending, 85.0, "{:?}", snap.entities);
    assert_eq!(
        signal(&snap, &consumer, SignalKind::MessagesUnacked),
        Some(5.0)
    );
    assert!(
        signal(&snap, &stream, SignalKind::PublishRate).is_some_and(|r| r > 1.0),
        "messages in on the stream"
    );
    let edge = snap
        .edge_health
        .iter()
        .find(|h| h.kind == EdgeKind::Consumes && h.from == consumer && h.to == stream)
        .unwrap_or_else(|| panic!("no edge health for {consumer}: {:?}", snap.edge_health));
    assert_eq!(edge.backlog, 85.0);
    assert_eq!(edge.health, Health::Critical, "nobody pulls: {edge:?}");
    drop(nats);
    drop(_server);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Redis and PostgreSQL through Debian's exporters.

#[test]
fn redis_exporter_gives_a_datastore_with_connections_ops_and_memory() {
    require("127.0.0.1:6379", "Redis");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _exporter = spawn(
        "prometheus-redis-exporter",
        &[
            "-redis.addr",
            "redis://127.0.0.1:6379",
            "-web.listen-address",
            &listen,
        ],
        &[],
    );
    wait_for(
        &listen,
        "prometheus-redis-exporter",
        Duration::from_secs(15),
    );
    let url = format!("http://{listen}/metrics");
    let snap = opscope_snapshot(&["--scrape", &url, "--interval", "2s"]);
    let e = entity_named(&snap, EntityKind::Datastore, &format!("redis@{listen}"));
    assert_eq!(value(e, SignalKind::ServiceDown), Some(0.0), "{e:?}");
    assert!(
        value(e, SignalKind::Connections).is_some_and(|c| c >= 1.0),
        "{e:?}"
    );
    assert!(
        value(e, SignalKind::MemoryBytes).is_some_and(|m| m > 0.0),
        "{e:?}"
    );
    // The exporter's own INFO calls are commands too.
    assert!(
        value(e, SignalKind::OpsRate).is_some_and(|r| r > 0.0),
        "{e:?}"
    );
}

#[test]
fn postgres_exporter_gives_a_datastore_with_connections_and_transactions() {
    require("127.0.0.1:5432", "PostgreSQL");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let flag = format!("--web.listen-address={listen}");
    let _exporter = spawn(
        "prometheus-postgres-exporter",
        &[&flag],
        &[(
            "DATA_SOURCE_NAME",
            "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable",
        )],
    );
    wait_for(
        &listen,
        "prometheus-postgres-exporter",
        Duration::from_secs(15),
    );
    let url = format!("http://{listen}/metrics");
    let snap = opscope_snapshot(&["--scrape", &url, "--interval", "2s"]);
    let e = entity_named(&snap, EntityKind::Datastore, &format!("postgres@{listen}"));
    assert_eq!(value(e, SignalKind::ServiceDown), Some(0.0), "{e:?}");
    // The exporter's own session is a backend.
    assert!(
        value(e, SignalKind::Connections).is_some_and(|c| c >= 1.0),
        "{e:?}"
    );
    assert!(
        value(e, SignalKind::TransactionRate).is_some_and(|r| r > 0.0),
        "{e:?}"
    );
}
