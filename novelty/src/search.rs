//! One call per generation: score novelty, combine it with fitness, update the archive.

use rand_pcg::Pcg64;

use crate::{Archive, BehaviourDescriptor, NoveltyConfig, NoveltyError, combined_fitness, novelty_scores};

/// Novelty search over a run: validated settings and the archive (the checkpointable state).
#[derive(Clone, Debug, PartialEq)]
pub struct NoveltySearch {
    config: NoveltyConfig,
    archive: Archive,
}

/// What one generation's scoring produced, per individual in slot order.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerationNovelty {
    /// Novelty of each valid individual against the other valid ones and the archive as it
    /// was before this generation; NaN for invalid ones.
    pub novelty: Vec<f64>,
    /// `(1 − w)·fitness_rank + w·novelty_rank` ([`combined_fitness`]); NaN for invalid ones.
    pub combined: Vec<f64>,
    /// Individuals that entered the archive.
    pub inserted: usize,
}

impl NoveltySearch {
    /// A fresh search with an empty archive, after validating `config`.
    pub fn new(config: NoveltyConfig) -> Result<Self, NoveltyError> {
        config.validate()?;
        let archive = Archive::new(&config);
        Ok(NoveltySearch { config, archive })
    }

    /// Continues a run from its checkpointed `archive`; refuses an invalid `config` or an
    /// archive that does not fit it.
    pub fn resume(config: NoveltyConfig, archive: Archive) -> Result<Self, NoveltyError> {
        config.validate()?;
        archive.check(&config)?;
        Ok(NoveltySearch { config, archive })
    }

    /// The settings.
    pub fn config(&self) -> &NoveltyConfig {
        &self.config
    }

