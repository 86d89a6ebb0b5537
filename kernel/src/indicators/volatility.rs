//! Volatility: rolling standard deviation, z-score and Bollinger bands.

use super::rolling::{Moments, finite, roll};
use super::{Bands, IndicatorError, check_len, check_window, collect};

/// Rolling population standard deviation (divisor `n`) over the last `n` values into `out`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn rolling_std_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("rolling_std", n, 1)?;
    check_len("rolling_std", "out", x.len(), out.len())?;
    let nf = n as f64;
    roll(Moments::default(), x.len(), n, |i| finite(x[i]), |i, w| out[i] = w.map_or(f64::NAN, |w| w.std(nf)));
    Ok(())
}

/// Rolling population standard deviation; see [`rolling_std_into`].
pub fn rolling_std(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| rolling_std_into(x, n, out))
}

/// Rolling z-score `(xᵢ − mean) / std` over the last `n` values (the current one included,
/// population std) into `out`. NaN where the window's std is 0 (the score is undefined).
///
/// Warm-up: first value at index `n − 1`; `n >= 2`. NaN wherever the window holds a missing value.
pub fn zscore_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("zscore", n, 2)?;
    check_len("zscore", "out", x.len(), out.len())?;
    let nf = n as f64;
    roll(
        Moments::default(),
        x.len(),
        n,
        |i| finite(x[i]),
        |i, w| {
            out[i] = w.map_or(f64::NAN, |w| {
                let sd = w.std(nf);
                if sd > 0.0 { w.deviation(x[i], nf) / sd } else { f64::NAN }
            });
        },
    );
    Ok(())
}

/// Rolling z-score; see [`zscore_into`].
pub fn zscore(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| zscore_into(x, n, out))
}

/// Bollinger bands into three buffers: `middle` = SMA(n), `upper`/`lower` = middle ± `k` ×
/// the window's population std (Bollinger's own definition). `k` must be finite and `>= 0`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn bollinger_into(
    x: &[f64],
    n: usize,
    k: f64,
    middle: &mut [f64],
    upper: &mut [f64],
    lower: &mut [f64],
) -> Result<(), IndicatorError> {
    const NAME: &str = "bollinger";
    check_window(NAME, n, 1)?;
    if !(k.is_finite() && k >= 0.0) {
        return Err(IndicatorError::InvalidParameter {
            indicator: NAME,
            name: "k",
            value: k,
            rule: "finite, >= 0",
        });
    }
    check_len(NAME, "middle", x.len(), middle.len())?;
    check_len(NAME, "upper", x.len(), upper.len())?;
    check_len(NAME, "lower", x.len(), lower.len())?;
    let nf = n as f64;
    roll(
        Moments::default(),
        x.len(),
        n,
        |i| finite(x[i]),
        |i, w| {
            let (m, half_width) = w.map_or((f64::NAN, f64::NAN), |w| (w.mean(nf), k * w.std(nf)));
            middle[i] = m;
            upper[i] = m + half_width;
            lower[i] = m - half_width;
        },
    );
    Ok(())
}

