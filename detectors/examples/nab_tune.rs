//! Development tool: score the NAB corpus with the per-signal detector's generic
//! configuration (or variants given as `name=value` arguments) and print the three profiles,
//! held out (leave-one-category-out) first. `SELECT=name=v1,v2,...` also chooses that
//! parameter per held-out category on the other categories (nested with the threshold).
//! Not part of the API.
use detectors::EnsembleConfig;
use detectors::nab::{Corpus, held_out_all, tune_all};
use std::path::Path;

fn main() {
    let mut cfg = EnsembleConfig::default();
    let mut verbose = false;
    let mut lw = detectors::signal::GENERIC_LEVEL_WEIGHT;
    let mut lk = detectors::LevelConfig::default().k;
    let mut lwin = detectors::LevelConfig::default().window;
    for a in std::env::args().skip(1) {
        if a == "-v" {
            verbose = true;
            continue;
        }
        let Some((k, v)) = a.split_once('=') else {
            continue;
        };
        let f: f64 = v.parse().expect("number");
        set(&mut cfg, k, f);
        match k {
            "lw" => lw = f,
            "lk" => lk = f,
            "lwin" => lwin = f as usize,
            _ => {}
        }
    }
    let corpus = Corpus::load(
        Path::new("/work/shared/data/nab"),
        Path::new("/work/shared/data/nab/labels/combined_windows.json"),
    )
    .expect("load");
    let base = detectors::SignalConfig::generic();
    let sc = detectors::SignalConfig {
        scale_free: Some(std::sync::Arc::new(cfg)),
        level_weight: lw,
        level: detectors::LevelConfig {
            k: lk,
            window: lwin,
            ..base.level
        },
        ..base
    };
    let scored = corpus.score_with(|rows| {
        let r: Vec<(i64, f64)> = rows.iter().map(|r| (r.ts_ms, r.value)).collect();
        detectors::score_series_with(&sc, &r)
    });
    let res = tune_all(&scored);
    if let Ok(sel) = std::env::var("SELECT") {
        let (name, values) = sel.split_once('=').expect("SELECT=name=v1,v2");
        let candidates: Vec<Vec<detectors::nab::ScoredFile>> = values
            .split(',')
            .map(|v| {
                let mut c = cfg;
                set(&mut c, name, v.parse().expect("number"));
                let sc = detectors::SignalConfig {
                    scale_free: Some(std::sync::Arc::new(c)),
                    ..sc.clone()
                };
                corpus.score_with(|rows| {
                    let r: Vec<(i64, f64)> = rows.iter().map(|r| (r.ts_ms, r.value)).collect();
                    detectors::score_series_with(&sc, &r)
                })
            })
            .collect();
        for p in &detectors::nab::PROFILES {
            let (h, chosen) = detectors::nab::held_out_select(&candidates, p);
            println!(
                "{:<20} NESTED HELD-OUT ({name} in {values}) {:>6.2} tp {:>2} fp {:>3} fn {:>2} chosen {:?}",
                h.profile, h.normalized, h.tp, h.fp, h.fn_, chosen
            );
        }
    }
    for (h, r) in held_out_all(&scored).iter().zip(&res) {
        let thr: Vec<String> = h
            .categories
            .iter()
            .map(|c| c.threshold.map_or("none".into(), |t| format!("{t:.3}")))
            .collect();
        println!(
            "{:<20} HELD-OUT {:>6.2} (in-sample {:>6.2}) tp {:>2} fp {:>3} fn {:>2} thr [{}]",
            h.profile,
            h.normalized,
            r.normalized,
            h.tp,
            h.fp,
            h.fn_,
            thr.join(" ")
        );
    }
    for r in &res {
        println!(
            "{:<20} thr {:>8.4} norm {:>6.2} tp {:>2} fp {:>3} fn {:>2}",
            r.profile,
            r.threshold.unwrap_or(f64::NAN),
            r.normalized,
            r.tp,
            r.fp,
            r.fn_
        );
    }
    if std::env::var("DETAIL").is_ok() {
        let thr = res[0].threshold.unwrap_or(f64::INFINITY);
        for f in &scored {
            let p0 = detectors::nab::probation(f.scores.len());
            let dets: Vec<String> = f
                .scores
                .iter()
                .enumerate()
                .skip(p0)
                .filter(|(_, s)| **s >= thr)
                .map(|(i, s)| format!("{i}:{s:.2}"))
                .collect();
            println!(
                "{} n={} P={} win={:?}\n    {}",
                f.name,
                f.scores.len(),
                p0,
                f.windows,
                dets.join(" ")
            );
        }
    }
    if std::env::var("PARTS").is_ok() {
        let thr = res[0].threshold.unwrap_or(f64::INFINITY);
        let names = [
            "novelty",
            "seasonal",
            "robust_rec",
            "seasonal_rec",
            "likelihood",
            "shift_rec",
        ];
        let (mut fp, mut tp) = ([0usize; 6], [0usize; 6]);
        for f in &corpus.files {
            let mut e = detectors::Ensemble::new(cfg);
            let p0 = detectors::nab::probation(f.rows.len());
            for (i, r) in f.rows.iter().enumerate() {
                let v = e.update(r.ts_ms, r.value);
                if i < p0 || v.score < thr {
                    continue;
                }
                let c = v.components;
                let parts = [
                    c.novelty,
                    c.seasonal,
                    c.robust_record,
                    c.seasonal_record,
                    c.likelihood,
                    c.shift_record,
                ];
                let k = (0..6).fold(0, |b, k| if parts[k] > parts[b] { k } else { b });
                if f.windows.iter().any(|&(s, e)| i >= s && i <= e) {
                    tp[k] += 1;
                } else {
                    fp[k] += 1;
                }
            }
        }
        for k in 0..6 {
            println!(
                "{:<14} in-window detections {:>4}  outside {:>4}",
                names[k], tp[k], fp[k]
            );
        }
    }
    if std::env::var("WINDOWS").is_ok() {
        // Per window: first detection (offset in window widths), its NAB value, and each
        // part's maximum inside the window, to see what misses or catches late.
        let thr = res[0].threshold.unwrap_or(f64::INFINITY);
        for (f, sf) in corpus.files.iter().zip(&scored) {
            let mut e = detectors::Ensemble::new(cfg);
            let parts: Vec<[f64; 6]> = f
                .rows
                .iter()
                .map(|r| {
                    let v = e.update(r.ts_ms, r.value);
                    let c = v.components;
                    [
                        v.score,
                        c.novelty,
                        c.seasonal,
                        c.robust_record,
                        c.seasonal_record,
                        c.likelihood,
                    ]
                })
                .collect();
            for &(s, en) in &sf.windows {
                let w = (en - s + 1) as f64;
                let first = (s..=en).find(|&i| sf.scores[i] >= thr);
                let val = first.map(|i| {
                    let y = -((en - i + 1) as f64) / w;
                    detectors::nab::scaled_sigmoid(y) / detectors::nab::scaled_sigmoid(-1.0)
                });
                let mut mx = [0.0f64; 6];
                for p in &parts[s..=en] {
                    for k in 0..6 {
                        mx[k] = mx[k].max(p[k]);
                    }
                }
                println!(
                    "{:<50} win {:>5}-{:>5} first {:>6} val {:>5.2} max score {:.2} nov {:.2} seas {:.2} rrec {:.2} srec {:.2} lik {:.2}",
                    f.name,
                    s,
                    en,
                    first.map_or("-".to_string(), |i| format!("{:+.2}", (i - s) as f64 / w)),
                    val.unwrap_or(-1.0),
                    mx[0],
                    mx[1],
                    mx[2],
                    mx[3],
                    mx[4],
                    mx[5]
                );
            }
        }
    }
    if std::env::var("RAWZ").is_ok() {
        // Raw robust z and likelihood inside each window vs their history maxima.
        use detectors::Detector;
        for f in &corpus.files {
            let mut rb = detectors::RobustBaseline::new(cfg.robust);
            let mut lk = detectors::Likelihood::new(cfg.likelihood);
            let zs: Vec<(f64, f64)> = f
                .rows
                .iter()
                .map(|r| {
                    (
                        rb.update(r.ts_ms, r.value).unwrap_or(0.0).abs(),
                        lk.update(r.ts_ms, r.value).unwrap_or(0.0),
                    )
                })
                .collect();
            let start = cfg.record_start.min(zs.len());
            for &(s, e) in &f.windows {
                let mx = |a: usize, b: usize, k: usize| {
                    zs[a.min(b)..b]
                        .iter()
                        .map(|p| if k == 0 { p.0 } else { p.1 })
                        .fold(0.0f64, f64::max)
                };
                let s0 = start.min(s);
                println!(
                    "{:<50} {:>5} robust win {:>8.1} hist {:>8.1} last2000 {:>8.1} | lik win {:>6.1} hist {:>6.1} last2000 {:>6.1}",
                    f.name,
                    s,
                    mx(s, e + 1, 0),
                    mx(s0, s, 0),
                    mx(s.saturating_sub(2000).max(s0), s, 0),
                    mx(s, e + 1, 1),
                    mx(s0, s, 1),
                    mx(s.saturating_sub(2000).max(s0), s, 1)
                );
            }
        }
    }
    if verbose {
        let p = &detectors::nab::PROFILES[0];
        for f in &scored {
            let one = detectors::nab::score_at(std::slice::from_ref(f), p, res[0].threshold);
            println!(
                "{:<55} raw {:>6.2} tp {} fp {} fn {}",
                f.name, one.raw, one.tp, one.fp, one.fn_
            );
        }
    }
}

