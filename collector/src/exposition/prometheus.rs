//! The lenient Prometheus text format 0.0.4 parser.
//!
//! Follows what Prometheus' own Go parser accepts: blank lines and free-form `#` comments are
//! skipped; spaces and tabs may repeat between tokens and inside `{...}`; a trailing comma in
//! a label set and a trailing `\r` are tolerated; samples without a `# TYPE` form `untyped`
//! (here [`MetricType::Unknown`]) families. Samples are attached to the family whose name they
//! carry (or, for a histogram/summary, whose name plus `_bucket`/`_count`/`_sum` they carry),
//! even when the family's samples are not contiguous. Rejected: malformed names, label sets,
//! values and timestamps (integer milliseconds), a second HELP or TYPE for a name, a TYPE after
//! the family's samples, buckets without a numeric `le` and summary quantiles without a
//! numeric `quantile`.

use super::number;
use super::scan::{Cursor, Dialect, Lines, unescape_help};
use super::{Exposition, Family, Label, MetricType, ParseError, Sample};
use std::collections::HashMap;

struct Meta {
    typed: bool,
    help_seen: bool,
}

struct Parser<'a> {
    families: Vec<Family<'a>>,
    meta: Vec<Meta>,
    by_name: HashMap<&'a str, usize>,
    cur: Option<usize>,
    scratch: Vec<Label<'a>>,
}

/// Parse a Prometheus 0.0.4 text payload.
pub(super) fn parse(text: &str) -> Result<Exposition<'_>, ParseError> {
    let mut p = Parser {
        families: Vec::new(),
        meta: Vec::new(),
        by_name: HashMap::new(),
        cur: None,
        scratch: Vec::new(),
    };
    for (no, line) in Lines::new(text) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut c = Cursor::new(line, no);
        c.skip_blanks();
        match c.peek() {
            None => {}
            Some(b'#') => p.comment(c)?,
            Some(_) => p.sample(c)?,
        }
    }
    Ok(Exposition {
        families: p.families,
    })
}

fn type_name(s: &str) -> Option<MetricType> {
    Some(match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" => MetricType::Unknown,
        _ => return None,
    })
}

/// Whether `sample` belongs to `family`: same name, or a histogram/summary part.
#[inline]
fn accepts(family: &Family<'_>, sample: &str) -> bool {
    let Some(rest) = sample.strip_prefix(family.name) else {
        return false;
    };
    match rest {
        "" => true,
        "_count" | "_sum" => matches!(family.kind, MetricType::Histogram | MetricType::Summary),
        "_bucket" => family.kind == MetricType::Histogram,
        _ => false,
    }
}

impl<'a> Parser<'a> {
    fn new_family(&mut self, name: &'a str) -> usize {
        let i = self.families.len();
        self.families.push(Family {
            name,
            kind: MetricType::Unknown,
            help: None,
            unit: None,
            samples: Vec::new(),
        });
        self.meta.push(Meta {
            typed: false,
            help_seen: false,
        });
        self.by_name.insert(name, i);
        i
    }

    /// The family a `# HELP`/`# TYPE` line names (created if new); it becomes current.
    fn family_named(&mut self, name: &'a str) -> usize {
        let i = match self.cur {
            Some(i) if self.families[i].name == name => i,
            _ => match self.by_name.get(name) {
                Some(&i) => i,
                None => self.new_family(name),
            },
        };
        self.cur = Some(i);
        i
    }

    /// The family a sample belongs to (created as untyped if none); it becomes current.
    fn family_of_sample(&mut self, name: &'a str) -> usize {
        if let Some(i) = self.cur
            && accepts(&self.families[i], name)
        {
            return i;
        }
        let found = self.by_name.get(name).copied().or_else(|| {
            [("_bucket", true), ("_count", false), ("_sum", false)]
                .iter()
                .find_map(|&(suffix, hist_only)| {
                    let &i = self.by_name.get(name.strip_suffix(suffix)?)?;
                    let kind = self.families[i].kind;
                    let ok = kind == MetricType::Histogram
                        || (!hist_only && kind == MetricType::Summary);
                    ok.then_some(i)
                })
        });
        let i = match found {
            Some(i) => i,
            None => self.new_family(name),
        };
        self.cur = Some(i);
        i
    }

