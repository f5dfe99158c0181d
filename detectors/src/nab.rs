//! NAB (Numenta Anomaly Benchmark) data files, label windows and the NAB scorer.
//!
//! The scorer follows the precise description in the data set's README (our own
//! implementation): per-file probationary period, scaled-sigmoid window weights, one tuned
//! threshold per profile chosen by maximising the raw score over all distinct score values
//! plus "no detections" (ties go to the higher threshold), on the same data it scores.

use crate::time::parse_naive_ms;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors reading NAB data or labels.
#[derive(Debug, thiserror::Error)]
pub enum NabError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of a CSV file is malformed.
    #[error("{path}:{line}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The label file is malformed.
    #[error("labels {path}: {reason}")]
    Labels {
        /// The label file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One row of a `timestamp,value` series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Naive timestamp read as UTC, in milliseconds.
    pub ts_ms: i64,
    /// The value (may be non-finite when the file says `nan`/`inf`).
    pub value: f64,
}

/// Parses the text of a NAB CSV (`timestamp,value` header, then one row per line; a missing
/// final newline and `\r\n` endings are accepted). `path` is only used in error messages.
pub fn parse_series(text: &str, path: &Path) -> Result<Vec<Row>, NabError> {
    let err = |line: usize, reason: String| NabError::Csv {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l.trim()).unwrap_or("");
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    if cols != ["timestamp", "value"] {
        return Err(err(
            1,
            format!("expected header `timestamp,value`, found {header:?}"),
        ));
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split(',');
        let (Some(ts), Some(v), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(line_no, format!("expected 2 fields, found {line:?}")));
        };
        let ts_ms = parse_naive_ms(ts)
            .ok_or_else(|| err(line_no, format!("bad timestamp {:?}", ts.trim())))?;
        let value: f64 = v
            .trim()
            .parse()
            .map_err(|_| err(line_no, format!("bad value {:?}", v.trim())))?;
        rows.push(Row { ts_ms, value });
    }
    Ok(rows)
}

/// Reads a NAB CSV file.
pub fn read_series(path: &Path) -> Result<Vec<Row>, NabError> {
    let text = std::fs::read_to_string(path).map_err(|source| NabError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_series(&text, path)
}

/// Anomaly windows per file (relative path -> list of inclusive `[start, end]` in ms).
pub type Labels = BTreeMap<String, Vec<(i64, i64)>>;

/// Parses the text of `combined_windows.json`.
pub fn parse_labels(text: &str, path: &Path) -> Result<Labels, NabError> {
    let bad = |reason: String| NabError::Labels {
        path: path.to_path_buf(),
        reason,
    };
    let raw: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let mut out = Labels::new();
    for (file, windows) in raw {
        let mut ws = Vec::with_capacity(windows.len());
        for w in windows {
            let [a, b] = w.as_slice() else {
                return Err(bad(format!("{file}: window {w:?} is not [start, end]")));
            };
            let parse = |s: &str| {
                parse_naive_ms(s).ok_or_else(|| bad(format!("{file}: bad timestamp {s:?}")))
            };
            let (start, end) = (parse(a)?, parse(b)?);
            if end < start {
                return Err(bad(format!("{file}: window ends before it starts")));
            }
            ws.push((start, end));
        }
        out.insert(file, ws);
    }
    Ok(out)
}

/// Reads `combined_windows.json`.
pub fn read_labels(path: &Path) -> Result<Labels, NabError> {
    let text = std::fs::read_to_string(path).map_err(|source| NabError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_labels(&text, path)
}

/// A NAB cost profile.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Profile {
    /// Profile name as NAB spells it.
    pub name: &'static str,
    /// Reward of a true positive (detection at a window's first row).
    pub a_tp: f64,
    /// Cost of a false positive.
    pub a_fp: f64,
    /// Cost of a missed window.
    pub a_fn: f64,
}

/// The three NAB profiles.
pub const PROFILES: [Profile; 3] = [
    Profile {
        name: "standard",
        a_tp: 1.0,
        a_fp: 0.11,
        a_fn: 1.0,
    },
    Profile {
        name: "reward_low_FP_rate",
        a_tp: 1.0,
        a_fp: 0.22,
        a_fn: 1.0,
    },
    Profile {
        name: "reward_low_FN_rate",
        a_tp: 1.0,
        a_fp: 0.11,
        a_fn: 2.0,
    },
];

/// One scored file: its per-row anomaly scores and its windows as row indices.
#[derive(Debug, Clone)]
pub struct ScoredFile {
    /// Name (relative path) for reports.
    pub name: String,
    /// Anomaly score per row.
    pub scores: Vec<f64>,
    /// Inclusive windows `(first_row, last_row)`, sorted and disjoint.
    pub windows: Vec<(usize, usize)>,
}

/// Maps label windows (timestamps) to row indices of `rows`: first row at or after the start,
/// last row at or before the end. Windows that contain no row are dropped.
pub fn windows_to_rows(rows: &[Row], windows: &[(i64, i64)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for &(start, end) in windows {
        let s = rows.partition_point(|r| r.ts_ms < start);
        let e = rows.partition_point(|r| r.ts_ms <= end);
        if e > s {
            out.push((s, e - 1));
        }
    }
    out.sort_unstable();
    out
}

/// The probationary period of a file of `n` rows: `min(floor(0.15 n), 750)`.
pub fn probation(n: usize) -> usize {
    (n * 15 / 100).min(750)
}

/// NAB's scaled sigmoid: `2 sigma(-5y) - 1` for `y <= 3`, `-1` beyond.
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * y).exp()) - 1.0
    }
}

