//! Moving averages: simple, exponential and linearly weighted.

use super::rolling::{Sum, WindowState, finite, roll};
use super::smoother::Smoother;
use super::{IndicatorError, check_len, check_window, collect};

/// Simple moving average over the last `n` values into `out`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn sma_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("sma", n, 1)?;
    check_len("sma", "out", x.len(), out.len())?;
    let nf = n as f64;
    roll(Sum::default(), x.len(), n, |i| finite(x[i]), |i, w| out[i] = w.map_or(f64::NAN, |w| w.mean(nf)));
    Ok(())
}

/// Simple moving average over the last `n` values; see [`sma_into`].
pub fn sma(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| sma_into(x, n, out))
}

/// Exponential moving average with `α = 2 / (n + 1)`, seeded with the SMA of the first `n`
/// values (the TA-Lib convention), into `out`.
///
/// Warm-up: first value at index `n − 1`. A missing value resets it: NaN there and for the
/// next `n − 1` indices, then it re-seeds from the `n` values after the gap.
pub fn ema_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("ema", n, 1)?;
    check_len("ema", "out", x.len(), out.len())?;
    let mut s = Smoother::ema(n);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = s.update(finite(v));
    }
    Ok(())
}

/// Exponential moving average; see [`ema_into`].
pub fn ema(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| ema_into(x, n, out))
}

/// Linearly weighted moving average into `out`: weights `1, 2, …, n`, newest heaviest,
/// divided by `n (n + 1) / 2`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn wma_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("wma", n, 1)?;
    check_len("wma", "out", x.len(), out.len())?;
    let nf = n as f64;
    let total_weight = nf * (nf + 1.0) / 2.0;
    let state = Weighted { n: nf, ..Weighted::default() };
    roll(
        state,
        x.len(),
        n,
        |i| finite(x[i]),
        |i, w| {
            out[i] = w.map_or(f64::NAN, |w| w.anchor + w.weighted / total_weight);
        },
    );
    Ok(())
}

/// Linearly weighted moving average; see [`wma_into`].
pub fn wma(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| wma_into(x, n, out))
}

/// Window state for [`wma_into`]: with deviations `d` from the anchor, `plain = Σ d` and
/// `weighted = Σ wₖ dₖ`; sliding lowers every weight by one (`weighted −= plain`), which
/// zeroes the outgoing element's weight, then adds the newcomer at weight `n`.
#[derive(Debug, Default, Clone, Copy)]
struct Weighted {
    n: f64,
    anchor: f64,
    plain: f64,
    weighted: f64,
}

impl WindowState for Weighted {
    type Item = f64;

    #[inline]
    fn slide(&mut self, incoming: Option<f64>, outgoing: Option<f64>) {
        self.weighted -= self.plain;
        if let Some(x) = outgoing {
            self.plain -= x - self.anchor;
        }
        if let Some(x) = incoming {
            let d = x - self.anchor;
            self.plain += d;
            self.weighted += self.n * d;
        }
    }

