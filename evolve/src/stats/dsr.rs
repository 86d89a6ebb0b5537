//! Probabilistic and Deflated Sharpe Ratios.
//!
//! Bailey & López de Prado (2012), "The Sharpe Ratio Efficient Frontier", Journal of Risk 15(2):
//! the Probabilistic Sharpe Ratio
//!
//! ```text
//! PSR(SR*) = Φ( (SR − SR*)·√(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4 · SR²) )
//! ```
//!
//! is the probability that the true Sharpe ratio exceeds the benchmark `SR*`, given an observed
//! per-period `SR` over `T` returns with skewness `γ₃` and RAW kurtosis `γ₄` (normal = 3; passing
//! the excess kurtosis is a known mistake that understates the variance).
//!
//! Bailey & López de Prado (2014), "The Deflated Sharpe Ratio: Correcting for Selection Bias,
//! Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5): after `N`
//! independent trials whose Sharpe ratios have variance `V`, the expected maximum Sharpe ratio
//! under the null of no skill is
//!
//! ```text
//! SR₀ = √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))     (γ: Euler–Mascheroni)
//! ```
//!
//! and the Deflated Sharpe Ratio is `DSR = PSR(SR₀)`. Every Sharpe ratio and variance here is per
//! period (not annualised), matching [`ReturnStats::sharpe`].

use super::moments::ReturnStats;
use super::normal::{normal_cdf, normal_quantile};

/// The Euler–Mascheroni constant γ.
pub const EULER_MASCHERONI: f64 = 0.577_215_664_901_532_9;

/// Expected maximum of `trials` per-period Sharpe ratios drawn under the null (true Sharpe 0)
/// with variance `sharpe_variance`: `SR₀` above, the benchmark the DSR deflates by.
///
/// One trial gives 0 (nothing to deflate); 0 trials or a negative or non-finite variance give NaN.
pub fn expected_max_sharpe(trials: usize, sharpe_variance: f64) -> f64 {
    if trials == 0 || !(sharpe_variance >= 0.0 && sharpe_variance.is_finite()) {
        return f64::NAN;
    }
    if trials == 1 {
        return 0.0;
    }
    let n = trials as f64;
    let z = (1.0 - EULER_MASCHERONI) * normal_quantile(1.0 - 1.0 / n)
        + EULER_MASCHERONI * normal_quantile(1.0 - 1.0 / (n * std::f64::consts::E));
    sharpe_variance.sqrt() * z
}

/// Probability that the true per-period Sharpe ratio exceeds `benchmark`, given `stats`.
///
/// NaN when it is undefined: fewer than 2 returns, a zero or non-finite standard deviation
/// (hence a NaN Sharpe ratio), a non-finite benchmark, or a variance term
/// `1 − γ₃·SR + (γ₄ − 1)/4·SR²` that is not positive (impossible for moments measured by
/// [`ReturnStats::of`], where `γ₄ ≥ 1 + γ₃²`, except for a two-point series).
pub fn probabilistic_sharpe(stats: &ReturnStats, benchmark: f64) -> f64 {
    let sr = stats.sharpe;
    if stats.n < 2 || stats.std <= 0.0 || !sr.is_finite() || !benchmark.is_finite() {
        return f64::NAN;
    }
    let radicand = 1.0 - stats.skew * sr + (stats.kurtosis - 1.0) / 4.0 * sr * sr;
    if radicand.is_nan() || radicand <= 0.0 {
        return f64::NAN;
    }
    normal_cdf((sr - benchmark) * ((stats.n - 1) as f64).sqrt() / radicand.sqrt())
}

/// Standard error of a per-period Sharpe ratio estimated from `stats`:
/// `√((1 − γ₃·SR + (γ₄ − 1)/4·SR²) / (T − 1))`, the PSR's denominator (Mertens 2002, as in
/// Bailey & López de Prado 2012). NaN where [`probabilistic_sharpe`] is undefined.
pub fn sharpe_standard_error(stats: &ReturnStats) -> f64 {
    let sr = stats.sharpe;
    if stats.n < 2 || stats.std <= 0.0 || !sr.is_finite() {
        return f64::NAN;
    }
    let radicand = 1.0 - stats.skew * sr + (stats.kurtosis - 1.0) / 4.0 * sr * sr;
    if radicand.is_nan() || radicand <= 0.0 {
        return f64::NAN;
    }
    (radicand / (stats.n - 1) as f64).sqrt()
}