/// Value of a detection at row `i` inside window `(s, e)` for a profile.
fn tp_value(p: &Profile, i: usize, (s, e): (usize, usize)) -> f64 {
    let w = (e - s + 1) as f64;
    let y = -((e - i + 1) as f64) / w;
    p.a_tp * scaled_sigmoid(y) / scaled_sigmoid(-1.0)
}

/// Value of a detection at row `i` outside every window; `prev` is the latest window that
/// ended before `i`, if any.
fn fp_value(p: &Profile, i: usize, prev: Option<(usize, usize)>) -> f64 {
    match prev {
        None => -p.a_fp,
        Some((s, e)) => {
            let w = (e - s + 1) as f64;
            let y = (i - e) as f64 / (w - 1.0).max(1.0);
            p.a_fp * scaled_sigmoid(y)
        }
    }
}

/// Counts and score of one profile at one threshold.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileResult {
    /// Profile name.
    pub profile: &'static str,
    /// The tuned threshold (`None`: the best is to detect nothing).
    pub threshold: Option<f64>,
    /// Raw score S.
    pub raw: f64,
    /// Normalised score `100 (S - S_null) / (S_perfect - S_null)`.
    pub normalized: f64,
    /// Windows with at least one detection.
    pub tp: usize,
    /// Detections outside every window.
    pub fp: usize,
    /// Windows without a detection.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// Total number of windows N.
    pub windows: usize,
}

/// Scores the corpus at a fixed threshold (`None`: no detections at all).
pub fn score_at(files: &[ScoredFile], p: &Profile, threshold: Option<f64>) -> ProfileResult {
    let (mut raw, mut tp, mut fp, mut fn_, mut n) = (0.0, 0, 0, 0, 0);
    for f in files {
        let start = probation(f.scores.len());
        let mut first_in: Vec<Option<usize>> = vec![None; f.windows.len()];
        let mut wi = 0; // index of the first window not yet ended at row i
        for (i, &s) in f.scores.iter().enumerate().skip(start) {
            while wi < f.windows.len() && f.windows[wi].1 < i {
                wi += 1;
            }
            let detected = matches!(threshold, Some(t) if s >= t);
            if !detected {
                continue;
            }
            if wi < f.windows.len() && f.windows[wi].0 <= i {
                first_in[wi].get_or_insert(i);
            } else {
                fp += 1;
                let prev = wi.checked_sub(1).map(|k| f.windows[k]);
                raw += fp_value(p, i, prev);
            }
        }
        for (k, first) in first_in.iter().enumerate() {
            n += 1;
            match first {
                Some(i) => {
                    tp += 1;
                    raw += tp_value(p, *i, f.windows[k]);
                }
                None => {
                    fn_ += 1;
                    raw -= p.a_fn;
                }
            }
        }
    }
    result(p, threshold, raw, tp, fp, fn_, n)
}

