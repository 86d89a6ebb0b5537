//! The novelty archive: behaviours worth remembering, bounded, with an adaptive entry threshold.
//!
//! Once per generation [`Archive::update`] offers the generation's valid individuals in slot
//! order, with the novelty each scored against the population and the archive *as it was
//! before this generation* (so every newcomer is judged by the same yardstick):
//!
//! * `insertion = "threshold"`: an individual enters when its novelty is strictly above the
//!   current threshold. After the generation the threshold adapts: multiplied by
//!   `threshold_raise` when more than `max_insert_fraction` of the population entered, by
//!   `threshold_lower` after `stall_generations` generations in a row in which nothing entered
//!   (the stall count restarts after each lowering, and after any generation that inserted).
//! * `insertion = "probability"`: one draw per valid individual from the caller's stream, in
//!   slot order (so the stream advances by the same amount whatever the outcome); the threshold
//!   is not used.
//!
//! A full archive makes room by [`Replacement`]: the oldest entry, or the least novel one (by the
//! novelty recorded at its insertion, the oldest among equals; a newcomer no more novel than
//! it is not inserted). An `archive_size` of 0 keeps nothing.
//!
//! The archive is plain data (serde): a GA checkpoint stores it and a resumed run continues
//! exactly.

use rand::Rng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::{BehaviourDescriptor, Insertion, NoveltyConfig, NoveltyError, Replacement};

/// What is remembered about an archived behaviour besides the descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryInfo {
    /// Novelty when it was inserted.
    pub novelty: f64,
    /// Insertion order over the archive's life (0 for the first ever).
    pub seq: u64,
    /// Archive generation (count of [`Archive::update`] calls before it) of its insertion.
    pub generation: u64,
}

/// The bounded archive of past behaviours and its adaptive threshold (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    capacity: usize,
    /// Archived behaviours, contiguous for the neighbour search.
    descriptors: Vec<BehaviourDescriptor>,
    /// `entries[i]` describes `descriptors[i]`.
    entries: Vec<EntryInfo>,
    threshold: f64,
    stalled_for: u32,
    generation: u64,
    next_seq: u64,
    inserted_last: usize,
    /// Sum of the distances over all pairs of entries, kept up to date on every insertion.
    pair_distance_sum: f64,
}

/// The archive's state for a per-generation log line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchiveDiversity {
    /// Entries held.
    pub size: usize,
    /// Most entries it can hold.
    pub capacity: usize,
    /// Mean Euclidean distance over all pairs of entries (0 with fewer than 2).
    pub mean_pairwise_distance: f64,
    /// Current insertion threshold.
    pub threshold: f64,
    /// Entries inserted by the last update.
    pub inserted_last: usize,
    /// Entries inserted over the archive's life (replaced ones included).
    pub inserted_total: u64,
    /// Updates so far (generations seen).
    pub generation: u64,
}

impl Archive {
    /// An empty archive for `config` (whose validity the caller has checked).
    pub fn new(config: &NoveltyConfig) -> Self {
        Archive {
            capacity: config.archive_size,
            descriptors: Vec::with_capacity(config.archive_size),
            entries: Vec::with_capacity(config.archive_size),
            threshold: config.initial_threshold,
            stalled_for: 0,
            generation: 0,
            next_seq: 0,
            inserted_last: 0,
            pair_distance_sum: 0.0,
        }
    }

    /// The archived behaviours (in slot order, not insertion order).
    pub fn descriptors(&self) -> &[BehaviourDescriptor] {
        &self.descriptors
    }

