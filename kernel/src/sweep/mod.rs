//! Parameter sweeps: a deterministic parallel evaluator for any parameter list, the fast
//! SMA-cross grid that runs thousands of window pairs exactly as the simulator would, and a
//! lean single-symbol run of arbitrary signals for evaluators of many strategies (GP).

mod cross;
mod parallel;
mod signals;
mod sma_grid;

pub use cross::cross_signals_into;
pub use parallel::{evaluate_all, evaluate_all_with_progress};
pub use signals::{SignalRun, SignalRunError, run_signals_into};
pub use sma_grid::{GridResult, SweepError, sma_cross_grid};

#[cfg(test)]
mod tests;