    fn comment(&mut self, mut c: Cursor<'a>) -> Result<(), ParseError> {
        c.bump(); // '#'
        if !c.skip_blanks() {
            return Ok(()); // "#foo": a plain comment
        }
        let keyword = c.token_until_blank();
        let help = match keyword {
            "HELP" => true,
            "TYPE" => false,
            _ => return Ok(()),
        };
        c.skip_blanks();
        let Some(name) = c.metric_name() else {
            return Err(c.error(format!(
                "expected a metric name after \"# {keyword}\", found {}",
                c.found()
            )));
        };
        if !c.skip_blanks() && !c.is_end() {
            return Err(c.error(format!(
                "invalid metric name in \"# {keyword}\": unexpected {} after {name:?}",
                c.found()
            )));
        }
        let i = self.family_named(name);
        if help {
            let m = &mut self.meta[i];
            if m.help_seen {
                return Err(c.error(format!("second HELP line for {name:?}")));
            }
            m.help_seen = true;
            self.families[i].help = Some(unescape_help(c.rest(), false));
        } else {
            let tok = c.token_until_blank();
            c.skip_blanks();
            if !c.is_end() {
                return Err(c.error(format!(
                    "unexpected {} after the type of {name:?}",
                    c.found()
                )));
            }
            let Some(kind) = type_name(tok) else {
                return Err(c.error(format!(
                    "unknown metric type {tok:?} for {name:?}: expected counter, gauge, histogram, summary or untyped"
                )));
            };
            if self.meta[i].typed {
                return Err(c.error(format!("second TYPE line for {name:?}")));
            }
            if !self.families[i].samples.is_empty() {
                return Err(c.error(format!("TYPE line for {name:?} after its samples")));
            }
            self.meta[i].typed = true;
            self.families[i].kind = kind;
        }
        Ok(())
    }

    fn sample(&mut self, mut c: Cursor<'a>) -> Result<(), ParseError> {
        let Some(name) = c.metric_name() else {
            return Err(c.error(format!("expected a metric name, found {}", c.found())));
        };
        let mut blank = c.skip_blanks();
        self.scratch.clear();
        if c.eat(b'{') {
            c.labels(Dialect::Lenient, "label set", &mut self.scratch)?;
            blank = c.skip_blanks() || c.is_end();
        }
        if !blank && !c.is_end() {
            return Err(c.error(format!(
                "expected a space before the value of {name:?}, found {}",
                c.found()
            )));
        }
        let tok = c.token_until_blank();
        if tok.is_empty() {
            return Err(c.error(format!("missing value for {name:?}")));
        }
        let Some(value) = number::parse_value(tok) else {
            return Err(c.error(format!("invalid value {tok:?} for {name:?}")));
        };
        let mut timestamp_ms = None;
        if c.skip_blanks() && !c.is_end() {
            let tok = c.token_until_blank();
            if tok.starts_with('#') {
                return Err(c.error(
                    "exemplars are not part of the Prometheus text format (parse it as OpenMetrics)",
                ));
            }
            let Some(ts) = number::parse_prom_timestamp(tok) else {
                return Err(c.error(format!(
                    "invalid timestamp {tok:?}: expected integer milliseconds"
                )));
            };
            timestamp_ms = Some(ts);
            c.skip_blanks();
        }
        if !c.is_end() {
            return Err(c.error(format!(
                "unexpected {} after the value of {name:?}",
                c.found()
            )));
        }

        let i = self.family_of_sample(name);
        let family = &mut self.families[i];
        let special = match (family.kind, name.strip_prefix(family.name)) {
            (MetricType::Histogram, Some("_bucket")) => Some("le"),
            (MetricType::Summary, Some("")) => Some("quantile"),
            _ => None,
        };
        if let Some(label) = special {
            match self.scratch.iter().find(|l| l.name == label) {
                None => return Err(c.error(format!("{name:?} has no {label:?} label"))),
                Some(l) if number::parse_value(&l.value).is_none() => {
                    return Err(c.error(format!(
                        "invalid {label}={:?} on {name:?}: expected a number",
                        l.value
                    )));
                }
                Some(_) => {}
            }
        }
        let labels = self.scratch.drain(..).collect();
        family.samples.push(Sample {
            name,
            labels,
            value,
            timestamp_ms,
            exemplar: None,
        });
        Ok(())
    }
}
