//! `opscope eval entity`: the per-entity judgement (one entity, many signals, judged as one)
//! on labelled server metrics in the Application Server Dataset layout
//! (`../shared/data/anomaly/asd/`: per server `train.csv`, `test.csv` with a `label` column,
//! `interpretation.txt` with the anomalous segments and their metrics).
//!
//! For each server, one live per-signal detector per metric (the same detector and generic
//! configuration `opscope detect` runs) sees the training rows to warm up, then the test rows
//! causally. The entity is alarming at a row when any of its signals scores at or above the
//! threshold; the metrics it blames are those signals, highest score first.
//!
//! Scoring is event-level: a labelled segment is detected when an alarm falls inside it (the
//! delay is from its first row to the first alarm); a run of alarming rows that touches no
//! segment is one false alarm. The threshold is the only parameter chosen here, and it is
//! chosen **leave-one-server-out**: each server is scored at the threshold that maximises the
//! F1 of the other servers pooled. The in-sample figure (one threshold for all, chosen on all)
//! is reported beside it.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Errors reading the dataset.
#[derive(Debug, thiserror::Error)]
pub enum EntityEvalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Malformed {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{0}: no server directories (expected omi-1/train.csv, omi-1/test.csv, ...)")]
    Empty(PathBuf),
}

/// One labelled anomalous segment of the test rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// First and last test row, inclusive.
    pub start: usize,
    pub end: usize,
    /// Indices (0-based) of the metrics labelled anomalous in it.
    pub metrics: Vec<usize>,
}

/// One server's data.
#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub metrics: Vec<String>,
    /// Rows of (ts_ms, values).
    pub train: Vec<(i64, Vec<f64>)>,
    pub test: Vec<(i64, Vec<f64>)>,
    pub segments: Vec<Segment>,
    /// Sampling interval, ms (from the test rows).
    pub interval_ms: i64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EntityEvalError + '_ {
    move |source| EntityEvalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A `time,m01,...[,label]` table: the metric names, and rows of (ts_ms, values, label).
type Table = (Vec<String>, Vec<(i64, Vec<f64>, bool)>);

fn read_table(path: &Path) -> Result<Table, EntityEvalError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let bad = |line: usize, reason: String| EntityEvalError::Malformed {
        path: path.to_owned(),
        line: line as u64,
        reason,
    };
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err(bad(1, "empty file".into()));
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    if cols.first() != Some(&"time") {
        return Err(bad(
            1,
            format!("expected a `time` column first, found {cols:?}"),
        ));
    }
    let label_col = cols.iter().position(|c| *c == "label");
    let metrics: Vec<String> = cols[1..]
        .iter()
        .filter(|c| **c != "label")
        .map(|c| (*c).to_owned())
        .collect();
    let mut rows = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != cols.len() {
            return Err(bad(
                n,
                format!("{} cells, the header has {}", cells.len(), cols.len()),
            ));
        }
        let ts: f64 = cells[0]
            .parse()
            .map_err(|_| bad(n, format!("bad time {:?}", cells[0])))?;
        let mut values = Vec::with_capacity(metrics.len());
        let mut label = false;
        for (j, cell) in cells.iter().enumerate().skip(1) {
            if Some(j) == label_col {
                label = match *cell {
                    "0" => false,
                    "1" => true,
                    other => return Err(bad(n, format!("bad label {other:?} (0 or 1)"))),
                };
                continue;
            }
            let v = if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse()
                    .map_err(|_| bad(n, format!("bad value {cell:?} in {}", cols[j])))?
            };
            values.push(v);
        }
        rows.push(((ts * 1000.0).round() as i64, values, label));
    }
    Ok((metrics, rows))
}

fn read_segments(path: &Path, n_metrics: usize) -> Result<Vec<Segment>, EntityEvalError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| EntityEvalError::Malformed {
            path: path.to_owned(),
            line: i as u64 + 1,
            reason,
        };
        let (range, metrics) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("expected `start-end:m,m,...`, found {line:?}")))?;
        let (a, b) = range
            .split_once('-')
            .ok_or_else(|| bad(format!("bad range {range:?}")))?;
        let parse = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("bad row {s:?}")))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        let mut ms = Vec::new();
        for m in metrics.split(',').filter(|m| !m.trim().is_empty()) {
            let k = parse(m)?;
            if k == 0 || k > n_metrics {
                return Err(bad(format!("metric {k} out of 1..={n_metrics}")));
            }
            ms.push(k - 1);
        }
        if end < start {
            return Err(bad(format!("range {range:?} ends before it starts")));
        }
        out.push(Segment {
            start,
            end,
            metrics: ms,
        });
    }
    Ok(out)
}

