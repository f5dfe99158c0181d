//! Unit tests of the two dialects (the conformance suite and real files are integration tests).

use super::*;

fn prom(text: &str) -> Exposition<'_> {
    match parse(text, Format::Prometheus) {
        Ok(e) => e,
        Err(e) => panic!("{e}\n{text}"),
    }
}

fn om(text: &str) -> Exposition<'_> {
    match parse(text, Format::OpenMetrics) {
        Ok(e) => e,
        Err(e) => panic!("{e}\n{text}"),
    }
}

fn om_err(text: &str) -> ParseError {
    match parse(text, Format::OpenMetrics) {
        Ok(e) => panic!("accepted: {e:?}\n{text}"),
        Err(e) => e,
    }
}

fn prom_err(text: &str) -> ParseError {
    match parse(text, Format::Prometheus) {
        Ok(e) => panic!("accepted: {e:?}\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn prometheus_basic_families() {
    let text = "\
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000
http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000

# A free-form comment.
msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem=\"division by zero\"} +Inf -3982045
# HELP rpc_duration_seconds A summary.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile=\"0.5\"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
";
    let e = prom(text);
    let names: Vec<_> = e
        .families
        .iter()
        .map(|f| (f.name, f.kind, f.samples.len()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("http_requests_total", MetricType::Counter, 2),
            ("msdos_file_access_time_seconds", MetricType::Unknown, 1),
            (
                "metric_without_timestamp_and_labels",
                MetricType::Unknown,
                1
            ),
            ("something_weird", MetricType::Unknown, 1),
            ("rpc_duration_seconds", MetricType::Summary, 3),
        ]
    );
    let s = &e.families[0].samples[1];
    assert_eq!((s.value, s.timestamp_ms), (3.0, Some(1_395_066_363_000)));
    assert_eq!(s.label("code"), Some("400"));
    let s = &e.families[1].samples[0];
    assert_eq!(s.label("path"), Some("C:\\DIR\\FILE.TXT"));
    assert_eq!(s.label("error"), Some("Cannot find file:\n\"FILE.TXT\""));
    let s = &e.families[3].samples[0];
    assert_eq!((s.value, s.timestamp_ms), (f64::INFINITY, Some(-3_982_045)));
    assert_eq!(e.families[4].samples[2].name, "rpc_duration_seconds_count");
}

#[test]
fn prometheus_is_lenient() {
    let text = "  \n\t# TYPE a gauge\r\na { x = \"1\" , } 1 \r\n#HELP not metadata\n\ta\t2\t5\t\nb 1\na{x=\"2\"} 3\n";
    let e = prom(text);
    assert_eq!(e.families.len(), 2);
    let a = &e.families[0];
    assert_eq!(
        (a.name, a.kind, a.samples.len()),
        ("a", MetricType::Gauge, 3)
    );
    assert_eq!(a.samples[1].timestamp_ms, Some(5));
    assert_eq!(a.samples[2].label("x"), Some("2"));
    // HELP escapes in 0.0.4 are only \\ and \n.
    let e = prom("# HELP a x\\\"y\\\\z\\n\na 1\n");
    assert_eq!(e.families[0].help.as_deref(), Some("x\\\"y\\z\n"));
    // Metadata without samples still yields a family.
    let e = prom("# HELP lonely Nothing here.\n");
    assert_eq!(e.families[0].samples.len(), 0);
}

#[test]
fn prometheus_histogram_parts_join_their_family() {
    let text = "\
# TYPE lat histogram
lat_bucket{le=\"0.1\"} 1
lat_bucket{le=\"+Inf\"} 2
lat_sum 0.3
lat_count 2
lat_created 5
";
    let e = prom(text);
    assert_eq!(e.families.len(), 2);
    assert_eq!(e.families[0].samples.len(), 4);
    assert_eq!(e.families[0].samples[1].label("le"), Some("+Inf"));
    assert_eq!(e.families[1].name, "lat_created");
}

#[test]
fn prometheus_errors_have_lines_and_reasons() {
    let cases = [
        (
            "a 1\nb{code 200} 1\n",
            2,
            "expected '=' after label name \"code\"",
        ),
        (
            "a{code=200} 1\n",
            1,
            "expected '\"' to open the value of label \"code\"",
        ),
        ("a 1 2 3\n", 1, "unexpected '3'"),
        ("a one\n", 1, "invalid value \"one\""),
        ("a 1 1.5\n", 1, "invalid timestamp \"1.5\""),
        ("a\n", 1, "missing value"),
        ("a=1\n", 1, "expected a space before the value"),
        ("# TYPE a gauge\n# TYPE a gauge\n", 2, "second TYPE"),
        ("# HELP a x\n# HELP a y\n", 2, "second HELP"),
        ("a 1\n# TYPE a gauge\n", 2, "after its samples"),
        ("# TYPE a meh\n", 1, "unknown metric type \"meh\""),
        ("# TYPE h histogram\nh_bucket 1\n", 2, "has no \"le\" label"),
        (
            "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n",
            2,
            "invalid le=\"x\"",
        ),
        ("# TYPE s summary\ns 1\n", 2, "has no \"quantile\" label"),
        ("a 1 # {t=\"1\"} 1\n", 1, "exemplars are not part"),
        ("1a 1\n", 1, "expected a metric name"),
        ("# HELP a.b x\n", 1, "invalid metric name"),
        ("a{x=\"1\",x=\"2\"} 1\n", 1, "duplicate label \"x\""),
        ("a{x=\"1 1\n", 1, "unterminated value of label \"x\""),
    ];
    for (text, line, reason) in cases {
        let e = prom_err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.reason.contains(reason), "{text:?}: {e}");
    }
}

#[test]
fn openmetrics_full_example() {
    let text = "\
# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32
acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0
acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
process_cpu_seconds_total 4.20072246e+06 1605281325.5 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1605281325.123
# TYPE lat histogram
lat_bucket{le=\"0.5\"} 1 # {trace_id=\"a\"} 0.2
lat_bucket{le=\"+Inf\"} 2
lat_count 2
lat_sum 0.9
# TYPE build info
build_info{version=\"1.2\"} 1
# TYPE door stateset
door{door=\"open\"} 1
door{door=\"closed\"} 0
# EOF
";
    let e = om(text);
    let fams: Vec<_> = e
        .families
        .iter()
        .map(|f| (f.name, f.kind, f.unit, f.samples.len()))
        .collect();
    assert_eq!(
        fams,
        vec![
            (
                "acme_http_router_request_seconds",
                MetricType::Summary,
                Some("seconds"),
                3
            ),
            ("go_goroutines", MetricType::Gauge, None, 1),
            (
                "process_cpu_seconds",
                MetricType::Counter,
                Some("seconds"),
                1
            ),
            ("lat", MetricType::Histogram, None, 4),
            ("build", MetricType::Info, None, 1),
            ("door", MetricType::StateSet, None, 2),
        ]
    );
    let s = &e.families[2].samples[0];
    assert_eq!(s.name, "process_cpu_seconds_total");
    assert_eq!(s.timestamp_ms, Some(1_605_281_325_500));
    let ex = s.exemplar.as_ref().expect("exemplar");
    assert_eq!(ex.value, 0.67);
    assert_eq!(ex.timestamp_ms, Some(1_605_281_325_123));
    assert_eq!(ex.labels[0].value, "KOO5S4vxi0o");
    assert_eq!(
        e.families[0].help.as_deref(),
        Some("Latency though all of ACME's HTTP request router.")
    );
    assert_eq!(
        e.families[3].samples[0].exemplar.as_ref().map(|x| x.value),
        Some(0.2)
    );
}

#[test]
fn openmetrics_rejections_say_why() {
    let cases = [
        ("a 1\n", 2, "missing \"# EOF\""),
        ("a 1\n\n# EOF\n", 2, "blank lines"),
        ("a 1\n# EOF\n\n", 3, "after \"# EOF\""),
        ("# random comment\n# EOF\n", 1, "unknown metadata"),
        (
            "# TYPE a counter\na 1\n# EOF\n",
            2,
            "does not fit counter family \"a\"",
        ),
        (
            "# TYPE a counter\na_total -1\n# EOF\n",
            2,
            "must not be negative",
        ),
        (
            "# TYPE a gauge\na 1 # {x=\"y\"} 1\n# EOF\n",
            2,
            "exemplars are only allowed",
        ),
        (
            "# TYPE a histogram\na_bucket{le=\"1\"} 0\n# EOF\n",
            2,
            "no le=\"+Inf\" bucket",
        ),
        (
            "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_count 2\na_sum 1\n# EOF\n",
            4,
            "count 2 differs from the +Inf bucket 1",
        ),
        (
            "# TYPE a_seconds gauge\n# UNIT a_seconds ms\n# EOF\n",
            2,
            "must be the suffix",
        ),
        (
            "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 1\n# EOF\n",
            4,
            "not contiguous",
        ),
        (
            "# TYPE a gauge\na 1 2\na 1 1\n# EOF\n",
            3,
            "timestamp went backwards",
        ),
        ("a{x=\"1\",} 1\n# EOF\n", 1, "trailing ','"),
        (
            "a  1\n# EOF\n",
            1,
            "expected the value of \"a\" after a single ' '",
        ),
        ("a 1 \n# EOF\n", 1, "trailing ' '"),
        (
            "# TYPE a_created gauge\n# TYPE a counter\n# EOF\n",
            2,
            "clashes",
        ),
    ];
    for (text, line, reason) in cases {
        let e = om_err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.reason.contains(reason), "{text:?}: {e}");
    }
}

#[test]
fn openmetrics_escapes_and_hashes_in_values() {
    let text = "# TYPE a counter\n# HELP a he\\n\\\\l\\tp \\\"q\\\"\na_total{foo=\"} # x\\\"\\n\"} 1 # {t=\"#\"} 2\n# EOF";
    let e = om(text);
    let f = &e.families[0];
    assert_eq!(f.help.as_deref(), Some("he\n\\l\\tp \"q\""));
    assert_eq!(f.samples[0].label("foo"), Some("} # x\"\n"));
    assert_eq!(f.samples[0].exemplar.as_ref().map(|x| x.value), Some(2.0));
}

#[test]
fn borrowed_unless_escaped() {
    let e = prom("a{x=\"plain\",y=\"es\\\\c\"} 1\n# HELP a plain help\n");
    let s = &e.families[0].samples[0];
    assert!(matches!(s.labels[0].value, Cow::Borrowed(_)));
    assert!(matches!(s.labels[1].value, Cow::Owned(_)));
    assert!(matches!(e.families[0].help, Some(Cow::Borrowed(_))));
}

#[test]
fn detect() {
    assert_eq!(detect_format("a 1\n# EOF\n"), Format::OpenMetrics);
    assert_eq!(detect_format("a 1\n# EOF"), Format::OpenMetrics);
    assert_eq!(detect_format("a 1\n"), Format::Prometheus);
}
