//! The moving-average cross signal, defined once for the simulator path and the fast sweep.
//!
//! Line `a` crosses above line `b` at bar `t` when `a[t−1] < b[t−1]` and `a[t] > b[t]`, both
//! strict (backtesting.py's `crossover`): touching without passing is no cross, and a bar where
//! either line is NaN (warm-up) is never part of one.

use crate::indicators::IndicatorError;
use crate::sim::{Signal, Strength};

/// Whether a line going `prev_a → now_a` crosses above one going `prev_b → now_b`: the one
/// definition. `&`, not `&&`: the first comparison is a coin flip that a branch would mispredict.
#[inline(always)]
fn cross(prev_a: f64, prev_b: f64, now_a: f64, now_b: f64) -> bool {
    (prev_a < prev_b) & (now_a > now_b)
}

/// Whether `a` crosses above `b` at bar `t >= 1`.
fn crosses_above(a: &[f64], b: &[f64], t: usize) -> bool {
    cross(a[t - 1], b[t - 1], a[t], b[t])
}

/// The first bar `t >= from` (and `>= 1`) at which `a` crosses above `b`. `a` and `b` must have
/// the same length.
///
/// Crosses are rare, so the scan tests a block of bars at a time without branching (a vector
/// compare and OR) and only looks for the exact bar inside a block that has one.
pub(super) fn next_cross_above(a: &[f64], b: &[f64], from: usize) -> Option<usize> {
    const BLOCK: usize = 16;
    let n = a.len().min(b.len());
    let mut start = from.max(1);
    while start < n {
        let end = (start + BLOCK).min(n);
        let prev = a[start - 1..end - 1].iter().zip(&b[start - 1..end - 1]);
        let now = a[start..end].iter().zip(&b[start..end]);
        let mut bars = prev.zip(now);
        let at = |((&pa, &pb), (&na, &nb)): ((&f64, &f64), (&f64, &f64))| cross(pa, pb, na, nb);
        if bars.clone().fold(false, |any, bar| any | at(bar)) {
            return bars.position(at).map(|i| start + i);
        }
        start = end;
    }
    None
}

/// Signals of the long-only cross into a reused buffer: `Enter(FULL)` where `fast` crosses above
/// `slow`, `Exit` where it crosses below, `Hold` elsewhere (always at bar 0).
pub fn cross_signals_into(fast: &[f64], slow: &[f64], out: &mut Vec<Signal>) -> Result<(), IndicatorError> {
    if fast.len() != slow.len() {
        return Err(IndicatorError::LengthMismatch {
            indicator: "cross_signals",
            name: "slow",
            expected: fast.len(),
            found: slow.len(),
        });
    }
    out.clear();
    out.extend((0..fast.len()).map(|t| {
        if t > 0 && crosses_above(fast, slow, t) {
            Signal::Enter(Strength::FULL)
        } else if t > 0 && crosses_above(slow, fast, t) {
            Signal::Exit
        } else {
            Signal::Hold
        }
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_crosses_only_and_nan_never_crosses() {
        let nan = f64::NAN;
        let fast = [nan, 1.0, 3.0, 2.0, 1.5, 3.0, 1.0];
        let slow = [nan, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0];
        let mut out = Vec::new();
        cross_signals_into(&fast, &slow, &mut out).unwrap();
        use Signal::{Exit, Hold};
        let enter = Signal::Enter(Strength::FULL);
        // 1 < 2 then 3 > 2: cross up at 2; 3 -> 2 -> 1.5 touches first, so it is no cross down
        // (and the position would be kept through the next cross up at 5).
        assert_eq!(out, [Hold, Hold, enter, Hold, Hold, enter, Exit]);
        let slow = [nan, 2.0, 2.0, 2.5, 2.0, 2.0, 2.0];
        cross_signals_into(&fast, &slow, &mut out).unwrap();
        assert_eq!(out, [Hold, Hold, enter, Exit, Hold, enter, Exit]);
        assert_eq!(next_cross_above(&fast, &slow, 0), Some(2));
        assert_eq!(next_cross_above(&fast, &slow, 3), Some(5));
        assert_eq!(next_cross_above(&fast, &slow, 6), None);
        assert_eq!(next_cross_above(&slow, &fast, 4), Some(6));
        // Across block boundaries: a single cross far into a long series is found from anywhere before it.
        let long_a: Vec<f64> = (0..200).map(|t| if t < 137 { 0.0 } else { 2.0 }).collect();
        let long_b = vec![1.0; 200];
        for from in [0, 1, 31, 32, 33, 100, 136, 137] {
            assert_eq!(next_cross_above(&long_a, &long_b, from), Some(137), "from {from}");
        }
        assert_eq!(next_cross_above(&long_a, &long_b, 138), None);
        assert_eq!(next_cross_above(&long_a, &long_b, 500), None);
        let err = cross_signals_into(&fast, &slow[1..], &mut out).unwrap_err();
        assert!(err.to_string().contains("`slow` has length 6, expected 7"), "{err}");
    }
}
