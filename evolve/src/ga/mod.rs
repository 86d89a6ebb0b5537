//! The genetic-algorithm engine, generic over the genome through [`Problem`], so parameter
//! search ([`crate::genes::ParamGenes`]) and genetic programming share one engine.
//!
//! # A generation
//!
//! * **Generation 0** is the problem's [`seeds`](Problem::seeds) (none by default) followed by
//!   random genomes, `population` in all.
//! * **Every later generation** is bred from the previous population ranked best first
//!   (non-finite fitness ranks worst; ties keep slot order, the sort is stable): the `elitism`
//!   best individuals with finite fitness are copied unchanged, every other slot gets a child of
//!   two parents chosen by tournament (`tournament_size` draws with replacement, the best
//!   wins), crossed over with probability `crossover_rate` (else a copy of the first parent),
//!   then mutated at the current per-gene rate.
//! * **Evaluation** goes through a cache keyed by [`Problem::key`]: a genome evaluated anywhere
//!   earlier in the run (or earlier in the same batch) is a cache hit and is not evaluated again.
//!   The distinct new genomes go to [`Problem::evaluate_batch`] as one batch (by default each
//!   evaluated in parallel with rayon, in the caller's current pool), results kept in input order. NaN or ±inf fitness is *invalid*: ranked worst, never elite,
//!   never best or in the hall of fame; if every individual is invalid there is no best.
//! * **Progress**: `stagnant_for` counts generations since the best-ever fitness last improved
//!   by more than `stagnation.epsilon` (measured from the level of the last counted improvement,
//!   so slow creep does add up). Generation 0 counts as an improvement when it has a valid
//!   individual.
//! * **Adaptive mutation** (`adaptive_mutation`): after each generation the rate is multiplied
//!   by 0.9 if the best improved, else by 1.1, and by a further 1.5 if diversity is below 0.05,
//!   then clamped to `[min_mutation, max_mutation]`. Otherwise the rate stays fixed except for
//!   the injection boost below (and its reset on restart).
//! * **Diversity** is the mean pairwise [`Problem::distance`] over the population (over 2,016
//!   pairs sampled from the generation's own stream when the population exceeds 64).
//! * **Stagnation**: when `stagnant_for` reaches `stagnation.patience` the step emits
//!   [`EventKind::Stagnation`] and responds. The first time (phase "normal") it emits
//!   [`EventKind::Injection`]: the worst ceil(`inject_fraction` · `population`) individuals are
//!   replaced by random immigrants (evaluated in the same step), the mutation rate is multiplied
//!   by `mutation_boost` (clamped) and the phase becomes "injected". Reaching patience again in
//!   phase "injected" (nothing improved since) emits [`EventKind::Restart`] when
//!   `stagnation.restart` is set (else it injects again): a fresh random population whose first
//!   slots are the hall-of-fame genomes, the mutation rate back to its initial value, phase
//!   "normal". Either response resets `stagnant_for` to 0; any improvement returns the phase to
//!   "normal".
//! * **Selection scores** ([`Problem::selection`], optional): at the end of each step the
//!   problem may score the population as a whole (e.g. fitness blended with novelty against an
//!   archive it keeps in its checkpointed [`Problem::Memory`]); the next generation's
//!   tournaments then compare those scores. Elites, the best and the hall of fame stay on fitness.
//! * **Hall of fame**: the `hall_of_fame` best distinct genomes (by key, and by
//!   [`Problem::alike`] when the problem tells behaviours apart) ever evaluated with finite
//!   fitness, best first, ties in first-evaluation order: a genome enters only when no fitter
//!   member behaves like it, and displaces the less fit members that do.
//! * A step with invalid individuals among those it created emits [`EventKind::Invalid`]
//!   (after any stagnation events).
//! * The run [`is_done`](Engine::is_done) after `generations` generations (generation 0
//!   included) or once the best fitness reaches `target`.
//!
//! # Determinism
//!
//! There is no shared random generator. Every random decision about slot *i* of generation *g*
//! draws from its own PCG stream derived from (`seed`, *g*, *i*, purpose: initial, selection,
//! crossover, mutation, immigrant, restart, diversity sample). Breeding, evaluation and distance
//! computations run in parallel but are collected in slot order, so the same problem, config
//! and seed give bit-identical reports at any thread count. [`Engine::state`] is a serialisable
//! checkpoint: [`Engine::resume`] with it and the run's evaluations continues exactly as if the
//! run had never stopped.

mod cache;
mod config;
mod diversity;
mod engine;
mod event;
mod rank;
mod report;
mod rng;
mod scored;
mod state;

#[cfg(test)]
mod tests;

pub use config::{GaConfig, GaError, MAX_GENERATIONS, MAX_POPULATION, StagnationConfig};
pub use engine::Engine;
pub use event::{Event, EventKind};
pub use rand_pcg::Pcg64;
pub use report::GenerationReport;
pub use scored::{Evaluated, Scored};
pub use state::GaState;

