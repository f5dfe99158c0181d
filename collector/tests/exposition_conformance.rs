//! The OpenMetrics project's parser conformance cases
//! (`shared/data/openmetrics-conformance/`, 211 cases: 44 must parse, 167 must be rejected),
//! all parsed as OpenMetrics.

use collector::exposition::{Format, parse};
use std::path::{Path, PathBuf};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/openmetrics-conformance")
}

struct Case {
    name: String,
    text: String,
    should_parse: bool,
}

fn cases() -> Vec<Case> {
    let dir = suite_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let spec = path.join("test.json");
        if !spec.is_file() {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&spec).expect("read test.json"))
                .expect("test.json is JSON");
        assert_eq!(json["type"], "text", "{}", spec.display());
        let file = json["file"].as_str().expect("file field");
        let should_parse = json["shouldParse"].as_bool().expect("shouldParse field");
        let bytes = std::fs::read(path.join(file)).expect("read case input");
        let text = String::from_utf8(bytes).expect("case input is UTF-8");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        out.push(Case {
            name,
            text,
            should_parse,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[test]
fn all_conformance_cases_are_accepted_or_rejected_as_specified() {
    let cases = cases();
    assert_eq!(cases.len(), 211, "number of conformance cases");
    assert_eq!(cases.iter().filter(|c| c.should_parse).count(), 44);
    let mut failures = Vec::new();
    for case in &cases {
        match (parse(&case.text, Format::OpenMetrics), case.should_parse) {
            (Ok(_), true) | (Err(_), false) => {}
            (Ok(_), false) => {
                failures.push(format!("{}: accepted but must be rejected", case.name))
            }
            (Err(e), true) => failures.push(format!("{}: rejected but must parse: {e}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn rejections_point_at_a_real_line() {
    for case in cases().iter().filter(|c| !c.should_parse) {
        let Err(e) = parse(&case.text, Format::OpenMetrics) else {
            continue;
        };
        let lines = case.text.lines().count();
        assert!(
            e.line >= 1 && e.line <= lines + 1,
            "{}: line {} of {lines}: {e}",
            case.name,
            e.line
        );
        assert!(!e.reason.is_empty(), "{}", case.name);
    }
}

#[test]
fn accepted_cases_read_as_meant() {
    let all = cases();
    let get = |name: &str| {
        let case = all
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("case {name}"));
        parse(&case.text, Format::OpenMetrics).unwrap_or_else(|e| panic!("{name}: {e}"))
    };

    let e = get("roundtrip");
    let foo = e.family("foo").expect("foo");
    assert_eq!(
        foo.samples
            .iter()
            .filter(|s| s.name == "foo_bucket")
            .count(),
        11
    );
    assert_eq!(
        foo.samples.last().map(|s| (s.name, s.value)),
        Some(("foo_created", 1.520430000123e9))
    );
    let gc = e.family("go_gc_duration_seconds").expect("gc");
    assert_eq!(gc.samples[0].label("quantile"), Some("0.0"));
    assert_eq!(gc.samples[0].value, 0.013300656000000001);
    let chunk_ops = e
        .family("prometheus_local_storage_chunk_ops")
        .expect("chunk ops");
    assert_eq!(chunk_ops.samples[2].value, 1.345758e6);
    assert!(
        e.family("prometheus_local_storage_indexing_batch_duration_milliseconds")
            .expect("f")
            .samples[0]
            .value
            .is_nan()
    );

    let e = get("timestamps");
    let ts: Vec<_> = e.families[0]
        .samples
        .iter()
        .map(|s| s.timestamp_ms)
        .collect();
    assert_eq!(
        ts,
        vec![
            Some(0),
            Some(0),
            Some(1100),
            Some(i64::MAX),
            Some(1_500_000)
        ]
    );
    assert_eq!(
        e.families[1].samples[0].timestamp_ms,
        Some(1_234_567_890_000)
    );

    let e = get("escaping");
    let s = &e.families[0].samples;
    assert_eq!(s[0].label("foo"), Some("b\"a\nr"));
    assert_eq!(s[1].label("foo"), Some("b\\a\\z"));
    assert_eq!(e.families[0].help.as_deref(), Some("he\n\\l\\tp"));

    let e = get("help_escaping");
    let helps: Vec<_> = e
        .families
        .iter()
        .map(|f| f.help.as_deref().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        helps,
        [
            "foo", "\\foo", "\\foo", "foo\\", "\\", "\n", "\\n", "\\\n", "\"", "\\\""
        ]
    );

    let e = get("exemplars_wide_chars");
    let ex = e.families[0].samples[0]
        .exemplar
        .as_ref()
        .expect("exemplar");
    assert_eq!(ex.labels[0].value.chars().count(), 127);
    assert_eq!(ex.timestamp_ms, Some(1000));

    let e = get("uint64_counter");
    assert_eq!(e.families[0].samples[0].value, 9_223_372_036_854_775_808.0);

    let e = get("counter_unit");
    assert_eq!(e.families[0].unit, Some("seconds"));
    assert_eq!(e.families[0].samples.len(), 2);

    let e = get("simple_stateset");
    assert_eq!(e.families[0].samples[1].label("a"), Some("foo"));
}
