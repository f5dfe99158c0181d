//! A multivariate model per workload: k-means (linfa) over feature vectors of the workload's
//! signals taken together, retrained periodically on a worker thread. A workload whose newest
//! vector is far from every centroid behaves unlike any recent normal mix of load, errors,
//! latency and resources, even when each signal alone is only a little off.
//!
//! Training data are the vectors of cycles in which the workload had no confirmed anomaly. A
//! retrain starts every [`RETRAIN_EVERY`] cycles and its result is installed at the next cycle
//! (the analysis waits for it then), so results do not depend on thread timing.

use collector::model::{EntityId, EntityKind, SignalKey, SignalKind};
use linfa::traits::Fit;
use linfa_clustering::KMeans;
use ndarray::Array2;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::thread::JoinHandle;

/// The signals a workload's feature vector is made of.
const KINDS: [SignalKind; 5] = [
    SignalKind::RequestRate,
    SignalKind::ErrorRatio,
    SignalKind::LatencyP99,
    SignalKind::CpuCores,
    SignalKind::MemoryBytes,
];
/// Feature dimensions: each signal's (transformed) value.
const DIM: usize = KINDS.len();
/// Normal vectors kept per workload for training (1 h at 15 s).
const KEEP: usize = 240;
/// Vectors needed before the first model.
const MIN_TRAIN: usize = 60;
/// Cycles between retrains.
pub const RETRAIN_EVERY: u64 = 40;
/// Clusters per workload.
const CLUSTERS: usize = 3;
/// Distance quantile of the training vectors that scores 1.0.
const QUANTILE: f64 = 0.99;
/// Smallest spread a feature is scaled by (a flat signal must not make tiny changes huge).
const MIN_SCALE: f64 = 0.05;

/// Per-signal transforms into comparable units (logs of positive quantities, percent errors).
fn feature(kind: SignalKind, v: f64) -> f64 {
    match kind {
        SignalKind::ErrorRatio => v * 100.0,
        SignalKind::MemoryBytes => (v.max(0.0) / 1_048_576.0).ln_1p(),
        SignalKind::CpuCores => (v.max(0.0) * 1000.0).ln_1p(),
        _ => v.max(0.0).ln_1p(),
    }
}

#[derive(Debug, Clone)]
struct Trained {
    mean: [f64; DIM],
    scale: [f64; DIM],
    centroids: Vec<[f64; DIM]>,
    threshold: f64,
}

