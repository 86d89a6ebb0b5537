//! The engine's settings and the errors a bad setting or checkpoint produces.

use serde::{Deserialize, Serialize};

/// Settings of one GA run. Missing fields deserialise to their defaults, unknown ones are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaConfig {
    /// Individuals per generation.
    pub population: usize,
    /// Generations to run, generation 0 (the random one) included.
    pub generations: u32,
    /// Contestants drawn (with replacement) per tournament; the best one becomes a parent.
    pub tournament_size: usize,
    /// Best individuals copied unchanged into the next generation.
    pub elitism: usize,
    /// Probability that a child is a crossover of its two parents (else a copy of the first).
    pub crossover_rate: f64,
    /// Initial per-gene mutation probability.
    pub mutation_rate: f64,
    /// Whether the mutation rate adapts to progress and diversity after each generation.
    pub adaptive_mutation: bool,
    /// Lower clamp of the mutation rate.
    pub min_mutation: f64,
    /// Upper clamp of the mutation rate.
    pub max_mutation: f64,
    /// Distinct best genomes remembered over the whole run.
    pub hall_of_fame: usize,
    /// Root of every random stream: same seed and inputs, same run.
    pub seed: u64,
    /// Stop once the best fitness reaches this (for problems with a known optimum).
    pub target: Option<f64>,
    /// What to do when the best stops improving.
    pub stagnation: StagnationConfig,
}

impl Default for GaConfig {
    fn default() -> Self {
        GaConfig {
            population: 40,
            generations: 30,
            tournament_size: 3,
            elitism: 2,
            crossover_rate: 0.9,
            mutation_rate: 0.2,
            adaptive_mutation: true,
            min_mutation: 0.02,
            max_mutation: 0.6,
            hall_of_fame: 5,
            seed: 0,
            target: None,
            stagnation: StagnationConfig::default(),
        }
    }
}

/// Stagnation detection and the responses to it (immigrants, then a restart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StagnationConfig {
    /// Generations without improvement that count as stagnation (K).
    pub patience: u32,
    /// The best must improve by more than this to count as an improvement.
    pub epsilon: f64,
    /// Share of the population (the worst) replaced by random immigrants on stagnation.
    pub inject_fraction: f64,
    /// Factor applied to the mutation rate on injection (then clamped).
    pub mutation_boost: f64,
    /// Whether stagnation again after an injection restarts from a fresh population.
    pub restart: bool,
}

impl Default for StagnationConfig {
    fn default() -> Self {
        StagnationConfig {
            patience: 5,
            epsilon: 1e-4,
            inject_fraction: 0.25,
            mutation_boost: 2.0,
            restart: true,
        }
    }
}

/// The largest population accepted: far beyond any useful search, and small enough that the
/// population's vectors are allocated without fail.
pub const MAX_POPULATION: usize = 100_000;

/// The most generations accepted.
pub const MAX_GENERATIONS: u32 = 1_000_000;