/// Every server directory under `dir` (those holding `train.csv`), in name order (`omi-2`
/// before `omi-10`).
pub fn load(dir: &Path) -> Result<Vec<Server>, EntityEvalError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("train.csv").is_file())
        .collect();
    let key = |p: &PathBuf| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let digits: String = name.chars().filter(char::is_ascii_digit).collect();
        (digits.parse::<u64>().unwrap_or(u64::MAX), name)
    };
    dirs.sort_by_key(key);
    let mut out = Vec::new();
    for d in dirs {
        let (metrics, train) = read_table(&d.join("train.csv"))?;
        let test_path = d.join("test.csv");
        let (test_metrics, test) = read_table(&test_path)?;
        if test_metrics != metrics {
            return Err(EntityEvalError::Malformed {
                path: test_path,
                line: 1,
                reason: "the metric columns differ from train.csv's".into(),
            });
        }
        let segments = read_segments(&d.join("interpretation.txt"), metrics.len())?;
        let interval_ms = test
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .find(|d| *d > 0)
            .unwrap_or(300_000);
        out.push(Server {
            name: d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            metrics,
            train: train.into_iter().map(|(t, v, _)| (t, v)).collect(),
            test: test.into_iter().map(|(t, v, _)| (t, v)).collect(),
            segments,
            interval_ms,
        });
    }
    if out.is_empty() {
        return Err(EntityEvalError::Empty(dir.to_owned()));
    }
    Ok(out)
}

/// A server's test rows as the detectors scored them: per row, each metric's score in [0, 1].
#[derive(Debug, Clone)]
pub struct Scored {
    pub name: String,
    pub scores: Vec<Vec<f32>>,
    pub segments: Vec<Segment>,
    pub interval_ms: i64,
}

/// Run one live per-signal detector per metric ([`detectors::SignalDetector`] with the
/// generic configuration: the metrics are anonymous, so no per-kind floors) over the training
/// rows, then the test rows.
pub fn score(server: &Server) -> Scored {
    let cfg = detectors::SignalConfig::generic();
    let ctx = detectors::signal::Context::default();
    let n = server.metrics.len();
    let mut dets: Vec<detectors::SignalDetector> = (0..n)
        .map(|_| detectors::SignalDetector::new(&cfg))
        .collect();
    for (ts, values) in &server.train {
        for (d, v) in dets.iter_mut().zip(values) {
            d.update(&cfg, *ts, *v, &ctx);
        }
    }
    let scores = server
        .test
        .iter()
        .map(|(ts, values)| {
            dets.iter_mut()
                .zip(values)
                .map(|(d, v)| d.update(&cfg, *ts, *v, &ctx).score as f32)
                .collect()
        })
        .collect();
    Scored {
        name: server.name.clone(),
        scores,
        segments: server.segments.clone(),
        interval_ms: server.interval_ms,
    }
}

/// One server's outcome at one threshold.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub events: usize,
    pub detected: usize,
    pub false_alarms: usize,
    /// Detection delay of each detected event, ms.
    pub delays_ms: Vec<i64>,
    /// Detected events whose most-blamed metric is among the labelled ones.
    pub blame_hits: usize,
    /// Over detected events: blamed metrics (at the first alarm) that are labelled, and all
    /// blamed metrics.
    pub blamed_labelled: usize,
    pub blamed: usize,
    /// Over events: labelled metrics and all metrics (the chance level of blaming).
    pub labelled_metrics: usize,
    pub all_metrics: usize,
}

impl Outcome {
    fn add(&mut self, o: &Outcome) {
        self.events += o.events;
        self.detected += o.detected;
        self.false_alarms += o.false_alarms;
        self.delays_ms.extend(&o.delays_ms);
        self.blame_hits += o.blame_hits;
        self.blamed_labelled += o.blamed_labelled;
        self.blamed += o.blamed;
        self.labelled_metrics += o.labelled_metrics;
        self.all_metrics += o.all_metrics;
    }