/// A search problem: the genome, its variation operators and how to evaluate it.
///
/// Every operator receives the random stream it must use; the engine derives one per decision,
/// so an operator that draws only from it is reproducible at any thread count.
pub trait Problem: Sync {
    /// The genome searched over.
    type Genome: Clone + Send + Sync + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned;
    /// What an evaluation produces (metrics etc.); stored with each individual.
    type Eval: Clone + Send + Sync;
    /// A random genome (generation 0, immigrants, restarts).
    fn random(&self, rng: &mut Pcg64) -> Self::Genome;
    /// Genomes generation 0 starts from (e.g. a user's strategy files): they fill its first
    /// slots, in order, and random genomes the rest (each slot's random stream is the same with
    /// or without seeds). None by default.
    fn seeds(&self) -> Vec<Self::Genome> {
        Vec::new()
    }
    /// A child of two parents.
    fn crossover(&self, a: &Self::Genome, b: &Self::Genome, rng: &mut Pcg64) -> Self::Genome;
    /// Mutates each gene with probability `rate`.
    fn mutate(&self, genome: &mut Self::Genome, rate: f64, rng: &mut Pcg64);
    /// Genotypic distance in [0, 1] (0 = identical).
    fn distance(&self, a: &Self::Genome, b: &Self::Genome) -> f64;
    /// Identity for the evaluation cache: equal genomes give equal keys.
    fn key(&self, genome: &Self::Genome) -> u64;
    /// Evaluates one genome (called in parallel from rayon; must be deterministic).
    fn evaluate(&self, genome: &Self::Genome) -> Self::Eval;
    /// Evaluates a step's distinct new genomes as one batch, results in input order. The
    /// default evaluates each in parallel with rayon; a problem whose genomes share work (GP
    /// subexpressions computed once per batch) overrides it. Each result must equal
    /// [`evaluate`](Problem::evaluate) of that genome alone, whatever else is in the batch.
    fn evaluate_batch(&self, genomes: &[&Self::Genome]) -> Vec<Self::Eval> {
        use rayon::prelude::*;
        genomes.par_iter().map(|g| self.evaluate(g)).collect()
    }
    /// Fitness of an evaluation, higher is better. NaN or ±inf are allowed and mean "worst".
    fn fitness(&self, eval: &Self::Eval) -> f64;

    /// Whether two evaluated genomes behave alike, for problems where distinct genomes can (GP
    /// trees that differ only in subtrees that never fire, or in a constant that moves a few
    /// signals): the hall of fame keeps only the fittest of genomes that behave alike, so what
    /// it offers for promotion differs in what it does. `false`, the default, tells genomes
    /// apart by key alone. Must be symmetric and deterministic.
    fn alike(&self, _a: (&Self::Genome, &Self::Eval), _b: (&Self::Genome, &Self::Eval)) -> bool {
        false
    }

    /// What the problem remembers across generations for [`selection`](Problem::selection)
    /// (e.g. a novelty archive); checkpointed with the engine, so a resumed run continues with
    /// exactly the memory it stopped with. `()` for a problem that needs none.
    type Memory: Clone
        + Default
        + Send
        + Sync
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned;

    /// Population-level selection scores (higher is better), one per member of the population
    /// (ranked best first by fitness, with each member's evaluation), called once at the end of
    /// every step; `None`, the default, selects by fitness. Tournaments then compare these
    /// scores instead of fitness (e.g. fitness blended with novelty); elitism, the best and the
    /// hall of fame stay on fitness. Must be deterministic.
    fn selection(
        &self,
        _memory: &mut Self::Memory,
        _generation: u32,
        _population: &[Member<'_, Self::Genome, Self::Eval>],
    ) -> Option<Vec<f64>> {
        None
    }
}

/// Where a step's distinct new genomes are evaluated when not by [`Problem::evaluate_batch`]:
/// e.g. farmed out as tasks to worker processes on other machines (crate `cluster`), set with
/// [`Engine::set_evaluator`]. It must return, in input order, exactly what `evaluate_batch`
/// would (the same code run on the same data elsewhere), so a farmed run is bit-identical to a
/// local one.
pub trait Evaluator<P: Problem>: Sync {
    /// The evaluations of `genomes` (the new genomes of generation `generation`), in order.
    fn evaluate(&self, problem: &P, generation: u32, genomes: &[&P::Genome]) -> Vec<P::Eval>;
}

/// One member of a population as [`Problem::selection`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct Member<'a, G, E> {
    /// The genome.
    pub genome: &'a G,
    /// Its evaluation.
    pub eval: &'a E,
    /// Its fitness (non-finite: invalid).
    pub fitness: f64,
}
