//! Property tests of the exposition parser: rendering random families to text (in both
//! formats) and parsing them back gives the same families, and arbitrary input never panics.

use collector::exposition::{Format, MetricType, check, detect_format, parse};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
    Untyped,
}

#[derive(Debug, Clone)]
struct GenSample {
    labels: Vec<(String, String)>,
    value: f64,
    ts_ms: Option<i64>,
    exemplar: Option<(String, f64)>,
}

#[derive(Debug, Clone)]
struct GenFamily {
    name: String,
    kind: Kind,
    help: Option<String>,
    samples: Vec<GenSample>,
}

/// Label values and help texts: arbitrary Unicode, plus strings dense in characters that need
/// escaping or that mean something elsewhere on a line.
fn text() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('\n'),
        Just('#'),
        Just('{'),
        Just('}'),
        Just(','),
        Just('='),
        Just(' '),
        Just('\t'),
        Just('n'),
        Just('é'),
        Just('💥'),
        any::<char>(),
    ];
    prop_oneof![
        "\\PC{0,16}",
        any::<String>(),
        proptest::collection::vec(tricky, 0..16).prop_map(|v| v.into_iter().collect::<String>()),
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
    ]
}

fn sample() -> impl Strategy<Value = GenSample> {
    (
        proptest::collection::btree_map("l_[a-zA-Z0-9_]{0,6}", text(), 0..4),
        value(),
        proptest::option::of(-1_000_000_000_000_000i64..1_000_000_000_000_000),
        proptest::option::of(("\\PC{0,30}", value())),
    )
        .prop_map(|(labels, value, ts_ms, exemplar)| GenSample {
            labels: labels.into_iter().collect(),
            value,
            ts_ms,
            exemplar,
        })
}

fn family() -> impl Strategy<Value = GenFamily> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,8}",
        prop_oneof![Just(Kind::Counter), Just(Kind::Gauge), Just(Kind::Untyped)],
        proptest::option::of(text()),
        proptest::collection::vec(sample(), 0..5),
    )
        .prop_map(|(name, kind, help, samples)| GenFamily {
            name,
            kind,
            help,
            samples,
        })
}

