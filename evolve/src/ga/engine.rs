//! The generational loop: breeding, scoring, adaptation and the stagnation responses.

use std::ops::Range;

use rand::Rng;
use rayon::prelude::*;

use super::cache::{Cache, Tally, score};
use super::diversity::diversity;
use super::rank::{offer, rank, tournament};
use super::report::summarise;
use super::rng::{Purpose, stream};
use super::state::Phase;
use super::{
    Evaluator, Event, EventKind, GaConfig, GaError, GaState, GenerationReport, Member, Problem, Scored,
};

/// Rate factor after a generation whose best improved.
const RATE_SHRINK: f64 = 0.9;
/// Rate factor after a generation whose best did not improve.
const RATE_GROW: f64 = 1.1;
/// Diversity below which the rate is raised further.
const LOW_DIVERSITY: f64 = 0.05;
/// Rate factor when diversity is low.
const LOW_DIVERSITY_BOOST: f64 = 1.5;

/// A GA run over one [`Problem`]; see the [module docs](super) for the semantics.
pub struct Engine<'p, P: Problem> {
    problem: &'p P,
    state: GaState<P::Genome, P::Memory>,
    cache: Cache<P::Eval>,
    evaluator: Option<&'p dyn Evaluator<P>>,
}

impl<'p, P: Problem> Engine<'p, P> {
    /// A new run; the first [`step`](Self::step) builds and evaluates generation 0.
    pub fn new(problem: &'p P, config: GaConfig) -> Result<Self, GaError> {
        config.validate()?;
        let state = GaState {
            mutation_rate: config.mutation_rate,
            config,
            generation: 0,
            population: Vec::new(),
            hall_of_fame: Vec::new(),
            best: None,
            reference: None,
            stagnant_for: 0,
            phase: Phase::Normal,
            evaluations: 0,
            memory: P::Memory::default(),
            selection: None,
        };
        Ok(Engine { problem, state, cache: Cache::default(), evaluator: None })
    }

    /// Continues from a checkpoint: `state` from [`Engine::state`] and the cache of earlier
    /// evaluations (genome, eval) in their original order (the `evaluated` lists of the reports
    /// so far, concatenated). `config` must equal the checkpoint's except `generations` and
    /// `target`. Stepping on then gives the same reports and result as never stopping.
    pub fn resume(
        problem: &'p P,
        config: GaConfig,
        mut state: GaState<P::Genome, P::Memory>,
        evaluated: Vec<(P::Genome, P::Eval)>,
    ) -> Result<Self, GaError> {
        config.validate()?;
        if let Some(field) = state.config.differs_from(&config) {
            return Err(GaError::ConfigMismatch { field });
        }
        let fail = |reason: String| Err(GaError::Checkpoint { reason });
        let mut cache = Cache::default();
        for (genome, eval) in evaluated {
            let fitness = problem.fitness(&eval);
            cache.insert(problem.key(&genome), eval, fitness);
        }
        if cache.len() != state.evaluations {
            return fail(format!(
                "the checkpoint counts {} evaluations but {} distinct ones were given",
                state.evaluations,
                cache.len()
            ));
        }
        let size = if state.generation == 0 { 0 } else { config.population };
        if state.population.len() != size {
            return fail(format!(
                "the population has {} individuals, expected {size}",
                state.population.len()
            ));
        }
        if !(config.min_mutation..=config.max_mutation).contains(&state.mutation_rate) {
            return fail(format!("mutation rate {} is outside the config's clamp", state.mutation_rate));
        }
        // Stored fitness is restored from the cache: it is what the uninterrupted run had,
        // bit for bit, whatever the serialisation did to NaN payloads.
        let members = state.population.iter_mut().chain(&mut state.hall_of_fame).chain(&mut state.best);
        for member in members {
            let key = problem.key(&member.genome);
            if key != member.key {
                return fail(format!(
                    "a stored genome hashes to {key:#x} but the checkpoint says {:#x} (changed by serialisation?)",
                    member.key
                ));
            }
            match cache.get(key) {
                Some(&(_, fitness)) => member.fitness = fitness,
                None => return fail(format!("genome {key:#x} of the checkpoint has no evaluation")),
            }
        }
        state.config = config;
        Ok(Engine { problem, state, cache, evaluator: None })
    }

