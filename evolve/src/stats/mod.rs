//! Fitness objectives and overfitting statistics, as pure functions over slices.
//!
//! * [`ReturnStats`], [`returns_from_equity`]: per-period return moments (mean, std, Sharpe, skew,
//!   raw kurtosis);
//! * [`normal_cdf`] / [`normal_quantile`]: Φ and Φ⁻¹ to double precision (Cody; Wichura AS 241);
//! * [`probabilistic_sharpe`], [`deflated_sharpe`], [`expected_max_sharpe`]: Bailey & López de
//!   Prado (2012, 2014);
//! * [`effective_trials`]: the effective number of independent trials of a search (the
//!   participation ratio of its trials' correlations), the DSR's `N`;
//! * [`pbo()`]: Probability of Backtest Overfitting by CSCV (Bailey, Borwein, López de Prado & Zhu
//!   2015);
//! * [`plateau_median`]: the trial to deploy instead of the in-sample peak when PBO is high;
//! * [`Split::holdout`], [`walk_forward`]: in-sample / out-of-sample windows over bar indices;
//! * [`fitness()`]: the configurable objective with constraints;
//! * [`verdict()`]: enable / keep / disable a strategy family from its OOS evidence.

mod dsr;
mod effective;
mod fitness;
mod moments;
mod normal;
#[cfg(test)]
mod null_nights;
mod pbo;
mod plateau;
mod split;
#[cfg(test)]
mod test_rng;
mod verdict;

pub use dsr::{
    EULER_MASCHERONI, deflated_sharpe, expected_max_sharpe, probabilistic_sharpe, sharpe_standard_error,
    sharpe_variance,
};
pub use effective::{EffectiveTrials, effective_trials};
pub use fitness::{
    Fitness, FitnessConfig, FitnessConfigError, FitnessInput, INFEASIBLE_SHIFT, Objective, Violation, fitness,
};
pub use moments::{ReturnStats, returns_from_equity};
pub use normal::{normal_cdf, normal_quantile};
pub use pbo::{DEFAULT_BLOCKS, MAX_BLOCKS, Pbo, PboError, pbo};
pub use plateau::{Plateau, PlateauTrial, plateau_median};
pub use split::{Fold, Split, SplitError, TestLen, WalkForwardMode, walk_forward};
pub use verdict::{Evidence, Verdict, VerdictRules, verdict};
