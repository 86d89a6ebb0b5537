//! Reductions over whole series with four interleaved partial sums.
//!
//! Four independent accumulators break the add-latency chain and let the compiler use SIMD
//! (SSE2, NEON) without reassociating anything itself; they are combined as
//! `(s0 + s1) + (s2 + s3)`, a fixed order, so every machine and thread count gets the same bits.

/// Partial sums per lane.
const LANES: usize = 4;

/// `Σ f(a_i, b_i)` over two equally long slices, in the fixed lane order.
fn reduce(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    for (l, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        acc[l] += f(x, y);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `Σ a_i·b_i`.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    reduce(a, b, |x, y| x * y)
}

/// `Σ a_i`.
pub(crate) fn sum(a: &[f64]) -> f64 {
    reduce(a, a, |x, _| x)
}

/// `Σ a_i²·b_i` (the squares of `a` where the mask `b` is 1).
pub(crate) fn masked_squares(a: &[f64], b: &[f64]) -> f64 {
    reduce(a, b, |x, m| x * x * m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_match_the_plain_ones() {
        let a: Vec<f64> = (0..11).map(|i| f64::from(i) * 0.5 - 2.0).collect();
        let b: Vec<f64> = (0..11).map(|i| f64::from(i % 3)).collect();
        assert_eq!(sum(&a), a.iter().sum::<f64>());
        assert_eq!(dot(&a, &b), a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>());
        assert_eq!(masked_squares(&a, &b), a.iter().zip(&b).map(|(x, y)| x * x * y).sum::<f64>());
        assert_eq!(sum(&[]), 0.0);
    }
}