fn result(
    p: &Profile,
    threshold: Option<f64>,
    raw: f64,
    tp: usize,
    fp: usize,
    fn_: usize,
    n: usize,
) -> ProfileResult {
    let perfect = p.a_tp * n as f64;
    let null = -p.a_fn * n as f64;
    let normalized = if perfect > null {
        100.0 * (raw - null) / (perfect - null)
    } else {
        0.0
    };
    ProfileResult {
        profile: p.name,
        threshold,
        raw,
        normalized,
        tp,
        fp,
        fn_,
        windows: n,
    }
}

/// Chooses the threshold maximising the raw score over all distinct score values (and "no
/// detections"), ties to the higher threshold, and returns the result at that threshold.
///
/// Runs in O(R log R) for R rows: the raw score is a step function of the threshold whose
/// steps are collected once and swept from the highest threshold down.
pub fn tune(files: &[ScoredFile], p: &Profile) -> ProfileResult {
    // (threshold, delta of the raw score once the threshold is at or below it)
    let mut events: Vec<(f64, f64)> = Vec::new();
    let mut base = 0.0;
    for f in files {
        let start = probation(f.scores.len());
        let mut wi = 0;
        // running maximum inside the current window and the record rows
        let mut records: Vec<(f64, usize)> = Vec::new();
        let flush =
            |records: &mut Vec<(f64, usize)>, w: (usize, usize), ev: &mut Vec<(f64, f64)>| {
                // records: increasing scores at increasing rows. For a threshold in
                // (m_{k-1}, m_k] the earliest detection is row i_k.
                let vals: Vec<f64> = records.iter().map(|&(_, i)| tp_value(p, i, w)).collect();
                for k in 0..records.len() {
                    let next = if k + 1 < records.len() {
                        vals[k + 1]
                    } else {
                        -p.a_fn
                    };
                    ev.push((records[k].0, vals[k] - next));
                }
                records.clear();
            };
        for (i, &s) in f.scores.iter().enumerate() {
            while wi < f.windows.len() && f.windows[wi].1 < i {
                flush(&mut records, f.windows[wi], &mut events);
                wi += 1;
            }
            if i < start || !s.is_finite() {
                continue;
            }
            if wi < f.windows.len() && f.windows[wi].0 <= i {
                if records.last().is_none_or(|&(m, _)| s > m) {
                    records.push((s, i));
                }
            } else {
                let prev = wi.checked_sub(1).map(|k| f.windows[k]);
                events.push((s, fp_value(p, i, prev)));
            }
        }
        while wi < f.windows.len() {
            flush(&mut records, f.windows[wi], &mut events);
            wi += 1;
        }
        base -= p.a_fn * f.windows.len() as f64;
    }
    events.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best = (base, None);
    let mut acc = base;
    let mut k = 0;
    while k < events.len() {
        let t = events[k].0;
        while k < events.len() && events[k].0 == t {
            acc += events[k].1;
            k += 1;
        }
        // Strictly greater: ties keep the higher threshold met earlier in the sweep.
        if acc > best.0 + 1e-12 {
            best = (acc, Some(t));
        }
    }
    score_at(files, p, best.1)
}

