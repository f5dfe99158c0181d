//! Real exposition payloads (`shared/data/exposition/*.txt`): Prometheus 2.42, node_exporter
//! and Alertmanager 0.25 `/metrics`, captured from the real servers.
//!
//! Note on the `.openmetrics.txt` captures: their content is the Prometheus 0.0.4 text format
//! (no `# EOF` terminator, counter families declared with their `_total` name, exactly the
//! lines of the `.prom.txt` twin), i.e. the servers answered the OpenMetrics request with the
//! classic format. A conforming OpenMetrics parser must reject them, so the tests check that
//! strict parsing rejects them, that format detection picks Prometheus, and that they parse
//! as Prometheus text with the same families as their twins.

use collector::exposition::{
    Exposition, Family, Format, LintKind, MetricType, ParseError, Sample, check, detect_format,
    parse,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/exposition")
}

fn read(name: &str) -> String {
    let path = data_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_ok(name: &str, text: &str, format: Format) -> Exposition<'static> {
    // Leak the text so the result can be returned; tests only.
    let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
    parse(text, format).unwrap_or_else(|e: ParseError| panic!("{name}: {e}"))
}

fn sample<'e>(e: &'e Exposition<'_>, name: &str, labels: &[(&str, &str)]) -> &'e Sample<'e> {
    e.families
        .iter()
        .flat_map(|f| f.samples.iter())
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

/// Check a family's histogram invariants; returns the number of series (label sets).
fn check_histogram(f: &Family<'_>) -> usize {
    // Group by the label set without `le`.
    let key = |s: &Sample<'_>| -> String {
        let mut v: Vec<String> = s
            .labels
            .iter()
            .filter(|l| l.name != "le")
            .map(|l| format!("{}={}", l.name, l.value))
            .collect();
        v.sort();
        v.join(",")
    };
    /// (le, value) buckets, `_count`, `_sum` of one series.
    type Series = (Vec<(f64, f64)>, Option<f64>, Option<f64>);
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    for s in &f.samples {
        let entry = series.entry(key(s)).or_default();
        let suffix = &s.name[f.name.len()..];
        match suffix {
            "_bucket" => {
                let le = s.label("le").expect("bucket has le");
                let le: f64 = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("numeric le")
                };
                entry.0.push((le, s.value));
            }
            "_count" => entry.1 = Some(s.value),
            "_sum" => entry.2 = Some(s.value),
            other => panic!("{}: unexpected histogram sample suffix {other:?}", f.name),
        }
    }
    for (k, (buckets, count, sum)) in &series {
        assert!(!buckets.is_empty(), "{}{{{k}}}: no buckets", f.name);
        assert!(
            buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{}{{{k}}}: {buckets:?}",
            f.name
        );
        let last = buckets.last().expect("non-empty");
        assert_eq!(last.0, f64::INFINITY, "{}{{{k}}}: +Inf bucket", f.name);
        assert_eq!(
            Some(last.1),
            *count,
            "{}{{{k}}}: _count equals the +Inf bucket",
            f.name
        );
        assert!(sum.is_some(), "{}{{{k}}}: _sum", f.name);
    }
    series.len()
}

