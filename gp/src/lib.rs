//! Strategy discovery by genetic programming: genomes are strongly typed expression trees.
//!
//! - [`tree`]: numeric and boolean series as two Rust enums, so an ill-typed tree cannot be
//!   built; price fields, volume, kernel indicators with evolvable windows, the regime,
//!   constants; `+ − × ÷` (protected), min, max, abs, lag, rolling mean/std/max/min,
//!   cross-sectional rank; comparisons, crosses, and, or, not.
//! - [`genome`]: entry rule + exit rule + size, stop-loss, take-profit and time-stop genes,
//!   mapped onto the kernel's signals and exit rules (long-only, cash account).
//! - [`vary`]: ramped half-and-half initialisation, subtree crossover, point / subtree /
//!   hoist mutation under depth and size limits.
//! - [`simplify`]: exact algebraic simplification and constant folding.
//! - [`eval`]: a batch of genomes hash-consed into one DAG and computed column by column
//!   ([`operators`]), each distinct subexpression once per batch, with early exits.
//! - [`sexpr`]: the readable s-expression form; [`Genome::to_bytes`] the compact postcard form.
//! - [`file`]: strategy files (`.tbs`): the s-expression form with named, bounded parameters,
//!   run as a [`kernel::strategy::Strategy`] like the built-in families.
//!
//! Where it sits: datasets → kernel → **gp** (beside novelty, portfolio-fitness, regimes) →
//! evolve (whose discovery problem breeds and scores genomes) → experiments → the `tradebot`
//! binary; promoted and the live bridge run a promoted genome through [`signals`].
//!
//! # Example
//!
//! A genome read from its s-expression, measured, and written back unchanged:
//!
//! ```
//! use gp::Genome;
//!
//! let text = "(strategy (entry (gt close (sma 3 close))) (exit (lt close (lag 1 close))) (size 0.5))";
//! let genome: Genome = text.parse()?;
//! assert!(genome.size() > 5 && genome.depth() >= 3);
//! let back: Genome = genome.to_string().parse()?;
//! assert_eq!(back, genome);
//! assert!("(strategy (entry close))".parse::<Genome>().is_err(), "an entry rule is boolean");
//! # Ok::<(), gp::ParseError>(())
//! ```

pub mod eval;
pub mod file;
pub mod genome;
pub mod operators;
pub mod sexpr;
pub mod simplify;
pub mod tree;
pub mod vary;

#[cfg(test)]
mod tests;

pub use eval::{EvalError, Evaluator, Rules, Sharing, signals};
pub use file::{FileError, FileStrategy, StrategyFile};
pub use genome::{Genes, Genome, SLEEVE};
pub use sexpr::ParseError;
pub use simplify::simplify;
pub use tree::{Bool, Num};
pub use vary::GpConfig;