/// Sets one ensemble parameter by its short name (level-test names are handled by `main`).
fn set(cfg: &mut EnsembleConfig, k: &str, f: f64) {
    match k {
        "rw" => cfg.robust.window = f as usize,
        "rst" => cfg.robust.stride = f as usize,
        "mh" => cfg.min_history = f as usize,
        "sz" => cfg.seasonal_half_z = f,
        "nf" => cfg.novelty_floor = f,
        "nh" => cfg.novelty_half = f,
        "nz" => cfg.novelty_min_z = f,
        "nm" => cfg.novelty.min_history = f as usize,
        "rs" => cfg.record_start = f as usize,
        "rf" => cfg.record_floor = f,
        "rh" => cfg.record_half = f,
        "shh" => cfg.shift_record_half = f,
        "shs" => cfg.shift_span = f as usize,
        "rhl" => cfg.record_half_life = f,
        "lhl" => cfg.likelihood_record_half_life = f,
        "nd" => cfg.novelty.decay = f,
        "lrh" => cfg.likelihood_record_half = f,
        "lm" => cfg.likelihood.min_history = f as usize,
        "ls" => cfg.likelihood.short = f as usize,
        "lp" => cfg.likelihood.pred_alpha = f,
        "lpow" => cfg.likelihood.err_power = f,
        "la" => cfg.likelihood.alpha = f,
        "hill" => cfg.hill = f,
        "cw" => cfg.cusum_weight = f,
        "ch" => cfg.cusum.h = f,
        "ck" => cfg.cusum.drift = f,
        "al" => cfg.alarm_level = f,
        "ss" => cfg.suppress_samples = f as u32,
        "sf" => cfg.suppress_factor = f,
        "sb" => cfg.seasonal.buckets = f as usize,
        "svr" => cfg.seasonal.max_var_ratio = f,
        "lw" | "lk" | "lwin" => {}
        _ => panic!("unknown {k}"),
    }
}