/// Structural checks every real payload passes; returns (families, samples).
fn check_structure(name: &str, text: &str, e: &Exposition<'_>) -> (usize, usize) {
    let type_lines: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    let sample_lines = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(
        e.families.len(),
        type_lines.len(),
        "{name}: one family per # TYPE"
    );
    assert_eq!(
        e.sample_count(),
        sample_lines,
        "{name}: every sample line is kept"
    );
    for (f, (tname, ttype)) in e.families.iter().zip(&type_lines) {
        assert_eq!(f.name, *tname, "{name}: families in input order");
        let expected = match *ttype {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" => MetricType::Unknown,
            other => panic!("{name}: unexpected type {other}"),
        };
        assert_eq!(f.kind, expected, "{name}: {}", f.name);
        assert!(
            f.help.as_deref().is_some_and(|h| !h.is_empty()),
            "{name}: {} has HELP",
            f.name
        );
        assert!(!f.samples.is_empty(), "{name}: {} has samples", f.name);
        for s in &f.samples {
            assert!(
                s.name.starts_with(f.name),
                "{name}: {} in {}",
                s.name,
                f.name
            );
            assert_eq!(s.timestamp_ms, None);
            assert!(s.exemplar.is_none());
        }
        match f.kind {
            MetricType::Histogram => {
                assert!(check_histogram(f) >= 1, "{name}: {}", f.name);
            }
            MetricType::Summary => {
                for s in f.samples.iter().filter(|s| s.name == f.name) {
                    let q: f64 = s
                        .label("quantile")
                        .expect("quantile label")
                        .parse()
                        .expect("numeric quantile");
                    assert!((0.0..=1.0).contains(&q), "{name}: {}", f.name);
                }
                assert!(
                    f.samples.iter().any(|s| s.name.ends_with("_count")),
                    "{name}: {}",
                    f.name
                );
            }
            MetricType::Counter => {
                assert!(f.name.ends_with("_total"), "{name}: {}", f.name);
                assert!(
                    f.samples.iter().all(|s| s.value >= 0.0),
                    "{name}: {}",
                    f.name
                );
            }
            _ => {}
        }
    }
    (e.families.len(), e.sample_count())
}

#[test]
fn every_file_parses() {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .expect("data dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alertmanager-0.25.prom.txt",
            "node-exporter.openmetrics.txt",
            "node-exporter.prom.txt",
            "prometheus-2.42.openmetrics.txt",
            "prometheus-2.42.prom.txt",
        ]
    );
    for name in &names {
        let text = read(name);
        if name.ends_with(".prom.txt") {
            assert_eq!(detect_format(&text), Format::Prometheus, "{name}");
            let e = parse_ok(name, &text, Format::Prometheus);
            check_structure(name, &text, &e);
        } else {
            // Captured as OpenMetrics but actually Prometheus 0.0.4 text (see module docs).
            assert!(
                !text.contains("# EOF"),
                "{name}: the capture is real OpenMetrics now; parse it strictly"
            );
            assert_eq!(detect_format(&text), Format::Prometheus, "{name}");
            let err = parse(&text, Format::OpenMetrics).expect_err("not OpenMetrics");
            assert!(err.line >= 1, "{name}: {err}");
            let e = parse_ok(name, &text, Format::Prometheus);
            let counts = check_structure(name, &text, &e);
            let twin_name = name.replace(".openmetrics.txt", ".prom.txt");
            let twin_text = read(&twin_name);
            let twin = parse_ok(&twin_name, &twin_text, Format::Prometheus);
            assert_eq!(
                counts,
                (twin.families.len(), twin.sample_count()),
                "{name} vs {twin_name}"
            );
            let shape = |e: &Exposition<'_>| {
                e.families
                    .iter()
                    .map(|f| (f.name.to_owned(), f.kind))
                    .collect::<Vec<_>>()
            };
            assert_eq!(shape(&e), shape(&twin), "{name} vs {twin_name}");
        }
    }
}

#[test]
fn family_and_sample_counts() {
    for (name, families, samples, histograms) in [
        ("alertmanager-0.25.prom.txt", 77, 265, 5),
        ("node-exporter.prom.txt", 283, 507, 0),
        ("prometheus-2.42.prom.txt", 171, 363, 7),
        ("node-exporter.openmetrics.txt", 283, 507, 0),
        ("prometheus-2.42.openmetrics.txt", 171, 363, 7),
    ] {
        let e = parse_ok(name, &read(name), Format::Prometheus);
        assert_eq!(e.families.len(), families, "{name}");
        assert_eq!(e.sample_count(), samples, "{name}");
        assert_eq!(
            e.families
                .iter()
                .filter(|f| f.kind == MetricType::Histogram)
                .count(),
            histograms,
            "{name}"
        );
    }
}

