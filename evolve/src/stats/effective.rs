//! The effective number of independent trials behind a search, for the deflated Sharpe ratio.
//!
//! A GA's trials are far from independent: a converged population tests near-identical
//! parameters whose return series are almost the same, so counting every one as a trial
//! over-deflates. The DSR's `N` should be the number of *independent* trials (Bailey & López de
//! Prado 2014, §3; López de Prado 2019, "A Data Science Solution to the Multiple-Testing
//! Crisis in Financial Research", which clusters the trials' return series and counts the
//! clusters).
//!
//! The estimate here is the **participation ratio** of the trials' correlation matrix `C`
//! (the eigenvalue-based effective rank, Bretherton et al. 1999, "The effective number of
//! spatial degrees of freedom of a time-varying field", J. Climate 12):
//!
//! ```text
//! N_eff = (Σ λᵢ)² / Σ λᵢ² = N² / Σᵢⱼ ρᵢⱼ² = N / (1 + (N − 1)·ρ̄²)
//! ```
//!
//! with `ρ̄²` the mean squared correlation over distinct pairs; no eigen-decomposition is needed,
//! because `Σ λᵢ² = trace(C²) = Σᵢⱼ ρᵢⱼ²`. Independent series give `N`, identical ones `1`, and
//! `K` equal clusters of identical series (independent across clusters) exactly `K` — the
//! count of clusters that the clustering approach would find.
//!
//! Two practical points:
//! * **Sampling noise.** Two independent series of `T` returns have `E[r²] = 1/(T − 1)`, which
//!   would make independent trials look correlated; each squared correlation is corrected to
//!   `(r² − 1/(T − 1)) / (1 − 1/(T − 1))` (0 on average under independence, 1 for identical
//!   series) before averaging, and the mean is clamped to `[0, 1]`.
//! * **A sample of the trials.** Re-running every trial for its returns is too costly, so
//!   `ρ̄²` is measured on a sample taken evenly across the search (early, diverse trials and
//!   the converged ones in the proportion the search made them) and applied to all `N`
//!   trials. Series with no variance (a trial that never traded) have no correlation and are
//!   left out of the sample; they still count in `N`.

use serde::{Deserialize, Serialize};

/// The effective number of independent trials of a search.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectiveTrials {
    /// Trials the search made (distinct genomes evaluated).
    pub trials: usize,
    /// Return series the correlation was measured on.
    pub sampled: usize,
    /// Mean squared correlation over the sample's distinct pairs, corrected for sampling noise.
    pub mean_squared_correlation: f64,
    /// `N / (1 + (N − 1)·ρ̄²)`: between 1 and `trials`.
    pub effective: f64,
}

impl EffectiveTrials {
    /// The effective trials rounded up to a whole number (at least 1): the `N` the DSR deflates
    /// by, erring towards more trials.
    pub fn count(&self) -> usize {
        (self.effective.ceil() as usize).clamp(1, self.trials.max(1))
    }
}

/// The effective number of independent trials among `trials`, measured on `sample` (return
/// series of some of those trials, all the same length). `None` when fewer than two series
/// with variance remain, the lengths differ or are below 3, or `trials` is 0 — the caller then
/// counts every trial.
pub fn effective_trials<R: AsRef<[f64]>>(sample: &[R], trials: usize) -> Option<EffectiveTrials> {
    let len = sample.first()?.as_ref().len();
    if trials == 0 || len < 3 || sample.iter().any(|s| s.as_ref().len() != len) {
        return None;
    }
    // Each series centred and scaled to unit norm, so a correlation is a dot product.
    let unit: Vec<Vec<f64>> = sample.iter().filter_map(|s| unit_norm(s.as_ref())).collect();
    if unit.len() < 2 {
        return None;
    }
    let noise = 1.0 / (len - 1) as f64;
    let (mut sum, mut pairs) = (0.0, 0usize);
    for (i, a) in unit.iter().enumerate() {
        for b in &unit[i + 1..] {
            let r: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            sum += (r * r - noise) / (1.0 - noise);
            pairs += 1;
        }
    }
    let rho2 = (sum / pairs as f64).clamp(0.0, 1.0);
    let n = trials as f64;
    Some(EffectiveTrials {
        trials,
        sampled: unit.len(),
        mean_squared_correlation: rho2,
        effective: (n / (1.0 + (n - 1.0) * rho2)).clamp(1.0, n),
    })
}

