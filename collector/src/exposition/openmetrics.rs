//! The strict OpenMetrics 1.0 text parser.
//!
//! Syntax is checked line by line with single spaces as separators. The semantic rules are
//! checked as the samples stream by, so errors carry the line that broke them:
//!
//! - metadata (`HELP`, `TYPE`, `UNIT`) at most once per family and before its samples; no
//!   free-form comments, no blank lines, `# EOF` last;
//! - sample names must fit the family type (`_total`/`_created` for counters, `_bucket`,
//!   `_count`, `_sum` for histograms, ...); a sample that fits no family starts an `unknown`
//!   one; family names and the sample names they imply must not clash;
//! - the samples of one metric (label set without `le`/`quantile`/the stateset label) are
//!   contiguous, with timestamps either on all or none of them and never going backwards;
//! - counter-like samples are not NaN or negative; buckets and counts are integers; buckets
//!   are sorted by `le`, cumulative, end with `+Inf` whose value `_count` equals; `_sum`
//!   requires `_count` (and vice versa) and is absent when there are negative buckets;
//! - info samples are 1, stateset samples 0 or 1, quantiles lie in [0, 1];
//! - exemplars only on counter `_total` and histogram `_bucket` samples, at most 128
//!   characters of label names and values;
//! - a UNIT must be a suffix of the family name and is not allowed on info and stateset.

use super::number::{self, OmTimestamp};
use super::scan::{Cursor, Dialect, Lines, error, unescape_help};
use super::{Exemplar, Exposition, Family, Label, MetricType, ParseError, Sample};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// The most characters (code points) exemplar label names and values may have together.
const EXEMPLAR_MAX_CHARS: usize = 128;

/// Which part of a family a sample name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    Bare,
    Total,
    Created,
    Bucket,
    Count,
    Sum,
    GCount,
    GSum,
    Info,
}

impl Suffix {
    fn as_str(self) -> &'static str {
        match self {
            Suffix::Bare => "",
            Suffix::Total => "_total",
            Suffix::Created => "_created",
            Suffix::Bucket => "_bucket",
            Suffix::Count => "_count",
            Suffix::Sum => "_sum",
            Suffix::GCount => "_gcount",
            Suffix::GSum => "_gsum",
            Suffix::Info => "_info",
        }
    }
}

/// The sample names a family of this type has.
fn suffixes(kind: MetricType) -> &'static [Suffix] {
    use Suffix::*;
    match kind {
        MetricType::Counter => &[Total, Created],
        MetricType::Summary => &[Bare, Count, Sum, Created],
        MetricType::Histogram => &[Bucket, Count, Sum, Created],
        MetricType::GaugeHistogram => &[Bucket, GCount, GSum],
        MetricType::Info => &[Info],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[Bare],
    }
}

fn fit(family: &str, kind: MetricType, sample: &str) -> Option<Suffix> {
    let rest = sample.strip_prefix(family)?;
    suffixes(kind).iter().copied().find(|s| s.as_str() == rest)
}

/// The type named `s` in a `# TYPE` line (OpenMetrics spelling), if any.
pub(crate) fn type_name(s: &str) -> Option<MetricType> {
    Some(match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "gaugehistogram" => MetricType::GaugeHistogram,
        "summary" => MetricType::Summary,
        "info" => MetricType::Info,
        "stateset" => MetricType::StateSet,
        "unknown" => MetricType::Unknown,
        _ => return None,
    })
}

/// A metric name as a family name plus one of its type's suffixes, compared and hashed as
/// the concatenated name without building it.
#[derive(Clone, Copy)]
struct NameKey<'a> {
    base: &'a str,
    suffix: &'static str,
}

impl NameKey<'_> {
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.base.bytes().chain(self.suffix.bytes())
    }
}

impl PartialEq for NameKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.base.len() + self.suffix.len() == other.base.len() + other.suffix.len()
            && self.bytes().eq(other.bytes())
    }
}

impl Eq for NameKey<'_> {}