/// Scores of all three profiles, each at its own tuned threshold.
pub fn tune_all(files: &[ScoredFile]) -> Vec<ProfileResult> {
    PROFILES.iter().map(|p| tune(files, p)).collect()
}

/// The category of a corpus file: the top-level folder of its relative path
/// (`realTraffic/speed_7578.csv` -> `realTraffic`).
pub fn category(name: &str) -> &str {
    name.split_once('/').map_or(name, |(c, _)| c)
}

/// One held-out category of a leave-one-category-out run.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOutCategory {
    /// The category (top-level folder).
    pub category: String,
    /// Files in it.
    pub files: usize,
    /// The threshold chosen on the other categories (`None`: detect nothing).
    pub threshold: Option<f64>,
    /// Raw score of the held-out files at that threshold.
    pub raw: f64,
    /// Windows with a detection.
    pub tp: usize,
    /// Detections outside every window.
    pub fp: usize,
    /// Windows without a detection.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// Windows in the category.
    pub windows: usize,
}

/// Leave-one-category-out result of one profile.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOutResult {
    /// Profile name.
    pub profile: &'static str,
    /// Sum of the held-out categories' raw scores (each category scored once, at the
    /// threshold tuned on the others).
    pub raw: f64,
    /// `100 (S - S_null) / (S_perfect - S_null)` over all windows: the held-out categories
    /// partition the corpus, so this is NAB's normalisation of the combined held-out raw
    /// scores.
    pub normalized: f64,
    /// Windows with a detection (summed over categories).
    pub tp: usize,
    /// Detections outside every window.
    pub fp: usize,
    /// Windows without a detection.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// Total windows.
    pub windows: usize,
    /// Per held-out category.
    pub categories: Vec<HeldOutCategory>,
}

/// Leave-one-category-out scoring: for each category, the threshold is tuned (as [`tune`]
/// does) on the files of every other category and the held-out category is scored at it.
/// The categories' raw scores are summed and normalised over all windows.
pub fn held_out(files: &[ScoredFile], p: &Profile) -> HeldOutResult {
    held_out_select(std::slice::from_ref(&files.to_vec()), p).0
}

/// [`held_out`] choosing among candidate configurations too: `candidates[c]` is the corpus
/// scored by configuration `c` (same files, same order). For each held-out category the
/// configuration and the threshold with the best raw score on the other categories are
/// chosen, and the held-out category is scored with them. Returns the result and the index
/// of the configuration chosen per category.
pub fn held_out_select(candidates: &[Vec<ScoredFile>], p: &Profile) -> (HeldOutResult, Vec<usize>) {
    let Some(first) = candidates.first() else {
        let empty = result(p, None, 0.0, 0, 0, 0, 0);
        return (
            HeldOutResult {
                profile: p.name,
                raw: 0.0,
                normalized: empty.normalized,
                tp: 0,
                fp: 0,
                fn_: 0,
                windows: 0,
                categories: Vec::new(),
            },
            Vec::new(),
        );
    };
    let mut cats: Vec<&str> = first.iter().map(|f| category(&f.name)).collect();
    cats.sort_unstable();
    cats.dedup();
    let mut categories = Vec::with_capacity(cats.len());
    let mut chosen = Vec::with_capacity(cats.len());
    for cat in cats {
        let split = |files: &[ScoredFile]| -> (Vec<ScoredFile>, Vec<ScoredFile>) {
            files
                .iter()
                .cloned()
                .partition(|f| category(&f.name) == cat)
        };
        let mut best: Option<(f64, usize, Option<f64>)> = None;
        for (c, files) in candidates.iter().enumerate() {
            let (_, train) = split(files);
            let t = tune(&train, p);
            if best.is_none_or(|(raw, _, _)| t.raw > raw + 1e-12) {
                best = Some((t.raw, c, t.threshold));
            }
        }
        let Some((_, c, threshold)) = best else {
            continue;
        };
        let (test, _) = split(&candidates[c]);
        let r = score_at(&test, p, threshold);
        chosen.push(c);
        categories.push(HeldOutCategory {
            category: cat.to_owned(),
            files: test.len(),
            threshold,
            raw: r.raw,
            tp: r.tp,
            fp: r.fp,
            fn_: r.fn_,
            windows: r.windows,
        });
    }
    let sum = |f: fn(&HeldOutCategory) -> usize| categories.iter().map(f).sum::<usize>();
    let raw = categories.iter().map(|c| c.raw).sum();
    let all = result(
        p,
        None,
        raw,
        sum(|c| c.tp),
        sum(|c| c.fp),
        sum(|c| c.fn_),
        sum(|c| c.windows),
    );
    (
        HeldOutResult {
            profile: p.name,
            raw,
            normalized: all.normalized,
            tp: all.tp,
            fp: all.fp,
            fn_: all.fn_,
            windows: all.windows,
            categories,
        },
        chosen,
    )
}

