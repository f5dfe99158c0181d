//! Prometheus text format 0.0.4 and OpenMetrics 1.0 parser.
//!
//! # Design
//!
//! The parser is a hand-written, line-oriented, byte-level scanner; there are no regexes and
//! no intermediate token stream. Every name in the result is a `&str` slice of the input;
//! label values and HELP texts are `Cow::Borrowed` unless they contain escapes, in which case
//! only that one string is unescaped into an owned buffer. Apart from those, the allocations
//! are the family list, each family's sample list and one exactly sized label vector per
//! sample (labels are scanned into a reused scratch vector first).
//!
//! The pieces:
//!
//! - `scan`: line splitting (core's memchr), a cursor over one line with table-driven name
//!   scanning, label sets, quoted values and HELP unescaping, shared by both dialects;
//! - `number`: the number grammar (decimal reals, `[+-]Inf`, `NaN`; no hex, no `_`), a fast
//!   path for short integers, and exact decimal conversion of OpenMetrics timestamps;
//! - `prometheus`: the lenient 0.0.4 dialect (comments, blank lines, repeated blanks, samples
//!   without TYPE, non-contiguous families), matching what Prometheus' Go parser accepts;
//! - `openmetrics`: the strict 1.0 dialect with the semantic rules of the specification and
//!   of the OpenMetrics project's conformance suite (family/sample naming, clashes, grouping,
//!   timestamp order, counter and histogram invariants, exemplar placement and size, units,
//!   `# EOF`);
//! - `check`: a `promtool check metrics`-like report with a short list of naming lints.
//!
//! Errors are [`ParseError`]s with the 1-based line number and a reason that names the
//! offending metric or label, e.g. `line 12: expected '=' after label name "code", found ' '`.
//!
//! # Results
//!
//! [`parse`] returns families in input order. A family's `name` is the `# TYPE` name
//! (OpenMetrics: without `_total`, `_bucket`, ...; Prometheus: as written, so a counter family
//! is usually `..._total`). Each [`Sample`] keeps its full sample name (e.g. `foo_bucket`) and
//! its labels in input order, `le` and `quantile` included. Timestamps are Unix milliseconds:
//! Prometheus text timestamps are integer milliseconds already; OpenMetrics float seconds are
//! converted exactly from their decimal digits, truncated toward zero to whole milliseconds and
//! saturated to the `i64` range.

use std::borrow::Cow;

mod check;
mod number;
mod openmetrics;
mod prometheus;
mod scan;

pub use check::{CheckReport, LintKind, LintWarning, check, report};
pub(crate) use openmetrics::type_name;
pub use scan::{is_label_name, is_metric_name};

/// Which text format a payload is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

/// Metric family type as declared by `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A monotonically increasing count (`counter`).
    Counter,
    /// A value that goes up and down (`gauge`).
    Gauge,
    /// Cumulative buckets plus count and sum (`histogram`).
    Histogram,
    /// OpenMetrics `gaugehistogram`: buckets with `_gcount` and `_gsum`.
    GaugeHistogram,
    /// Quantiles plus count and sum (`summary`).
    Summary,
    /// OpenMetrics `info`: `_info` samples with value 1.
    Info,
    /// OpenMetrics `stateset`: one 0/1 sample per state.
    StateSet,
    /// OpenMetrics `unknown`, Prometheus `untyped`, or no `# TYPE` at all.
    Unknown,
}

impl MetricType {
    /// The OpenMetrics spelling of the type (`unknown` for Prometheus' `untyped`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// One label pair; the value is borrowed unless it contained escapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Label<'a> {
    /// Label name.
    pub name: &'a str,
    /// Label value with escapes (`\\`, `\"`, `\n`) resolved.
    pub value: Cow<'a, str>,
}

/// An OpenMetrics exemplar attached to a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    /// The exemplar's labels (e.g. a trace id), in input order.
    pub labels: Vec<Label<'a>>,
    /// The exemplar's value.
    pub value: f64,
    /// Unix milliseconds, when the exemplar carries a timestamp.
    pub timestamp_ms: Option<i64>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// Full sample name, e.g. `http_requests_total` or `latency_bucket`.
    pub name: &'a str,
    /// Labels in input order, `le` and `quantile` included.
    pub labels: Vec<Label<'a>>,
    /// The value; NaN and infinities are allowed where the format allows them.
    pub value: f64,
    /// Unix milliseconds (OpenMetrics seconds are converted).
    pub timestamp_ms: Option<i64>,
    /// The OpenMetrics exemplar, if any.
    pub exemplar: Option<Exemplar<'a>>,
}

impl Sample<'_> {
    /// The value of label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_ref())
    }
}

/// A metric family: metadata plus its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family<'a> {
    /// The family name as declared by `# TYPE`/`# HELP` (or the sample name without them).
    pub name: &'a str,
    /// The declared type; [`MetricType::Unknown`] without a `# TYPE`.
    pub kind: MetricType,
    /// HELP text with escapes resolved.
    pub help: Option<Cow<'a, str>>,
    /// OpenMetrics UNIT (`None` when absent or empty).
    pub unit: Option<&'a str>,
    /// The family's samples in input order.
    pub samples: Vec<Sample<'a>>,
}

/// A parsed payload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposition<'a> {
    /// Families in input order.
    pub families: Vec<Family<'a>>,
}

impl<'a> Exposition<'a> {
    /// The family called `name`, if present.
    pub fn family(&self, name: &str) -> Option<&Family<'a>> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Total number of samples over all families.
    pub fn sample_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }
}

/// Why a payload was rejected, with the 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number of the offending line.
    pub line: usize,
    /// What is wrong, naming the metric or label concerned.
    pub reason: String,
}

/// Guess the format: OpenMetrics when the payload ends in `# EOF`.
pub fn detect_format(text: &str) -> Format {
    if text.trim_end_matches('\n').ends_with("# EOF") {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

/// Parse a whole payload.
///
/// Prometheus text is parsed leniently, OpenMetrics strictly (see the module docs). The
/// result borrows from `text`.
pub fn parse(text: &str, format: Format) -> Result<Exposition<'_>, ParseError> {
    match format {
        Format::Prometheus => prometheus::parse(text),
        Format::OpenMetrics => openmetrics::parse(text),
    }
}

#[cfg(test)]
mod tests;