impl Hash for NameKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Hash the concatenation with a single `write`, as hashers need not be streaming.
        let (base, suffix) = (self.base.as_bytes(), self.suffix.as_bytes());
        let mut buf = [0u8; 128];
        if base.len() + suffix.len() <= buf.len() {
            buf[..base.len()].copy_from_slice(base);
            buf[base.len()..base.len() + suffix.len()].copy_from_slice(suffix);
            state.write(&buf[..base.len() + suffix.len()]);
        } else {
            let mut name = Vec::with_capacity(base.len() + suffix.len());
            name.extend_from_slice(base);
            name.extend_from_slice(suffix);
            state.write(&name);
        }
    }
}

/// The label whose value tells samples of one metric apart, and is left out of its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exclude<'a> {
    None,
    Label(&'a str),
    /// Info families: all samples count as one metric.
    All,
}

fn exclude_for<'a>(kind: MetricType, family: &'a str, suffix: Suffix) -> Exclude<'a> {
    match (kind, suffix) {
        (MetricType::Info, _) => Exclude::All,
        (MetricType::Summary, Suffix::Bare) => Exclude::Label("quantile"),
        (MetricType::StateSet, _) => Exclude::Label(family),
        (MetricType::Histogram | MetricType::GaugeHistogram, Suffix::Bucket) => {
            Exclude::Label("le")
        }
        _ => Exclude::None,
    }
}

fn kept<'l, 'a>(labels: &'l [Label<'a>], ex: Exclude<'_>) -> impl Iterator<Item = &'l Label<'a>> {
    labels.iter().filter(move |l| match ex {
        Exclude::None => true,
        Exclude::Label(n) => l.name != n,
        Exclude::All => false,
    })
}

/// Order-independent hash of a metric's identity (FNV-1a per label, summed).
fn group_hash(labels: &[Label<'_>], ex: Exclude<'_>) -> u64 {
    kept(labels, ex)
        .map(|l| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in l.name.bytes().chain([0xff]).chain(l.value.bytes()) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            h
        })
        .fold(0u64, u64::wrapping_add)
}

