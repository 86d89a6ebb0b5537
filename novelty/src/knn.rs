//! Novelty as the mean distance to the k nearest neighbours.
//!
//! For population member `i`, the candidates are every other population member (by index:
//! a duplicate of `i` elsewhere in the population is a neighbour at distance 0) and every
//! archive entry. Its novelty is the mean Euclidean distance to the `min(k, candidates)`
//! nearest; 0 when there is no candidate at all.
//!
//! Cost: the squared distances from a block of 4 queries to every point are computed in
//! tiles of 8 points held in registers (single precision: twice the SIMD lanes of f64, on NEON
//! as on x86-64; descriptor values lie in [0, 1], so the rounding, ~1e−7, is far below any
//! behavioural difference), then a partial selection (`select_nth_unstable`) finds each
//! query's k smallest among the distances of the tiles that can hold them (a tile whose
//! smallest distance is above the (k+1)-th smallest tile minimum cannot), and only those k get
//! a square root. The k selected distances are sorted
//! before they are summed (in f64), so the result depends only on the multiset of distances —
//! not on the selection algorithm or the thread layout. Blocks are scored in parallel (rayon,
//! the caller's pool) and collected in order: the same input gives bit-identical output at any
//! thread count.

use rayon::prelude::*;

use crate::{BehaviourDescriptor, DIMS};

/// Points per tile: two SIMD registers of f32 on NEON and SSE.
const LANES: usize = 8;

/// Queries per block, sharing each tile's loads.
const BLOCK: usize = 4;

/// Query blocks per rayon task.
const MIN_TASK: usize = 4;

/// One tile: dimension `d` of its `LANES` points at `[d]`.
type Tile = [[f32; LANES]; DIMS];

/// Novelty of every member of `population` against the rest of it and `archive` (see the
/// module docs); same order as `population`.
pub fn novelty_scores(
    population: &[BehaviourDescriptor],
    archive: &[BehaviourDescriptor],
    k: usize,
) -> Vec<f64> {
    let points = Points::new(population, archive);
    let k = k.min(points.len.saturating_sub(1));
    let mut blocks = Vec::with_capacity(population.len().div_ceil(BLOCK));
    population
        .par_chunks(BLOCK)
        .enumerate()
        .with_min_len(MIN_TASK)
        .map_init(
            || Scratch::new(&points),
            |scratch, (b, queries)| points.score_block(b * BLOCK, queries, k, scratch),
        )
        .collect_into_vec(&mut blocks);
    blocks.into_iter().flatten().take(population.len()).collect()
}

/// Every point (the population, then the archive) in tiles of [`LANES`] points stored
/// dimension by dimension; the last tile is padded with points at infinity.
struct Points {
    /// Real points (padding excluded).
    len: usize,
    tiles: Vec<Tile>,
}

/// One rayon task's buffers, reused across its blocks.
struct Scratch {
    /// Squared distances, one row of [`Points::padded`] per query of the block.
    distances: Vec<f32>,
    /// Smallest squared distance (bit pattern) in each tile, one row of tiles per query.
    tile_mins: Vec<u32>,
    /// Selection buffer for the tile minima.
    bounds: Vec<u32>,
    /// Candidate keys of one query.
    keys: Vec<u32>,
}

impl Scratch {
    fn new(points: &Points) -> Self {
        Scratch {
            distances: vec![0.0; BLOCK * points.padded()],
            tile_mins: vec![0; BLOCK * points.tiles.len()],
            bounds: Vec::with_capacity(points.tiles.len()),
            keys: Vec::with_capacity(points.len),
        }
    }
}

impl Points {
    fn new(population: &[BehaviourDescriptor], archive: &[BehaviourDescriptor]) -> Self {
        let len = population.len() + archive.len();
        let mut tiles = vec![[[f32::INFINITY; LANES]; DIMS]; len.div_ceil(LANES)];
        for (j, point) in population.iter().chain(archive).enumerate() {
            for (d, &x) in point.values().iter().enumerate() {
                tiles[j / LANES][d][j % LANES] = x as f32;
            }
        }
        Points { len, tiles }
    }

    /// Points including the padding.
    fn padded(&self) -> usize {
        self.tiles.len() * LANES
    }

    /// Novelty of the queries `first..first + queries.len()` (at most [`BLOCK`]; the rest of
    /// the returned block is 0).
    ///
    /// Pruning: with `b` the `(k+1)`-th smallest tile minimum, at least `k + 1` tiles hold a
    /// distance `≤ b`, so at least `k` points other than the query itself do: the `k` nearest
    /// all lie at or below `b`, in tiles whose minimum is at or below `b`. Only those tiles'
    /// distances `≤ b` are kept for the selection — about `k` tiles instead of all of them.
    fn score_block(
        &self,
        first: usize,
        queries: &[BehaviourDescriptor],
        k: usize,
        s: &mut Scratch,
    ) -> [f64; BLOCK] {
        let mut block = [[0.0f32; DIMS]; BLOCK];
        for (q, query) in block.iter_mut().zip(queries) {
            *q = query.values().map(|x| x as f32);
        }
        self.block_distances(&block, &mut s.distances, &mut s.tile_mins);
        let tiles = self.tiles.len();
        let mut out = [0.0; BLOCK];
        for (q, slot) in out.iter_mut().enumerate().take(queries.len()) {
            let row = &s.distances[q * self.padded()..][..self.padded()];
            let mins = &s.tile_mins[q * tiles..][..tiles];
            let bound = if tiles > k + 1 {
                s.bounds.clear();
                s.bounds.extend_from_slice(mins);
                *s.bounds.select_nth_unstable(k).1
            } else {
                u32::MAX
            };
            s.keys.clear();
            for (t, _) in mins.iter().enumerate().filter(|&(_, &m)| m <= bound) {
                for (j, d) in row.iter().enumerate().skip(t * LANES).take(LANES) {
                    let key = d.to_bits();
                    if key <= bound && j != first + q && j < self.len {
                        s.keys.push(key);
                    }
                }
            }
            *slot = mean_of_smallest_roots(&mut s.keys, k);
        }
        out
    }

