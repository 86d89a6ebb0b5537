//! The standard normal distribution function Φ and its inverse Φ⁻¹, to double precision.
//!
//! Φ is W. J. Cody's rational Chebyshev approximation (Cody 1969, "Rational Chebyshev
//! approximations for the error function", Math. Comp. 23; ACM TOMS Algorithm 715, 1993), the
//! algorithm behind R's `pnorm`: three ranges of |x| with relative error near 1e-16, and the tail
//! evaluated directly so that Φ(−20) ≈ 2.75e−89 keeps its digits instead of underflowing from
//! `1 − Φ(20)`. Φ⁻¹ is Wichura's AS 241 `PPND16` (Applied Statistics 37, 1988), relative error
//! about 1e−16, also what R's `qnorm` runs.

#![expect(clippy::excessive_precision, reason = "coefficients verbatim as published, for checking")]

/// 1/√(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_059_934;

const A: [f64; 5] = [
    2.235_252_035_460_683_928_7,
    161.028_231_068_555_878_81,
    1_067.689_485_460_370_958_2,
    18_154.981_253_343_561_249,
    0.065_682_337_918_207_449_113,
];
const B: [f64; 4] = [
    47.202_581_904_688_241_87,
    976.098_551_737_776_693_22,
    10_260.932_208_618_978_205,
    45_507.789_335_026_729_956,
];
const C: [f64; 9] = [
    0.398_941_512_088_134_667_64,
    8.883_149_794_388_375_941_2,
    93.506_656_132_177_855_979,
    597.270_276_394_800_262_26,
    2_494.537_585_290_372_671_1,
    6_848.190_450_536_282_332_6,
    11_602.651_437_647_350_124,
    9_842.714_838_383_978_021_8,
    1.076_557_677_372_019_231_7e-8,
];
const D: [f64; 8] = [
    22.266_688_044_328_115_691,
    235.387_901_782_624_998_61,
    1_519.377_599_407_554_805,
    6_485.558_298_266_760_755,
    18_615.571_640_885_098_091,
    34_900.952_721_145_977_266,
    38_912.003_286_093_271_411,
    19_685.429_676_859_990_727,
];
const P: [f64; 6] = [
    0.215_898_534_057_956_99,
    0.127_401_161_160_247_363_9,
    0.022_235_277_870_649_807,
    0.001_421_619_193_227_893_466,
    2.911_287_495_116_879_2e-5,
    0.023_073_441_764_940_173_03,
];
const Q: [f64; 5] = [
    1.284_260_096_144_911_21,
    0.468_238_212_480_865_118,
    0.065_988_137_868_928_551_5,
    0.003_782_396_332_027_582_44,
    7.297_515_550_839_662_05e-5,
];

/// Standard normal distribution function Φ(x) = P(Z ≤ x); NaN for NaN, 0 and 1 at ∓∞.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= 0.674_489_75 {
        // Φ(x) = ½ + x·R(x²) around the centre.
        let xsq = x * x;
        let (mut num, mut den) = (A[4] * xsq, xsq);
        for i in 0..3 {
            num = (num + A[i]) * xsq;
            den = (den + B[i]) * xsq;
        }
        return 0.5 + x * (num + A[3]) / (den + B[3]);
    }
    // Upper-tail probability Q(|x|) = 1 − Φ(|x|) = φ(|x|)·R(|x|).
    let ratio = if y <= 32f64.sqrt() {
        let (mut num, mut den) = (C[8] * y, y);
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        (num + C[7]) / (den + D[7])
    } else if y < 38.5 {
        let xsq = 1.0 / (y * y);
        let (mut num, mut den) = (P[5] * xsq, xsq);
        for i in 0..4 {
            num = (num + P[i]) * xsq;
            den = (den + Q[i]) * xsq;
        }
        (FRAC_1_SQRT_2PI - xsq * (num + P[4]) / (den + Q[4])) / y
    } else {
        // Q(38.5) < 1e-323: the tail underflows.
        return if x > 0.0 { 1.0 } else { 0.0 };
    };
    let tail = gaussian_factor(y) * ratio;
    if x > 0.0 { 1.0 - tail } else { tail }
}

