//! Independent random streams keyed by (seed, generation, slot, purpose).
//!
//! The engine never shares a generator: each random decision about one slot of one generation
//! draws from its own stream, so slots can be bred in any order on any number of threads and
//! still come out bit-identical.

use rand_pcg::Pcg64;

/// What a stream is used for; each purpose gets unrelated streams.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Purpose {
    /// Generation 0's random genomes.
    Initial,
    /// Tournament draws for a child's two parents.
    Select,
    /// The crossover decision and the crossover itself.
    Crossover,
    /// Mutation of a child.
    Mutate,
    /// Random immigrants injected on stagnation.
    Immigrant,
    /// The random part of a restarted population.
    Restart,
    /// The pairs sampled for diversity in a large population.
    Sample,
}

/// The generator for `purpose` at `slot` of `generation` under `seed`.
pub(crate) fn stream(seed: u64, generation: u32, slot: usize, purpose: Purpose) -> Pcg64 {
    let mut h = splitmix64(seed);
    h = splitmix64(h ^ ((purpose as u64) << 32 | u64::from(generation)));
    h = splitmix64(h ^ slot as u64);
    let hi = splitmix64(h);
    let lo = splitmix64(hi ^ h);
    let inc = splitmix64(lo ^ 0x5851_F42D_4C95_7F2D);
    Pcg64::new(u128::from(hi) << 64 | u128::from(lo), u128::from(inc))
}

/// SplitMix64 finaliser: a bijective mixer that turns structured keys into well-spread seeds.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