/// Families with unique, prefix-free names (`f<i>_...`) and unique label sets (label `idx`).
fn families() -> impl Strategy<Value = Vec<GenFamily>> {
    proptest::collection::vec(family(), 0..6).prop_map(|mut fams| {
        for (i, f) in fams.iter_mut().enumerate() {
            f.name = format!("f{i}_{}", f.name);
            for (j, s) in f.samples.iter_mut().enumerate() {
                s.labels.insert(0, ("idx".to_owned(), j.to_string()));
            }
        }
        fams
    })
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

fn render_labels(labels: &[(String, String)]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// What a family should read back as in the given format.
fn expected(f: &GenFamily, format: Format) -> GenFamily {
    let mut f = f.clone();
    if let Some(h) = &mut f.help
        && format == Format::Prometheus
    {
        // The 0.0.4 text format cannot carry leading blanks or a final '\r' in HELP.
        *h = h.trim_start_matches([' ', '\t']).to_owned();
        if h.ends_with('\r') {
            h.pop();
        }
    }
    for s in &mut f.samples {
        if format == Format::OpenMetrics && f.kind == Kind::Counter {
            // OpenMetrics counters are never negative or NaN.
            s.value = if s.value.is_nan() { 0.0 } else { s.value.abs() };
        }
        if format == Format::Prometheus || f.kind != Kind::Counter {
            s.exemplar = None;
        }
    }
    f
}

fn render(fams: &[GenFamily], format: Format) -> String {
    let mut out = String::new();
    for f in fams {
        let f = expected(f, format);
        let (family_name, sample_name, type_name) = match (f.kind, format) {
            (Kind::Counter, Format::Prometheus) => (
                format!("{}_total", f.name),
                format!("{}_total", f.name),
                "counter",
            ),
            (Kind::Counter, Format::OpenMetrics) => {
                (f.name.clone(), format!("{}_total", f.name), "counter")
            }
            (Kind::Gauge, _) => (f.name.clone(), f.name.clone(), "gauge"),
            (Kind::Untyped, Format::Prometheus) => (f.name.clone(), f.name.clone(), "untyped"),
            (Kind::Untyped, Format::OpenMetrics) => (f.name.clone(), f.name.clone(), "unknown"),
        };
        if let Some(h) = &f.help {
            let h = match format {
                Format::Prometheus => h.replace('\\', "\\\\").replace('\n', "\\n"),
                Format::OpenMetrics => h
                    .replace('\\', "\\\\")
                    .replace('\n', "\\n")
                    .replace('"', "\\\""),
            };
            out.push_str(&format!("# HELP {family_name} {h}\n"));
        }
        out.push_str(&format!("# TYPE {family_name} {type_name}\n"));
        for s in &f.samples {
            out.push_str(&sample_name);
            out.push_str(&render_labels(&s.labels));
            out.push(' ');
            out.push_str(&render_value(s.value));
            if let Some(ms) = s.ts_ms {
                match format {
                    Format::Prometheus => out.push_str(&format!(" {ms}")),
                    Format::OpenMetrics => {
                        let sign = if ms < 0 { "-" } else { "" };
                        let abs = ms.unsigned_abs();
                        out.push_str(&format!(" {sign}{}.{:03}", abs / 1000, abs % 1000));
                    }
                }
            }
            if let Some((trace, v)) = &s.exemplar {
                let labels = render_labels(&[("trace_id".to_owned(), trace.clone())]);
                out.push_str(&format!(" # {labels} {}", render_value(*v)));
            }
            out.push('\n');
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

fn roundtrip(fams: &[GenFamily], format: Format) -> Result<(), TestCaseError> {
    let text = render(fams, format);
    let parsed = parse(&text, format).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    prop_assert_eq!(parsed.families.len(), fams.len(), "{}", text);
    for (got, f) in parsed.families.iter().zip(fams) {
        let want = expected(f, format);
        let kind = match want.kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
            Kind::Untyped => MetricType::Unknown,
        };
        prop_assert_eq!(got.kind, kind);
        prop_assert_eq!(got.help.as_deref(), want.help.as_deref(), "{}", text);
        prop_assert_eq!(got.samples.len(), want.samples.len());
        for (gs, ws) in got.samples.iter().zip(&want.samples) {
            let labels: Vec<(String, String)> = gs
                .labels
                .iter()
                .map(|l| (l.name.to_owned(), l.value.to_string()))
                .collect();
            prop_assert_eq!(&labels, &ws.labels, "{}", text);
            prop_assert!(
                same_value(gs.value, ws.value),
                "{} vs {}\n{}",
                gs.value,
                ws.value,
                text
            );
            prop_assert_eq!(gs.timestamp_ms, ws.ts_ms);
            match (&gs.exemplar, &ws.exemplar) {
                (None, None) => {}
                (Some(ge), Some((trace, v))) => {
                    prop_assert_eq!(ge.labels[0].value.as_ref(), trace.as_str());
                    prop_assert!(same_value(ge.value, *v));
                }
                (g, w) => prop_assert!(false, "exemplar {:?} vs {:?}", g, w),
            }
        }
    }
    Ok(())
}

/// Text made of exposition-format fragments, to reach deep parser states.
fn noise() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("# "),
        Just("HELP "),
        Just("TYPE "),
        Just("UNIT "),
        Just("# EOF"),
        Just("a"),
        Just("a_total"),
        Just("a_bucket"),
        Just("a_count"),
        Just("a_sum"),
        Just("a_created"),
        Just("{"),
        Just("}"),
        Just("="),
        Just("\""),
        Just("\\"),
        Just(","),
        Just(" "),
        Just("\t"),
        Just("\n"),
        Just("le"),
        Just("quantile"),
        Just("+Inf"),
        Just("1"),
        Just("-1"),
        Just("0.5"),
        Just("NaN"),
        Just("1e3"),
        Just("#"),
        Just(" # {"),
        Just("counter"),
        Just("histogram"),
        Just("gaugehistogram"),
        Just("summary"),
        Just("stateset"),
        Just("info"),
        Just("é"),
    ];
    proptest::collection::vec(token, 0..60).prop_map(|v| v.concat())
}

fn no_panic(text: &str) -> Result<(), TestCaseError> {
    for format in [Format::Prometheus, Format::OpenMetrics] {
        if let Ok(e) = parse(text, format) {
            for f in &e.families {
                for s in &f.samples {
                    prop_assert!(s.name.starts_with(f.name), "{} in {}", s.name, f.name);
                }
            }
        }
        let _ = check(text, Some(format));
    }
    let _ = check(text, None);
    let _ = detect_format(text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn prometheus_roundtrip(fams in families()) {
        roundtrip(&fams, Format::Prometheus)?;
    }

    #[test]
    fn openmetrics_roundtrip(fams in families()) {
        roundtrip(&fams, Format::OpenMetrics)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        no_panic(&text)?;
    }

    #[test]
    fn exposition_like_noise_never_panics(text in noise()) {
        no_panic(&text)?;
    }

    #[test]
    fn mutated_valid_payloads_never_panic(fams in families(), cut in any::<prop::sample::Index>(), insert in "\\PC{0,3}") {
        let text = render(&fams, Format::OpenMetrics);
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        no_panic(&format!("{}{insert}{}", &text[..at], &text[at..]))?;
        no_panic(&text[..at])?;
    }
}
