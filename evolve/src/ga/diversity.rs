//! Population diversity: mean pairwise genotypic distance.

use rand::Rng;
use rayon::prelude::*;

use super::rng::{Purpose, stream};
use super::{Problem, Scored};

/// Largest population whose pairs are all measured; above it a sample of as many pairs is used.
const ALL_PAIRS_UP_TO: usize = 64;

/// Pairs measured: all of them up to [`ALL_PAIRS_UP_TO`] individuals, else this many sampled.
const SAMPLED_PAIRS: usize = ALL_PAIRS_UP_TO * (ALL_PAIRS_UP_TO - 1) / 2;

/// Mean [`Problem::distance`] over all pairs of `population`, or over a sample of pairs drawn
/// from generation `generation`'s own stream when the population is larger than 64. Distances
/// are computed in parallel and summed in pair order, so the value is thread-count independent.
pub(crate) fn diversity<P: Problem>(
    problem: &P,
    population: &[Scored<P::Genome>],
    seed: u64,
    generation: u32,
) -> f64 {
    let n = population.len();
    if n < 2 {
        return 0.0;
    }
    let pairs: Vec<(usize, usize)> = if n <= ALL_PAIRS_UP_TO {
        (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect()
    } else {
        let mut rng = stream(seed, generation, 0, Purpose::Sample);
        (0..SAMPLED_PAIRS)
            .map(|_| {
                let i = rng.random_range(0..n);
                let j = rng.random_range(0..n - 1);
                (i, if j >= i { j + 1 } else { j })
            })
            .collect()
    };
    let distances: Vec<f64> = pairs
        .par_iter()
        .with_min_len(128)
        .map(|&(i, j)| problem.distance(&population[i].genome, &population[j].genome))
        .collect();
    distances.iter().sum::<f64>() / distances.len() as f64
}