fn same_group(a: &[Label<'_>], ea: Exclude<'_>, b: &[Label<'_>], eb: Exclude<'_>) -> bool {
    kept(a, ea).count() == kept(b, eb).count()
        && kept(a, ea).all(|la| kept(b, eb).any(|lb| lb.name == la.name && lb.value == la.value))
}

/// Render a metric identity for error messages.
fn show_labels(labels: &[Label<'_>], ex: Exclude<'_>) -> String {
    let parts: Vec<String> = kept(labels, ex)
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Per-metric running checks of a histogram or gauge histogram.
#[derive(Debug, Default)]
struct HistCheck {
    active: bool,
    line: usize,
    count: Option<f64>,
    last_le: Option<f64>,
    last_bucket: f64,
    negative_bucket: bool,
    sum: bool,
    gsum: bool,
    negative_gsum: bool,
}

impl HistCheck {
    fn finish(&mut self, family: &str) -> Result<(), ParseError> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        let line = self.line;
        if self.last_le != Some(f64::INFINITY) {
            return Err(error(
                line,
                format!("histogram {family:?} has no le=\"+Inf\" bucket"),
            ));
        }
        if let Some(count) = self.count
            && count != self.last_bucket
        {
            return Err(error(
                line,
                format!(
                    "histogram {family:?}: count {count} differs from the +Inf bucket {}",
                    self.last_bucket
                ),
            ));
        }
        if self.sum && self.count.is_none() {
            return Err(error(
                line,
                format!("histogram {family:?} has _sum but no _count"),
            ));
        }
        if self.gsum && self.count.is_none() {
            return Err(error(
                line,
                format!("gauge histogram {family:?} has _gsum but no _gcount"),
            ));
        }
        if self.count.is_some() && !self.sum && !self.gsum {
            return Err(error(
                line,
                format!("histogram {family:?} has a count but no sum"),
            ));
        }
        if self.negative_bucket && self.sum {
            return Err(error(
                line,
                format!("histogram {family:?} has negative buckets, so it must not have _sum"),
            ));
        }
        if !self.negative_bucket && self.negative_gsum {
            return Err(error(
                line,
                format!("gauge histogram {family:?} has a negative _gsum but no negative buckets"),
            ));
        }
        Ok(())
    }

    fn observe(
        &mut self,
        suffix: Suffix,
        le: Option<f64>,
        value: f64,
        line: usize,
        family: &str,
    ) -> Result<(), ParseError> {
        if !self.active {
            *self = HistCheck {
                active: true,
                ..HistCheck::default()
            };
        }
        self.line = line;
        match suffix {
            Suffix::Bucket => {
                let le = le.unwrap_or(f64::NAN);
                if let Some(prev) = self.last_le
                    && le <= prev
                {
                    return Err(error(
                        line,
                        format!(
                            "buckets of histogram {family:?} out of order: le={le} after le={prev}"
                        ),
                    ));
                }
                if value < self.last_bucket {
                    return Err(error(
                        line,
                        format!(
                            "buckets of histogram {family:?} must be cumulative: {value} after {}",
                            self.last_bucket
                        ),
                    ));
                }
                self.negative_bucket |= le < 0.0;
                self.last_le = Some(le);
                self.last_bucket = value;
            }
            Suffix::Count | Suffix::GCount => self.count = Some(value),
            Suffix::Sum => self.sum = true,
            Suffix::GSum => {
                self.gsum = true;
                self.negative_gsum |= value < 0.0;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Hasher for keys that already are hashes ([`group_hash`]): passes the `u64` through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type GroupMap = HashMap<u64, GroupRep, BuildHasherDefault<PassThrough>>;

/// Where in the family's sample list a metric (group) first appeared.
#[derive(Debug, Clone, Copy)]
struct GroupRep {
    index: usize,
    suffix: Suffix,
}

/// The family being read.
struct Current<'a> {
    family: Family<'a>,
    line: usize,
    typed: bool,
    help_seen: bool,
    unit_seen: bool,
    /// Identity, suffix and timestamp of the last sample.
    last_hash: u64,
    last_suffix: Suffix,
    last_ts: Option<f64>,
    /// Metrics already seen, by identity hash; `collided` keeps the rare second entries.
    groups: GroupMap,
    collided: Vec<(u64, GroupRep)>,
    hist: HistCheck,
}

impl<'a> Current<'a> {
    fn new(name: &'a str, line: usize) -> Self {
        Current {
            family: Family {
                name,
                kind: MetricType::Unknown,
                help: None,
                unit: None,
                samples: Vec::new(),
            },
            line,
            typed: false,
            help_seen: false,
            unit_seen: false,
            last_hash: 0,
            last_suffix: Suffix::Bare,
            last_ts: None,
            groups: GroupMap::default(),
            collided: Vec::new(),
            hist: HistCheck::default(),
        }
    }

    fn ex(&self, suffix: Suffix) -> Exclude<'a> {
        exclude_for(self.family.kind, self.family.name, suffix)
    }

    fn seen_before(&self, hash: u64, labels: &[Label<'_>], ex: Exclude<'_>) -> bool {
        let samples = &self.family.samples;
        let matches = |rep: &GroupRep| {
            samples
                .get(rep.index)
                .is_some_and(|s| same_group(&s.labels, self.ex(rep.suffix), labels, ex))
        };
        self.groups.get(&hash).is_some_and(matches)
            || self
                .collided
                .iter()
                .any(|(h, rep)| *h == hash && matches(rep))
    }

    /// Grouping and timestamp rules; returns whether the sample starts a new metric or a new
    /// timestamp (which is where histogram checks restart).
    fn track_group(
        &mut self,
        c: &Cursor<'_>,
        suffix: Suffix,
        labels: &[Label<'_>],
        ts: Option<f64>,
    ) -> Result<bool, ParseError> {
        let ex = self.ex(suffix);
        let hash = group_hash(labels, ex);
        let same = match self.family.samples.last() {
            Some(prev) => {
                hash == self.last_hash
                    && same_group(&prev.labels, self.ex(self.last_suffix), labels, ex)
            }
            None => false,
        };
        if same {
            match (self.last_ts, ts) {
                (Some(_), None) | (None, Some(_)) => {
                    return Err(c.error(format!(
                        "metric {} of {:?} mixes samples with and without timestamps",
                        show_labels(labels, ex),
                        self.family.name
                    )));
                }
                (Some(prev), Some(now)) if now < prev && self.family.kind != MetricType::Info => {
                    return Err(c.error(format!(
                        "timestamp went backwards for metric {} of {:?}",
                        show_labels(labels, ex),
                        self.family.name
                    )));
                }
                _ => {}
            }
        } else {
            if self.seen_before(hash, labels, ex) {
                return Err(c.error(format!(
                    "samples of metric {} of {:?} are not contiguous",
                    show_labels(labels, ex),
                    self.family.name
                )));
            }
            let rep = GroupRep {
                index: self.family.samples.len(),
                suffix,
            };
            match self.groups.entry(hash) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(rep);
                }
                std::collections::hash_map::Entry::Occupied(_) => self.collided.push((hash, rep)),
            }
        }
        let restart = !same || self.last_ts != ts;
        self.last_hash = hash;
        self.last_suffix = suffix;
        self.last_ts = ts;
        Ok(restart)
    }
}

enum Meta {
    Help,
    Type,
    Unit,
}

struct Parser<'a> {
    families: Vec<Family<'a>>,
    claimed: HashSet<NameKey<'a>>,
    cur: Option<Current<'a>>,
    scratch: Vec<Label<'a>>,
}

/// Parse an OpenMetrics 1.0 payload.
pub(super) fn parse(text: &str) -> Result<Exposition<'_>, ParseError> {
    let mut p = Parser {
        families: Vec::new(),
        claimed: HashSet::new(),
        cur: None,
        scratch: Vec::new(),
    };
    let mut lines = Lines::new(text);
    let mut eof = false;
    for (no, line) in lines.by_ref() {
        if eof {
            return Err(error(no, "unexpected content after \"# EOF\""));
        }
        match line.as_bytes().first() {
            None => return Err(error(no, "blank lines are not allowed in OpenMetrics")),
            Some(b'#') if line == "# EOF" => eof = true,
            Some(b'#') => p.metadata(Cursor::new(line, no))?,
            Some(_) => p.sample(Cursor::new(line, no))?,
        }
    }
    if !eof {
        return Err(error(
            lines.lines_read() + 1,
            "missing \"# EOF\" at the end of OpenMetrics input",
        ));
    }
    p.finish_family()?;
    Ok(Exposition {
        families: p.families,
    })
}

impl<'a> Parser<'a> {
    /// Close the family being read: run its end-of-family checks and claim its names.
    fn finish_family(&mut self) -> Result<(), ParseError> {
        let Some(mut cur) = self.cur.take() else {
            return Ok(());
        };
        cur.hist.finish(cur.family.name)?;
        let base = cur.family.name;
        let kind = cur.family.kind;
        // Every family also claims its bare name, whatever its type.
        let own = suffixes(kind);
        let bare: &[Suffix] = if own.contains(&Suffix::Bare) {
            &[]
        } else {
            &[Suffix::Bare]
        };
        for &s in own.iter().chain(bare) {
            let key = NameKey {
                base,
                suffix: s.as_str(),
            };
            if !self.claimed.insert(key) {
                return Err(error(
                    cur.line,
                    format!(
                        "metric family {base:?} ({}) clashes with an earlier family over the name \"{base}{}\"",
                        kind.as_str(),
                        s.as_str()
                    ),
                ));
            }
        }
        self.families.push(cur.family);
        Ok(())
    }

    /// The family `name` on line `line`: the current one, or a new one after closing it.
    fn family_for(&mut self, name: &'a str, line: usize) -> Result<&mut Current<'a>, ParseError> {
        if self.cur.as_ref().is_none_or(|c| c.family.name != name) {
            self.finish_family()?;
        }
        Ok(self.cur.get_or_insert_with(|| Current::new(name, line)))
    }

    fn metadata(&mut self, mut c: Cursor<'a>) -> Result<(), ParseError> {
        if !c.eat_str("# ") {
            return Err(c.error(
                "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\" (OpenMetrics has no other comments)",
            ));
        }
        let keyword = c.token_until_space();
        let meta = match keyword {
            "HELP" => Meta::Help,
            "TYPE" => Meta::Type,
            "UNIT" => Meta::Unit,
            _ => {
                return Err(c.error(format!(
                    "unknown metadata \"# {keyword}\": expected HELP, TYPE, UNIT or EOF"
                )));
            }
        };
        if !c.eat(b' ') {
            return Err(c.error(format!(
                "\"# {keyword}\" must be followed by a space and a metric name"
            )));
        }
        let Some(name) = c.metric_name() else {
            return Err(c.error(format!(
                "expected a metric name after \"# {keyword}\", found {}",
                c.found()
            )));
        };
        if !c.eat(b' ') {
            return Err(if c.is_end() {
                c.error(format!(
                    "\"# {keyword} {name}\" needs a space and a value after the name"
                ))
            } else {
                c.error(format!(
                    "expected ' ' after metric name {name:?}, found {}",
                    c.found()
                ))
            });
        }
        let rest = c.rest();
        let line = c.line();
        let cur = self.family_for(name, line)?;
        if !cur.family.samples.is_empty() {
            return Err(c.error(format!("\"# {keyword}\" for {name:?} after its samples")));
        }
        match meta {
            Meta::Help => {
                if cur.help_seen {
                    return Err(c.error(format!("second HELP for {name:?}")));
                }
                cur.help_seen = true;
                cur.family.help = Some(unescape_help(rest, true));
            }
            Meta::Type => {
                if cur.typed {
                    return Err(c.error(format!("second TYPE for {name:?}")));
                }
                let Some(kind) = type_name(rest) else {
                    let hint = if rest == "untyped" {
                        " (OpenMetrics calls it \"unknown\")"
                    } else {
                        ""
                    };
                    return Err(c.error(format!(
                        "unknown type {rest:?}{hint}: expected counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown"
                    )));
                };
                if cur.family.unit.is_some()
                    && matches!(kind, MetricType::Info | MetricType::StateSet)
                {
                    return Err(c.error(format!("{} {name:?} must not have a UNIT", kind.as_str())));
                }
                cur.typed = true;
                cur.family.kind = kind;
            }
            Meta::Unit => {
                if cur.unit_seen {
                    return Err(c.error(format!("second UNIT for {name:?}")));
                }
                if !super::scan::is_name_chars(rest) {
                    return Err(c.error(format!("invalid unit {rest:?}")));
                }
                cur.unit_seen = true;
                if !rest.is_empty() {
                    if !name.strip_suffix(rest).is_some_and(|p| p.ends_with('_')) {
                        return Err(c.error(format!(
                            "unit {rest:?} must be the suffix of the metric name: {name:?} does not end in \"_{rest}\""
                        )));
                    }
                    if matches!(cur.family.kind, MetricType::Info | MetricType::StateSet) {
                        return Err(c.error(format!(
                            "{} {name:?} must not have a UNIT",
                            cur.family.kind.as_str()
                        )));
                    }
                    cur.family.unit = Some(rest);
                }
            }
        }
        Ok(())
    }

    fn sample(&mut self, mut c: Cursor<'a>) -> Result<(), ParseError> {
        let Some(name) = c.metric_name() else {
            return Err(c.error(format!("expected a metric name, found {}", c.found())));
        };
        self.scratch.clear();
        let what = if c.eat(b'{') {
            c.labels(Dialect::Strict, "label set", &mut self.scratch)?;
            "label set"
        } else {
            "metric name"
        };
        if !c.eat(b' ') {
            return Err(if c.is_end() {
                c.error(format!("missing value for {name:?}"))
            } else {
                c.error(format!(
                    "expected ' ' after the {what} of {name:?}, found {}",
                    c.found()
                ))
            });
        }
        let tok = c.token_until_space();
        if tok.is_empty() {
            return Err(c.error(format!(
                "expected the value of {name:?} after a single ' ', found {}",
                c.found()
            )));
        }
        let Some(value) = number::parse_value(tok) else {
            return Err(c.error(format!("invalid value {tok:?} for {name:?}")));
        };
        let mut ts: Option<OmTimestamp> = None;
        let mut exemplar = None;
        if c.eat(b' ') {
            if c.is_end() {
                return Err(c.error(format!("trailing ' ' after the value of {name:?}")));
            }
            if c.peek() == Some(b' ') {
                return Err(c.error(format!("more than one ' ' after the value of {name:?}")));
            }
            if c.peek() != Some(b'#') {
                let tok = c.token_until_space();
                ts = Some(number::parse_om_timestamp(tok).ok_or_else(|| {
                    c.error(format!(
                        "invalid timestamp {tok:?} (expected seconds as a real number)"
                    ))
                })?);
                if c.eat(b' ') && c.peek() != Some(b'#') {
                    return Err(c.error(format!(
                        "expected \"# {{\" (an exemplar) after the timestamp, found {}",
                        c.found()
                    )));
                }
            }
            if c.peek() == Some(b'#') {
                exemplar = Some(exemplar_after_hash(&mut c)?);
            }
        }
        if !c.is_end() {
            return Err(c.error(format!(
                "unexpected {} after the value of {name:?}",
                c.found()
            )));
        }

        // Which family the sample belongs to.
        let suffix = match self.cur.as_ref() {
            Some(cur) => match fit(cur.family.name, cur.family.kind, name) {
                Some(s) => Some(s),
                None if cur.family.name == name => {
                    let expected: Vec<String> = suffixes(cur.family.kind)
                        .iter()
                        .map(|s| format!("{name}{}", s.as_str()))
                        .collect();
                    return Err(c.error(format!(
                        "sample {name:?} does not fit {} family {name:?}: expected {}",
                        cur.family.kind.as_str(),
                        expected.join(" or ")
                    )));
                }
                None => None,
            },
            None => None,
        };
        let suffix = match suffix {
            Some(s) => s,
            None => {
                self.finish_family()?;
                let mut cur = Current::new(name, c.line());
                cur.typed = true;
                self.cur = Some(cur);
                Suffix::Bare
            }
        };
        let sample = Sample {
            name,
            // One exactly sized allocation per sample; the scratch keeps its capacity.
            labels: self.scratch.drain(..).collect(),
            value,
            timestamp_ms: ts.map(|t| t.ms),
            exemplar,
        };
        self.check_and_push(&c, suffix, sample, ts.map(|t| t.seconds))
    }

    /// The per-sample rules; pushes the sample onto the current family when it passes.
    fn check_and_push(
        &mut self,
        c: &Cursor<'a>,
        suffix: Suffix,
        sample: Sample<'a>,
        ts_seconds: Option<f64>,
    ) -> Result<(), ParseError> {
        let Some(cur) = self.cur.as_mut() else {
            return Err(c.error("internal error: no current family"));
        };
        let kind = cur.family.kind;
        let family = cur.family.name;
        let (name, labels, value) = (sample.name, &sample.labels, sample.value);

        if kind == MetricType::StateSet && !labels.iter().any(|l| l.name == family) {
            return Err(c.error(format!(
                "stateset sample {name:?} needs a label named {family:?}"
            )));
        }
        let mut le = None;
        if suffix == Suffix::Bucket {
            let Some(l) = labels.iter().find(|l| l.name == "le") else {
                return Err(c.error(format!("bucket {name:?} has no \"le\" label")));
            };
            let v = number::parse_value(&l.value).filter(|v| !v.is_nan());
            let canonical =
                v.is_some_and(|v| v.is_finite() || l.value == "+Inf" || l.value == "-Inf");
            if !canonical {
                return Err(c.error(format!(
                    "invalid le={:?} on {name:?}: expected a number, with infinity written \"+Inf\"",
                    l.value
                )));
            }
            le = v;
        }
        if matches!(suffix, Suffix::Bucket | Suffix::Count | Suffix::GCount)
            && !number::is_integer(value)
        {
            return Err(c.error(format!("{name:?} must be a whole number, not {value}")));
        }
        if kind == MetricType::Summary && suffix == Suffix::Bare {
            let q = labels.iter().find(|l| l.name == "quantile");
            let ok = q
                .and_then(|l| number::parse_value(&l.value))
                .is_some_and(|q| (0.0..=1.0).contains(&q));
            if !ok {
                return Err(c.error(match q {
                    None => format!("summary quantile sample {name:?} has no \"quantile\" label"),
                    Some(l) => format!(
                        "invalid quantile={:?} on {name:?}: expected a number in [0, 1]",
                        l.value
                    ),
                }));
            }
        }

        let restart = cur.track_group(c, suffix, labels, ts_seconds)?;

        match kind {
            MetricType::StateSet if value != 0.0 && value != 1.0 => {
                return Err(c.error(format!(
                    "stateset {family:?} values must be 0 or 1, not {value}"
                )));
            }
            MetricType::Info if value != 1.0 => {
                return Err(c.error(format!("info {family:?} values must be 1, not {value}")));
            }
            MetricType::Summary if suffix == Suffix::Bare && value < 0.0 => {
                return Err(c.error(format!(
                    "quantile values of {family:?} must not be negative, not {value}"
                )));
            }
            _ => {}
        }
        let counter_like = matches!(
            suffix,
            Suffix::Total
                | Suffix::Sum
                | Suffix::Count
                | Suffix::Bucket
                | Suffix::GCount
                | Suffix::GSum
        );
        if counter_like && value.is_nan() {
            return Err(c.error(format!("{name:?} must not be NaN")));
        }
        if counter_like && suffix != Suffix::GSum && value < 0.0 {
            return Err(c.error(format!("{name:?} must not be negative, not {value}")));
        }
        if sample.exemplar.is_some() {
            let allowed = match kind {
                MetricType::Counter => suffix == Suffix::Total,
                MetricType::Histogram | MetricType::GaugeHistogram => suffix == Suffix::Bucket,
                _ => false,
            };
            if !allowed {
                return Err(c.error(format!(
                    "exemplars are only allowed on counter _total and histogram _bucket samples, not on {name:?} ({})",
                    kind.as_str()
                )));
            }
        }
        if matches!(kind, MetricType::Histogram | MetricType::GaugeHistogram) {
            if restart {
                cur.hist.finish(family)?;
            }
            cur.hist.observe(suffix, le, value, c.line(), family)?;
        }

        cur.family.samples.push(sample);
        Ok(())
    }
}

/// Parse ` # {labels} value [timestamp]` from the `#`.
fn exemplar_after_hash<'a>(c: &mut Cursor<'a>) -> Result<Exemplar<'a>, ParseError> {
    c.bump();
    if !c.eat(b' ') || !c.eat(b'{') {
        return Err(c.error("malformed exemplar: expected \" # {labels} value [timestamp]\""));
    }
    let mut labels = Vec::new();
    c.labels(Dialect::Strict, "exemplar label set", &mut labels)?;
    if !c.eat(b' ') {
        return Err(c.error(format!(
            "expected ' ' and a value after the exemplar labels, found {}",
            c.found()
        )));
    }
    let tok = c.token_until_space();
    if tok.is_empty() {
        return Err(c.error(format!(
            "expected the exemplar value after a single ' ', found {}",
            c.found()
        )));
    }
    let Some(value) = number::parse_value(tok) else {
        return Err(c.error(format!("invalid exemplar value {tok:?}")));
    };
    let mut timestamp_ms = None;
    if c.eat(b' ') {
        let tok = c.token_until_space();
        if tok.is_empty() {
            return Err(c.error(format!(
                "expected an exemplar timestamp after ' ', found {}",
                c.found()
            )));
        }
        let Some(ts) = number::parse_om_timestamp(tok) else {
            return Err(c.error(format!("invalid exemplar timestamp {tok:?}")));
        };
        timestamp_ms = Some(ts.ms);
    }
    if !c.is_end() {
        return Err(c.error(format!("unexpected {} after the exemplar", c.found())));
    }
    let chars: usize = labels
        .iter()
        .map(|l| l.name.len() + l.value.chars().count())
        .sum();
    if chars > EXEMPLAR_MAX_CHARS {
        return Err(c.error(format!(
            "exemplar labels are {chars} characters long; at most {EXEMPLAR_MAX_CHARS} are allowed"
        )));
    }
    Ok(Exemplar {
        labels,
        value,
        timestamp_ms,
    })
}