/// [`held_out`] for the three profiles.
pub fn held_out_all(files: &[ScoredFile]) -> Vec<HeldOutResult> {
    PROFILES.iter().map(|p| held_out(files, p)).collect()
}

/// A loaded NAB corpus: each labelled file's rows and windows (as row indices).
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Files in label-file order (sorted by relative path).
    pub files: Vec<CorpusFile>,
}

/// One file of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    /// Relative path as in the label file.
    pub name: String,
    /// Its rows.
    pub rows: Vec<Row>,
    /// Windows as inclusive row ranges.
    pub windows: Vec<(usize, usize)>,
}

impl Corpus {
    /// Loads every CSV listed in the label file from `data_dir`.
    pub fn load(data_dir: &Path, labels_path: &Path) -> Result<Corpus, NabError> {
        let labels = read_labels(labels_path)?;
        let mut files = Vec::with_capacity(labels.len());
        for (name, windows) in &labels {
            let rows = read_series(&data_dir.join(name))?;
            let wins = windows_to_rows(&rows, windows);
            files.push(CorpusFile {
                name: name.clone(),
                rows,
                windows: wins,
            });
        }
        Ok(Corpus { files })
    }

    /// Total number of windows.
    pub fn windows(&self) -> usize {
        self.files.iter().map(|f| f.windows.len()).sum()
    }

