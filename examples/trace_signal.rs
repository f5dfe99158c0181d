//! Print one signal of the fault-free simulation over time (a debugging aid):
//! `cargo run --example trace_signal -- checkoutservice latency_p99 3600`
use collector::model::{EntityId, SignalKey, SignalKind};
use std::sync::atomic::Ordering;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let workload = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "checkoutservice".into());
    let kind: SignalKind = serde_json::from_str(&format!(
        "\"{}\"",
        args.get(2).map_or("latency_p99", String::as_str)
    ))?;
    let secs: i64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3600);
    let scenario = args.get(4).cloned().unwrap_or_else(|| "none".into());
    let cfg = fixtures::SimConfig {
        scenario,
        ..fixtures::SimConfig::new("none", 7)
    };
    let start = cfg.start_ms;
    let (server, clock) = opscope::eval::start_sim(cfg).await?;
    let url = format!("{}/metrics", server.url());
    let ecfg = opscope_engine::EngineConfig::for_interval(
        vec![url.clone()],
        std::time::Duration::from_secs(15),
    );
    let mut c = collector::Collector::new(vec![url], ecfg.collector);
    let key = SignalKey {
        entity: EntityId::workload("shop", &workload),
        kind,
    };
    let rate = SignalKey {
        entity: EntityId::workload("shop", &workload),
        kind: SignalKind::RequestRate,
    };
    let mut t = start;
    while t <= start + secs * 1000 {
        clock.store(t, Ordering::SeqCst);
        c.collect(t).await;
        let o = c.observe(t)?;
        println!(
            "{} {:?} rate={:?}",
            analytics::fmt_time(t),
            o.signals.get(&key),
            o.signals.get(&rate)
        );
        t += 15_000;
    }
    Ok(())
}
