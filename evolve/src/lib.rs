//! Evolution: the genetic-algorithm engine, the strategy-tuning problem, checkpointed runs,
//! fitness and overfitting statistics, and the research database where sweeps and runs persist.
//!
//! - [`ga`]: a deterministic generational GA over any [`ga::Problem`] (elitism, tournaments,
//!   stagnation handling), bit-identical at any thread count;
//! - [`genes`] and [`problem`]: a kernel strategy's parameters as genes, and the tuning problem
//!   that backtests them; [`discovery`]: the GP problem that evolves whole strategies;
//! - [`stats`]: fitness objectives and the overfitting statistics (probabilistic and deflated
//!   Sharpe ratios, PBO, walk-forward);
//! - [`run`]: checkpointed, resumable runs; [`db`]: the research database (SQLite).
//!
//! Where it sits: datasets → kernel → gp / novelty / portfolio-fitness / regimes → **evolve** →
//! experiments → the `tradebot` binary.
//!
//! # Example
//!
//! The moments of a return series and its deflated Sharpe ratio after 100 trials:
//!
//! ```
//! use evolve::stats::{ReturnStats, deflated_sharpe, probabilistic_sharpe};
//!
//! // 250 daily returns: a small edge with noise.
//! let returns: Vec<f64> = (0..250).map(|t| 0.001 + 0.01 * ((t * 7919 % 101) as f64 / 50.0 - 1.0)).collect();
//! let stats = ReturnStats::of(&returns);
//! assert_eq!(stats.n, 250);
//! // Against a zero benchmark the PSR is a probability; many trials deflate it.
//! let psr = probabilistic_sharpe(&stats, 0.0);
//! let dsr = deflated_sharpe(&stats, 100, 0.0025);
//! assert!((0.0..=1.0).contains(&psr) && dsr < psr);
//! ```

pub mod db;
pub mod discovery;
pub mod ga;
pub mod genes;
pub mod problem;
pub mod run;
pub mod stats;