impl GaConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), GaError> {
        let bad = |field: &'static str, reason: String| Err(GaError::Config { field, reason });
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !(2..=MAX_POPULATION).contains(&self.population) {
            return bad("population", format!("must be in 2..={MAX_POPULATION} (got {})", self.population));
        }
        if !(1..=MAX_GENERATIONS).contains(&self.generations) {
            return bad(
                "generations",
                format!("must be in 1..={MAX_GENERATIONS} (got {})", self.generations),
            );
        }
        if self.tournament_size == 0 || self.tournament_size > self.population {
            return bad(
                "tournament_size",
                format!("must be in 1..={} (got {})", self.population, self.tournament_size),
            );
        }
        if self.elitism >= self.population {
            return bad(
                "elitism",
                format!("must be below population {} (got {})", self.population, self.elitism),
            );
        }
        if !unit(self.crossover_rate) {
            return bad("crossover_rate", format!("must be in [0, 1] (got {})", self.crossover_rate));
        }
        if !unit(self.min_mutation) {
            return bad("min_mutation", format!("must be in [0, 1] (got {})", self.min_mutation));
        }
        if !unit(self.max_mutation) || self.max_mutation < self.min_mutation {
            return bad(
                "max_mutation",
                format!(
                    "must be in [min_mutation, 1] = [{}, 1] (got {})",
                    self.min_mutation, self.max_mutation
                ),
            );
        }
        if !(self.min_mutation..=self.max_mutation).contains(&self.mutation_rate) {
            return bad(
                "mutation_rate",
                format!(
                    "must be in [min_mutation, max_mutation] = [{}, {}] (got {})",
                    self.min_mutation, self.max_mutation, self.mutation_rate
                ),
            );
        }
        if let Some(t) = self.target.filter(|t| !t.is_finite()) {
            return bad("target", format!("must be finite (got {t})"));
        }
        let s = &self.stagnation;
        if s.patience == 0 {
            return bad("stagnation.patience", "must be at least 1".into());
        }
        if !(s.epsilon.is_finite() && s.epsilon >= 0.0) {
            return bad("stagnation.epsilon", format!("must be finite and not negative (got {})", s.epsilon));
        }
        if !unit(s.inject_fraction) {
            return bad(
                "stagnation.inject_fraction",
                format!("must be in [0, 1] (got {})", s.inject_fraction),
            );
        }
        if !(s.mutation_boost.is_finite() && s.mutation_boost >= 1.0) {
            return bad(
                "stagnation.mutation_boost",
                format!("must be finite and >= 1 (got {})", s.mutation_boost),
            );
        }
        Ok(())
    }

    /// The first field (dotted path) in which `other` differs from `self`, ignoring
    /// `generations` and `target`, which a resumed run may change.
    pub(crate) fn differs_from(&self, other: &GaConfig) -> Option<&'static str> {
        let (a, b, s, t) = (self, other, &self.stagnation, &other.stagnation);
        let same_f64 = |x: f64, y: f64| x.to_bits() == y.to_bits();
        [
            ("population", a.population == b.population),
            ("tournament_size", a.tournament_size == b.tournament_size),
            ("elitism", a.elitism == b.elitism),
            ("crossover_rate", same_f64(a.crossover_rate, b.crossover_rate)),
            ("mutation_rate", same_f64(a.mutation_rate, b.mutation_rate)),
            ("adaptive_mutation", a.adaptive_mutation == b.adaptive_mutation),
            ("min_mutation", same_f64(a.min_mutation, b.min_mutation)),
            ("max_mutation", same_f64(a.max_mutation, b.max_mutation)),
            ("hall_of_fame", a.hall_of_fame == b.hall_of_fame),
            ("seed", a.seed == b.seed),
            ("stagnation.patience", s.patience == t.patience),
            ("stagnation.epsilon", same_f64(s.epsilon, t.epsilon)),
            ("stagnation.inject_fraction", same_f64(s.inject_fraction, t.inject_fraction)),
            ("stagnation.mutation_boost", same_f64(s.mutation_boost, t.mutation_boost)),
            ("stagnation.restart", s.restart == t.restart),
        ]
        .into_iter()
        .find(|&(_, same)| !same)
        .map(|(field, _)| field)
    }
}

/// Why an engine cannot be built or resumed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GaError {
    /// A configuration field out of its range.
    #[error("GA config: `{field}` {reason}")]
    Config {
        /// Dotted field name, e.g. `stagnation.patience`.
        field: &'static str,
        /// What is wrong, with the value given.
        reason: String,
    },
    /// Resuming with a configuration that differs from the checkpoint's (other than
    /// `generations` and `target`), which would break reproducibility.
    #[error("GA resume: config field `{field}` differs from the checkpoint's")]
    ConfigMismatch {
        /// Dotted field name.
        field: &'static str,
    },
    /// A checkpoint that does not fit its evaluation list or the problem.
    #[error("GA resume: {reason}")]
    Checkpoint {
        /// What does not fit.
        reason: String,
    },
}