/// The DSR's `V`: the variance of the trials' per-bar Sharpe ratios (0 with fewer than two).
pub fn sharpe_variance(sharpes: &[f64]) -> f64 {
    let spread = ReturnStats::of(sharpes).std;
    if spread.is_finite() { spread * spread } else { 0.0 }
}

/// Deflated Sharpe Ratio: [`probabilistic_sharpe`] against [`expected_max_sharpe`] of `trials`
/// trials whose per-period Sharpe ratios have variance `sharpe_variance`. A probability in
/// [0, 1]; NaN in the degenerate cases of either function.
pub fn deflated_sharpe(stats: &ReturnStats, trials: usize, sharpe_variance: f64) -> f64 {
    probabilistic_sharpe(stats, expected_max_sharpe(trials, sharpe_variance))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(sharpe: f64, n: usize, skew: f64, kurtosis: f64) -> ReturnStats {
        ReturnStats { n, mean: sharpe * 0.01, std: 0.01, sharpe, skew, kurtosis }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // SR = 0.1 per period, T = 250, skew −0.5, raw kurtosis 4, N = 100 trials, V = 0.0025.
    //
    // 1. Quantiles: Φ⁻¹(1 − 1/100) = Φ⁻¹(0.99) = 2.326347874040841;
    //    Φ⁻¹(1 − 1/(100e)) = Φ⁻¹(0.9963212055882856) = 2.680210444966883.
    // 2. Mix: (1 − 0.5772156649015329)·2.326347874040841 + 0.5772156649015329·2.680210444966883
    //    = 0.9835434391340896 + 1.5470594540675926 = 2.530602893201682.
    // 3. SR₀ = √0.0025 · 2.530602893201682 = 0.05 · 2.530602893201682 = 0.1265301446600841.
    // 4. Variance term: 1 − (−0.5)(0.1) + (4 − 1)/4 · 0.1² = 1 + 0.05 + 0.0075 = 1.0575.
    // 5. z = (0.1 − 0.1265301446600841)·√249 / √1.0575
    //      = −0.0265301446600841 · 15.7797338380595 / 1.0283481900601568 = −0.4070981263620963.
    // 6. DSR = Φ(−0.4070981263620963) = 0.3419679597327575 (mpmath, 40 digits).
    //
    // Against SR* = 0: z = 0.1·15.7797338380595/1.0283481900601568 = 1.534473828085059 and
    // PSR(0) = Φ(1.534473828085059) = 0.9375434364545412.
    #[test]
    fn hand_computed_case() {
        let s = stats(0.1, 250, -0.5, 4.0);
        let sr0 = expected_max_sharpe(100, 0.0025);
        assert!(close(sr0, 0.126_530_144_660_084_1, 1e-12), "SR0 = {sr0}");
        assert!(close(deflated_sharpe(&s, 100, 0.0025), 0.341_967_959_732_757_5, 1e-6));
        assert!(close(probabilistic_sharpe(&s, sr0), 0.341_967_959_732_757_5, 1e-12));
        assert!(close(probabilistic_sharpe(&s, 0.0), 0.937_543_436_454_541_2, 1e-12));
    }

    /// The 2014 paper's example: annualised SR 2.5 over T = 1250 daily returns, skew −3, raw
    /// kurtosis 10, N = 100 trials with annualised Sharpe variance 0.5. Per period:
    /// SR = 2.5/√250 = 0.158113883, V = 0.5/250 = 0.002, SR₀ = √0.002·2.530602893 = 0.113172002
    /// (1.7894 annualised), variance term 1 + 3·SR + 9/4·SR² = 1.530591649,
    /// z = (0.158113883 − 0.113172002)·√1249/√1.530591649 = 1.283816037, DSR = 0.9003968.
    /// The paper reports 0.9004.
    #[test]
    fn paper_example() {
        let s = stats(2.5 / 250f64.sqrt(), 1250, -3.0, 10.0);
        let sr0 = expected_max_sharpe(100, 0.5 / 250.0);
        assert!(close(sr0 * 250f64.sqrt(), 1.789_406_466_273_206, 1e-9));
        let dsr = deflated_sharpe(&s, 100, 0.5 / 250.0);
        assert!(close(dsr, 0.900_396_834_449_391, 1e-6), "DSR = {dsr}");
    }

    #[test]
    fn excess_kurtosis_gives_a_different_wrong_answer() {
        // The paper's example with γ₄ − 3 = 7 passed by mistake: 0.90178, not 0.90040.
        let raw = deflated_sharpe(&stats(2.5 / 250f64.sqrt(), 1250, -3.0, 10.0), 100, 0.002);
        let excess = deflated_sharpe(&stats(2.5 / 250f64.sqrt(), 1250, -3.0, 7.0), 100, 0.002);
        assert!(close(excess, 0.901_778_566_439_367_3, 1e-6));
        assert!((raw - excess).abs() > 1e-3);
        // Normal returns (skew 0, raw kurtosis 3) must give Lo's (2002) variance 1 + SR²/2;
        // excess kurtosis 0 would give 1 − SR²/4 instead.
        let (sr, t) = (0.5, 5);
        let want = normal_cdf(sr * 4f64.sqrt() / (1.0 + sr * sr / 2.0).sqrt());
        assert!(close(probabilistic_sharpe(&stats(sr, t, 0.0, 3.0), 0.0), want, 1e-15));
        // Φ(0.9428) = 0.8271 with raw kurtosis, Φ(1.0328) = 0.8491 with excess.
        assert!((probabilistic_sharpe(&stats(sr, t, 0.0, 0.0), 0.0) - want).abs() > 0.02);
    }

    #[test]
    fn psr_with_measured_moments() {
        // ReturnStats::of output plugs straight in: r = 0, 0, 0, 4 has T = 4, SR = 0.5, skew 2/√3,
        // kurtosis 7/3, so the variance term is 1 − (2/√3)·0.5 + (7/3 − 1)/4·0.25 = 1 − 1/√3 + 1/12.
        let s = ReturnStats::of(&[0.0, 0.0, 0.0, 4.0]);
        let radicand = 1.0 - 1.0 / 3f64.sqrt() + 1.0 / 12.0;
        let want = normal_cdf(0.5 * 3f64.sqrt() / radicand.sqrt());
        assert!(close(probabilistic_sharpe(&s, 0.0), want, 1e-14));
    }

    #[test]
    fn expected_max_sharpe_properties() {
        assert_eq!(expected_max_sharpe(1, 0.3), 0.0);
        assert_eq!(expected_max_sharpe(1000, 0.0), 0.0);
        assert!(expected_max_sharpe(0, 0.1).is_nan());
        assert!(expected_max_sharpe(10, -0.1).is_nan());
        assert!(expected_max_sharpe(10, f64::NAN).is_nan());
        // N = 2: Φ⁻¹(0.5) = 0, so SR₀ = √V·γ·Φ⁻¹(1 − 1/(2e)).
        let two = expected_max_sharpe(2, 0.04);
        assert!(close(two, 0.2 * EULER_MASCHERONI * normal_quantile(1.0 - 0.5 / std::f64::consts::E), 1e-15));
        // Grows with N and with √V.
        let mut last = 0.0;
        for n in [2, 10, 100, 1000, 100_000] {
            let v = expected_max_sharpe(n, 1.0);
            assert!(v > last, "N = {n}");
            last = v;
        }
        assert!(close(expected_max_sharpe(100, 4.0), 2.0 * expected_max_sharpe(100, 1.0), 1e-15));
    }

    #[test]
    fn degenerate_inputs_give_nan() {
        assert!(probabilistic_sharpe(&stats(0.1, 1, 0.0, 3.0), 0.0).is_nan());
        assert!(probabilistic_sharpe(&ReturnStats::of(&[0.01; 20]), 0.0).is_nan());
        assert!(probabilistic_sharpe(&ReturnStats::of(&[]), 0.0).is_nan());
        assert!(probabilistic_sharpe(&stats(0.1, 100, 0.0, 3.0), f64::NAN).is_nan());
        // 1 − 5·1 + 0 < 0: an inconsistent hand-built skew/kurtosis pair.
        assert!(probabilistic_sharpe(&stats(1.0, 100, 5.0, 1.0), 0.0).is_nan());
        assert!(deflated_sharpe(&stats(0.1, 100, 0.0, 3.0), 0, 0.01).is_nan());
    }

    #[test]
    fn one_trial_deflates_to_psr_against_zero() {
        let s = stats(0.1, 250, -0.5, 4.0);
        assert_eq!(deflated_sharpe(&s, 1, 0.0025), probabilistic_sharpe(&s, 0.0));
    }
}