    /// Evaluates every later step's batch of new genomes through `evaluator` (e.g. farmed out
    /// to other machines) instead of [`Problem::evaluate_batch`]; the results must be the same.
    pub fn set_evaluator(&mut self, evaluator: &'p dyn Evaluator<P>) {
        self.evaluator = Some(evaluator);
    }

    /// Runs the next generation (the first call builds and evaluates generation 0). Stepping
    /// past [`is_done`](Self::is_done) is allowed and simply continues the run.
    ///
    /// The step runs inside the caller's current rayon pool (the global one outside any), entered
    /// once, so its several parallel phases do not each pay a cross-thread hand-off.
    pub fn step(&mut self) -> GenerationReport<P::Genome, P::Eval> {
        rayon::scope(|_| self.run_step())
    }

    fn run_step(&mut self) -> GenerationReport<P::Genome, P::Eval> {
        let g = self.state.generation;
        let mut tally = Tally::default();
        let mut events = Vec::new();
        let population = if g == 0 {
            let size = self.state.config.population;
            let mut genomes = self.problem.seeds();
            genomes.truncate(size);
            genomes.extend(self.random_genomes(g, Purpose::Initial, genomes.len()..size));
            self.score(genomes, &mut tally)
        } else {
            let (mut next, children) = self.breed(g);
            next.extend(self.score(children, &mut tally));
            next
        };
        self.set_population(population);
        let improved = self.note_progress();
        let mut spread = self.diversity(g);
        self.adapt(improved, spread);
        if self.state.stagnant_for >= self.state.config.stagnation.patience {
            self.respond_to_stagnation(g, &mut tally, &mut events);
            spread = self.diversity(g);
        }
        if tally.invalid > 0 {
            let detail = format!(
                "{} of the individuals created in this generation had a non-finite fitness",
                tally.invalid
            );
            events.push(Event { generation: g, kind: EventKind::Invalid { count: tally.invalid }, detail });
        }
        self.score_for_selection(g);
        self.state.generation = g + 1;
        self.state.evaluations = self.cache.len();
        let (best, mean, median) = summarise(&self.state.population);
        GenerationReport {
            generation: g,
            best,
            best_ever: self.state.best.as_ref().map(|b| b.fitness),
            mean,
            median,
            diversity: spread,
            evaluations: tally.evaluated.len(),
            cache_hits: tally.cache_hits,
            invalid: tally.invalid,
            mutation_rate: self.state.mutation_rate,
            stagnant_for: self.state.stagnant_for,
            events,
            evaluated: tally.evaluated,
            eval_time: tally.eval_time,
        }
    }

    /// Whether the configured generations have run or the best reached the target.
    pub fn is_done(&self) -> bool {
        let target_hit = match (self.state.config.target, &self.state.best) {
            (Some(target), Some(best)) => best.fitness >= target,
            _ => false,
        };
        self.state.generation >= self.state.config.generations || target_hit
    }

    /// The checkpoint: everything except the evaluation cache.
    pub fn state(&self) -> &GaState<P::Genome, P::Memory> {
        &self.state
    }

    /// The best distinct genomes ever evaluated with finite fitness, best first.
    pub fn hall_of_fame(&self) -> &[Scored<P::Genome>] {
        &self.state.hall_of_fame
    }

    /// The best genome ever evaluated with finite fitness (the first of equals).
    pub fn best(&self) -> Option<&Scored<P::Genome>> {
        self.state.best.as_ref()
    }

    /// The current population, best first (invalid individuals last).
    pub fn population(&self) -> &[Scored<P::Genome>] {
        &self.state.population
    }

    /// The evaluation of the genome with this [`Problem::key`], if it was evaluated.
    pub fn eval(&self, key: u64) -> Option<&P::Eval> {
        self.cache.get(key).map(|(eval, _)| eval)
    }

    /// Distinct evaluations so far (the run's trial count).
    pub fn evaluations(&self) -> usize {
        self.cache.len()
    }

