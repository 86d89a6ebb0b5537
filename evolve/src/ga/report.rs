//! What each generation reports.

use std::time::Duration;

use serde::Serialize;

use super::{Evaluated, Event, Scored};

/// The outcome of one [`Engine::step`](super::Engine::step).
///
/// Population figures (`best`, `mean`, `median`, `diversity`) describe the population at the
/// end of the step, after any injection or restart: the one [`Engine::population`](super::Engine::population)
/// returns and the next generation is bred from. Counts (`evaluations`, `cache_hits`,
/// `invalid`) cover every individual created in the step: bred children, or generation 0,
/// plus immigrants or a restarted population (elites are carried over, not created).
#[derive(Clone, Debug, Serialize)]
pub struct GenerationReport<G, E> {
    /// Generation number, 0 for the random first one.
    pub generation: u32,
    /// Best finite fitness in the population (`None` if every individual is invalid).
    pub best: Option<f64>,
    /// Best finite fitness of the whole run so far.
    pub best_ever: Option<f64>,
    /// Mean of the population's finite fitness values.
    pub mean: Option<f64>,
    /// Median of the population's finite fitness values.
    pub median: Option<f64>,
    /// Mean pairwise genotypic distance in the population, in [0, 1].
    pub diversity: f64,
    /// New (uncached) evaluations in this step.
    pub evaluations: usize,
    /// Individuals created in this step whose genome was already evaluated.
    pub cache_hits: usize,
    /// Individuals created in this step with a non-finite fitness.
    pub invalid: usize,
    /// Per-gene mutation rate the next generation will be bred with.
    pub mutation_rate: f64,
    /// Generations since the best last improved by more than epsilon (after any response).
    pub stagnant_for: u32,
    /// What happened in this step, in order.
    pub events: Vec<Event>,
    /// This step's new evaluations, in evaluation order.
    pub evaluated: Vec<Evaluated<G, E>>,
    /// Wall time of the parallel `Problem::evaluate` phases; not part of the reproducible output.
    pub eval_time: Duration,
}

/// Best, mean and median of the finite fitness values of a population ranked best first.
pub(crate) fn summarise<G>(ranked: &[Scored<G>]) -> (Option<f64>, Option<f64>, Option<f64>) {
    let finite: Vec<f64> = ranked.iter().map(|s| s.fitness).filter(|f| f.is_finite()).collect();
    let n = finite.len();
    if n == 0 {
        return (None, None, None);
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    // Descending order, so the median is the middle (or the mean of the middle two).
    let median = if n % 2 == 1 { finite[n / 2] } else { (finite[n / 2 - 1] + finite[n / 2]) / 2.0 };
    (Some(finite[0]), Some(mean), Some(median))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_skips_invalid_values() {
        let s = |fitness| Scored { genome: (), key: 0, fitness };
        let ranked = [s(4.0), s(3.0), s(1.0), s(0.0), s(f64::NAN), s(f64::INFINITY)];
        assert_eq!(summarise(&ranked), (Some(4.0), Some(2.0), Some(2.0)));
        assert_eq!(summarise(&ranked[1..4]), (Some(3.0), Some(4.0 / 3.0), Some(1.0)));
        assert_eq!(summarise(&ranked[4..]), (None, None, None));
    }
}
