//! Parameter sweeps: a deterministic parallel evaluator for any parameter list, and the fast
//! SMA-cross grid that runs thousands of window pairs exactly as the simulator would.

mod cross;
mod curve;
mod parallel;
mod sma_grid;

pub use cross::cross_signals_into;
pub use parallel::{evaluate_all, evaluate_all_with_progress};
pub use sma_grid::{GridResult, SweepError, sma_cross_grid};

#[cfg(test)]
mod tests;
