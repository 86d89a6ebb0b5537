//! Portfolio-level fitness: score a candidate strategy by what it adds to the promoted
//! portfolio — the marginal change in portfolio Sharpe under the configured allocation, minus
//! a penalty for correlation with a promoted strategy.
//!
//! Inputs are plain daily return series ([`DailyReturns`]: UTC day keys and returns), derived
//! from any equity curve by [`SessionDays`] (intraday bars aggregated to New York session
//! dates). Build a [`PortfolioScorer`] once per promoted set, then call
//! [`PortfolioScorer::score`] per candidate — or, when every candidate covers the same days
//! (a discovery run), lay the portfolio out once with [`PortfolioScorer::window`] and score
//! plain return slices with [`WindowScorer::score`]; [`PortfolioScorer::max_correlation`] is the
//! promotion gate's "maximum correlation to promoted strategies". Works with an empty
//! promoted set (the score is then the candidate's own Sharpe).

mod config;
mod correlation;
mod lanes;
mod returns;
mod scorer;

#[cfg(test)]
mod tests;

pub use config::{PortfolioFitnessConfig, PortfolioFitnessError};
pub use correlation::correlation;
pub use returns::{DailyReturns, ReturnsError, SessionDays};
pub use scorer::{PortfolioMember, PortfolioScore, PortfolioScorer, WindowScorer};
