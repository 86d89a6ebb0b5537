//! Channels: rolling maximum and minimum, and the Donchian channel built from them.
//!
//! The rolling extremes use the van Herk/Gil-Werman scheme rather than a monotonic deque:
//! the series is cut into blocks of `n`, and each window `[i + 1 − n, i]` is the union of a
//! suffix of one block and a prefix of the next, so its extreme is the extreme of one
//! precomputed block suffix and one running block prefix. That is O(1) per index (three
//! comparisons) like the deque, exact, and needs no buffer beyond the output itself: suffix
//! extremes are parked in `out` shifted by `n − 1` places, exactly where the window that
//! needs each one writes its result.

use super::{Bands, IndicatorError, Resumable, check_len, check_stretch, check_window, collect};

/// Rolling maximum over the last `n` values into `out`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn rolling_max_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("rolling_max", n, 1)?;
    check_len("rolling_max", "out", x.len(), out.len())?;
    rolling_extreme(x, 0, n, out, max_or_nan);
    Ok(())
}

/// Rolling maximum; see [`rolling_max_into`].
pub fn rolling_max(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| rolling_max_into(x, n, out))
}

/// Rolling minimum over the last `n` values into `out`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn rolling_min_into(x: &[f64], n: usize, out: &mut [f64]) -> Result<(), IndicatorError> {
    check_window("rolling_min", n, 1)?;
    check_len("rolling_min", "out", x.len(), out.len())?;
    rolling_extreme(x, 0, n, out, min_or_nan);
    Ok(())
}

/// Rolling minimum; see [`rolling_min_into`].
pub fn rolling_min(x: &[f64], n: usize) -> Result<Vec<f64>, IndicatorError> {
    collect(x.len(), |out| rolling_min_into(x, n, out))
}

/// Donchian channel into two buffers: `upper` = highest `high` and `lower` = lowest `low` of
/// the last `n` bars, the current bar included (compare a close with the previous bar's
/// channel for a breakout). The middle line is `(upper + lower) / 2`.
///
/// Warm-up: first value at index `n − 1`. NaN wherever the window holds a missing value.
pub fn donchian_into(
    high: &[f64],
    low: &[f64],
    n: usize,
    upper: &mut [f64],
    lower: &mut [f64],
) -> Result<(), IndicatorError> {
    check_window("donchian", n, 1)?;
    check_len("donchian", "low", high.len(), low.len())?;
    check_len("donchian", "upper", high.len(), upper.len())?;
    check_len("donchian", "lower", high.len(), lower.len())?;
    rolling_extreme(high, 0, n, upper, max_or_nan);
    rolling_extreme(low, 0, n, lower, min_or_nan);
    Ok(())
}

/// Donchian channel with its middle line; see [`donchian_into`].
pub fn donchian(high: &[f64], low: &[f64], n: usize) -> Result<Bands, IndicatorError> {
    let len = high.len();
    let (mut upper, mut lower) = (vec![f64::NAN; len], vec![f64::NAN; len]);
    donchian_into(high, low, n, &mut upper, &mut lower)?;
    let middle = upper.iter().zip(&lower).map(|(u, l)| 0.5 * (u + l)).collect();
    Ok(Bands { middle, upper, lower })
}

/// The larger of `a` and `b`, NaN if either is NaN (unlike `f64::max`).
#[inline]
fn max_or_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || a > b { a } else { b }
}

/// The smaller of `a` and `b`, NaN if either is NaN (unlike `f64::min`).
#[inline]
fn min_or_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || a < b { a } else { b }
}

/// [`rolling_max_into`] or [`rolling_min_into`] a stretch at a time ([`Resumable`]). A window's
/// extreme depends on its values alone, so the state is the index reached: each stretch reads
/// back up to two windows, lining its blocks up with the one-shot pass's (so ties between 0
/// and −0 fall the same way).
#[derive(Debug, Clone, Copy)]
pub struct RollingExtreme {
    /// The window's length.
    n: usize,
    /// The maximum (`true`) or the minimum.
    max: bool,
    /// Values seen.
    seen: usize,
}

impl RollingExtreme {
    /// A rolling maximum over windows of `n >= 1`, before the series' first value.
    pub fn max(n: usize) -> Result<Self, IndicatorError> {
        check_window("rolling_max", n, 1)?;
        Ok(RollingExtreme { n, max: true, seen: 0 })
    }

    /// A rolling minimum over windows of `n >= 1`, before the series' first value.
    pub fn min(n: usize) -> Result<Self, IndicatorError> {
        check_window("rolling_min", n, 1)?;
        Ok(RollingExtreme { n, max: false, seen: 0 })
    }
}

impl Resumable for RollingExtreme {
    fn seen(&self) -> usize {
        self.seen
    }

    fn extend_into(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), IndicatorError> {
        let name = if self.max { "rolling_max" } else { "rolling_min" };
        check_stretch(name, self.seen, x.len(), out.len())?;
        if self.max {
            rolling_extreme(x, self.seen, self.n, out, max_or_nan);
        } else {
            rolling_extreme(x, self.seen, self.n, out, min_or_nan);
        }
        self.seen = x.len();
        Ok(())
    }
}

