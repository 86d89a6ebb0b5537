//! Novelty search for strategy discovery: behaviour descriptors, k-nearest-neighbour novelty,
//! a bounded archive with an adaptive threshold, and fitness combined with novelty by rank.
//!
//! Per generation the engine computes a [`BehaviourDescriptor`] for each evaluated strategy
//! (from its backtest, [`BehaviourInput`], against a [`Benchmark`] prepared once per data
//! window) and calls [`NoveltySearch::score_generation`] with the descriptors, the raw fitness
//! and the generation's random stream; it gets each individual's novelty and combined fitness
//! `(1 − w)·fitness_rank + w·novelty_rank` back, and the archive is updated. The [`Archive`] is serde data for checkpoints;
//! [`Archive::diversity`] is the per-generation log line.
//!
//! Determinism: no hidden randomness (probabilistic insertion draws from the caller's
//! [`rand_pcg::Pcg64`]), parallel work collected in order: same inputs, bit-identical outputs
//! at any thread count.
//!
//! Where it sits: datasets → kernel → **novelty** (beside gp, portfolio-fitness, regimes) →
//! evolve (GP discovery with novelty on) → experiments → the `tradebot` binary.
//!
//! # Example
//!
//! Fitness and novelty combined by rank, half and half:
//!
//! ```
//! use novelty::{combined_fitness, normalised_ranks};
//!
//! let fitness = [3.0, 1.0, 2.0];
//! let novelty = [0.0, 5.0, f64::NAN];
//! assert_eq!(normalised_ranks(&fitness), [1.0, 0.0, 0.5]);
//! let combined = combined_fitness(&fitness, &novelty, 0.5);
//! // Ranks over the valid individuals only: the third has no novelty and ranks below all.
//! assert_eq!(&combined[..2], &[0.5, 0.5]);
//! assert!(combined[2].is_nan());
//! ```

mod archive;
mod benchmark;
mod config;
mod descriptor;
mod knn;
mod rank;
mod search;

pub use archive::{Archive, ArchiveDiversity, EntryInfo};
pub use benchmark::{Benchmark, BetaSum};
pub use config::{Insertion, NoveltyConfig, NoveltyError, Replacement};
pub use descriptor::{
    BehaviourDescriptor, BehaviourInput, DIMENSION_NAMES, DIMS, DescriptorError, SIGNATURE_BUCKETS,
};
pub use knn::novelty_scores;
pub use rank::{combined_fitness, normalised_ranks};
pub use search::{GenerationNovelty, NoveltySearch};