/// exp(−y²/2) without the rounding error of squaring `y`: `y` is split into a part with few bits
/// (a multiple of 1/16, whose square is exact) and a small rest.
fn gaussian_factor(y: f64) -> f64 {
    let head = (y * 16.0).trunc() / 16.0;
    let rest = (y - head) * (y + head);
    (-head * head * 0.5).exp() * (-rest * 0.5).exp()
}

/// Standard normal quantile Φ⁻¹(p); −∞ at 0, +∞ at 1, NaN outside [0, 1] or for NaN.
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q
            * (((((((r * 2_509.080_928_730_122_672_7 + 33_430.575_583_588_128_105) * r
                + 67_265.770_927_008_700_853)
                * r
                + 45_921.953_931_549_871_457)
                * r
                + 13_731.693_765_509_461_125)
                * r
                + 1_971.590_950_306_551_442_7)
                * r
                + 133.141_667_891_784_377_45)
                * r
                + 3.387_132_872_796_366_608)
            / (((((((r * 5_226.495_278_852_854_561 + 28_729.085_735_721_942_674) * r
                + 39_307.895_800_092_710_61)
                * r
                + 21_213.794_301_586_595_867)
                * r
                + 5_394.196_021_424_751_107_7)
                * r
                + 687.187_007_492_057_908_3)
                * r
                + 42.313_330_701_600_911_252)
                * r
                + 1.0);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    if tail == 0.0 {
        return if q < 0.0 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    let mut r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.745_450_142_783_414_076_4e-4 + 0.022_723_844_989_269_184_583_3) * r
            + 0.241_780_725_177_450_611_77)
            * r
            + 1.270_458_252_452_368_382_58)
            * r
            + 3.647_848_324_763_204_605_04)
            * r
            + 5.769_497_221_460_691_405_5)
            * r
            + 4.630_337_846_156_545_295_9)
            * r
            + 1.423_437_110_749_683_577_34)
            / (((((((r * 1.050_750_071_644_416_843_24e-9 + 5.475_938_084_995_344_946e-4) * r
                + 0.015_198_666_563_616_457_196_6)
                * r
                + 0.148_103_976_427_480_074_59)
                * r
                + 0.689_767_334_985_100_004_55)
                * r
                + 1.676_384_830_183_803_849_4)
                * r
                + 2.053_191_626_637_758_821_87)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.010_334_399_292_288_132_65e-7 + 2.711_555_568_743_487_578_15e-5) * r
            + 0.001_242_660_947_388_078_438_6)
            * r
            + 0.026_532_189_526_576_123_093)
            * r
            + 0.296_560_571_828_504_891_23)
            * r
            + 1.784_826_539_917_291_335_8)
            * r
            + 5.463_784_911_164_114_369_9)
            * r
            + 6.657_904_643_501_103_777_2)
            / (((((((r * 2.044_263_103_389_939_785_64e-15 + 1.421_511_758_316_445_888_7e-7) * r
                + 1.846_318_317_510_054_681_8e-5)
                * r
                + 7.868_691_311_456_132_591e-4)
                * r
                + 0.014_875_361_290_850_614_852_5)
                * r
                + 0.136_929_880_922_735_805_31)
                * r
                + 0.599_832_206_555_887_937_69)
                * r
                + 1.0)
    };
    if q < 0.0 { -value } else { value }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::FRAC_1_SQRT_2;

    use super::*;

    /// Relative error of `got` against `want`.
    fn rel(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    // Reference values computed with mpmath at 50 significant digits:
    // Φ(x) = mpmath.ncdf(x), Φ⁻¹(p) = −√2·erfcinv(2p) via mpmath.findroot.
    const CDF: [(f64, f64); 12] = [
        (0.0, 0.5),
        (0.5, 0.691_462_461_274_013_1),
        (-0.5, 0.308_537_538_725_986_9),
        (1.0, 0.841_344_746_068_542_9),
        (1.96, 0.975_002_104_851_779_5),
        (-1.96, 0.024_997_895_148_220_435),
        (3.0, 0.998_650_101_968_369_9),
        (-3.0, 0.001_349_898_031_630_094_6),
        (-5.0, 2.866_515_718_791_939e-7),
        (-8.0, 6.220_960_574_271_784e-16),
        (-20.0, 2.753_624_118_606_233_7e-89),
        (-37.0, 5.725_571_222_524_577e-300),
    ];

    #[test]
    fn cdf_matches_high_precision_values() {
        for (x, want) in CDF {
            let got = normal_cdf(x);
            assert!(rel(got, want) < 1e-14, "Φ({x}) = {got:e}, want {want:e}");
        }
    }

    #[test]
    fn cdf_edges() {
        assert!(normal_cdf(f64::NAN).is_nan());
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(-40.0), 0.0);
        assert_eq!(normal_cdf(9.0), 1.0);
    }

    #[test]
    fn cdf_is_symmetric_and_agrees_with_erfc_across_the_range() {
        // Φ(x) + Φ(−x) = 1, and Φ(x) = erfc(−x/√2)/2, checked where erfc has no cancellation.
        let mut x = -6.0;
        while x <= 6.0 {
            assert!((normal_cdf(x) + normal_cdf(-x) - 1.0).abs() < 2e-16, "x = {x}");
            x += 0.0625;
        }
        let phi_half = 0.5 * (1.0 - erf_series(FRAC_1_SQRT_2 * 0.3));
        assert!(rel(normal_cdf(-0.3), phi_half) < 1e-15);
    }

    /// erf(z) from its Maclaurin series, a check independent of the rational approximation for
    /// small `z`.
    fn erf_series(z: f64) -> f64 {
        let (mut term, mut sum) = (z, z);
        for n in 1..40 {
            term *= -z * z / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    const QUANTILE: [(f64, f64); 9] = [
        (0.5, 0.0),
        (0.975, 1.959_963_984_540_053_8),
        (0.99, 2.326_347_874_040_840_8),
        (0.01, -2.326_347_874_040_841),
        (0.8, 0.841_621_233_572_914_4),
        (0.999, 3.090_232_306_167_813),
        (1e-10, -6.361_340_902_404_057),
        (1e-300, -37.047_096_299_361_2),
        // 1 − 1/(100e), the second quantile in the expected maximum Sharpe ratio for N = 100.
        (0.996_321_205_588_285_6, 2.680_210_444_966_887_5),
    ];

    #[test]
    fn quantile_matches_high_precision_values() {
        for (p, want) in QUANTILE {
            let got = normal_quantile(p);
            let err = if want == 0.0 { got.abs() } else { rel(got, want) };
            assert!(err < 1e-14, "Φ⁻¹({p}) = {got}, want {want}");
        }
    }

    #[test]
    fn quantile_inverts_cdf() {
        // Lower tail: p = Φ(x) keeps its relative precision, so x comes back to ~1e-15.
        let mut x = -37.0;
        while x <= 0.0 {
            let back = normal_quantile(normal_cdf(x));
            assert!((back - x).abs() <= 1e-14 * x.abs().max(1.0), "x = {x}, back = {back}");
            x += 0.125;
        }
        // Upper tail: Φ(x) is stored to an absolute ε/2, which moves x by up to ε/(2φ(x)).
        while x <= 8.0 {
            let back = normal_quantile(normal_cdf(x));
            let density = FRAC_1_SQRT_2PI * (-x * x / 2.0).exp();
            let tol = 2.0 * f64::EPSILON / density + 1e-14 * x;
            assert!((back - x).abs() <= tol, "x = {x}, back = {back}, tolerance {tol:e}");
            x += 0.125;
        }
    }

    #[test]
    fn quantile_edges() {
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(-0.1).is_nan());
        assert!(normal_quantile(1.1).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
    }
}