    /// Asks the problem for the population's selection scores (see [`Problem::selection`]).
    fn score_for_selection(&mut self, g: u32) {
        let members: Vec<Member<'_, P::Genome, P::Eval>> = self
            .state
            .population
            .iter()
            .filter_map(|s| {
                let eval = self.cache.get(s.key).map(|(eval, _)| eval)?;
                Some(Member { genome: &s.genome, eval, fitness: s.fitness })
            })
            .collect();
        let scores = self.problem.selection(&mut self.state.memory, g, &members);
        self.state.selection = scores.filter(|s| s.len() == self.state.population.len()).map(|mut s| {
            // Checkpoints are JSON: keep the scores finite (a non-finite one ranks last anyway).
            s.iter_mut().filter(|x| !x.is_finite()).for_each(|x| *x = f64::MIN);
            s
        });
    }

    /// Random genomes for `slots` of generation `g`, each from its own stream.
    fn random_genomes(&self, g: u32, purpose: Purpose, slots: Range<usize>) -> Vec<P::Genome> {
        let seed = self.state.config.seed;
        slots.into_par_iter().map(|slot| self.problem.random(&mut stream(seed, g, slot, purpose))).collect()
    }

    /// Generation `g` from the current population: the finite elites unchanged, then one child
    /// per remaining slot (tournament parents, crossover, mutation).
    fn breed(&self, g: u32) -> (Vec<Scored<P::Genome>>, Vec<P::Genome>) {
        let config = &self.state.config;
        let parents = &self.state.population;
        let elites: Vec<_> =
            parents.iter().take(config.elitism).filter(|s| s.fitness.is_finite()).cloned().collect();
        let rate = self.state.mutation_rate;
        // Tournaments draw positions in this order: by selection score when the problem gives
        // them (stable, so ties keep the fitness order), else the fitness ranking itself.
        let order: Vec<usize> = match &self.state.selection {
            Some(scores) => {
                let mut order: Vec<usize> = (0..parents.len()).collect();
                order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
                order
            }
            None => (0..parents.len()).collect(),
        };
        let child = |slot: usize| {
            let mut rng = stream(config.seed, g, slot, Purpose::Select);
            let a = &parents[order[tournament(parents.len(), config.tournament_size, &mut rng)]].genome;
            let b = &parents[order[tournament(parents.len(), config.tournament_size, &mut rng)]].genome;
            let mut rng = stream(config.seed, g, slot, Purpose::Crossover);
            let mut child = if rng.random::<f64>() < config.crossover_rate {
                self.problem.crossover(a, b, &mut rng)
            } else {
                a.clone()
            };
            self.problem.mutate(&mut child, rate, &mut stream(config.seed, g, slot, Purpose::Mutate));
            child
        };
        let children = (elites.len()..config.population).into_par_iter().map(child).collect();
        (elites, children)
    }

    /// Scores genomes through the cache and offers the new evaluations to the hall of fame.
    fn score(
        &mut self,
        genomes: Vec<P::Genome>,
        tally: &mut Tally<P::Genome, P::Eval>,
    ) -> Vec<Scored<P::Genome>> {
        let from = tally.evaluated.len();
        let evaluate = |batch: &[&P::Genome]| match self.evaluator {
            Some(evaluator) => evaluator.evaluate(self.problem, self.state.generation, batch),
            None => self.problem.evaluate_batch(batch),
        };
        let scored = score(self.problem, &mut self.cache, genomes, tally, evaluate);
        let (problem, cache) = (self.problem, &self.cache);
        for e in &tally.evaluated[from..] {
            let candidate = Scored { genome: e.genome.clone(), key: e.key, fitness: e.fitness };
            let alike = |member: &Scored<P::Genome>| {
                cache
                    .get(member.key)
                    .is_some_and(|(eval, _)| problem.alike((&e.genome, &e.eval), (&member.genome, eval)))
            };
            offer(&mut self.state.hall_of_fame, self.state.config.hall_of_fame, &candidate, alike);
            let better = self.state.best.as_ref().is_none_or(|b| candidate.fitness > b.fitness);
            if candidate.fitness.is_finite() && better {
                self.state.best = Some(candidate);
            }
        }
        scored
    }

    /// Ranks and installs a population.
    fn set_population(&mut self, mut population: Vec<Scored<P::Genome>>) {
        rank(&mut population);
        self.state.population = population;
    }

