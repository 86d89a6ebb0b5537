//! Novelty as the mean distance to the k nearest neighbours.
//!
//! For population member `i`, the candidates are every other population member (by index:
//! a duplicate of `i` elsewhere in the population is a neighbour at distance 0) and every
//! archive entry. Its novelty is the mean Euclidean distance to the `min(k, candidates)`
//! nearest; 0 when there is no candidate at all.
//!
//! Cost: one pass of squared distances into a scratch buffer, a partial selection
//! (`select_nth_unstable_by`) of the k smallest, and square roots of those k only. The k
//! selected distances are sorted before they are summed, so the result depends only on the
//! multiset of distances — not on the selection algorithm or the thread layout — and equals
//! a full-sort reference bit for bit. Members are scored in parallel (rayon, the caller's
//! pool) and collected in order: the same input gives bit-identical output at any thread count.

use rayon::prelude::*;

use crate::BehaviourDescriptor;

/// Members scored per rayon task: enough work to amortise the task, small enough to balance.
const MIN_TASK: usize = 16;

/// Novelty of every member of `population` against the rest of it and `archive` (see the
/// module docs); same order as `population`.
pub fn novelty_scores(population: &[BehaviourDescriptor], archive: &[BehaviourDescriptor], k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(population.len());
    population
        .par_iter()
        .enumerate()
        .with_min_len(MIN_TASK)
        .map_init(
            || Vec::with_capacity(population.len() + archive.len()),
            |scratch, (i, query)| mean_nearest(i, query, population, archive, k, scratch),
        )
        .collect_into_vec(&mut out);
    out
}

/// Mean distance from `query` (population member `skip`) to its `k` nearest neighbours.
fn mean_nearest(
    skip: usize,
    query: &BehaviourDescriptor,
    population: &[BehaviourDescriptor],
    archive: &[BehaviourDescriptor],
    k: usize,
    scratch: &mut Vec<f64>,
) -> f64 {
    scratch.clear();
    scratch.extend(population[..skip].iter().map(|p| query.distance_sq(p)));
    scratch.extend(population[skip + 1..].iter().map(|p| query.distance_sq(p)));
    scratch.extend(archive.iter().map(|a| query.distance_sq(a)));
    mean_of_smallest_roots(scratch, k)
}

/// Mean of the square roots of the `min(k, len)` smallest values of `squared` (0 when that is
/// none), summed in ascending order; reorders `squared`.
fn mean_of_smallest_roots(squared: &mut [f64], k: usize) -> f64 {
    let k = k.min(squared.len());
    if k == 0 {
        return 0.0;
    }
    if k < squared.len() {
        squared.select_nth_unstable_by(k - 1, f64::total_cmp);
    }
    let nearest = &mut squared[..k];
    nearest.sort_unstable_by(f64::total_cmp);
    nearest.iter().map(|d| d.sqrt()).sum::<f64>() / k as f64
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::DIMS;

    fn d(values: [f64; DIMS]) -> BehaviourDescriptor {
        BehaviourDescriptor::from_values(values).unwrap()
    }

    /// The definition, written plainly: every distance, a full sort, the first k.
    fn brute_force(population: &[BehaviourDescriptor], archive: &[BehaviourDescriptor], k: usize) -> Vec<f64> {
        (0..population.len())
            .map(|i| {
                let mut all: Vec<f64> = population
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, p)| p)
                    .chain(archive)
                    .map(|p| population[i].distance(p))
                    .collect();
                all.sort_by(f64::total_cmp);
                let k = k.min(all.len());
                if k == 0 { 0.0 } else { all[..k].iter().sum::<f64>() / k as f64 }
            })
            .collect()
    }

    fn descriptors(max: usize) -> impl Strategy<Value = Vec<BehaviourDescriptor>> {
        // A coarse grid of values makes ties between distances common.
        let value = prop_oneof![(0u8..4).prop_map(|x| f64::from(x) / 4.0), 0.0..1.0f64];
        proptest::collection::vec(proptest::array::uniform12(value), 0..max)
            .prop_map(|vs| vs.into_iter().map(d).collect())
    }

    proptest! {
        #[test]
        fn knn_equals_brute_force_bit_for_bit(
            population in descriptors(60),
            archive in descriptors(60),
            k in 1usize..30,
        ) {
            let fast = novelty_scores(&population, &archive, k);
            let slow = brute_force(&population, &archive, k);
            prop_assert_eq!(fast.len(), slow.len());
            for (f, s) in fast.iter().zip(&slow) {
                prop_assert_eq!(f.to_bits(), s.to_bits());
            }
        }
    }

    #[test]
    fn hand_computed_case_on_a_line() {
        // Points on the first axis at 0, 1, 3 and 7; archive at 10.
        let at = |x: f64| {
            let mut v = [0.0; DIMS];
            v[0] = x;
            d(v)
        };
        let population = [at(0.0), at(1.0), at(3.0), at(7.0)];
        let archive = [at(10.0)];
        // k = 2: 0 → {1, 3} = 2; 1 → {1, 2} = 1.5; 3 → {2, 3} = 2.5; 7 → {3, 4} = 3.5.
        assert_eq!(novelty_scores(&population, &archive, 2), [2.0, 1.5, 2.5, 3.5]);
        // k above the candidates: the mean over all 4 others.
        assert_eq!(novelty_scores(&population, &archive, 50)[0], (1.0 + 3.0 + 7.0 + 10.0) / 4.0);
        // Alone, with an empty archive: 0.
        assert_eq!(novelty_scores(&population[..1], &[], 20), [0.0]);
    }

    #[test]
    fn thread_count_does_not_change_a_bit() {
        let population: Vec<BehaviourDescriptor> = (0..300)
            .map(|i| d(std::array::from_fn(|j| ((i * 31 + j * 17) % 97) as f64 / 97.0)))
            .collect();
        let archive: Vec<BehaviourDescriptor> =
            (0..200).map(|i| d(std::array::from_fn(|j| ((i * 13 + j * 7) % 89) as f64 / 89.0))).collect();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| novelty_scores(&population, &archive, 20))
        };
        let one: Vec<u64> = run(1).iter().map(|x| x.to_bits()).collect();
        let four: Vec<u64> = run(4).iter().map(|x| x.to_bits()).collect();
        assert_eq!(one, four);
    }
}
