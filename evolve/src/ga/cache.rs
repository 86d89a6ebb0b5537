//! The evaluation cache and parallel scoring of a batch of genomes.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::{Evaluated, Problem, Scored};

/// Every evaluation of a run by genome key, with its fitness, in first-evaluation order.
pub(crate) struct Cache<E> {
    index: HashMap<u64, usize>,
    entries: Vec<(E, f64)>,
}

impl<E> Default for Cache<E> {
    fn default() -> Self {
        Cache { index: HashMap::new(), entries: Vec::new() }
    }
}

impl<E> Cache<E> {
    /// Number of distinct genomes evaluated.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The evaluation and fitness of the genome with `key`.
    pub(crate) fn get(&self, key: u64) -> Option<&(E, f64)> {
        self.index.get(&key).map(|&i| &self.entries[i])
    }

    /// Records an evaluation unless the key is already there (then the first one stays).
    pub(crate) fn insert(&mut self, key: u64, eval: E, fitness: f64) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.index.entry(key) {
            slot.insert(self.entries.len());
            self.entries.push((eval, fitness));
        }
    }
}

/// What one step's lookups amounted to.
pub(crate) struct Tally<G, E> {
    /// New evaluations in evaluation order.
    pub(crate) evaluated: Vec<Evaluated<G, E>>,
    /// Genomes found in the cache (or earlier in the same batch).
    pub(crate) cache_hits: usize,
    /// Genomes looked up whose fitness is not finite.
    pub(crate) invalid: usize,
    /// Wall time spent in the parallel evaluation phases.
    pub(crate) eval_time: Duration,
}

impl<G, E> Default for Tally<G, E> {
    fn default() -> Self {
        Tally { evaluated: Vec::new(), cache_hits: 0, invalid: 0, eval_time: Duration::ZERO }
    }
}

/// Scores `genomes` in order: cached keys are looked up, the distinct uncached ones are evaluated
/// as one batch by `evaluate` ([`Problem::evaluate_batch`] or an [`Evaluator`](super::Evaluator),
/// results kept in input order) and cached.
pub(crate) fn score<P: Problem>(
    problem: &P,
    cache: &mut Cache<P::Eval>,
    genomes: Vec<P::Genome>,
    tally: &mut Tally<P::Genome, P::Eval>,
    evaluate: impl FnOnce(&[&P::Genome]) -> Vec<P::Eval>,
) -> Vec<Scored<P::Genome>> {
    let keys: Vec<u64> = genomes.iter().map(|g| problem.key(g)).collect();
    let mut pending = Vec::new();
    let mut batch = HashSet::new();
    for (i, &key) in keys.iter().enumerate() {
        if cache.get(key).is_some() || !batch.insert(key) {
            tally.cache_hits += 1;
        } else {
            pending.push(i);
        }
    }
    if !pending.is_empty() {
        let start = Instant::now();
        let batch: Vec<&P::Genome> = pending.iter().map(|&i| &genomes[i]).collect();
        let evals = evaluate(&batch);
        assert_eq!(evals.len(), batch.len(), "evaluate_batch returns one evaluation per genome");
        tally.eval_time += start.elapsed();
        for (&i, eval) in pending.iter().zip(evals) {
            let fitness = problem.fitness(&eval);
            cache.insert(keys[i], eval.clone(), fitness);
            tally.evaluated.push(Evaluated { genome: genomes[i].clone(), key: keys[i], eval, fitness });
        }
    }
    genomes
        .into_iter()
        .zip(keys)
        .map(|(genome, key)| {
            let fitness = cache.get(key).map_or(f64::NAN, |&(_, f)| f);
            tally.invalid += usize::from(!fitness.is_finite());
            Scored { genome, key, fitness }
        })
        .collect()
}
