//! Oscillators and momentum: RSI (Wilder), rate of change, momentum.

use super::rolling::finite;
use super::smoother::Smoother;
use super::{IndicatorError, Resumable, check_len, check_stretch, check_window, collect};

/// Relative strength index with Wilder's smoothing into `out`: `100 · G / (G + L)` where `G`
/// and `L` are the Wilder averages (`α = 1/n`, seeded with the plain mean of the first `n`)
/// of the per-bar gains and losses. A window with neither gains nor losses gives 50.
///
/// Warm-up: first value at index `n` (it needs `n` price changes). A missing price resets
/// it: NaN there and it warms up again as if the series started right after the gap (first
/// value `n` indices after the missing one).
pub fn rsi_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    let mut rsi = Rsi::new(n)?;
    check_len("rsi", "out", x.len(), out.len())?;
    rsi.extend_into(x, out)
}

/// [`rsi_into`] a stretch at a time ([`Resumable`]): Wilder's two averages and the index reached.
#[derive(Debug, Clone, Copy)]
pub struct Rsi {
    /// Average gain.
    gains: Smoother,
    /// Average loss.
    losses: Smoother,
    /// Prices seen.
    seen: usize,
}

impl Rsi {
    /// An RSI of window `n >= 1` before the series' first price.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        check_window("rsi", n, 1)?;
        Ok(Rsi { gains: Smoother::wilder(n), losses: Smoother::wilder(n), seen: 0 })
    }
}

impl Resumable for Rsi {
    fn seen(&self) -> usize {
        self.seen
    }

    fn extend_into(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
        check_stretch("rsi", self.seen, x.len(), out.len())?;
        for (i, o) in (self.seen..).zip(out.iter_mut()) {
            let change = if i == 0 { None } else { finite(x[i] - x[i - 1]) };
            let g = self.gains.update(change.map(|d| d.max(0.0)));
            let l = self.losses.update(change.map(|d| (-d).max(0.0)));
            *o = if g + l > 0.0 {
                100.0 * g / (g + l)
            } else if g + l == 0.0 {
                50.0
            } else {
                f64::NAN
            };
        }
        self.seen = x.len();
        Ok(())
    }
}

/// Relative strength index; see [`rsi_into`].
pub fn rsi(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| rsi_into(x, n, out))
}

/// Rate of change in percent, `100 · (xᵢ / xᵢ₋ₙ − 1)`, into `out`; NaN where `xᵢ₋ₙ` is 0.
///
/// Warm-up: first value at index `n`. It reads only its two end points, so a missing value
/// at `k` gives NaN at `k` and `k + n` alone.
pub fn roc_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    let mut roc = Roc::new(n)?;
    check_len("roc", "out", x.len(), out.len())?;
    roc.extend_into(x, out)
}

/// [`roc_into`] a stretch at a time ([`Resumable`]); it reads back `n` prices, so its state is
/// the index reached.
#[derive(Debug, Clone, Copy)]
pub struct Roc {
    /// The lag.
    n: usize,
    /// Prices seen.
    seen: usize,
}

impl Roc {
    /// A rate of change over `n >= 1` bars before the series' first price.
    pub fn new(n: usize) -> Result<Self, IndicatorError> {
        check_window("roc", n, 1)?;
        Ok(Roc { n, seen: 0 })
    }
}

impl Resumable for Roc {
    fn seen(&self) -> usize {
        self.seen
    }

    fn extend_into(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
        check_stretch("roc", self.seen, x.len(), out.len())?;
        lagged(
            x,
            self.seen,
            self.n,
            out,
            |now, then| {
                if then != 0.0 { 100.0 * (now / then - 1.0) } else { f64::NAN }
            },
        );
        self.seen = x.len();
        Ok(())
    }
}

/// Rate of change in percent; see [`roc_into`].
pub fn roc(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| roc_into(x, n, out))
}

/// Momentum, `xᵢ − xᵢ₋ₙ`, into `out`.
///
/// Warm-up: first value at index `n`. It reads only its two end points, so a missing value
/// at `k` gives NaN at `k` and `k + n` alone.
pub fn momentum_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("momentum", n, 1)?;
    lagged_into("momentum", x, n, out, |now, then| now - then)
}

/// Momentum; see [`momentum_into`].
pub fn momentum(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| momentum_into(x, n, out))
}

/// `out[i] = f(x[i], x[i − n])` (NaN for `i < n` or a non-finite result): a branch-free,
/// vectorisable pass.
fn lagged_into(
    indicator: &'static str,
    x: &[f64],
    n: usize,
    out: &mut [f64],
    f: impl Fn(f64, f64) -> f64,
) -> Result<(), IndicatorError> {
    check_len(indicator, "out", x.len(), out.len())?;
    lagged(x, 0, n, out, f);
    Ok(())
}