    fn rebase(&mut self, anchor: Option<f64>) {
        self.plain = 0.0;
        self.weighted = 0.0;
        if let Some(a) = anchor {
            self.anchor = a;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicators::test_util::*;

    const NAN: f64 = f64::NAN;

    fn naive_ema(x: &[f64], n: usize) -> Vec<f64> {
        let alpha = 2.0 / (n as f64 + 1.0);
        let mut out = vec![NAN; x.len()];
        if x.len() >= n {
            let mut v = x[..n].iter().sum::<f64>() / n as f64;
            out[n - 1] = v;
            for i in n..x.len() {
                v = alpha * x[i] + (1.0 - alpha) * v;
                out[i] = v;
            }
        }
        out
    }

    #[test]
    fn small_cases_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_close(&sma(&x, 3).unwrap(), &[NAN, NAN, 2.0, 3.0, 4.0, 5.0], 1e-15);
        // WMA(3) at index 2: (1·1 + 2·2 + 3·3) / 6 = 14/6.
        assert_close(
            &wma(&x, 3).unwrap(),
            &[NAN, NAN, 14.0 / 6.0, 20.0 / 6.0, 26.0 / 6.0, 32.0 / 6.0],
            1e-15,
        );
        // EMA(3): α = 0.5, seed = 2 at index 2, then 3, 4, 5 (halfway to each new value).
        assert_close(&ema(&x, 3).unwrap(), &[NAN, NAN, 2.0, 3.0, 4.0, 5.0], 1e-15);
        let y = [2.0, 4.0, 6.0, 8.0, 4.0];
        // EMA(2): α = 2/3, seed 3; 3 + 2/3·(6−3) = 5; 5 + 2/3·(8−5) = 7; 7 + 2/3·(4−7) = 5.
        assert_close(&ema(&y, 2).unwrap(), &[NAN, 3.0, 5.0, 7.0, 5.0], 1e-15);
    }

    #[test]
    fn missing_value_poisons_its_windows_then_recovers() {
        let x = [1.0, 2.0, NAN, 4.0, 5.0, 6.0, 7.0];
        assert_close(&sma(&x, 2).unwrap(), &[NAN, 1.5, NAN, NAN, 4.5, 5.5, 6.5], 1e-15);
        // EMA resets: re-seeded by SMA(2) of 4 and 5 at index 4, then α = 2/3.
        assert_close(&ema(&x, 2).unwrap(), &[NAN, 1.5, NAN, NAN, 4.5, 5.5, 6.5], 1e-15);
    }

    #[test]
    fn warm_up_lengths() {
        let x: Vec<f64> = (0..50).map(f64::from).collect();
        for n in [1, 2, 7, 50] {
            assert_eq!(leading_nans(&sma(&x, n).unwrap()), n - 1);
            assert_eq!(leading_nans(&ema(&x, n).unwrap()), n - 1);
            assert_eq!(leading_nans(&wma(&x, n).unwrap()), n - 1);
        }
        assert!(sma(&x, 51).unwrap().iter().all(|v| v.is_nan()));
    }

    #[test]
    fn long_series_stays_exact() {
        let x = random_walk(1_000_000, 1e4, 0.5, 7);
        let n = 50;
        let got_sma = sma(&x, n).unwrap();
        let got_wma = wma(&x, n).unwrap();
        for i in x.len() - 100..x.len() {
            let w = &x[i + 1 - n..=i];
            let mean = w.iter().sum::<f64>() / n as f64;
            let wmean = w.iter().enumerate().map(|(k, v)| (k + 1) as f64 * v).sum::<f64>() / 1275.0;
            assert!((got_sma[i] - mean).abs() <= 1e-12 * mean, "sma {i}: {} vs {mean}", got_sma[i]);
            assert!((got_wma[i] - wmean).abs() <= 1e-12 * wmean, "wma {i}: {} vs {wmean}", got_wma[i]);
        }
    }

    proptest! {
        #[test]
        fn sma_and_wma_match_from_scratch(x in series(150), n in 1usize..20) {
            let miss = |i: usize| !x[i].is_finite();
            let want_sma = naive_windows(x.len(), n, miss, |w| x[w].iter().sum::<f64>() / n as f64);
            let want_wma = naive_windows(x.len(), n, miss, |w| {
                let weighted: f64 = x[w].iter().enumerate().map(|(k, v)| (k + 1) as f64 * v).sum();
                weighted / (n * (n + 1) / 2) as f64
            });
            assert_close(&sma(&x, n).unwrap(), &want_sma, 1e-12);
            assert_close(&wma(&x, n).unwrap(), &want_wma, 1e-12);
        }

        #[test]
        fn ema_matches_restarted_recursion(x in series(150), n in 1usize..20) {
            let want = restart_reference(x.len(), |i| !x[i].is_finite(), |r| naive_ema(&x[r], n));
            assert_close(&ema(&x, n).unwrap(), &want, 1e-12);
        }
    }
}