    /// Information about each archived behaviour, parallel to [`Archive::descriptors`].
    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.descriptors.len()
    }

    /// True when nothing is archived.
    pub fn is_empty(&self) -> bool {
        self.descriptors.is_empty()
    }

    /// Most entries it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Current insertion threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Checks that a deserialised archive fits `config` and is internally consistent.
    pub(crate) fn check(&self, config: &NoveltyConfig) -> Result<(), NoveltyError> {
        if self.capacity != config.archive_size {
            return Err(NoveltyError::ArchiveSize { archive: self.capacity, config: config.archive_size });
        }
        let consistent = self.descriptors.len() == self.entries.len()
            && self.descriptors.len() <= self.capacity
            && self.threshold.is_finite()
            && self.threshold > 0.0
            && self.pair_distance_sum.is_finite()
            && self.entries.iter().all(|e| e.seq < self.next_seq);
        if consistent { Ok(()) } else { Err(NoveltyError::CorruptArchive) }
    }

    /// Offers one generation's valid individuals (`population[i]` scored `novelty[i]`) and adapts
    /// the threshold, as the module docs describe; returns how many entered.
    ///
    /// # Panics
    /// When `population` and `novelty` differ in length.
    pub fn update(
        &mut self,
        config: &NoveltyConfig,
        population: &[BehaviourDescriptor],
        novelty: &[f64],
        rng: &mut Pcg64,
    ) -> usize {
        assert_eq!(population.len(), novelty.len(), "one novelty score per individual");
        let mut inserted = 0;
        for (descriptor, &score) in population.iter().zip(novelty) {
            let enters = match config.insertion {
                Insertion::Threshold => score > self.threshold,
                Insertion::Probability => rng.random_bool(config.insert_probability),
            };
            if enters && self.insert(config.replacement, *descriptor, score) {
                inserted += 1;
            }
        }
        if config.insertion == Insertion::Threshold {
            self.adapt(config, inserted, population.len());
        }
        self.generation += 1;
        self.inserted_last = inserted;
        inserted
    }

    /// The threshold rule: raise after too many insertions, lower after a stall.
    fn adapt(&mut self, config: &NoveltyConfig, inserted: usize, population: usize) {
        if inserted as f64 > config.max_insert_fraction * population as f64 {
            self.threshold *= config.threshold_raise;
            self.stalled_for = 0;
        } else if inserted == 0 {
            self.stalled_for += 1;
            if self.stalled_for >= config.stall_generations {
                self.threshold *= config.threshold_lower;
                self.stalled_for = 0;
            }
        } else {
            self.stalled_for = 0;
        }
    }

    /// Inserts one behaviour, replacing by `replacement` when full; false when it did not enter.
    fn insert(&mut self, replacement: Replacement, descriptor: BehaviourDescriptor, novelty: f64) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let info = EntryInfo { novelty, seq: self.next_seq, generation: self.generation };
        if self.descriptors.len() < self.capacity {
            self.pair_distance_sum += self.distance_sum(&descriptor, None);
            self.descriptors.push(descriptor);
            self.entries.push(info);
        } else {
            let slot = match replacement {
                Replacement::Oldest => self.argmin_by(|a, b| a.seq.cmp(&b.seq)),
                Replacement::LeastNovel => {
                    let slot = self.argmin_by(|a, b| a.novelty.total_cmp(&b.novelty).then(a.seq.cmp(&b.seq)));
                    if novelty <= self.entries[slot].novelty {
                        return false;
                    }
                    slot
                }
            };
            self.pair_distance_sum += self.distance_sum(&descriptor, Some(slot))
                - self.distance_sum(&self.descriptors[slot], Some(slot));
            self.descriptors[slot] = descriptor;
            self.entries[slot] = info;
        }
        self.next_seq += 1;
        true
    }

    /// Sum of the distances from `d` to every entry but the one in slot `skip`.
    fn distance_sum(&self, d: &BehaviourDescriptor, skip: Option<usize>) -> f64 {
        let others = self.descriptors.iter().enumerate().filter(|&(j, _)| Some(j) != skip);
        others.map(|(_, e)| d.distance(e)).sum()
    }

    /// Slot of the smallest entry under `cmp` (the archive is not empty).
    fn argmin_by(&self, cmp: impl Fn(&EntryInfo, &EntryInfo) -> std::cmp::Ordering) -> usize {
        (0..self.entries.len()).min_by(|&a, &b| cmp(&self.entries[a], &self.entries[b])).unwrap_or(0)
    }

    /// Size, spread and threshold, for logging archive diversity per generation. O(1): the sum
    /// of pairwise distances is updated on every insertion (each costs one distance per entry),
    /// so it may differ from a fresh sum by rounding (~1e−12 relative).
    pub fn diversity(&self) -> ArchiveDiversity {
        let n = self.descriptors.len();
        let pairs = n * n.saturating_sub(1) / 2;
        ArchiveDiversity {
            size: n,
            capacity: self.capacity,
            mean_pairwise_distance: if pairs > 0 {
                self.pair_distance_sum.max(0.0) / pairs as f64
            } else {
                0.0
            },
            threshold: self.threshold,
            inserted_last: self.inserted_last,
            inserted_total: self.next_seq,
            generation: self.generation,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::DIMS;

    /// A point on the first axis at `x` sixteenths (exact in binary).
    fn at(x: f64) -> BehaviourDescriptor {
        let mut v = [0.0; DIMS];
        v[0] = x / 16.0;
        BehaviourDescriptor::from_values(v).unwrap()
    }

    fn config(archive_size: usize, replacement: Replacement) -> NoveltyConfig {
        NoveltyConfig { archive_size, replacement, initial_threshold: 1.0, ..NoveltyConfig::default() }
    }

    fn rng() -> Pcg64 {
        Pcg64::seed_from_u64(1)
    }

    fn xs(a: &Archive) -> Vec<f64> {
        a.descriptors().iter().map(|d| d.values()[0] * 16.0).collect()
    }

    #[test]
    fn oldest_replacement_keeps_the_bound_and_drops_first_in() {
        let c = config(3, Replacement::Oldest);
        let mut a = Archive::new(&c);
        let pop: Vec<_> = (0..5).map(|i| at(f64::from(i))).collect();
        assert_eq!(a.update(&c, &pop, &[2.0; 5], &mut rng()), 5);
        assert_eq!(a.len(), 3);
        // 0, 1, 2 entered; 3 replaced 0 (oldest), 4 replaced 1.
        assert_eq!(xs(&a), [3.0, 4.0, 2.0]);
        assert_eq!(a.entries().iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 2]);
        a.update(&c, &[at(9.0)], &[5.0], &mut rng());
        assert_eq!(xs(&a), [3.0, 4.0, 9.0], "2 was the oldest left");
        assert_eq!(a.diversity().inserted_total, 6);
    }

    #[test]
    fn least_novel_replacement_evicts_the_lowest_and_refuses_a_duller_newcomer() {
        let c = config(3, Replacement::LeastNovel);
        let mut a = Archive::new(&c);
        a.update(&c, &[at(0.0), at(1.0), at(2.0)], &[3.0, 1.5, 3.0], &mut rng());
        // Full; 1.4 passes the threshold (1.2 after the raise) but is not above the least novel
        // entry (1.5): refused. 4.0 replaces the entry at 1.
        let inserted = a.update(&c, &[at(5.0), at(6.0)], &[1.4, 4.0], &mut rng());
        assert_eq!(inserted, 1);
        assert_eq!(xs(&a), [0.0, 6.0, 2.0]);
        // Ties at the bottom (3.0, 3.0): the older (slot 0, seq 0) goes first.
        a.update(&c, &[at(7.0)], &[3.5], &mut rng());
        assert_eq!(xs(&a), [7.0, 6.0, 2.0]);
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let c = config(0, Replacement::Oldest);
        let mut a = Archive::new(&c);
        assert_eq!(a.update(&c, &[at(0.0)], &[9.0], &mut rng()), 0);
        assert!(a.is_empty());
    }

    #[test]
    fn threshold_rises_after_a_flood_and_falls_after_a_stall() {
        let c = NoveltyConfig {
            initial_threshold: 1.0,
            threshold_raise: 2.0,
            threshold_lower: 0.5,
            max_insert_fraction: 0.25,
            stall_generations: 2,
            ..NoveltyConfig::default()
        };
        let mut a = Archive::new(&c);
        let pop: Vec<_> = (0..8).map(|i| at(f64::from(i))).collect();
        // 3 of 8 above 1.0 is more than 25 %: raised to 2.
        let mut novelty = [0.5, 1.5, 0.5, 1.5, 0.5, 1.5, 0.5, 0.5];
        assert_eq!(a.update(&c, &pop, &novelty, &mut rng()), 3);
        assert_eq!(a.threshold(), 2.0);
        // 2 of 8 is not more than 25 % (and not 0): unchanged.
        novelty[1] = 2.5;
        novelty[3] = 2.5;
        novelty[5] = 0.5;
        assert_eq!(a.update(&c, &pop, &novelty, &mut rng()), 2);
        assert_eq!(a.threshold(), 2.0);
        // Nothing enters: unchanged after one stalled generation, halved after the second.
        let dull = [0.1; 8];
        a.update(&c, &pop, &dull, &mut rng());
        assert_eq!(a.threshold(), 2.0);
        a.update(&c, &pop, &dull, &mut rng());
        assert_eq!(a.threshold(), 1.0);
        // The stall count restarted: one more dull generation leaves it.
        a.update(&c, &pop, &dull, &mut rng());
        assert_eq!(a.threshold(), 1.0);
        let div = a.diversity();
        assert_eq!((div.generation, div.inserted_last, div.inserted_total, div.size), (5, 0, 5, 5));
    }

    #[test]
    fn probability_insertion_follows_the_stream_and_leaves_the_threshold() {
        let c = NoveltyConfig {
            insertion: Insertion::Probability,
            insert_probability: 0.3,
            ..config(1000, Replacement::Oldest)
        };
        let pop: Vec<_> = (0..400).map(|i| at(f64::from(i) / 25.0)).collect();
        let run = |seed| {
            let mut a = Archive::new(&c);
            a.update(&c, &pop, &[0.0; 400], &mut Pcg64::seed_from_u64(seed));
            a
        };
        let (a, b) = (run(5), run(5));
        assert_eq!(a, b, "same stream, same archive");
        assert!((90..=150).contains(&a.len()), "about 30 % of 400: {}", a.len());
        assert_eq!(a.threshold(), c.initial_threshold);
        assert_ne!(xs(&run(6)), xs(&a));
    }

    #[test]
    fn diversity_is_the_mean_pairwise_distance_through_replacements() {
        let c = config(3, Replacement::Oldest);
        let mut a = Archive::new(&c);
        assert_eq!(a.diversity().mean_pairwise_distance, 0.0);
        a.update(&c, &[at(0.0), at(1.0), at(3.0)], &[2.0; 3], &mut rng());
        // Pairs: 1, 3, 2 sixteenths.
        assert_eq!(a.diversity().mean_pairwise_distance, 2.0 / 16.0);
        // 7 replaces 0: pairs 1–3, 1–7, 3–7 are 2, 6, 4 sixteenths.
        a.update(&c, &[at(7.0)], &[2.0], &mut rng());
        assert_eq!(xs(&a), [7.0, 1.0, 3.0]);
        assert_eq!(a.diversity().mean_pairwise_distance, 4.0 / 16.0);
        // Many replacements later the running sum still matches a fresh one.
        let pop: Vec<_> = (0..40).map(|i| at(f64::from(i * 7 % 16))).collect();
        for _ in 0..5 {
            a.update(&c, &pop, &[9.0; 40], &mut rng());
        }
        let d = a.descriptors();
        let fresh = (d[0].distance(&d[1]) + d[0].distance(&d[2]) + d[1].distance(&d[2])) / 3.0;
        assert!((a.diversity().mean_pairwise_distance - fresh).abs() < 1e-12);
    }

    #[test]
    fn serde_round_trip_is_exact_and_check_catches_a_mismatch() {
        let c = config(50, Replacement::Oldest);
        let mut a = Archive::new(&c);
        let pop: Vec<_> = (0..30).map(|i| at(f64::from(i) / 7.0)).collect();
        let novelty: Vec<f64> = (0..30).map(|i| 1.0 + f64::from(i) / 3.0).collect();
        a.update(&c, &pop, &novelty, &mut rng());
        let back: Archive = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        back.check(&c).unwrap();
        let err = back.check(&config(60, Replacement::Oldest)).unwrap_err();
        assert_eq!(err, NoveltyError::ArchiveSize { archive: 50, config: 60 });
    }
}
