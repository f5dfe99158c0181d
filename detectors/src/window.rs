//! A sliding window kept both in arrival order and sorted, for exact rolling quantiles.

use std::collections::VecDeque;

/// The last `cap` values in arrival order and in sorted order. Push is O(cap) (a binary search
/// plus a memmove); median is O(1); MAD is O(cap).
#[derive(Debug, Clone)]
pub struct SortedWindow {
    cap: usize,
    ring: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    /// An empty window holding at most `cap` (at least 1) values.
    pub fn new(cap: usize) -> SortedWindow {
        let cap = cap.max(1);
        SortedWindow {
            cap,
            ring: VecDeque::with_capacity(cap),
            sorted: Vec::with_capacity(cap),
        }
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Forgets every value (keeps the allocation).
    pub fn clear(&mut self) {
        self.ring.clear();
        self.sorted.clear();
    }

    /// Adds a finite value, evicting the oldest when full. Non-finite values are ignored.
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.ring.len() == self.cap
            && let Some(old) = self.ring.pop_front()
        {
            let at = self.sorted.partition_point(|v| v.total_cmp(&old).is_lt());
            if at < self.sorted.len() {
                self.sorted.remove(at);
            }
        }
        self.ring.push_back(x);
        let at = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        self.sorted.insert(at, x);
    }

    /// Median (mean of the two middle values for an even count); `None` when empty.
    pub fn median(&self) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        Some(if n % 2 == 1 {
            self.sorted[n / 2]
        } else {
            0.5 * (self.sorted[n / 2 - 1] + self.sorted[n / 2])
        })
    }

    /// Value at quantile `q` in [0, 1] (nearest rank); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let idx = ((q.clamp(0.0, 1.0) * (n - 1) as f64).round() as usize).min(n - 1);
        Some(self.sorted[idx])
    }

    /// Median absolute deviation from `center` (lower median of the deviations).
    pub fn mad(&self, center: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return 0.0;
        }
        // Deviations left of the centre grow leftwards, right of it rightwards: merge both
        // ascending runs until the middle element.
        let p = self.sorted.partition_point(|v| *v < center);
        let (mut l, mut r) = (p, p); // next left index is l-1, next right is r
        let k = (n - 1) / 2;
        let mut last = 0.0;
        for _ in 0..=k {
            let dl = if l > 0 {
                center - self.sorted[l - 1]
            } else {
                f64::INFINITY
            };
            let dr = if r < n {
                self.sorted[r] - center
            } else {
                f64::INFINITY
            };
            if dl <= dr {
                last = dl;
                l -= 1;
            } else {
                last = dr;
                r += 1;
            }
        }
        last
    }

    /// Mean absolute deviation from `center`.
    pub fn mean_abs_dev(&self, center: f64) -> f64 {
        if self.sorted.is_empty() {
            return 0.0;
        }
        self.sorted.iter().map(|v| (v - center).abs()).sum::<f64>() / self.sorted.len() as f64
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        (self.ring.capacity() + self.sorted.capacity()) * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_mad(v: &[f64], c: f64) -> f64 {
        let mut d: Vec<f64> = v.iter().map(|x| (x - c).abs()).collect();
        d.sort_by(f64::total_cmp);
        d[(d.len() - 1) / 2]
    }

    proptest! {
        #[test]
        fn matches_naive(xs in proptest::collection::vec(-1e6f64..1e6, 1..200), cap in 1usize..50) {
            let mut w = SortedWindow::new(cap);
            for (i, &x) in xs.iter().enumerate() {
                w.push(x);
                let start = (i + 1).saturating_sub(cap);
                let mut last: Vec<f64> = xs[start..=i].to_vec();
                last.sort_by(f64::total_cmp);
                let n = last.len();
                let med = if n % 2 == 1 { last[n / 2] } else { 0.5 * (last[n / 2 - 1] + last[n / 2]) };
                prop_assert_eq!(w.median(), Some(med));
                prop_assert_eq!(w.mad(med), naive_mad(&last, med));
            }
        }
    }

    #[test]
    fn ignores_non_finite() {
        let mut w = SortedWindow::new(3);
        w.push(1.0);
        w.push(f64::NAN);
        w.push(f64::INFINITY);
        assert_eq!(w.len(), 1);
        assert_eq!(w.median(), Some(1.0));
    }
}