/// Bollinger bands; see [`bollinger_into`].
pub fn bollinger(x: &[f64], n: usize, k: f64) -> Result<Bands, IndicatorError> {
    let len = x.len();
    let mut bands =
        Bands { middle: vec![f64::NAN; len], upper: vec![f64::NAN; len], lower: vec![f64::NAN; len] };
    bollinger_into(x, n, k, &mut bands.middle, &mut bands.upper, &mut bands.lower)?;
    Ok(bands)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicators::test_util::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn bollinger_small_case_by_hand() {
        // Window [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, population variance 4, std 2.
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, 9.0];
        let b = bollinger(&x, 8, 2.0).unwrap();
        assert_eq!(leading_nans(&b.middle), 7);
        assert_eq!((b.middle[7], b.upper[7], b.lower[7]), (5.0, 9.0, 1.0));
        // Next window [4, 4, 4, 5, 5, 7, 9, 9]: mean 47/8, Σ(x − mean)² = 32.875, var 4.109375.
        let sd = 4.109375f64.sqrt();
        assert_close(&b.upper[8..], &[47.0 / 8.0 + 2.0 * sd], 1e-14);
        assert_close(&b.lower[8..], &[47.0 / 8.0 - 2.0 * sd], 1e-14);
        assert_close(&rolling_std(&x, 8).unwrap()[7..], &[2.0, sd], 1e-14);
        // z-score of 9 in the first full window: (9 − 5) / 2.
        assert_close(&zscore(&x, 8).unwrap()[7..8], &[2.0], 1e-14);
    }

    #[test]
    fn constant_window_has_zero_std_and_undefined_zscore() {
        let x = [3.0, 3.0, 3.0, 4.0];
        assert_eq!(rolling_std(&x, 3).unwrap()[2], 0.0);
        let z = zscore(&x, 3).unwrap();
        assert!(z[2].is_nan());
        // Window [3, 3, 4]: mean 10/3, std √2/3; z = (4 − 10/3) / (√2/3) = √2.
        assert_close(&z[3..], &[2f64.sqrt()], 1e-14);
    }

    #[test]
    fn bad_arguments_are_rejected() {
        let x = [1.0; 4];
        let mut a = [0.0; 4];
        let (mut b, mut c) = ([0.0; 4], [0.0; 3]);
        assert!(matches!(bollinger(&x, 2, -1.0), Err(IndicatorError::InvalidParameter { name: "k", .. })));
        assert!(matches!(bollinger(&x, 2, f64::NAN), Err(IndicatorError::InvalidParameter { .. })));
        assert!(matches!(
            bollinger_into(&x, 2, 2.0, &mut a, &mut b, &mut c),
            Err(IndicatorError::LengthMismatch { name: "lower", found: 3, .. })
        ));
        assert!(matches!(zscore(&x, 1), Err(IndicatorError::WindowTooShort { min: 2, .. })));
    }

    #[test]
    fn long_series_std_matches_two_pass_reference() {
        // Prices around 1e4 with moves of ~0.01: the naive E[x²] − E[x]² would lose every digit.
        let x = random_walk(1_000_000, 1e4, 0.01, 11);
        let n = 30;
        let got = rolling_std(&x, n).unwrap();
        for i in x.len() - 100..x.len() {
            let want = mean_var(&x[i + 1 - n..=i]).1.sqrt();
            assert!((got[i] - want).abs() <= 1e-9 * want, "{i}: {} vs {want}", got[i]);
        }
    }

    proptest! {
        #[test]
        fn rolling_moments_match_from_scratch(x in series(150), n in 2usize..20, k in 0.0..3.0f64) {
            let miss = |i: usize| !x[i].is_finite();
            let sd = naive_windows(x.len(), n, miss, |w| mean_var(&x[w]).1.sqrt());
            let z = naive_windows(x.len(), n, miss, |w| {
                let (m, v) = mean_var(&x[w.clone()]);
                (x[w.end - 1] - m) / v.sqrt()
            });
            let mid = naive_windows(x.len(), n, miss, |w| mean_var(&x[w]).0);
            let up: Vec<f64> = mid.iter().zip(&sd).map(|(m, s)| m + k * s).collect();
            let b = bollinger(&x, n, k).unwrap();
            assert_close(&rolling_std(&x, n).unwrap(), &sd, 1e-9);
            assert_close(&zscore(&x, n).unwrap(), &z, 1e-9);
            assert_close(&b.middle, &mid, 1e-12);
            assert_close(&b.upper, &up, 1e-12);
        }
    }

    #[test]
    fn missing_value_poisons_its_windows_then_recovers() {
        let x = [1.0, 3.0, NAN, 5.0, 7.0, 9.0];
        assert_close(&rolling_std(&x, 2).unwrap(), &[NAN, 1.0, NAN, NAN, 1.0, 1.0], 1e-15);
    }
}
