//! Pearson correlation of two daily return series over the days both have.
//!
//! Series are aligned by equal day keys (a merge of the two sorted key lists); a day present
//! in only one series is skipped, so gaps, different lengths and different start dates need
//! no filling. With fewer common days than the minimum overlap the correlation is unknown
//! (`None`). A series that does not vary over the common days (e.g. a strategy that stayed
//! in cash) has correlation 0 with anything. Computed in one pass of sums (daily returns are
//! small and centred near 0, so the textbook formula loses nothing that matters): a clone
//! reads 1 to within rounding.

use crate::DailyReturns;

/// Index pairs `(i, j)` with `a[i] == b[j]`, in order, for two strictly increasing key lists.
#[derive(Clone, Debug)]
pub(crate) struct Aligned<'a> {
    a: &'a [i64],
    b: &'a [i64],
    i: usize,
    j: usize,
}

impl<'a> Aligned<'a> {
    /// Pairs of positions of the keys `a` and `b` share.
    pub(crate) fn new(a: &'a [i64], b: &'a [i64]) -> Self {
        Aligned { a, b, i: 0, j: 0 }
    }
}

impl Iterator for Aligned<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        while self.i < self.a.len() && self.j < self.b.len() {
            let (x, y) = (self.a[self.i], self.b[self.j]);
            if x < y {
                self.i += 1;
            } else if y < x {
                self.j += 1;
            } else {
                let pair = (self.i, self.j);
                self.i += 1;
                self.j += 1;
                return Some(pair);
            }
        }
        None
    }
}

/// Sums over paired observations `(x, y)` from which their Pearson correlation follows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct PairSums {
    /// Pairs.
    pub n: f64,
    /// `Σ x`.
    pub sx: f64,
    /// `Σ y`.
    pub sy: f64,
    /// `Σ x²`.
    pub sxx: f64,
    /// `Σ y²`.
    pub syy: f64,
    /// `Σ x·y`.
    pub sxy: f64,
}

/// A centred sum of squares this small relative to the raw one is rounding, not variation.
const FLAT: f64 = 1e-12;

impl PairSums {
    /// Adds one pair.
    pub(crate) fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.syy += y * y;
        self.sxy += x * y;
    }

    /// `(Σxy − ΣxΣy/n) / √((Σx² − (Σx)²/n)(Σy² − (Σy)²/n))`, clamped to [−1, 1]; `None` with
    /// fewer than `min_overlap` pairs (and always with fewer than 2); 0 when either side does
    /// not vary (its centred sum of squares is at most 1e−12 of its raw one).
    pub(crate) fn correlation(&self, min_overlap: usize) -> Option<f64> {
        if self.n < min_overlap.max(2) as f64 {
            return None;
        }
        let vx = self.sxx - self.sx * self.sx / self.n;
        let vy = self.syy - self.sy * self.sy / self.n;
        if vx <= FLAT * self.sxx || vy <= FLAT * self.syy {
            return Some(0.0);
        }
        let cov = self.sxy - self.sx * self.sy / self.n;
        Some((cov / (vx * vy).sqrt()).clamp(-1.0, 1.0))
    }
}

/// Correlation of `a` and `b` over their common days (see the module docs).
pub fn correlation(a: &DailyReturns, b: &DailyReturns, min_overlap: usize) -> Option<f64> {
    let mut sums = PairSums::default();
    for (i, j) in Aligned::new(a.timestamps(), b.timestamps()) {
        sums.add(a.returns()[i], b.returns()[j]);
    }
    sums.correlation(min_overlap)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn series(ts: &[i64], r: &[f64]) -> DailyReturns {
        DailyReturns::new(ts.to_vec(), r.to_vec()).unwrap()
    }

    #[test]
    fn hand_computed_correlation() {
        // x = 1, 2, 3, 4; y = 2, 1, 4, 3: means 2.5; Σ dx·dy = 4 × 0.75 = 3;
        // Σ dx² = Σ dy² = 5; r = 3 / 5 = 0.6.
        let a = series(&[1, 2, 3, 4], &[1.0, 2.0, 3.0, 4.0]);
        let b = series(&[1, 2, 3, 4], &[2.0, 1.0, 4.0, 3.0]);
        let r = correlation(&a, &b, 2).unwrap();
        assert!((r - 0.6).abs() < 1e-14, "{r}");
        assert!((correlation(&a, &a, 2).unwrap() - 1.0).abs() < 1e-14);
        let neg = series(&[1, 2, 3, 4], &[-1.0, -2.0, -3.0, -4.0]);
        assert!((correlation(&a, &neg, 2).unwrap() + 1.0).abs() < 1e-14);
    }

    #[test]
    fn alignment_skips_days_missing_on_either_side() {
        // a has days 1..=6, b has 0, 2, 3, 5, 6, 9: common days 2, 3, 5, 6.
        let a = series(&[1, 2, 3, 4, 5, 6], &[9.0, 1.0, 2.0, -50.0, 3.0, 4.0]);
        let b = series(&[0, 2, 3, 5, 6, 9], &[7.0, 2.0, 1.0, 4.0, 3.0, -8.0]);
        assert_eq!(
            Aligned::new(a.timestamps(), b.timestamps()).collect::<Vec<_>>(),
            [(1, 1), (2, 2), (4, 3), (5, 4)]
        );
        // Over the common days this is the hand-computed case above: 0.6.
        assert!((correlation(&a, &b, 4).unwrap() - 0.6).abs() < 1e-14);
        assert_eq!(correlation(&a, &b, 5), None, "4 common days are fewer than 5");
    }

    #[test]
    fn a_flat_series_is_uncorrelated() {
        let a = series(&[1, 2, 3], &[0.0, 0.0, 0.0]);
        let b = series(&[1, 2, 3], &[0.1, -0.2, 0.3]);
        assert_eq!(correlation(&a, &b, 2), Some(0.0));
        // A constant non-zero return whose centred sum rounds to a speck is flat too.
        let c = series(&[1, 2, 3], &[0.001; 3]);
        assert_eq!(correlation(&c, &b, 2), Some(0.0));
        assert_eq!(correlation(&b, &series(&[7, 8, 9], &[0.1, 0.2, 0.3]), 1), None, "no common day");
    }

    proptest! {
        #[test]
        fn aligned_pairs_are_exactly_the_common_keys(
            a in proptest::collection::btree_set(0i64..60, 0..40),
            b in proptest::collection::btree_set(0i64..60, 0..40),
        ) {
            let (a, b): (Vec<i64>, Vec<i64>) = (a.into_iter().collect(), b.into_iter().collect());
            let pairs: Vec<(usize, usize)> = Aligned::new(&a, &b).collect();
            let expected: Vec<(usize, usize)> = a
                .iter()
                .enumerate()
                .filter_map(|(i, x)| b.iter().position(|y| y == x).map(|j| (i, j)))
                .collect();
            prop_assert_eq!(pairs, expected);
        }
    }
}