    /// Runs `score` over each file's rows and returns the scored files.
    pub fn score_with(&self, mut score: impl FnMut(&[Row]) -> Vec<f64>) -> Vec<ScoredFile> {
        self.files
            .iter()
            .map(|f| ScoredFile {
                name: f.name.clone(),
                scores: score(&f.rows),
                windows: f.windows.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STD: Profile = PROFILES[0];

    /// 100 rows: probation 15; one window rows 40..=49 (w = 10).
    fn file(scores: Vec<f64>, windows: Vec<(usize, usize)>) -> ScoredFile {
        ScoredFile {
            name: "f".into(),
            scores,
            windows,
        }
    }

    fn with_detections(n: usize, rows: &[usize]) -> Vec<f64> {
        let mut s = vec![0.0; n];
        for &r in rows {
            s[r] = 1.0;
        }
        s
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn sigmoid_reference_values() {
        assert!((scaled_sigmoid(-1.0) - 0.986_614).abs() < 1e-6);
        assert!(close(scaled_sigmoid(0.0), 0.0));
        assert!(close(scaled_sigmoid(3.5), -1.0));
        assert_eq!(probation(100), 15);
        assert_eq!(probation(10_000), 750);
    }

    #[test]
    fn detection_at_window_start_is_a_full_tp() {
        let f = file(with_detections(100, &[40]), vec![(40, 49)]);
        let r = score_at(&[f], &STD, Some(0.5));
        assert!(close(r.raw, 1.0), "{}", r.raw);
        assert_eq!((r.tp, r.fp, r.fn_), (1, 0, 0));
        assert!(close(r.normalized, 100.0));
    }

    #[test]
    fn later_detection_is_worth_less_and_extra_ones_are_free() {
        let early = score_at(
            &[file(with_detections(100, &[42]), vec![(40, 49)])],
            &STD,
            Some(0.5),
        );
        let late = score_at(
            &[file(with_detections(100, &[48]), vec![(40, 49)])],
            &STD,
            Some(0.5),
        );
        let both = score_at(
            &[file(with_detections(100, &[42, 48]), vec![(40, 49)])],
            &STD,
            Some(0.5),
        );
        assert!(early.raw < 1.0 && late.raw < early.raw && late.raw > 0.0);
        assert!(close(both.raw, early.raw));
        // Row 48: y = -(49 - 48 + 1) / 10 = -0.2.
        assert!(close(late.raw, scaled_sigmoid(-0.2) / scaled_sigmoid(-1.0)));
    }

    #[test]
    fn miss_costs_a_fn_and_null_scores_zero() {
        let f = file(vec![0.0; 100], vec![(40, 49)]);
        let r = score_at(std::slice::from_ref(&f), &STD, Some(0.5));
        assert!(close(r.raw, -1.0));
        assert_eq!((r.tp, r.fp, r.fn_), (0, 0, 1));
        assert!(close(r.normalized, 0.0));
        let low_fn = score_at(&[f], &PROFILES[2], None);
        assert!(close(low_fn.raw, -2.0));
    }

    #[test]
    fn false_positives_before_and_after_windows() {
        // Before any window: -A_FP.
        let r = score_at(
            &[file(with_detections(100, &[20, 40]), vec![(40, 49)])],
            &STD,
            Some(0.5),
        );
        assert!(close(r.raw, 1.0 - 0.11));
        assert_eq!(r.fp, 1);
        // Right after the window: y = 1/9, value A_FP * f(1/9) (negative, small).
        let r = score_at(
            &[file(with_detections(100, &[40, 50]), vec![(40, 49)])],
            &STD,
            Some(0.5),
        );
        let v = 0.11 * scaled_sigmoid(1.0 / 9.0);
        assert!(v < 0.0 && v > -0.11);
        assert!(close(r.raw, 1.0 + v));
        // Far after (> 3 widths): -A_FP.
        let r = score_at(
            &[file(with_detections(100, &[40, 90]), vec![(40, 49)])],
            &STD,
            Some(0.5),
        );
        assert!(close(r.raw, 1.0 - 0.11));
        // Low-FP profile doubles the cost.
        let r = score_at(
            &[file(with_detections(100, &[20]), vec![])],
            &PROFILES[1],
            Some(0.5),
        );
        assert!(close(r.raw, -0.22));
    }

    #[test]
    fn probation_rows_are_ignored() {
        let r = score_at(
            &[file(with_detections(100, &[3, 14]), vec![])],
            &STD,
            Some(0.5),
        );
        assert_eq!(r.fp, 0);
        assert!(close(r.raw, 0.0));
        let r = score_at(
            &[file(with_detections(100, &[15]), vec![])],
            &STD,
            Some(0.5),
        );
        assert_eq!(r.fp, 1);
    }

    #[test]
    fn tuning_picks_best_threshold_and_prefers_higher_on_ties() {
        // Window row 40 scores 0.6, an FP at row 20 scores 0.4: best threshold 0.6.
        let mut s = vec![0.0; 100];
        s[40] = 0.6;
        s[20] = 0.4;
        let r = tune(&[file(s.clone(), vec![(40, 49)])], &STD);
        assert_eq!(r.threshold, Some(0.6));
        assert!(close(r.raw, 1.0));
        // Tie: a second detection inside the window at 0.5 adds nothing; threshold stays 0.6.
        s[41] = 0.5;
        let r = tune(&[file(s.clone(), vec![(40, 49)])], &STD);
        assert_eq!(r.threshold, Some(0.6));
        // Nothing to gain: only FPs -> no detections is best.
        let r = tune(&[file(with_detections(100, &[30]), vec![])], &STD);
        assert_eq!(r.threshold, None);
        assert!(close(r.raw, 0.0));
    }

    #[test]
    fn tune_agrees_with_brute_force() {
        let mut state = 12345u64;
        let mut rnd = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        for _ in 0..20 {
            let files: Vec<ScoredFile> = (0..3)
                .map(|_| {
                    let scores: Vec<f64> =
                        (0..120).map(|_| (rnd() * 10.0).floor() / 10.0).collect();
                    file(scores, vec![(30, 39), (70, 84)])
                })
                .collect();
            for p in &PROFILES {
                let tuned = tune(&files, p);
                let mut cands: Vec<f64> = files.iter().flat_map(|f| f.scores.clone()).collect();
                cands.sort_by(f64::total_cmp);
                cands.dedup();
                let mut best = score_at(&files, p, None);
                for &t in cands.iter().rev() {
                    let r = score_at(&files, p, Some(t));
                    if r.raw > best.raw + 1e-12 {
                        best = r;
                    }
                }
                assert!(close(tuned.raw, best.raw), "{} vs {}", tuned.raw, best.raw);
                assert_eq!(tuned.threshold, best.threshold);
            }
        }
    }

    #[test]
    fn held_out_tunes_on_the_other_categories() {
        // Category a: a window caught at 0.6, category b: an FP at 0.9 and a window at 0.9.
        let mut a = vec![0.0; 100];
        a[40] = 0.6;
        let mut b = vec![0.0; 100];
        b[20] = 0.9;
        b[60] = 0.9;
        let files = vec![
            ScoredFile {
                name: "a/x.csv".into(),
                scores: a,
                windows: vec![(40, 49)],
            },
            ScoredFile {
                name: "b/y.csv".into(),
                scores: b,
                windows: vec![(60, 69)],
            },
        ];
        let r = held_out(&files, &STD);
        assert_eq!(r.categories.len(), 2);
        // a held out: tuned on b alone -> 0.9, which misses a's window.
        assert_eq!(r.categories[0].threshold, Some(0.9));
        assert_eq!(r.categories[0].fn_, 1);
        // b held out: tuned on a -> 0.6, b scores 1 - 0.11.
        assert_eq!(r.categories[1].threshold, Some(0.6));
        assert!(close(r.categories[1].raw, 1.0 - 0.11));
        assert!(close(r.raw, -1.0 + 1.0 - 0.11));
        assert_eq!((r.tp, r.fp, r.fn_, r.windows), (1, 1, 1, 2));
        assert_eq!(category("realTraffic/speed_7578.csv"), "realTraffic");
    }

    #[test]
    fn parses_series_and_labels() {
        let p = Path::new("x.csv");
        let rows = parse_series(
            "timestamp,value\r\n2014-04-01 00:00:00,1.5\r\n2014-04-01 00:05:00,2",
            p,
        )
        .expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].value, 2.0);
        let e = parse_series(
            "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,x\n",
            p,
        )
        .expect_err("bad value");
        assert!(e.to_string().contains("x.csv:3"), "{e}");
        assert!(parse_series("time,val\n", p).is_err());
        let labels = parse_labels(
            r#"{"a.csv": [["2014-04-01 00:05:00.000000", "2014-04-01 00:10:00.000000"]], "b.csv": []}"#,
            Path::new("l.json"),
        )
        .expect("labels");
        assert_eq!(labels["a.csv"].len(), 1);
        assert!(labels["b.csv"].is_empty());
        let rows: Vec<Row> = (0..5)
            .map(|i| Row {
                ts_ms: 1_396_310_400_000 + i * 300_000,
                value: 0.0,
            })
            .collect();
        assert_eq!(windows_to_rows(&rows, &labels["a.csv"]), vec![(1, 2)]);
    }
}
