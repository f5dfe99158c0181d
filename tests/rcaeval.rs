//! End to end for the RCAEval layout: export one simulator scenario through the real collector
//! (loopback HTTP, virtual clock), then rank it from the written CSV files only.

use opscope::rcaeval::{self, CaseTruth, ExportOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_latency_case_ranks_its_root_first() {
    let dir = std::env::temp_dir().join(format!("opscope-rcaeval-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Short windows keep the test quick: 10 min normal, 5 min after, 15 s rows.
    let opts = ExportOptions {
        seeds: 1,
        interval: Duration::from_secs(15),
        normal: Duration::from_secs(10 * 60),
        after: Duration::from_secs(5 * 60),
    };
    let case = rcaeval::export_case(&dir, "latency", 1, &opts)
        .await
        .expect("export runs");
    assert_eq!(case.rows, (15 * 60) / 15 + 1);
    for f in ["data.csv", "inject_time.txt", "edges.csv", "truth.json"] {
        assert!(case.dir.join(f).is_file(), "{f} written");
    }
    let truth: CaseTruth = serde_json::from_str(
        &std::fs::read_to_string(case.dir.join("truth.json")).expect("truth readable"),
    )
    .expect("truth parses");
    assert_eq!(truth.roots, ["paymentservice"]);
    let header = std::fs::read_to_string(case.dir.join("data.csv")).expect("data readable");
    let header = header.lines().next().unwrap_or("");
    for col in [
        "time",
        "paymentservice_cpu",
        "paymentservice_mem",
        "paymentservice_lat_50",
        "paymentservice_lat_90",
        "paymentservice_lat_99",
        "paymentservice_error",
        "paymentservice_load",
        "node-a_cpu",
        "node-a_mem",
    ] {
        assert!(
            header.split(',').any(|c| c == col),
            "column {col} in {header}"
        );
    }
    let edges = rcaeval::read_edges(&case.dir.join("edges.csv")).expect("edges parse");
    assert!(edges.contains(&("checkoutservice".to_owned(), "paymentservice".to_owned())));

    for use_edges in [true, false] {
        let ranking = rcaeval::rank_case(&case.dir, use_edges).expect("ranks");
        assert_eq!(
            ranking.ranking[0].service,
            "paymentservice",
            "edges {use_edges}: {:#?}",
            &ranking.ranking[..3]
        );
        assert!(ranking.ranking[0].evidence[0].starts_with("latency p"));
        let json: serde_json::Value = serde_json::to_value(&ranking).expect("ranking serialises");
        let list = json["ranking"].as_array().expect("ranking array");
        assert_eq!(list.len(), ranking.ranking.len());
        let mut names: Vec<&str> = list
            .iter()
            .map(|s| s["service"].as_str().expect("service string"))
            .collect();
        assert!(
            list.iter()
                .all(|s| s["score"].is_f64() && s["evidence"].is_array())
        );
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "every service exactly once");
        assert!(names.contains(&"frontend") && names.contains(&"node-b"));
    }

    let report = rcaeval::eval_cases(&dir, true).expect("eval runs");
    assert_eq!(report.cases.len(), 1);
    assert_eq!(report.ac_at_1, 1.0);
    let _ = std::fs::remove_dir_all(&dir);
}