/// `x` minus its mean, divided by its norm; `None` without variance (a spread below rounding
/// error of the values' size counts as none) or with a non-finite value.
fn unit_norm(x: &[f64]) -> Option<Vec<f64>> {
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let centred: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
    let size = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    (norm.is_finite() && norm > 1e-12 * size).then(|| centred.into_iter().map(|v| v / norm).collect())
}

#[cfg(test)]
mod tests {
    use super::super::test_rng::TestRng;
    use super::*;

    fn independent(n: usize, len: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = TestRng::new(seed);
        (0..n).map(|_| rng.series(len, 0.0, 0.01)).collect()
    }

    /// Independent series: the corrected `ρ̄²` is 0 up to noise, so `N_eff ≈ N`. With 40 series
    /// of 2,000 returns the mean of the 780 pairs' r² has s.d. √2/(2000·√780) ≈ 2.5e-5, so
    /// `N_eff` is within 40/(1 + 39·1e-4) ≈ 39.85 of 40 at four s.d.
    #[test]
    fn independent_series_count_in_full() {
        let e = effective_trials(&independent(40, 2_000, 1), 40).unwrap();
        assert_eq!(e.sampled, 40);
        assert!(e.mean_squared_correlation < 1e-4, "{e:?}");
        assert!(e.effective > 39.8 && e.effective <= 40.0, "{e:?}");
        assert_eq!(e.count(), 40);
    }

    /// Identical series (and series that differ by scale and offset only) are one trial.
    #[test]
    fn identical_series_are_one_trial() {
        let base = &independent(1, 500, 2)[0];
        let copies: Vec<Vec<f64>> =
            (0..30).map(|k| base.iter().map(|x| (k + 1) as f64 * x + 0.001).collect()).collect();
        let e = effective_trials(&copies, 30).unwrap();
        assert!((e.mean_squared_correlation - 1.0).abs() < 1e-12, "{e:?}");
        assert!((e.effective - 1.0).abs() < 1e-9, "{e:?}");
        assert_eq!(e.count(), 1);
        // Applied to a search of 2,470 trials: still one.
        assert_eq!(effective_trials(&copies, 2_470).unwrap().count(), 1);
    }

    /// `K` clusters of identical series: with the whole set as the sample, exactly `K`. Taken
    /// as a sample of a larger search, by hand: 4 clusters of 10 in a sample of 40 give
    /// `ρ̄² = 4·C(10,2)/C(40,2) = 180/780 = 3/13` (up to the cross-cluster noise), so 400
    /// trials count as `400/(1 + 399·3/13) = 4.297`: a little above `K`, erring towards more
    /// trials.
    #[test]
    fn clusters_count_as_their_number() {
        let bases = independent(4, 4_000, 3);
        let sample: Vec<Vec<f64>> = (0..40).map(|k| bases[k % 4].clone()).collect();
        let whole = effective_trials(&sample, 40).unwrap();
        assert!((whole.effective - 4.0).abs() < 0.01, "{whole:?}");
        assert_eq!(whole.count(), 4 + usize::from(whole.effective > 4.0));
        let search = effective_trials(&sample, 400).unwrap();
        assert!((search.effective - 400.0 / (1.0 + 399.0 * 3.0 / 13.0)).abs() < 0.01, "{search:?}");
        assert_eq!(search.count(), 5);
    }

    /// Series with no variance are left out; too few series, ragged lengths or no trials give
    /// `None`.
    #[test]
    fn degenerate_samples() {
        let mut sample = independent(3, 300, 4);
        sample.push(vec![0.0; 300]);
        assert_eq!(effective_trials(&sample, 10).unwrap().sampled, 3);
        assert!(effective_trials(&[vec![0.0; 300], vec![0.01; 300], sample[0].clone()], 10).is_none());
        assert!(effective_trials(&[sample[0].clone(), vec![0.01; 299]], 10).is_none());
        assert!(effective_trials(&sample, 0).is_none());
        assert!(effective_trials::<Vec<f64>>(&[], 10).is_none());
        let mut bad = sample[1].clone();
        bad[7] = f64::NAN;
        assert!(effective_trials(&[sample[0].clone(), bad], 10).is_none());
    }
}