    pub fn precision(&self) -> f64 {
        ratio(self.detected, self.detected + self.false_alarms)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.detected, self.events)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }

    pub fn mean_delay_ms(&self) -> Option<f64> {
        (!self.delays_ms.is_empty())
            .then(|| self.delays_ms.iter().sum::<i64>() as f64 / self.delays_ms.len() as f64)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Score one server's alarms at `threshold`.
pub fn outcome(s: &Scored, threshold: f32) -> Outcome {
    let alarm: Vec<bool> = s
        .scores
        .iter()
        .map(|row| row.iter().any(|v| *v >= threshold))
        .collect();
    let n_metrics = s.scores.first().map_or(0, Vec::len);
    let mut o = Outcome {
        events: s.segments.len(),
        ..Outcome::default()
    };
    let in_segment = |row: usize| s.segments.iter().any(|g| g.start <= row && row <= g.end);
    for g in &s.segments {
        o.labelled_metrics += g.metrics.len();
        o.all_metrics += n_metrics;
        let end = g.end.min(alarm.len().saturating_sub(1));
        let Some(first) = (g.start..=end).find(|r| alarm[*r]) else {
            continue;
        };
        o.detected += 1;
        o.delays_ms.push((first - g.start) as i64 * s.interval_ms);
        let row = &s.scores[first];
        let mut blamed: Vec<usize> = (0..row.len()).filter(|m| row[*m] >= threshold).collect();
        blamed.sort_by(|a, b| row[*b].total_cmp(&row[*a]));
        if blamed.first().is_some_and(|m| g.metrics.contains(m)) {
            o.blame_hits += 1;
        }
        o.blamed += blamed.len();
        o.blamed_labelled += blamed.iter().filter(|m| g.metrics.contains(m)).count();
    }
    // False alarms: runs of alarming rows that touch no segment.
    let mut row = 0;
    while row < alarm.len() {
        if !alarm[row] {
            row += 1;
            continue;
        }
        let start = row;
        while row < alarm.len() && alarm[row] {
            row += 1;
        }
        if !(start..row).any(in_segment) {
            o.false_alarms += 1;
        }
    }
    o
}

/// Thresholds tried: 0.30, 0.31, ... 0.99.
fn grid() -> impl Iterator<Item = f32> {
    (30..100).map(|k| k as f32 / 100.0)
}

/// The threshold maximising the pooled F1 of `servers` (the lowest of equals).
fn best_threshold<'a>(servers: impl Iterator<Item = &'a Scored> + Clone) -> f32 {
    let mut best = (f64::NEG_INFINITY, 0.7f32);
    for t in grid() {
        let mut pooled = Outcome::default();
        for s in servers.clone() {
            pooled.add(&outcome(s, t));
        }
        let f1 = pooled.f1();
        if f1 > best.0 {
            best = (f1, t);
        }
    }
    best.1
}

/// One server's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct ServerLine {
    pub server: String,
    /// Chosen on the other servers.
    pub threshold: f32,
    pub outcome: Outcome,
}

/// Pooled figures.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub events: usize,
    pub detected: usize,
    pub false_alarms: usize,
    pub mean_delay_s: Option<f64>,
    /// Detected events whose most-blamed metric is labelled, over detected events.
    pub blame_at_1: f64,
    /// Blamed metrics that are labelled, over blamed metrics.
    pub blame_precision: f64,
    /// Labelled metrics over all metrics of the events: what blaming at random would score.
    pub blame_chance: f64,
}

impl From<&Outcome> for Summary {
    fn from(o: &Outcome) -> Self {
        Summary {
            precision: o.precision(),
            recall: o.recall(),
            f1: o.f1(),
            events: o.events,
            detected: o.detected,
            false_alarms: o.false_alarms,
            mean_delay_s: o.mean_delay_ms().map(|d| d / 1000.0),
            blame_at_1: ratio(o.blame_hits, o.detected),
            blame_precision: ratio(o.blamed_labelled, o.blamed),
            blame_chance: ratio(o.labelled_metrics, o.all_metrics),
        }
    }
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Leave-one-server-out: each server at the threshold chosen on the others.
    pub held_out: Summary,
    pub servers: Vec<ServerLine>,
    /// One threshold for all servers, chosen on all of them.
    pub in_sample: Summary,
    pub in_sample_threshold: f32,
}

/// Score every server and evaluate, leave-one-server-out first.
pub fn evaluate(servers: &[Server]) -> Report {
    let scored: Vec<Scored> = servers.iter().map(score).collect();
    let mut held = Outcome::default();
    let mut lines = Vec::new();
    for (i, s) in scored.iter().enumerate() {
        let others = scored
            .iter()
            .enumerate()
            .filter(move |(j, _)| *j != i)
            .map(|(_, s)| s);
        let t = best_threshold(others);
        let o = outcome(s, t);
        held.add(&o);
        lines.push(ServerLine {
            server: s.name.clone(),
            threshold: t,
            outcome: o,
        });
    }
    let t_all = best_threshold(scored.iter());
    let mut all = Outcome::default();
    for s in &scored {
        all.add(&outcome(s, t_all));
    }
    Report {
        held_out: Summary::from(&held),
        servers: lines,
        in_sample: Summary::from(&all),
        in_sample_threshold: t_all,
    }
}

