//! `promtool check metrics` in spirit: parse a payload, count it, and lint the naming.

use super::{Exposition, Family, Format, MetricType, ParseError, detect_format, parse};
use std::fmt;

/// What a [`LintWarning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LintKind {
    /// The family has no HELP text (or an empty one).
    MissingHelp,
    /// A counter whose name does not end in `_total` (Prometheus text only: in OpenMetrics the
    /// `_total` suffix is part of the sample names by construction).
    CounterWithoutTotal,
    /// A family that is not a counter but whose name ends in `_total`.
    NonCounterWithTotal,
    /// The name contains a unit that is not the base unit, e.g. `_milliseconds`.
    NonBaseUnit,
    /// An `le` label outside a histogram or a `quantile` label outside a summary.
    ReservedLabel,
}

/// One lint finding about one metric family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintWarning {
    /// The metric family name.
    pub metric: String,
    /// Which rule fired.
    pub kind: LintKind,
    /// The human-readable problem, in promtool's wording.
    pub message: String,
}

impl fmt::Display for LintWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.metric, self.message)
    }
}

/// The outcome of [`check`] on a payload that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The format the payload was parsed as.
    pub format: Format,
    /// Number of metric families (including ones with metadata only).
    pub families: usize,
    /// Number of sample lines.
    pub samples: usize,
    /// Lint findings, in family order.
    pub warnings: Vec<LintWarning>,
}

/// Parse `text` (format detected with [`detect_format`] when `None`) and lint it like
/// `promtool check metrics`. Parse errors are returned as such; lint findings are warnings.
pub fn check(text: &str, format: Option<Format>) -> Result<CheckReport, ParseError> {
    let format = format.unwrap_or_else(|| detect_format(text));
    let exposition = parse(text, format)?;
    Ok(report(&exposition, format))
}

/// Count and lint an already parsed payload.
pub fn report(exposition: &Exposition<'_>, format: Format) -> CheckReport {
    let mut warnings = Vec::new();
    for family in &exposition.families {
        lint_family(family, format, &mut warnings);
    }
    CheckReport {
        format,
        families: exposition.families.len(),
        samples: exposition.families.iter().map(|f| f.samples.len()).sum(),
        warnings,
    }
}

/// Base units and the base unit of each known non-base one (promlint's table, trimmed).
const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("bits", "bytes"),
];

const PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mebi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

/// The first unit word of a metric name with its base unit, e.g. `("milliseconds", "seconds")`.
fn unit_of(name: &str) -> Option<(&str, &'static str)> {
    name.split('_').find_map(|word| {
        let base_of = |w: &str| UNITS.iter().find(|(u, _)| *u == w).map(|&(_, b)| b);
        base_of(word)
            .or_else(|| {
                PREFIXES
                    .iter()
                    .find_map(|p| word.strip_prefix(p).and_then(base_of))
            })
            .map(|base| (word, base))
    })
}

fn lint_family(family: &Family<'_>, format: Format, out: &mut Vec<LintWarning>) {
    let mut warn = |kind: LintKind, message: String| {
        out.push(LintWarning {
            metric: family.name.to_owned(),
            kind,
            message,
        });
    };
    let name = family.name;
    if family.help.as_deref().is_none_or(str::is_empty) {
        warn(LintKind::MissingHelp, "no help text".to_owned());
    }
    let total = name.ends_with("_total");
    if format == Format::Prometheus && family.kind == MetricType::Counter && !total {
        warn(
            LintKind::CounterWithoutTotal,
            "counter metrics should have \"_total\" suffix".to_owned(),
        );
    }
    if family.kind != MetricType::Counter && total {
        warn(
            LintKind::NonCounterWithTotal,
            "non-counter metrics should not have \"_total\" suffix".to_owned(),
        );
    }
    if let Some((unit, base)) = unit_of(name)
        && unit != base
    {
        warn(
            LintKind::NonBaseUnit,
            format!("use base unit {base:?} instead of {unit:?}"),
        );
    }
    let histogram = matches!(
        family.kind,
        MetricType::Histogram | MetricType::GaugeHistogram
    );
    let has_label = |label: &str| {
        family
            .samples
            .iter()
            .any(|s| s.labels.iter().any(|l| l.name == label))
    };
    if !histogram && has_label("le") {
        warn(
            LintKind::ReservedLabel,
            "non-histogram metrics should not have \"le\" label".to_owned(),
        );
    }
    if family.kind != MetricType::Summary && has_label("quantile") {
        warn(
            LintKind::ReservedLabel,
            "non-summary metrics should not have \"quantile\" label".to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, format: Option<Format>) -> Vec<(String, LintKind)> {
        check(text, format)
            .unwrap()
            .warnings
            .into_iter()
            .map(|w| (w.metric, w.kind))
            .collect()
    }

    #[test]
    fn counts_and_clean_payload() {
        let text =
            "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\n";
        let r = check(text, None).unwrap();
        assert_eq!(
            (r.format, r.families, r.samples),
            (Format::Prometheus, 1, 2)
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn lints() {
        let text = "\
# TYPE requests counter
requests 1
# HELP queue_total Q.
# TYPE queue_total gauge
queue_total 3
# HELP istio_request_duration_milliseconds D.
# TYPE istio_request_duration_milliseconds histogram
istio_request_duration_milliseconds_bucket{le=\"+Inf\"} 1
# HELP size_kilobytes S.
# TYPE size_kilobytes gauge
size_kilobytes{quantile=\"0.5\"} 1
";
        let got = kinds(text, Some(Format::Prometheus));
        use LintKind::*;
        assert_eq!(
            got,
            vec![
                ("requests".into(), MissingHelp),
                ("requests".into(), CounterWithoutTotal),
                ("queue_total".into(), NonCounterWithTotal),
                ("istio_request_duration_milliseconds".into(), NonBaseUnit),
                ("size_kilobytes".into(), NonBaseUnit),
                ("size_kilobytes".into(), ReservedLabel),
            ]
        );
        let r = check(text, None).unwrap();
        assert_eq!(
            r.warnings[3].to_string(),
            "istio_request_duration_milliseconds: use base unit \"seconds\" instead of \"milliseconds\""
        );
    }

    #[test]
    fn openmetrics_counters_are_not_linted_for_total() {
        let text = "# TYPE a counter\n# HELP a A.\na_total 1\n# EOF\n";
        let r = check(text, None).unwrap();
        assert_eq!(r.format, Format::OpenMetrics);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn base_units_and_parse_errors() {
        assert_eq!(unit_of("node_memory_bytes"), Some(("bytes", "bytes")));
        assert_eq!(unit_of("uptime_hours"), Some(("hours", "seconds")));
        assert_eq!(
            unit_of("x_microseconds_total"),
            Some(("microseconds", "seconds"))
        );
        assert_eq!(unit_of("up"), None);
        let e = check("a{b} 1\n", None).unwrap_err();
        assert_eq!(e.line, 1);
    }
}
