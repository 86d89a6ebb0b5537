//! Independent random streams keyed by (seed, purpose, index), and the few draws the model needs.
//!
//! Every shared path and every symbol gets its own generator, so any symbol can be generated
//! alone, in any order, on any thread, and still come out bit-identical.

use rand::Rng;
use rand_distr::{Exp1, StandardNormal};
use rand_pcg::Pcg64Mcg;

/// What a random stream is used for; each variant (and index) gets an unrelated generator.
#[derive(Clone, Copy, Debug)]
pub(super) enum Stream {
    /// The regime chain and the market factor.
    Market,
    /// One sector factor, by sector position.
    Sector(usize),
    /// A symbol's static parameters (betas, fundamentals, style), by symbol position.
    Params(usize),
    /// A symbol's daily path, by symbol position.
    Daily(usize),
    /// A symbol's intraday minute paths, by symbol position.
    Minute(usize),
    /// A stock's dated fundamentals reports, by symbol position.
    Reports(usize),
}

/// The generator for `stream` under the universe seed `seed`.
pub(super) fn stream(seed: u64, stream: Stream) -> Pcg64Mcg {
    let (tag, index) = match stream {
        Stream::Market => (1u64, 0usize),
        Stream::Sector(s) => (2, s),
        Stream::Params(i) => (3, i),
        Stream::Daily(i) => (4, i),
        Stream::Minute(i) => (5, i),
        Stream::Reports(i) => (6, i),
    };
    let key = splitmix64(seed ^ splitmix64((tag << 56) ^ index as u64));
    let hi = splitmix64(key);
    let lo = splitmix64(hi ^ key);
    Pcg64Mcg::new((u128::from(hi) << 64) | u128::from(lo))
}

/// SplitMix64 finaliser: a bijective mixer that turns structured keys into well-spread seeds.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A standard normal draw.
pub(super) fn normal(rng: &mut impl Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// A uniform draw in (0, 1], safe to take the logarithm of.
pub(super) fn uniform_open(rng: &mut impl Rng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// A unit-mean exponential draw.
fn exp1(rng: &mut impl Rng) -> f64 {
    rng.sample(Exp1)
}

/// The `(low, high)` of a bar whose body spans `body_low..=body_high`, with wicks of random
/// relative size (exponential, mean `wick`) on each side: `high = body_high·(1 + w₁)`,
/// `low = body_low / (1 + w₂)`, so `low ≤ body_low` and `high ≥ body_high` exactly and `low`
/// stays positive.
pub(super) fn wicks(body_low: f64, body_high: f64, wick: f64, rng: &mut impl Rng) -> (f64, f64) {
    let high = body_high * (1.0 + wick * exp1(rng));
    let low = body_low / (1.0 + wick * exp1(rng));
    (low, high)
}

/// Largest magnitude a fat-tailed shock may take, in standard deviations.
const TAIL_CAP: f64 = 12.0;

/// A Student-t draw with 6 degrees of freedom rescaled to unit variance (excess kurtosis 3),
/// capped at ±12. The chi-square with an even 6 degrees of freedom is exactly
/// `-2 ln(u1 u2 u3)`, which keeps this cheap.
pub(super) fn student_t6(rng: &mut impl Rng) -> f64 {
    let z = normal(rng);
    let u = uniform_open(rng) * uniform_open(rng) * uniform_open(rng);
    let chi2 = (-2.0 * u.ln()).max(1e-12);
    // t6 = z / sqrt(chi2 / 6) has variance 6/4; dividing by sqrt(1.5) makes it unit variance.
    let t = z / (chi2 / 6.0).sqrt() / 1.5f64.sqrt();
    t.clamp(-TAIL_CAP, TAIL_CAP)
}