/// `out[i − from] = f(x[i], x[i − n])` for `i` in `from..x.len()` (NaN for `i < n` or a
/// non-finite result).
fn lagged(x: &[f64], from: usize, n: usize, out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    let head = n.clamp(from, x.len().max(from));
    out[..head - from].fill(f64::NAN);
    for ((o, &now), &then) in out[head - from..].iter_mut().zip(&x[head..]).zip(&x[head.saturating_sub(n)..])
    {
        let v = f(now, then);
        *o = if v.is_finite() { v } else { f64::NAN };
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicators::test_util::*;

    const NAN: f64 = f64::NAN;

    /// Wilder's RSI written out plainly for one run without missing values.
    fn naive_rsi(x: &[f64], n: usize) -> Vec<f64> {
        let mut out = vec![NAN; x.len()];
        if x.len() <= n {
            return out;
        }
        let change = |i: usize| x[i] - x[i - 1];
        let mut g = (1..=n).map(|i| change(i).max(0.0)).sum::<f64>() / n as f64;
        let mut l = (1..=n).map(|i| (-change(i)).max(0.0)).sum::<f64>() / n as f64;
        let value = |g: f64, l: f64| if g + l == 0.0 { 50.0 } else { 100.0 - 100.0 / (1.0 + g / l) };
        out[n] = value(g, l);
        for (i, o) in out.iter_mut().enumerate().skip(n + 1) {
            g = (g * (n - 1) as f64 + change(i).max(0.0)) / n as f64;
            l = (l * (n - 1) as f64 + (-change(i)).max(0.0)) / n as f64;
            *o = value(g, l);
        }
        out
    }

    #[test]
    fn rsi_matches_the_stockcharts_worked_example() {
        // StockCharts' RSI(14) spreadsheet closes. Its table prints 70.53, 66.32, … because it
        // rounds the averages to 2 decimals at each step; computed exactly, as here (and as
        // TA-Lib and other libraries do), the values are 70.46, 66.25, ….
        let closes = [
            44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28,
            46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18,
            44.22, 44.57, 43.42, 42.66, 43.13,
        ];
        let expected = [
            70.46, 66.25, 66.48, 69.35, 66.29, 57.92, 62.88, 63.21, 56.01, 62.34, 54.67, 50.39, 40.02, 41.49,
            41.90, 45.50, 37.32, 33.09, 37.79,
        ];
        let got = rsi(&closes, 14).unwrap();
        assert_eq!(leading_nans(&got), 14);
        for (g, e) in got[14..].iter().zip(expected) {
            assert!((g - e).abs() < 0.005, "{g} vs {e}");
        }
        assert!((got[14] - 70.464_135).abs() < 1e-6, "{}", got[14]);
    }

    #[test]
    fn rsi_edge_values() {
        // Rising only → 100, falling only → 0, flat → 50.
        let up: Vec<f64> = (0..10).map(f64::from).collect();
        let down: Vec<f64> = up.iter().map(|v| 10.0 - v).collect();
        assert_eq!(rsi(&up, 3).unwrap()[3..], [100.0; 7]);
        assert_eq!(rsi(&down, 3).unwrap()[3..], [0.0; 7]);
        assert_eq!(rsi(&[5.0; 6], 3).unwrap()[3..], [50.0; 3]);
        // By hand, n = 2: changes +2, −1 → G = 1, L = 0.5 → 66.67; then +3: G = 2, L = 0.25.
        let got = rsi(&[10.0, 12.0, 11.0, 14.0], 2).unwrap();
        assert_close(&got, &[NAN, NAN, 200.0 / 3.0, 100.0 * 2.0 / 2.25], 1e-13);
    }

    #[test]
    fn rsi_restarts_after_a_missing_price() {
        let x = [1.0, 2.0, 3.0, NAN, 5.0, 4.0, 6.0, 7.0];
        let got = rsi(&x, 2).unwrap();
        // Restart at index 4: changes −1, +2 → G = 1, L = 0.5 at index 6; then +1.
        assert_close(&got, &[NAN, NAN, 100.0, NAN, NAN, NAN, 200.0 / 3.0, 100.0 * 1.0 / 1.25], 1e-13);
    }

    #[test]
    fn roc_and_momentum_small_cases() {
        let x = [10.0, 11.0, 0.0, 12.1, 13.2];
        assert_close(&momentum(&x, 1).unwrap(), &[NAN, 1.0, -11.0, 12.1, 1.1], 1e-14);
        assert_close(&roc(&x, 1).unwrap(), &[NAN, 10.0, -100.0, NAN, 100.0 * (13.2 / 12.1 - 1.0)], 1e-12);
        assert_close(&roc(&x, 3).unwrap(), &[NAN, NAN, NAN, 21.0, 20.0], 1e-12);
        assert_eq!(leading_nans(&momentum(&x, 9).unwrap()), 5);
        let gap = [1.0, NAN, 3.0, 4.0, 5.0];
        assert_close(&momentum(&gap, 2).unwrap(), &[NAN, NAN, 2.0, NAN, 2.0], 1e-15);
    }

    proptest! {
        /// Run a stretch at a time, RSI and rate of change give the one-shot values bit for bit.
        #[test]
        fn rsi_and_roc_resume_to_the_bit(x in series(200), n in 1usize..30, cuts in cuts(200)) {
            assert_same_bits(&in_stretches(Rsi::new(n).unwrap(), &x, &cuts), &rsi(&x, n).unwrap());
            assert_same_bits(&in_stretches(Roc::new(n).unwrap(), &x, &cuts), &roc(&x, n).unwrap());
        }

        #[test]
        fn rsi_matches_restarted_wilder_recursion(x in series(150), n in 1usize..20) {
            let want = restart_reference(x.len(), |i| !x[i].is_finite(), |r| naive_rsi(&x[r], n));
            assert_close(&rsi(&x, n).unwrap(), &want, 1e-9);
        }

        #[test]
        fn momentum_and_roc_read_the_two_end_points(x in series(100), n in 1usize..20) {
            let pick = |f: fn(f64, f64) -> f64| -> Vec<f64> {
                (0..x.len()).map(|i| if i < n { NAN } else {
                    let v = f(x[i], x[i - n]);
                    if v.is_finite() { v } else { NAN }
                }).collect()
            };
            assert_close(&momentum(&x, n).unwrap(), &pick(|a, b| a - b), 1e-12);
            assert_close(&roc(&x, n).unwrap(), &pick(|a, b| 100.0 * (a / b - 1.0)), 1e-12);
        }
    }
}