    /// Squared distances from each of the `BLOCK` queries to every point — row `q` of
    /// `distances` (stride [`Points::padded`]) for query `q` — and each tile's smallest.
    ///
    /// Each distance accumulates dimension by dimension from 0, in the same order as
    /// [`BehaviourDescriptor::distance_sq`] (in f32). The sums are never negative nor −0, so
    /// their bit patterns order like their values: selection runs on integers. Padding points
    /// are at infinity.
    fn block_distances(&self, block: &[[f32; DIMS]; BLOCK], distances: &mut [f32], tile_mins: &mut [u32]) {
        let (stride, tiles) = (self.padded(), self.tiles.len());
        for (t, tile) in self.tiles.iter().enumerate() {
            let mut acc = [[0.0f32; LANES]; BLOCK];
            for (d, column) in tile.iter().enumerate() {
                for (sums, query) in acc.iter_mut().zip(block) {
                    for (sum, &x) in sums.iter_mut().zip(column) {
                        let diff = x - query[d];
                        *sum += diff * diff;
                    }
                }
            }
            for (q, sums) in acc.iter().enumerate() {
                distances[q * stride + t * LANES..][..LANES].copy_from_slice(sums);
                tile_mins[q * tiles + t] = sums.iter().fold(f32::INFINITY, |m, &x| m.min(x)).to_bits();
            }
        }
    }
}

/// Mean of the square roots of the `k` smallest squared distances, given as bit patterns (0
/// when `k` is 0), summed in ascending order; reorders `keys` (which holds at least `k`).
fn mean_of_smallest_roots(keys: &mut [u32], k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k < keys.len() {
        keys.select_nth_unstable(k - 1);
    }
    let nearest = &mut keys[..k];
    nearest.sort_unstable();
    nearest.iter().map(|&bits| f64::from(f32::from_bits(bits)).sqrt()).sum::<f64>() / k as f64
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::DIMS;

    fn d(values: [f64; DIMS]) -> BehaviourDescriptor {
        BehaviourDescriptor::from_values(values).unwrap()
    }

    /// Squared distance in single precision, dimension by dimension.
    fn distance_f32(a: &BehaviourDescriptor, b: &BehaviourDescriptor) -> f64 {
        let mut sum = 0.0f32;
        for (x, y) in a.values().iter().zip(b.values()) {
            let diff = *x as f32 - *y as f32;
            sum += diff * diff;
        }
        f64::from(sum).sqrt()
    }

    /// The definition, written plainly: every distance, a full sort, the first k.
    fn brute_force(
        population: &[BehaviourDescriptor],
        archive: &[BehaviourDescriptor],
        k: usize,
    ) -> Vec<f64> {
        (0..population.len())
            .map(|i| {
                let mut all: Vec<f64> = population
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, p)| p)
                    .chain(archive)
                    .map(|p| distance_f32(&population[i], p))
                    .collect();
                all.sort_by(f64::total_cmp);
                let k = k.min(all.len());
                if k == 0 { 0.0 } else { all[..k].iter().sum::<f64>() / k as f64 }
            })
            .collect()
    }

    fn descriptors(max: usize) -> impl Strategy<Value = Vec<BehaviourDescriptor>> {
        // A coarse grid of values makes ties between distances common; up to 200 points in
        // 25 tiles make the tile pruning cut for most k.
        let value = prop_oneof![(0u8..4).prop_map(|x| f64::from(x) / 4.0), 0.0..1.0f64];
        proptest::collection::vec(proptest::array::uniform12(value), 0..max)
            .prop_map(|vs| vs.into_iter().map(d).collect())
    }

    proptest! {
        #[test]
        fn knn_equals_brute_force_bit_for_bit(
            population in descriptors(80),
            archive in descriptors(120),
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
        // Points on the first axis at 0, 1, 3 and 7 sixteenths; archive at 10 (exact in f32).
        let at = |x: f64| {
            let mut v = [0.0; DIMS];
            v[0] = x / 16.0;
            d(v)
        };
        let population = [at(0.0), at(1.0), at(3.0), at(7.0)];
        let archive = [at(10.0)];
        // k = 2: 0 → {1, 3} = 2; 1 → {1, 2} = 1.5; 3 → {2, 3} = 2.5; 7 → {3, 4} = 3.5.
        assert_eq!(novelty_scores(&population, &archive, 2), [2.0, 1.5, 2.5, 3.5].map(|x| x / 16.0));
        // k above the candidates: the mean over all 4 others.
        assert_eq!(novelty_scores(&population, &archive, 50)[0], (1.0 + 3.0 + 7.0 + 10.0) / 4.0 / 16.0);
        // Alone, with an empty archive: 0.
        assert_eq!(novelty_scores(&population[..1], &[], 20), [0.0]);
    }

    #[test]
    fn thread_count_does_not_change_a_bit() {
        let population: Vec<BehaviourDescriptor> =
            (0..300).map(|i| d(std::array::from_fn(|j| ((i * 31 + j * 17) % 97) as f64 / 97.0))).collect();
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
