//! A tiny deterministic random source for the statistics tests (SplitMix64, Steele, Lea & Flood
//! 2014), so the tests need no random-number crate and give the same numbers everywhere.

use super::normal::normal_quantile;

/// SplitMix64 generator.
pub struct TestRng(u64);

impl TestRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        TestRng(seed)
    }

    /// Uniform in (0, 1): 53 random bits, offset by half a step so 0 never occurs.
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal draw by inversion.
    pub fn normal(&mut self) -> f64 {
        normal_quantile(self.uniform())
    }

    /// `len` normal draws with mean `drift` and standard deviation `sd`.
    pub fn series(&mut self, len: usize, drift: f64, sd: f64) -> Vec<f64> {
        (0..len).map(|_| drift + sd * self.normal()).collect()
    }
}