    /// The archive: store it in a checkpoint, log its [`Archive::diversity`].
    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    /// Scores one generation and updates the archive.
    ///
    /// Individual `i` is valid when `fitness[i]` is finite and `descriptors[i]` is present;
    /// only valid individuals are neighbours, are ranked and may enter the archive. `rng` is
    /// drawn from only by `insertion = "probability"` (pass the generation's own stream, so the
    /// run stays reproducible at any thread count). Cost: one k-nearest-neighbour search over
    /// the valid individuals and the archive (see [`novelty_scores`]).
    ///
    /// # Panics
    /// When `descriptors` and `fitness` differ in length.
    pub fn score_generation(
        &mut self,
        descriptors: &[Option<BehaviourDescriptor>],
        fitness: &[f64],
        rng: &mut Pcg64,
    ) -> GenerationNovelty {
        assert_eq!(descriptors.len(), fitness.len(), "one descriptor slot per fitness");
        let valid: Vec<usize> =
            (0..fitness.len()).filter(|&i| fitness[i].is_finite() && descriptors[i].is_some()).collect();
        let population: Vec<BehaviourDescriptor> = valid.iter().filter_map(|&i| descriptors[i]).collect();
        let scores = novelty_scores(&population, self.archive.descriptors(), self.config.k_neighbors);
        let mut novelty = vec![f64::NAN; fitness.len()];
        for (&i, &score) in valid.iter().zip(&scores) {
            novelty[i] = score;
        }
        let combined = combined_fitness(fitness, &novelty, self.config.novelty_weight);
        let inserted = self.archive.update(&self.config, &population, &scores, rng);
        GenerationNovelty { novelty, combined, inserted }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::{DIMS, Insertion};

    fn descriptor(seed: u64) -> BehaviourDescriptor {
        // A deterministic spread of points in the unit cube.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        BehaviourDescriptor::from_values(std::array::from_fn(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        }))
        .unwrap()
    }

    #[test]
    fn a_behaviourally_new_individual_outranks_a_near_copy() {
        // A crowd of similar strategies (a cluster), a near-copy of one of them and a newcomer
        // far from the cluster, all equally fit.
        let centre = [0.3; DIMS];
        let jitter = |i: usize, j: usize| ((i * 7 + j * 3) % 10) as f64 * 0.002;
        let mut population: Vec<Option<BehaviourDescriptor>> = (0..30)
            .map(|i| {
                Some(
                    BehaviourDescriptor::from_values(std::array::from_fn(|j| centre[j] + jitter(i, j)))
                        .unwrap(),
                )
            })
            .collect();
        let original = population[5].unwrap();
        let near_copy = original.values().map(|v| v + 0.001);
        population.push(Some(BehaviourDescriptor::from_values(near_copy).unwrap()));
        let mut far = [0.3; DIMS];
        far[..4].copy_from_slice(&[0.9, 0.1, 0.95, 0.7]);
        population.push(Some(BehaviourDescriptor::from_values(far).unwrap()));
        let fitness = vec![1.0; population.len()];

        let mut search = NoveltySearch::new(NoveltyConfig::default()).unwrap();
        let out = search.score_generation(&population, &fitness, &mut Pcg64::seed_from_u64(0));
        let (copy, new) = (out.novelty[30], out.novelty[31]);
        assert!(new > 10.0 * copy, "new {new} vs near-copy {copy}");
        assert!((out.combined[31] - 0.65).abs() < 1e-12, "most novel, fitness tied: 0.7 × ½ + 0.3 × 1");
        assert!(out.combined[31] > out.combined[30]);
        // The newcomer is the only one above the 0.25 threshold: it, alone, is archived.
        assert_eq!(out.inserted, 1);
        assert_eq!(search.archive().descriptors(), &[population[31].unwrap()]);
    }

    #[test]
    fn invalid_individuals_get_nan_and_stay_out_of_the_archive() {
        let population = vec![Some(descriptor(1)), None, Some(descriptor(3)), Some(descriptor(4))];
        let fitness = [1.0, 2.0, f64::NAN, 0.5];
        let config = NoveltyConfig { initial_threshold: 1e-9, ..NoveltyConfig::default() };
        let mut search = NoveltySearch::new(config).unwrap();
        let out = search.score_generation(&population, &fitness, &mut Pcg64::seed_from_u64(0));
        assert!(out.novelty[1].is_nan() && out.novelty[2].is_nan() && out.combined[1].is_nan());
        // Two valid: each one's novelty is its distance to the other (in single precision).
        let d = descriptor(1).distance(&descriptor(4));
        assert!(
            (out.novelty[0] - d).abs() < 1e-6 && out.novelty[3] == out.novelty[0],
            "{:?} vs {d}",
            out.novelty
        );
        assert_eq!(out.inserted, 2);
        assert_eq!(search.archive().len(), 2);
    }

    #[test]
    fn a_resumed_search_continues_bit_identically() {
        let config = NoveltyConfig {
            insertion: Insertion::Probability,
            insert_probability: 0.5,
            archive_size: 40,
            ..NoveltyConfig::default()
        };
        let generation = |g: u64| -> (Vec<Option<BehaviourDescriptor>>, Vec<f64>) {
            let pop = (0..25).map(|i| Some(descriptor(g * 100 + i))).collect();
            let fitness = (0..25).map(|i| ((g * 31 + i * 17) % 13) as f64).collect();
            (pop, fitness)
        };
        let stream = |g: u64| Pcg64::seed_from_u64(1000 + g);
        let run = |search: &mut NoveltySearch, gens: std::ops::Range<u64>| {
            gens.map(|g| {
                let (pop, fit) = generation(g);
                search.score_generation(&pop, &fit, &mut stream(g))
            })
            .collect::<Vec<_>>()
        };
        let mut straight = NoveltySearch::new(config.clone()).unwrap();
        let all = run(&mut straight, 0..6);

        let mut first = NoveltySearch::new(config.clone()).unwrap();
        run(&mut first, 0..3);
        let checkpoint = serde_json::to_string(first.archive()).unwrap();
        let mut resumed =
            NoveltySearch::resume(config.clone(), serde_json::from_str(&checkpoint).unwrap()).unwrap();
        let rest = run(&mut resumed, 3..6);
        let bits = |g: &GenerationNovelty| {
            g.combined.iter().chain(&g.novelty).map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        for (a, b) in all[3..].iter().zip(&rest) {
            assert_eq!(bits(a), bits(b));
            assert_eq!(a.inserted, b.inserted);
        }
        assert_eq!(straight.archive(), resumed.archive());
        assert_eq!(straight.archive().len(), 40, "about 75 of 150 entered: full, and replacing");
        assert!(straight.archive().diversity().inserted_total > 40);
    }

    #[test]
    fn resume_refuses_a_bad_config() {
        let archive = NoveltySearch::new(NoveltyConfig::default()).unwrap().archive().clone();
        let bad = NoveltyConfig { k_neighbors: 0, ..NoveltyConfig::default() };
        assert!(matches!(
            NoveltySearch::resume(bad, archive),
            Err(NoveltyError::Config { field: "k_neighbors", .. })
        ));
    }
}