#[test]
fn known_values_alertmanager() {
    let e = parse_ok(
        "alertmanager",
        &read("alertmanager-0.25.prom.txt"),
        Format::Prometheus,
    );
    let build = sample(&e, "alertmanager_build_info", &[]);
    assert_eq!(build.label("version"), Some("0.25.0"));
    assert_eq!(build.label("branch"), Some("debian/sid"));
    assert_eq!(
        build.labels.iter().map(|l| l.name).collect::<Vec<_>>(),
        [
            "branch",
            "goarch",
            "goos",
            "goversion",
            "revision",
            "version"
        ]
    );
    assert_eq!(build.value, 1.0);
    assert_eq!(sample(&e, "alertmanager_cluster_enabled", &[]).value, 0.0);
    let h = e
        .family("alertmanager_http_request_duration_seconds")
        .expect("histogram");
    let buckets: Vec<_> = h
        .samples
        .iter()
        .filter(|s| s.name.ends_with("_bucket"))
        .map(|s| s.label("le"))
        .collect();
    assert_eq!(buckets.len(), 11);
    assert_eq!(buckets.first(), Some(&Some("0.05")));
    assert_eq!(buckets.last(), Some(&Some("+Inf")));
    let sum = sample(
        &e,
        "alertmanager_http_request_duration_seconds_sum",
        &[("handler", "/metrics")],
    );
    assert_eq!(sum.value, 0.021039049);
}

#[test]
fn known_values_node_exporter() {
    let e = parse_ok("node", &read("node-exporter.prom.txt"), Format::Prometheus);
    assert_eq!(
        sample(&e, "node_boot_time_seconds", &[]).value,
        1.79530405e9
    );
    assert_eq!(
        sample(
            &e,
            "node_cpu_seconds_total",
            &[("cpu", "0"), ("mode", "idle")]
        )
        .value,
        196.28
    );
    assert_eq!(
        sample(&e, "go_info", &[]).label("version"),
        Some("go1.19.8")
    );
    let uname = sample(&e, "node_uname_info", &[]);
    assert_eq!(uname.label("version"), Some("#1 SMP PREEMPT_DYNAMIC @0"));
    assert_eq!(uname.label("domainname"), Some("(none)"));
    let os = sample(&e, "node_os_info", &[]);
    assert_eq!(os.label("build_id"), Some(""));
    assert_eq!(
        os.label("pretty_name"),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    let gc = e.family("go_gc_duration_seconds").expect("summary");
    assert_eq!(gc.kind, MetricType::Summary);
    assert_eq!(gc.samples.len(), 7);
    assert_eq!(gc.samples[4].label("quantile"), Some("1"));
    assert_eq!(gc.samples[6].name, "go_gc_duration_seconds_count");
}

#[test]
fn known_values_prometheus() {
    let e = parse_ok(
        "prometheus",
        &read("prometheus-2.42.prom.txt"),
        Format::Prometheus,
    );
    assert_eq!(sample(&e, "go_goroutines", &[]).value, 29.0);
    assert_eq!(
        sample(&e, "go_gc_duration_seconds", &[("quantile", "0")]).value,
        5.3067e-05
    );
    let h = e
        .family("prometheus_http_request_duration_seconds")
        .expect("histogram");
    let les: Vec<_> = h.samples.iter().filter_map(|s| s.label("le")).collect();
    assert_eq!(
        les,
        [
            "0.1", "0.2", "0.4", "1", "3", "8", "20", "60", "120", "+Inf"
        ]
    );
    assert_eq!(
        sample(
            &e,
            "prometheus_http_request_duration_seconds_count",
            &[("handler", "/metrics")]
        )
        .value,
        2.0
    );
    assert_eq!(
        sample(
            &e,
            "prometheus_http_requests_total",
            &[("code", "200"), ("handler", "/metrics")]
        )
        .value,
        2.0
    );
}

#[test]
fn check_reports_on_real_files() {
    for name in [
        "alertmanager-0.25.prom.txt",
        "node-exporter.prom.txt",
        "prometheus-2.42.prom.txt",
    ] {
        let text = read(name);
        let report = check(&text, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let e = parse_ok(name, &text, Format::Prometheus);
        assert_eq!(report.format, Format::Prometheus);
        assert_eq!(
            (report.families, report.samples),
            (e.families.len(), e.sample_count()),
            "{name}"
        );
        // Every family of these exporters has HELP and their counters end in _total.
        for w in &report.warnings {
            assert!(
                !matches!(
                    w.kind,
                    LintKind::MissingHelp | LintKind::CounterWithoutTotal
                ),
                "{name}: unexpected {w}"
            );
            assert!(
                e.family(&w.metric).is_some(),
                "{name}: warning names a real metric: {w}"
            );
        }
    }
}
