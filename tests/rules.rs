//! Rules and SLOs from a config file, end to end: the simulator's `errors` scenario breaks
//! currencyservice; a static rule on its error ratio and an availability SLO on the frontend
//! must fire, join the fault's incident, and show in the snapshot.

use opscope_engine::{Engine, EngineConfig};
use std::sync::atomic::Ordering;
use std::time::Duration;

const CONFIG: &str = r#"
[[slo]]
service = "frontend"
availability = 0.99

[[rule]]
name = "currency-errors"
signal = "error_ratio"
entity = "currency*"
op = ">"
threshold = "10%"
for = "30s"
severity = "critical"
labels = { team = "payments" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_and_slo_alerts_join_the_incident() {
    let checked = opscope_config::check(CONFIG, &|_| None);
    assert!(
        checked.diagnostics.is_empty(),
        "config is valid: {:?}",
        checked.diagnostics
    );
    let config = checked.config;
    let sim = fixtures::SimConfig {
        fault_after_ms: 20 * 60_000,
        fault_duration_ms: 20 * 60_000,
        ..fixtures::SimConfig::new("errors", 5)
    };
    let start = sim.start_ms;
    let fault = sim.fault_start_ms();
    let (server, clock) = opscope::eval::start_sim(sim).await.expect("sim");
    let mut cfg = EngineConfig::for_interval(
        vec![format!("{}/metrics", server.url())],
        Duration::from_secs(15),
    );
    cfg.rules = config.rules.clone();
    cfg.slos = config.slos.clone();
    let mut engine = Engine::new(&cfg);
    let mut t = start;
    let mut before_fault_alerts = 0;
    let mut snap = None;
    while t <= fault + 5 * 60_000 {
        clock.store(t, Ordering::SeqCst);
        let s = engine.cycle(t).await.expect("cycle");
        if t < fault {
            before_fault_alerts += s.alerts.len() + s.burn_alerts.len();
        }
        snap = Some(s);
        t += 15_000;
    }
    server.shutdown().await;
    assert_eq!(before_fault_alerts, 0, "nothing fires before the fault");
    let snap = snap.expect("ran");
    let rule = snap
        .alerts
        .iter()
        .find(|a| a.rule == "currency-errors")
        .expect("the rule fires");
    assert_eq!(rule.entity.name, "currencyservice");
    assert_eq!(
        rule.labels.get("team").map(String::as_str),
        Some("payments")
    );
    assert!(
        !snap.burn_alerts.is_empty(),
        "the frontend's availability SLO burns: {:?}",
        snap.slos
    );
    let frontend = snap
        .slos
        .iter()
        .find(|s| s.service == "frontend")
        .expect("SLO status");
    assert!(frontend.budget_remaining.is_some_and(|b| b < 1.0));
    let inc = snap
        .open_incidents()
        .find(|i| i.anomalies.iter().any(|a| a.rule.is_some()))
        .expect("an incident holds the alerts");
    assert!(
        inc.anomalies
            .iter()
            .any(|a| a.rule.is_none() && a.signal.entity.name == "currencyservice"),
        "rule alerts join the detectors' incident for the same fault"
    );
    assert_eq!(
        inc.causes.first().map(|c| c.entity.name.as_str()),
        Some("currencyservice")
    );
}