/// The report as text, held-out figures first.
pub fn format_report(r: &Report) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let line = |o: &mut String, what: &str, s: &Summary| {
        let _ = writeln!(
            o,
            "{what:<34} P {:.3}  R {:.3}  F1 {:.3}  ({} of {} events, {} false alarms, mean delay {})  blame@1 {:.2}, blamed labelled {:.2} (chance {:.2})",
            s.precision,
            s.recall,
            s.f1,
            s.detected,
            s.events,
            s.false_alarms,
            s.mean_delay_s
                .map(|d| format!("{:.0} min", d / 60.0))
                .unwrap_or_else(|| "n/a".into()),
            s.blame_at_1,
            s.blame_precision,
            s.blame_chance
        );
    };
    line(&mut o, "leave-one-server-out (held out)", &r.held_out);
    line(
        &mut o,
        &format!("in-sample (threshold {:.2})", r.in_sample_threshold),
        &r.in_sample,
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<8} {:>9} {:>7} {:>9} {:>6} {:>8}",
        "server", "threshold", "events", "detected", "false", "F1"
    );
    for l in &r.servers {
        let _ = writeln!(
            o,
            "{:<8} {:>9.2} {:>7} {:>9} {:>6} {:>8.3}",
            l.server,
            l.threshold,
            l.outcome.events,
            l.outcome.detected,
            l.outcome.false_alarms,
            l.outcome.f1()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(rows: Vec<Vec<f32>>, segments: Vec<Segment>) -> Scored {
        Scored {
            name: "s".into(),
            scores: rows,
            segments,
            interval_ms: 300_000,
        }
    }

    #[test]
    fn events_false_alarms_delay_and_blame_are_counted() {
        let quiet = vec![0.0, 0.0, 0.0];
        let mut rows = vec![quiet.clone(); 20];
        // Segment 5..=8 detected at row 6, blaming metric 2 first (labelled) then 0.
        rows[6] = vec![0.8, 0.0, 0.9];
        // A false alarm run 12..=13, and a miss for segment 15..=16.
        rows[12] = vec![0.0, 0.95, 0.0];
        rows[13] = vec![0.0, 0.95, 0.0];
        let s = scored(
            rows,
            vec![
                Segment {
                    start: 5,
                    end: 8,
                    metrics: vec![2],
                },
                Segment {
                    start: 15,
                    end: 16,
                    metrics: vec![1],
                },
            ],
        );
        let o = outcome(&s, 0.7);
        assert_eq!((o.events, o.detected, o.false_alarms), (2, 1, 1));
        assert_eq!(o.delays_ms, vec![300_000]);
        assert_eq!((o.blame_hits, o.blamed_labelled, o.blamed), (1, 1, 2));
        assert!((o.precision() - 0.5).abs() < 1e-9 && (o.recall() - 0.5).abs() < 1e-9);
        // Above every score: nothing detected, nothing false.
        let o = outcome(&s, 0.99);
        assert_eq!((o.detected, o.false_alarms), (0, 0));
    }

    #[test]
    fn malformed_files_say_where() {
        let dir = std::env::temp_dir().join(format!("opscope-asd-{}", std::process::id()));
        let server = dir.join("omi-1");
        std::fs::create_dir_all(&server).expect("dir");
        std::fs::write(server.join("train.csv"), "time,m01\n1,0.5\n2,x\n").expect("write");
        std::fs::write(server.join("test.csv"), "time,m01,label\n3,0.5,0\n").expect("write");
        std::fs::write(server.join("interpretation.txt"), "0-0:1\n").expect("write");
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("train.csv:3") && e.contains("\"x\""), "{e}");
        std::fs::write(server.join("train.csv"), "time,m01\n1,0.5\n").expect("write");
        std::fs::write(server.join("interpretation.txt"), "0-0:2\n").expect("write");
        let e = load(&dir).unwrap_err().to_string();
        assert!(
            e.contains("interpretation.txt:1") && e.contains("out of"),
            "{e}"
        );
        std::fs::write(server.join("interpretation.txt"), "0-0:1\n").expect("write");
        let servers = load(&dir).expect("loads");
        assert_eq!(servers[0].segments[0].metrics, vec![0]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
