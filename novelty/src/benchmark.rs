//! The market a behaviour is measured against, prepared once per data window.
//!
//! Every descriptor of a run needs the same benchmark figures (its centred per-bar returns for
//! β, its volatility for the signature's scale); computing them once keeps a descriptor to one
//! pass over the strategy's equity curve.

use crate::DescriptorError;

/// A benchmark close series reduced to what descriptors need.
#[derive(Clone, Debug, PartialEq)]
pub struct Benchmark {
    /// Closes given (bars covered).
    bars: usize,
    /// `b_t − mean(b)` for `t = 1..n`, with `b_t = c_t / c_{t−1} − 1` (0 when `c_{t−1} ≤ 0`).
    centred: Vec<f64>,
    /// `Σ (b_t − mean(b))²`.
    sum_sq: f64,
    /// Sample sd of the per-bar log returns `ln(c_t / c_{t−1})` (0 when a close is not positive).
    log_sd: f64,
    /// Whether every centred return is finite (what [`BetaSum`] relies on).
    finite: bool,
}

/// β accumulated bar by bar inside an evaluator's own pass over an equity curve (which already
/// computes each bar's return), so the descriptor needs no second pass: the same four partial
/// sums as [`Benchmark::beta`], so the same bits.
///
/// Bars whose return is exactly 0 (a flat equity) may be left out: their product is ±0,
/// which moves no sum — the benchmark's centred returns being finite ([`Benchmark::beta_sum`]
/// refuses otherwise).
#[derive(Clone, Debug)]
pub struct BetaSum<'b> {
    benchmark: &'b Benchmark,
    acc: [f64; 4],
}

impl BetaSum<'_> {
    /// Adds bar `t`'s return `r_t = E_t / E_{t−1} − 1` (0 when `E_{t−1} ≤ 0`), for `t ≥ 1`.
    #[inline]
    pub fn add(&mut self, t: usize, r: f64) {
        let i = t - 1;
        self.acc[i & 3] += r * self.benchmark.centred[i];
    }

    /// β of the returns added, as [`Benchmark::beta`] computes it for the whole curve.
    pub fn beta(&self) -> f64 {
        if self.benchmark.centred.len() < 2 || self.benchmark.sum_sq <= 0.0 {
            return 0.0;
        }
        let acc = self.acc;
        ((acc[0] + acc[1]) + (acc[2] + acc[3])) / self.benchmark.sum_sq
    }
}

/// `x_t / x_{t−1} − 1` for `t ≥ 1`, 0 when the previous value is not positive.
fn bar_returns(xs: &[f64]) -> impl Iterator<Item = f64> + '_ {
    xs.windows(2).map(|w| if w[0] > 0.0 { w[1] / w[0] - 1.0 } else { 0.0 })
}

/// Values minus their mean, and the sum of their squares.
fn centre(xs: impl Iterator<Item = f64>) -> (Vec<f64>, f64) {
    let mut v: Vec<f64> = xs.collect();
    let mean = if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let mut sum_sq = 0.0;
    for x in &mut v {
        *x -= mean;
        sum_sq += *x * *x;
    }
    (v, sum_sq)
}

impl Benchmark {
    /// Prepares the benchmark from one close per bar (finite).
    pub fn new(close: &[f64]) -> Result<Self, DescriptorError> {
        if let Some(&value) = close.iter().find(|x| !x.is_finite()) {
            return Err(DescriptorError::NonFinite { field: "benchmark_close", value });
        }
        let (centred, sum_sq) = centre(bar_returns(close));
        let log_returns =
            close.windows(2).map(|w| if w[0] > 0.0 && w[1] > 0.0 { (w[1] / w[0]).ln() } else { 0.0 });
        let (log_centred, log_sum_sq) = centre(log_returns);
        let log_sd =
            if log_centred.len() >= 2 { (log_sum_sq / (log_centred.len() - 1) as f64).sqrt() } else { 0.0 };
        let finite = centred.iter().all(|x| x.is_finite());
        Ok(Benchmark { bars: close.len(), centred, sum_sq, log_sd, finite })
    }

    /// Bars the benchmark covers.
    pub fn bars(&self) -> usize {
        self.bars
    }