impl Trained {
    fn distance(&self, x: &[f64; DIM]) -> f64 {
        let z: Vec<f64> = (0..DIM)
            .map(|i| (x[i] - self.mean[i]) / self.scale[i])
            .collect();
        self.centroids
            .iter()
            .map(|c| {
                c.iter()
                    .zip(&z)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(f64::INFINITY, f64::min)
    }
}

/// Fit one workload's model; `None` when the data cannot be clustered.
fn train(data: &[[f64; DIM]]) -> Option<Trained> {
    let n = data.len();
    if n < MIN_TRAIN {
        return None;
    }
    let mut mean = [0.0; DIM];
    let mut scale = [0.0; DIM];
    for i in 0..DIM {
        mean[i] = data.iter().map(|x| x[i]).sum::<f64>() / n as f64;
        let var = data.iter().map(|x| (x[i] - mean[i]).powi(2)).sum::<f64>() / n as f64;
        scale[i] = var.sqrt().max(MIN_SCALE);
    }
    let flat: Vec<f64> = data
        .iter()
        .flat_map(|x| (0..DIM).map(move |i| (x[i] - mean[i]) / scale[i]))
        .collect();
    let records = Array2::from_shape_vec((n, DIM), flat).ok()?;
    let ds = linfa::DatasetBase::from(records);
    let model = KMeans::params(CLUSTERS.min(n))
        .max_n_iterations(50)
        .tolerance(1e-4)
        .fit(&ds)
        .ok()?;
    let centroids: Vec<[f64; DIM]> = model
        .centroids()
        .rows()
        .into_iter()
        .map(|r| {
            let mut c = [0.0; DIM];
            for (i, v) in r.iter().enumerate().take(DIM) {
                c[i] = *v;
            }
            c
        })
        .collect();
    let mut t = Trained {
        mean,
        scale,
        centroids,
        threshold: 1.0,
    };
    let mut d: Vec<f64> = data.iter().map(|x| t.distance(x)).collect();
    d.sort_by(f64::total_cmp);
    let q = d[((n as f64 * QUANTILE) as usize).min(n - 1)];
    // At least one standard deviation on some axis: a model fitted on near-constant data must
    // not call every wobble unusual.
    t.threshold = q.max(1.0);
    Some(t)
}

/// The per-workload models and their training buffers.
#[derive(Debug, Default)]
pub struct EntityModels {
    buffers: HashMap<EntityId, VecDeque<[f64; DIM]>>,
    models: HashMap<EntityId, Trained>,
    pending: Option<JoinHandle<Vec<(EntityId, Trained)>>>,
    cycle: u64,
}

impl EntityModels {
    /// Score every workload's newest vector (1.0 = at the usual far edge of normal; above is
    /// unusual), then remember the vectors of workloads without confirmed anomalies for the
    /// next training.
    pub fn step(
        &mut self,
        signals: &BTreeMap<SignalKey, f64>,
        anomalous: &BTreeSet<EntityId>,
    ) -> BTreeMap<EntityId, f64> {
        self.cycle += 1;
        if let Some(h) = self.pending.take() {
            match h.join() {
                Ok(models) => self.models.extend(models),
                Err(_) => tracing::warn!("k-means retrain panicked; keeping the previous models"),
            }
        }
        let mut vectors: BTreeMap<&EntityId, [Option<f64>; DIM]> = BTreeMap::new();
        for (k, v) in signals {
            if k.entity.kind != EntityKind::Workload || !v.is_finite() {
                continue;
            }
            if let Some(i) = KINDS.iter().position(|x| *x == k.kind) {
                vectors.entry(&k.entity).or_insert([None; DIM])[i] = Some(feature(k.kind, *v));
            }
        }
        let mut scores = BTreeMap::new();
        for (e, v) in vectors {
            // A workload without traffic has no latency or errors: score what is complete only.
            let Some(x) = complete(&v) else { continue };
            if let Some(m) = self.models.get(e) {
                scores.insert(e.clone(), m.distance(&x) / m.threshold);
            }
            if !anomalous.contains(e) {
                let buf = self.buffers.entry(e.clone()).or_default();
                buf.push_back(x);
                while buf.len() > KEEP {
                    buf.pop_front();
                }
            }
        }
        if self.cycle.is_multiple_of(RETRAIN_EVERY) {
            let jobs: Vec<(EntityId, Vec<[f64; DIM]>)> = self
                .buffers
                .iter()
                .filter(|(_, b)| b.len() >= MIN_TRAIN)
                .map(|(e, b)| (e.clone(), b.iter().copied().collect()))
                .collect();
            if !jobs.is_empty() {
                self.pending = Some(std::thread::spawn(move || {
                    jobs.into_iter()
                        .filter_map(|(e, d)| train(&d).map(|m| (e, m)))
                        .collect()
                }));
            }
        }
        scores
    }

    /// Bytes held (buffers and models), for the cost benchmark.
    pub fn state_bytes(&self) -> usize {
        let buf: usize = self
            .buffers
            .values()
            .map(|b| b.capacity() * std::mem::size_of::<[f64; DIM]>() + 64)
            .sum();
        let models: usize = self
            .models
            .values()
            .map(|m| std::mem::size_of::<Trained>() + m.centroids.len() * DIM * 8)
            .sum();
        buf + models
    }
}

fn complete(v: &[Option<f64>; DIM]) -> Option<[f64; DIM]> {
    let mut x = [0.0; DIM];
    for i in 0..DIM {
        x[i] = v[i]?;
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(e: &EntityId, vals: [f64; DIM]) -> BTreeMap<SignalKey, f64> {
        KINDS
            .iter()
            .zip(vals)
            .map(|(k, v)| {
                (
                    SignalKey {
                        entity: e.clone(),
                        kind: *k,
                    },
                    v,
                )
            })
            .collect()
    }

    #[test]
    fn learns_the_normal_mix_and_flags_a_new_one() {
        let e = EntityId::workload("shop", "cart");
        let mut m = EntityModels::default();
        let none = BTreeSet::new();
        let mut last = BTreeMap::new();
        for i in 0..(RETRAIN_EVERY * 3) {
            let w = (i % 7) as f64;
            let vals = [50.0 + w, 0.001, 30.0 + w, 0.2 + w * 0.01, 1e8 + w * 1e5];
            last = m.step(&signals(&e, vals), &none);
        }
        let usual = last.get(&e).copied().expect("a model after two retrains");
        assert!(usual < 1.0, "a normal vector scores below 1: {usual}");
        // Same load, but errors and latency together far off.
        let odd = m.step(&signals(&e, [53.0, 0.2, 400.0, 0.23, 1e8]), &none);
        assert!(odd[&e] > 3.0, "an unusual mix scores high: {}", odd[&e]);
    }

    #[test]
    fn no_model_without_enough_normal_data() {
        let e = EntityId::workload("shop", "cart");
        let mut m = EntityModels::default();
        let mut anomalous = BTreeSet::new();
        anomalous.insert(e.clone());
        for _ in 0..(RETRAIN_EVERY * 3) {
            let s = m.step(&signals(&e, [1.0, 0.0, 1.0, 1.0, 1.0]), &anomalous);
            assert!(s.is_empty(), "anomalous cycles never train");
        }
    }

    #[test]
    fn constant_and_non_finite_inputs_are_safe() {
        let e = EntityId::workload("shop", "flat");
        let mut m = EntityModels::default();
        let none = BTreeSet::new();
        for _ in 0..(RETRAIN_EVERY * 3) {
            m.step(&signals(&e, [10.0, 0.0, 20.0, 0.1, 1e8]), &none);
        }
        let s = m.step(&signals(&e, [10.0, 0.0, 20.0, 0.1, 1e8]), &none);
        assert!(s[&e].is_finite() && s[&e] < 1.0);
        let s = m.step(&signals(&e, [f64::NAN, 0.0, 20.0, 0.1, 1e8]), &none);
        assert!(!s.contains_key(&e), "an incomplete vector is not scored");
    }
}
