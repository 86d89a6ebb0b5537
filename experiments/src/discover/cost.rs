//! What each generation of a discovery run cost, and the share novelty search took of it
//! (the budget: under 10 % of a generation's time).

use std::time::Duration;

use evolve::discovery::NoveltyTiming;
use serde::{Deserialize, Serialize};

/// One generation's wall time and what novelty search took of it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GenerationCost {
    /// Generation number.
    pub generation: u32,
    /// Wall time of the generation: breeding, evaluations, selection, checkpoint.
    pub wall: Duration,
    /// Wall time of its evaluations (descriptors included).
    pub evaluating: Duration,
    /// Novelty's cost in the generation.
    pub novelty: NoveltyTiming,
    /// Worker threads the generation ran on.
    pub threads: usize,
}

impl GenerationCost {
    /// Wall time novelty took: the scoring, plus the descriptors spread over the threads.
    pub fn novelty_wall(&self) -> Duration {
        self.novelty.wall(self.threads)
    }

    /// Novelty's share of the generation's wall time.
    pub fn novelty_share(&self) -> f64 {
        share(self.novelty_wall(), self.wall)
    }
}

/// `part / whole`, 0 for an empty whole.
fn share(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() { 0.0 } else { part.as_secs_f64() / whole.as_secs_f64() }
}

/// Novelty's cost over the generations of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoveltyCost {
    /// Novelty's share of the generations' total wall time.
    pub share: f64,
    /// Median over the generations of novelty's share of each.
    pub median_share: f64,
    /// Novelty's wall time over the evaluations' (which include the descriptors).
    pub of_evaluating: f64,
    /// Thread time per descriptor (µs).
    pub descriptor_us: f64,
    /// Median wall time of a generation's scoring (ms).
    pub median_scoring_ms: f64,
}

impl NoveltyCost {
    /// The summary of `generations` (all zero when there are none).
    pub fn of(generations: &[GenerationCost]) -> NoveltyCost {
        if generations.is_empty() {
            return NoveltyCost::default();
        }
        let wall: Duration = generations.iter().map(|g| g.wall).sum();
        let evaluating: Duration = generations.iter().map(|g| g.evaluating).sum();
        let novelty: Duration = generations.iter().map(GenerationCost::novelty_wall).sum();
        let descriptors: Duration = generations.iter().map(|g| g.novelty.descriptors).sum();
        let count: u64 = generations.iter().map(|g| g.novelty.descriptor_count).sum();
        let shares: Vec<f64> = generations.iter().map(GenerationCost::novelty_share).collect();
        let scoring: Vec<f64> = generations.iter().map(|g| g.novelty.scoring.as_secs_f64() * 1e3).collect();
        NoveltyCost {
            share: share(novelty, wall),
            median_share: median(shares),
            of_evaluating: share(novelty, evaluating),
            descriptor_us: if count == 0 { 0.0 } else { descriptors.as_secs_f64() * 1e6 / count as f64 },
            median_scoring_ms: median(scoring),
        }
    }
}

/// The median of `values` (not empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generation(wall_ms: u64, descriptors_ms: u64, scoring_ms: u64) -> GenerationCost {
        GenerationCost {
            generation: 0,
            wall: Duration::from_millis(wall_ms),
            evaluating: Duration::from_millis(wall_ms / 2),
            novelty: NoveltyTiming {
                descriptors: Duration::from_millis(descriptors_ms),
                descriptor_count: 100,
                scoring: Duration::from_millis(scoring_ms),
            },
            threads: 2,
        }
    }

    #[test]
    fn shares_spread_descriptor_time_over_the_threads() {
        // 40 ms of descriptor thread time on 2 threads is 20 ms of wall; plus 10 ms scoring.
        let g = generation(300, 40, 10);
        assert_eq!(g.novelty_wall(), Duration::from_millis(30));
        assert!((g.novelty_share() - 0.1).abs() < 1e-12);
        let cost = NoveltyCost::of(&[g, generation(100, 0, 0), generation(600, 40, 10)]);
        assert!((cost.share - 60.0 / 1000.0).abs() < 1e-12, "{cost:?}");
        assert!((cost.median_share - 0.05).abs() < 1e-12, "{cost:?}");
        assert!((cost.of_evaluating - 60.0 / 500.0).abs() < 1e-12, "{cost:?}");
        assert!((cost.descriptor_us - 80e3 / 300.0).abs() < 1e-9, "{cost:?}");
        assert!((cost.median_scoring_ms - 10.0).abs() < 1e-12, "{cost:?}");
        assert_eq!(NoveltyCost::of(&[]), NoveltyCost::default());
    }
}
