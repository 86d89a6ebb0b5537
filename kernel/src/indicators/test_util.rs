//! Test helpers: random series with missing islands, from-scratch references, comparisons.

use std::ops::Range;

use proptest::prelude::*;

/// A price-like series of length `0..max_len` around 100 with ~10% missing values (NaN),
/// occasionally in runs.
pub fn series(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    let value = prop_oneof![
        18 => 50.0..150.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ];
    prop::collection::vec((value, 0usize..4), 0..max_len).prop_map(|cells| {
        // A missing cell sometimes repeats into an island of up to 3 more missing values.
        let mut out = Vec::with_capacity(cells.len());
        for (v, run) in cells {
            out.push(v);
            if !v.is_finite() {
                out.extend(std::iter::repeat_n(f64::NAN, run));
            }
        }
        out
    })
}

/// Reference for sliding-window indicators: `f` applied from scratch to each complete window
/// of `n` ending at `i`, NaN where the window is incomplete or holds a non-finite value.
pub fn naive_windows(
    len: usize,
    n: usize,
    missing: impl Fn(usize) -> bool,
    f: impl Fn(Range<usize>) -> f64,
) -> Vec<f64> {
    (0..len)
        .map(|i| {
            if i + 1 < n {
                return f64::NAN;
            }
            let w = i + 1 - n..i + 1;
            if w.clone().any(&missing) { f64::NAN } else { f(w) }
        })
        .collect()
}

/// Reference for recursive indicators: splits `0..len` at missing indices and computes each
/// maximal run without them independently with `f` (output NaN at missing indices).
pub fn restart_reference(
    len: usize,
    missing: impl Fn(usize) -> bool,
    f: impl Fn(Range<usize>) -> Vec<f64>,
) -> Vec<f64> {
    let mut out = vec![f64::NAN; len];
    let mut start = 0;
    while start < len {
        if missing(start) {
            start += 1;
            continue;
        }
        let end = (start..len).find(|&i| missing(i)).unwrap_or(len);
        out[start..end].copy_from_slice(&f(start..end));
        start = end;
    }
    out
}

/// Two-pass mean and population variance of `xs` (the accurate textbook reference).
pub fn mean_var(xs: &[f64]) -> (f64, f64) {
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
    (m, v)
}

/// Asserts equal NaN patterns and `|got − want| <= tol · (1 + |want|)` elsewhere.
#[track_caller]
pub fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() {
            assert!(g.is_nan(), "index {i} of {}: got {g}, want NaN", got.len());
        } else {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "index {i} of {}: got {g}, want {w}", got.len());
        }
    }
}

/// Number of leading NaNs.
pub fn leading_nans(xs: &[f64]) -> usize {
    xs.iter().take_while(|x| x.is_nan()).count()
}

/// A deterministic random walk of `len` prices starting at `start`, steps of about `step`.
pub fn random_walk(len: usize, start: f64, step: f64, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut p = start;
    (0..len)
        .map(|_| {
            // SplitMix64, mapped to a uniform step in [-step, step].
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = (z >> 11) as f64 / (1u64 << 53) as f64;
            p += step * (2.0 * u - 1.0);
            p
        })
        .collect()
}

/// Up to four cut points in `0..max`, for running a resumable indicator in stretches.
pub fn cuts(max: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..max, 0..5)
}

/// The values of `indicator` run over `x` a stretch at a time, cut at those of `cuts` inside
/// `x` (each stretch reads `x` only up to its end).
pub fn in_stretches(mut indicator: impl super::Resumable, x: &[f64], cuts: &[usize]) -> Vec<f64> {
    let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c < x.len()).collect();
    ends.push(x.len());
    ends.sort_unstable();
    let mut out = vec![0.0; x.len()];
    for end in ends {
        let from = indicator.seen();
        indicator.extend_into(&x[..end], &mut out[from..end]).unwrap();
    }
    out
}

/// Asserts `got` and `want` equal bit for bit.
#[track_caller]
pub fn assert_same_bits(got: &[f64], want: &[f64]) {
    let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(got), bits(want), "got {got:?}\nwant {want:?}");
}
