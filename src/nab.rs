//! `opscope detect` (the per-signal detector that runs live, `detectors::SignalDetector`, in
//! its generic configuration, over a `timestamp,value` CSV) and `opscope eval nab` (that same
//! detector scored on the Numenta Anomaly Benchmark, held out first).

use anyhow::{Context, Result, bail};
use detectors::nab::{Corpus, HeldOutResult, ProfileResult, held_out_all, tune_all};
use detectors::time::parse_naive_ms;
use detectors::{SignalConfig, score_series_with};
use std::io::Write;
use std::path::Path;

/// Reads `timestamp,value` rows from `input` (other columns are kept), scores them causally
/// with the live detector's generic configuration and writes every row with an added `anomaly_score` in [0, 1].
/// Empty values count as missing (score 0); malformed rows are errors with their line.
pub fn detect(input: &Path, output: &Path) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(input)
        .with_context(|| format!("opening {}", input.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: reading the header", input.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(ts_col), Some(value_col)) = (col("timestamp"), col("value")) else {
        bail!(
            "{}:1: expected a header with `timestamp` and `value` columns, found {:?}",
            input.display(),
            headers.iter().collect::<Vec<_>>()
        );
    };
    let mut records = Vec::new();
    let mut series = Vec::new();
    for rec in reader.records() {
        let rec = rec.with_context(|| format!("{}: malformed CSV", input.display()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let ts_text = rec.get(ts_col).unwrap_or("");
        let ts = parse_naive_ms(ts_text).with_context(|| {
            format!(
                "{}:{line}: bad timestamp {ts_text:?} (expected YYYY-MM-DD HH:MM:SS)",
                input.display()
            )
        })?;
        let v_text = rec.get(value_col).unwrap_or("");
        let value = if v_text.is_empty() {
            f64::NAN
        } else {
            v_text
                .parse::<f64>()
                .with_context(|| format!("{}:{line}: bad value {v_text:?}", input.display()))?
        };
        series.push((ts, value));
        records.push(rec);
    }
    let scores = score_series_with(&SignalConfig::generic(), &series);
    let mut writer =
        csv::Writer::from_path(output).with_context(|| format!("creating {}", output.display()))?;
    let mut out_headers = headers.clone();
    out_headers.push_field("anomaly_score");
    writer
        .write_record(&out_headers)
        .with_context(|| format!("writing {}", output.display()))?;
    for (rec, score) in records.iter().zip(&scores) {
        let mut row = rec.clone();
        row.push_field(&score.to_string());
        writer
            .write_record(&row)
            .with_context(|| format!("writing {}", output.display()))?;
    }
    writer
        .flush()
        .with_context(|| format!("writing {}", output.display()))?;
    tracing::info!(rows = records.len(), output = %output.display(), "scored");
    Ok(())
}

/// Machine-readable result of `eval nab`.
#[derive(serde::Serialize)]
struct NabReport {
    detector: &'static str,
    files: usize,
    rows: usize,
    windows: usize,
    held_out_note: &'static str,
    /// Leave-one-category-out: each category scored at the threshold tuned on the others.
    held_out: Vec<HeldOutResult>,
    threshold_note: &'static str,
    /// In-sample: one threshold per profile tuned on the data it scores (NAB's rule).
    profiles: Vec<ProfileResult>,
}

const HELD_OUT_NOTE: &str = "leave-one-category-out: for each top-level folder, the threshold \
is tuned on the other folders and the folder is scored at it; the folders' raw scores are \
summed and normalised over all windows (the folders partition the corpus, so this is NAB's \
normalisation of the combined held-out raw score); the detector's other constants are fixed";

const THRESHOLD_NOTE: &str = "one threshold per profile, tuned (as NAB does) by maximising the \
raw score over all distinct score values on the same data it scores";

/// Runs the `detect` ensemble over every CSV listed in the label file and prints the NAB
/// scores of the three profiles (table, or JSON with `json`).
pub fn eval_nab(data: &Path, labels: &Path, json: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let corpus = Corpus::load(data, labels).context("loading the NAB corpus")?;
    if corpus.files.is_empty() {
        bail!("{}: the label file lists no series", labels.display());
    }
    let cfg = SignalConfig::generic();
    let scored = corpus.score_with(|rows| {
        let series: Vec<(i64, f64)> = rows.iter().map(|r| (r.ts_ms, r.value)).collect();
        score_series_with(&cfg, &series)
    });
    let report = NabReport {
        detector: "opscope detectors::SignalDetector (SignalConfig::generic)",
        files: corpus.files.len(),
        rows: corpus.files.iter().map(|f| f.rows.len()).sum(),
        windows: corpus.windows(),
        held_out_note: HELD_OUT_NOTE,
        held_out: held_out_all(&scored),
        threshold_note: THRESHOLD_NOTE,
        profiles: tune_all(&scored),
    };
    let mut out = std::io::stdout().lock();
    write_report(&mut out, &report, json, started.elapsed().as_secs_f64())
        .context("writing the report")
}

fn write_report(out: &mut impl Write, report: &NabReport, json: bool, secs: f64) -> Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, report).context("encoding the report")?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:>9} {:>5} {:>5} {:>5}   {:>9} {:>10} {:>5} {:>5} {:>5}",
        "profile", "held-out", "TP", "FP", "FN", "in-sample", "threshold", "TP", "FP", "FN"
    )?;
    for (h, p) in report.held_out.iter().zip(&report.profiles) {
        writeln!(
            out,
            "{:<20} {:>9.2} {:>5} {:>5} {:>5}   {:>9.2} {:>10} {:>5} {:>5} {:>5}",
            p.profile,
            h.normalized,
            h.tp,
            h.fp,
            h.fn_,
            p.normalized,
            p.threshold
                .map_or_else(|| "none".to_owned(), |t| format!("{t:.4}")),
            p.tp,
            p.fp,
            p.fn_
        )?;
    }
    writeln!(out)?;
    writeln!(out, "held-out thresholds per category (standard profile):")?;
    if let Some(h) = report.held_out.first() {
        for c in &h.categories {
            writeln!(
                out,
                "  {:<24} {:>10} raw {:>7.2}  TP {:>2} FP {:>3} FN {:>2} ({} files)",
                c.category,
                c.threshold
                    .map_or_else(|| "none".to_owned(), |t| format!("{t:.4}")),
                c.raw,
                c.tp,
                c.fp,
                c.fn_,
                c.files
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} files, {} rows, {} windows; normalised NAB scores (100 = perfect, 0 = no detections).",
        report.files, report.rows, report.windows
    )?;
    writeln!(out, "Held-out: {HELD_OUT_NOTE}.")?;
    writeln!(out, "In-sample: {THRESHOLD_NOTE}.")?;
    writeln!(out, "({secs:.1} s)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write test input");
        p
    }

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("opscope-nab-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    }

    fn series(n: usize, spike_at: usize) -> String {
        let mut s = String::from("timestamp,value\n");
        for i in 0..n {
            let (h, m) = ((i * 5) / 60, (i * 5) % 60);
            let (d, h) = (1 + h / 24, h % 24);
            let v = if i == spike_at {
                500.0
            } else {
                10.0 + (i % 7) as f64
            };
            s.push_str(&format!("2014-04-{d:02} {h:02}:{m:02}:00,{v}\n"));
        }
        s
    }

    #[test]
    fn detect_keeps_rows_adds_scores_and_is_causal() {
        let dir = scratch("detect");
        let full = series(1000, 900);
        let input = write(&dir, "in.csv", full.trim_end());
        let output = dir.join("out.csv");
        detect(&input, &output).expect("detect runs");
        let text = std::fs::read_to_string(&output).expect("output");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "timestamp,value,anomaly_score");
        assert_eq!(
            lines.len(),
            1001,
            "no row lost (input had no final newline)"
        );
        let score = |l: &str| -> f64 {
            l.rsplit(',')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(-1.0)
        };
        assert!(lines[1..].iter().all(|l| (0.0..=1.0).contains(&score(l))));
        assert!(score(lines[901]) >= 0.7, "{}", lines[901]);
        // Causality: scoring a prefix gives the same scores.
        let prefix: String = full.lines().take(601).map(|l| format!("{l}\n")).collect();
        let input2 = write(&dir, "prefix.csv", &prefix);
        let output2 = dir.join("out2.csv");
        detect(&input2, &output2).expect("detect runs");
        let text2 = std::fs::read_to_string(&output2).expect("output");
        assert_eq!(text2.lines().collect::<Vec<_>>(), lines[..601].to_vec());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn detect_reports_line_numbers() {
        let dir = scratch("errors");
        let out = dir.join("out.csv");
        let bad_ts = write(
            &dir,
            "a.csv",
            "timestamp,value\n2014-04-01 00:00:00,1\nnot a time,2\n",
        );
        let e = format!("{:#}", detect(&bad_ts, &out).expect_err("bad timestamp"));
        assert!(e.contains("a.csv:3"), "{e}");
        let bad_v = write(&dir, "b.csv", "timestamp,value\n2014-04-01 00:00:00,abc\n");
        let e = format!("{:#}", detect(&bad_v, &out).expect_err("bad value"));
        assert!(e.contains("b.csv:2"), "{e}");
        let no_hdr = write(&dir, "c.csv", "time,v\n1,2\n");
        assert!(detect(&no_hdr, &out).is_err());
        // Empty values are missing samples: kept, scored 0.
        let gap = write(
            &dir,
            "d.csv",
            "timestamp,value\n2014-04-01 00:00:00,\n2014-04-01 00:05:00,3\n",
        );
        detect(&gap, &out).expect("missing value is fine");
        let text = std::fs::read_to_string(&out).expect("output");
        assert_eq!(text.lines().count(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