/// Rolling extreme under `pick` (a NaN-propagating max or min) of windows of `n` over `x`, for
/// the windows ending at `from..x.len()`, into `out` (of that length); non-finite inputs count
/// as missing. The blocks are those of the whole series, `[k·n, (k + 1)·n)`, whatever `from`.
fn rolling_extreme(x: &[f64], from: usize, n: usize, out: &mut [f64], pick: impl Fn(f64, f64) -> f64) {
    let len = x.len();
    // The first index with a complete window.
    let first = from.max(n - 1);
    if first >= len {
        out.fill(f64::NAN);
        return;
    }
    out[..first - from].fill(f64::NAN);
    let value = |i: usize| if x[i].is_finite() { x[i] } else { f64::NAN };
    // Backward pass: the extreme of x[j..=end of j's block], parked at out[j + n − 1 − from],
    // for the windows' first values j. `offset` is j's position in its block, kept without
    // dividing.
    let mut suffix = f64::NAN;
    let mut offset = (len - 1) % n;
    for j in (first + 1 - n..len).rev() {
        let block_ends_at_j = offset == n - 1 || j + 1 == len;
        suffix = if block_ends_at_j { value(j) } else { pick(value(j), suffix) };
        if j + n - 1 < len {
            out[j + n - 1 - from] = suffix;
        }
        offset = if offset == 0 { n - 1 } else { offset - 1 };
    }
    // Forward pass from the start of the first window end's block: combine with the extreme
    // of x[start of i's block..=i].
    let mut prefix = f64::NAN;
    let mut offset = 0;
    for i in first / n * n..len {
        prefix = if offset == 0 { value(i) } else { pick(prefix, value(i)) };
        if i >= first {
            out[i - from] = pick(out[i - from], prefix);
        }
        offset = if offset == n - 1 { 0 } else { offset + 1 };
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicators::test_util::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn small_cases_by_hand() {
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        assert_close(&rolling_max(&x, 3).unwrap(), &[NAN, NAN, 4.0, 4.0, 5.0, 9.0, 9.0, 9.0], 0.0);
        assert_close(&rolling_min(&x, 3).unwrap(), &[NAN, NAN, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0], 0.0);
        assert_close(&rolling_max(&x, 1).unwrap(), &x, 0.0);
        assert_close(&rolling_max(&x, 8).unwrap()[7..], &[9.0], 0.0);
        assert!(rolling_min(&x, 9).unwrap().iter().all(|v| v.is_nan()));
        let gap = [3.0, NAN, 4.0, 1.0, 5.0];
        assert_close(&rolling_max(&gap, 2).unwrap(), &[NAN, NAN, NAN, 4.0, 5.0], 0.0);
    }

    #[test]
    fn donchian_channel_by_hand() {
        let high = [10.0, 12.0, 11.0, 13.0, 12.5];
        let low = [9.0, 10.5, 9.5, 11.0, 12.0];
        let ch = donchian(&high, &low, 2).unwrap();
        assert_close(&ch.upper, &[NAN, 12.0, 12.0, 13.0, 13.0], 0.0);
        assert_close(&ch.lower, &[NAN, 9.0, 9.5, 9.5, 11.0], 0.0);
        assert_close(&ch.middle, &[NAN, 10.5, 10.75, 11.25, 12.0], 0.0);
        assert!(matches!(
            donchian(&high, &low[..4], 2),
            Err(IndicatorError::LengthMismatch { name: "low", expected: 5, found: 4, .. })
        ));
    }

    proptest! {
        /// Run a stretch at a time, the rolling extremes give the one-shot values bit for bit,
        /// ties between 0 and −0 included.
        #[test]
        fn extremes_resume_to_the_bit(
            x in series(200),
            zeros in proptest::collection::vec(any::<bool>(), 0..200),
            n in 1usize..30,
            cuts in cuts(200),
        ) {
            let mut x = x;
            for (v, &z) in x.iter_mut().zip(&zeros) {
                if z && v.is_finite() && *v < 60.0 {
                    *v = if *v < 55.0 { 0.0 } else { -0.0 };
                }
            }
            assert_same_bits(&in_stretches(RollingExtreme::max(n).unwrap(), &x, &cuts), &rolling_max(&x, n).unwrap());
            assert_same_bits(&in_stretches(RollingExtreme::min(n).unwrap(), &x, &cuts), &rolling_min(&x, n).unwrap());
        }

        #[test]
        fn extremes_match_from_scratch(x in series(150), n in 1usize..25) {
            let miss = |i: usize| !x[i].is_finite();
            let max = naive_windows(x.len(), n, miss, |w| x[w].iter().copied().fold(f64::MIN, f64::max));
            let min = naive_windows(x.len(), n, miss, |w| x[w].iter().copied().fold(f64::MAX, f64::min));
            assert_close(&rolling_max(&x, n).unwrap(), &max, 0.0);
            assert_close(&rolling_min(&x, n).unwrap(), &min, 0.0);
        }
    }
}