    /// An empty [`BetaSum`] for a pass over an equity curve of [`Benchmark::bars`] values;
    /// `None` when a centred return overflowed (then only [`Benchmark::beta`]'s full pass
    /// gives the defined result).
    pub fn beta_sum(&self) -> Option<BetaSum<'_>> {
        self.finite.then_some(BetaSum { benchmark: self, acc: [0.0; 4] })
    }

    /// β of the per-bar returns `r_t = E_t / E_{t−1} − 1` (t = 1..n, 0 after a non-positive
    /// equity) of `equity` (one value per bar) against the benchmark's:
    /// `Σ r_t (b_t − b̄) / Σ (b_t − b̄)²` (the centring of `r` cancels); 0 with fewer than 2
    /// returns or a benchmark that does not move.
    ///
    /// One pass with four interleaved partial sums, combined as `(s0 + s1) + (s2 + s3)`: the
    /// divisions and products vectorise and the add chain is four times shorter, in a fixed
    /// order on every machine.
    pub(crate) fn beta(&self, equity: &[f64]) -> f64 {
        if self.centred.len() < 2 || self.sum_sq <= 0.0 || equity.len() != self.bars {
            return 0.0;
        }
        let (prev, cur) = (&equity[..equity.len() - 1], &equity[1..]);
        // Both sides computed, then selected: branch-free, so it vectorises.
        let r = |p: f64, c: f64| {
            let r = c / p - 1.0;
            if p > 0.0 { r } else { 0.0 }
        };
        let mut sum = BetaSum { benchmark: self, acc: [0.0; 4] };
        let acc = &mut sum.acc;
        let chunks = prev.chunks_exact(4).zip(cur.chunks_exact(4)).zip(self.centred.chunks_exact(4));
        for ((p, c), b) in chunks {
            for l in 0..4 {
                acc[l] += r(p[l], c[l]) * b[l];
            }
        }
        let tail = prev.len() / 4 * 4;
        for (l, t) in (tail..prev.len()).enumerate() {
            acc[l] += r(prev[t], cur[t]) * self.centred[t];
        }
        sum.beta()
    }

    /// The benchmark's typical log move over `bars` bars, `σ × √bars`.
    pub(crate) fn typical_move(&self, bars: usize) -> f64 {
        self.log_sd * (bars as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_and_volatility_by_hand() {
        // Closes 100, 110, 99, 108.9: returns +10 %, −10 %, +10 %; mean 1/30.
        let b = Benchmark::new(&[100.0, 110.0, 99.0, 108.9]).unwrap();
        assert_eq!(b.bars(), 4);
        // A strategy moving twice as much (+20 %, −20 %, +20 %): β = 2. One that grows steadily:
        // β = 0.
        assert!((b.beta(&[100.0, 120.0, 96.0, 115.2]) - 2.0).abs() < 1e-12);
        assert!(b.beta(&[100.0, 101.0, 102.01, 103.0301]).abs() < 1e-15);
        // Log returns ln 1.1, ln 0.9, ln 1.1.
        let l = [1.1f64.ln(), 0.9f64.ln(), 1.1f64.ln()];
        let m = l.iter().sum::<f64>() / 3.0;
        let sd = (l.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((b.typical_move(4) - 2.0 * sd).abs() < 1e-12);
    }

    proptest::proptest! {
        /// Fed each bar's return — flat bars (return exactly 0) left out, as an evaluator's
        /// pass skips them — the running sum gives [`Benchmark::beta`]'s bits.
        #[test]
        fn beta_sum_equals_the_full_pass_bit_for_bit(
            moves in proptest::collection::vec((-0.05..0.05f64, 0u8..3), 2..300),
            start in 0.5..2.0f64,
        ) {
            let close: Vec<f64> = moves.iter().scan(100.0, |c, (m, _)| { *c *= 1.0 + m; Some(*c) }).collect();
            // Equity flat on a third of the bars, moving with a shifted market elsewhere.
            let equity: Vec<f64> = moves
                .iter()
                .scan(1000.0 * start, |e, &(m, flat)| {
                    if flat != 0 { *e *= 1.0 + 0.5 * m + 0.001; }
                    Some(*e)
                })
                .collect();
            let bench = Benchmark::new(&close).unwrap();
            let mut sum = bench.beta_sum().unwrap();
            for t in 1..equity.len() {
                let r = equity[t] / equity[t - 1] - 1.0;
                if equity[t] != equity[t - 1] {
                    sum.add(t, r);
                }
            }
            proptest::prop_assert_eq!(sum.beta().to_bits(), bench.beta(&equity).to_bits());
        }
    }

    #[test]
    fn a_flat_or_short_benchmark_gives_beta_zero() {
        assert_eq!(
            Benchmark::new(&[5.0; 10]).unwrap().beta(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]),
            0.0
        );
        let one = Benchmark::new(&[5.0]).unwrap();
        assert_eq!((one.bars(), one.typical_move(1)), (1, 0.0));
        assert!(Benchmark::new(&[1.0, f64::NAN]).is_err());
    }
}