    /// Whether the best ever improved by more than epsilon since the last counted improvement;
    /// updates the stagnation counter and phase accordingly.
    fn note_progress(&mut self) -> bool {
        let best = self.state.best.as_ref().map(|b| b.fitness);
        let improved = match (best, self.state.reference) {
            (Some(best), Some(reference)) => best - reference > self.state.config.stagnation.epsilon,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if improved {
            self.state.reference = best;
            self.state.stagnant_for = 0;
            self.state.phase = Phase::Normal;
        } else {
            self.state.stagnant_for = self.state.stagnant_for.saturating_add(1);
        }
        improved
    }

    /// Adapts the mutation rate to progress and diversity (when enabled).
    fn adapt(&mut self, improved: bool, diversity: f64) {
        let config = &self.state.config;
        if !config.adaptive_mutation {
            return;
        }
        let mut rate = self.state.mutation_rate * if improved { RATE_SHRINK } else { RATE_GROW };
        if diversity < LOW_DIVERSITY {
            rate *= LOW_DIVERSITY_BOOST;
        }
        self.state.mutation_rate = rate.clamp(config.min_mutation, config.max_mutation);
    }

    fn diversity(&self, g: u32) -> f64 {
        diversity(self.problem, &self.state.population, self.state.config.seed, g)
    }

    /// Stagnation reached patience: inject immigrants, or restart if that was already tried.
    fn respond_to_stagnation(
        &mut self,
        g: u32,
        tally: &mut Tally<P::Genome, P::Eval>,
        events: &mut Vec<Event>,
    ) {
        let s = &self.state.config.stagnation;
        let best = self.state.best.as_ref().map_or("none".to_string(), |b| b.fitness.to_string());
        let detail = format!(
            "best {best} has not improved by more than {} for {} generations",
            s.epsilon, self.state.stagnant_for
        );
        events.push(Event { generation: g, kind: EventKind::Stagnation, detail });
        if self.state.phase == Phase::Injected && s.restart {
            self.restart(g, tally, events);
        } else {
            self.inject(g, tally, events);
        }
        self.state.stagnant_for = 0;
    }

    /// Replaces the worst ceil(inject_fraction · population) individuals with random immigrants.
    fn inject(&mut self, g: u32, tally: &mut Tally<P::Genome, P::Eval>, events: &mut Vec<Event>) {
        let config = &self.state.config;
        let size = config.population;
        // A hair below the product, so 0.1 · 30 = 3.0000000000000004 injects 3, not 4.
        let wanted = (config.stagnation.inject_fraction * size as f64 - 1e-9).ceil().max(0.0) as usize;
        let replaced = wanted.min(size);
        let boost = config.stagnation.mutation_boost;
        let (min, max) = (config.min_mutation, config.max_mutation);
        let genomes = self.random_genomes(g, Purpose::Immigrant, size - replaced..size);
        let immigrants = self.score(genomes, tally);
        let mut population = std::mem::take(&mut self.state.population);
        population.truncate(size - replaced);
        population.extend(immigrants);
        self.set_population(population);
        let before = self.state.mutation_rate;
        self.state.mutation_rate = (before * boost).clamp(min, max);
        self.state.phase = Phase::Injected;
        let detail = format!(
            "replaced the worst {replaced} of {size} with random immigrants; mutation rate {before} -> {}",
            self.state.mutation_rate
        );
        events.push(Event { generation: g, kind: EventKind::Injection { replaced }, detail });
    }

    /// A fresh random population whose first slots are the hall-of-fame genomes.
    fn restart(&mut self, g: u32, tally: &mut Tally<P::Genome, P::Eval>, events: &mut Vec<Event>) {
        let size = self.state.config.population;
        let mut genomes: Vec<P::Genome> =
            self.state.hall_of_fame.iter().take(size).map(|s| s.genome.clone()).collect();
        let seeded = genomes.len();
        genomes.extend(self.random_genomes(g, Purpose::Restart, seeded..size));
        let population = self.score(genomes, tally);
        self.set_population(population);
        self.state.mutation_rate = self.state.config.mutation_rate;
        self.state.phase = Phase::Normal;
        let detail = format!(
            "fresh population of {size} seeded with {seeded} hall-of-fame genomes; mutation rate back to {}",
            self.state.mutation_rate
        );
        events.push(Event { generation: g, kind: EventKind::Restart { seeded }, detail });
    }
}
