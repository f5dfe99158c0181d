//! Cost of each detector and of the ensemble: bytes of state per signal and microseconds per
//! update, over many signals updated in lock-step (as the live pipeline does each cycle).
//! Prints figures only; run with `cargo bench -p detectors --bench cost`.

use detectors::{
    Context, Cusum, Detector, Ensemble, EnsembleConfig, Likelihood, Novelty, RobustBaseline,
    SeasonalBaseline, SignalConfig, SignalDetector,
};
use std::hint::black_box;
use std::time::Instant;

const SIGNALS: usize = 10_000;
const UPDATES: usize = 500;
// (500 updates fill every window: the robust window is 96 samples, the level window 40.)
const STEP_MS: i64 = 15_000;

/// Deterministic pseudo-random value of signal `s` at step `t` (daily-ish wave plus noise).
fn value(s: usize, t: usize) -> f64 {
    let x = (s as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (t as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    let noise = ((x >> 11) as f64) / ((1u64 << 53) as f64);
    100.0 + 10.0 * ((t as f64) * 0.01 + s as f64).sin() + noise
}

fn run<D>(
    name: &str,
    mut make: impl FnMut() -> D,
    mut update: impl FnMut(&mut D, i64, f64) -> f64,
    bytes: impl Fn(&D) -> usize,
) {
    let mut states: Vec<D> = (0..SIGNALS).map(|_| make()).collect();
    let start = Instant::now();
    let mut acc = 0.0;
    for t in 0..UPDATES {
        let ts = t as i64 * STEP_MS;
        for (s, d) in states.iter_mut().enumerate() {
            acc += update(d, ts, value(s, t));
        }
    }
    let elapsed = start.elapsed();
    black_box(acc);
    let per_update_us = elapsed.as_secs_f64() * 1e6 / (SIGNALS * UPDATES) as f64;
    let total: usize = states.iter().map(&bytes).sum();
    println!(
        "{name:<18} {:>9} B/signal {:>9.3} us/update  ({} signals x {} updates, {:.2} s, {:.1} MiB total)",
        total / SIGNALS,
        per_update_us,
        SIGNALS,
        UPDATES,
        elapsed.as_secs_f64(),
        total as f64 / (1024.0 * 1024.0)
    );
}

fn det<D: Detector>(d: &mut D, ts: i64, v: f64) -> f64 {
    d.update(ts, v).unwrap_or(0.0)
}

fn main() {
    let cfg = EnsembleConfig::default();
    println!("detector cost (state after {UPDATES} updates; NAB-tuned defaults)");
    run(
        "robust median/MAD",
        || RobustBaseline::new(cfg.robust),
        det,
        |d: &RobustBaseline| d.state_bytes(),
    );
    run(
        "seasonal profile",
        || SeasonalBaseline::new(cfg.seasonal),
        det,
        |d: &SeasonalBaseline| d.state_bytes(),
    );
    run(
        "cusum",
        || Cusum::new(cfg.cusum),
        det,
        |d: &Cusum| d.state_bytes(),
    );
    run(
        "range novelty",
        || Novelty::new(cfg.novelty),
        det,
        |d: &Novelty| d.state_bytes(),
    );
    run(
        "error likelihood",
        || Likelihood::new(cfg.likelihood),
        det,
        |d: &Likelihood| d.state_bytes(),
    );
    run(
        "ensemble",
        || Ensemble::new(cfg),
        |e: &mut Ensemble, ts, v| e.update(ts, v).score,
        |e: &Ensemble| e.state_bytes(),
    );
    // The per-signal detector that runs live and in `opscope detect`: the generic
    // configuration, and a live-like one with the ramp test too (the largest live state).
    let ctx = Context::default();
    for (name, sc) in [
        ("signal (generic)", SignalConfig::generic()),
        (
            "signal (+ ramp)",
            SignalConfig {
                ramp_floor: Some(1.0),
                ..SignalConfig::generic()
            },
        ),
    ] {
        run(
            name,
            || SignalDetector::new(&sc),
            |d: &mut SignalDetector, ts, v| d.update(&sc, ts, v, &ctx).score,
            |d: &SignalDetector| d.state_bytes(),
        );
    }
}
