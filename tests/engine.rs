//! The engine against real HTTP behaviour: a dead target and a slow target are marked stale
//! with a reason, and never stall the cycle or the healthy target.

use opscope_engine::{Engine, EngineConfig};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_and_slow_targets_go_stale_without_stalling() {
    let (server, _clock) = opscope::eval::start_sim(fixtures::SimConfig::new("none", 3))
        .await
        .expect("sim");
    // A target that accepts connections and never answers.
    let slow = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let slow_addr = slow.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = slow.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            held.push(s);
        }
    });
    // A port with nothing listening.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    // A target that answers garbage.
    let bad = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bad_addr = bad.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = bad.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let body = "metric{ 1\n";
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let urls = vec![
        format!("{}/metrics", server.url()),
        format!("http://{slow_addr}/metrics"),
        format!("http://{dead}/metrics"),
        format!("http://{bad_addr}/metrics"),
    ];
    let mut cfg = EngineConfig::for_interval(urls, Duration::from_secs(15));
    cfg.collector.timeout = Duration::from_millis(800);
    let mut engine = Engine::new(&cfg);
    let started = Instant::now();
    let snap = engine
        .cycle(fixtures::DEFAULT_START_MS)
        .await
        .expect("cycle");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the cycle took {:?}",
        started.elapsed()
    );
    let st = &snap.sources;
    assert_eq!(st.len(), 4);
    assert!(!st[0].stale && st[0].samples > 500, "{:?}", st[0]);
    assert!(
        st[1].stale
            && st[1]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("timed out")),
        "{:?}",
        st[1]
    );
    assert!(
        st[2].stale
            && st[2]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("reach")),
        "{:?}",
        st[2]
    );
    assert!(
        st[3].stale
            && st[3]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("line 1")),
        "{:?}",
        st[3]
    );
    assert!(
        snap.topology.entities.len() > 20,
        "the healthy target's data is there"
    );
}
