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
//!
//! Where it sits: datasets → kernel → **portfolio-fitness** (beside gp, novelty, regimes) →
//! evolve (the portfolio term of a fitness) → experiments (the promotion gate) → the
//! `tradebot` binary.
//!
//! # Example
//!
//! Two daily return series aligned on their common days:
//!
//! ```
//! use portfolio_fitness::{DailyReturns, correlation};
//!
//! let day = 86_400_000_000_000i64;
//! let a = DailyReturns::new((0..6).map(|d| d * day).collect(), vec![0.01, -0.02, 0.03, 0.0, 0.01, -0.01])?;
//! // Days 1 to 6: five in common with `a` (day 6 is `b`'s alone, day 0 `a`'s).
//! let b = DailyReturns::new((1..7).map(|d| d * day).collect(), vec![0.03, -0.01, 0.0, 0.02, -0.02, 0.01])?;
//! let rho = correlation(&a, &b, 5).expect("five common days are enough");
//! assert!(rho.abs() < 0.99);
//! assert!((correlation(&a, &a, 5).unwrap() - 1.0).abs() < 1e-12);
//! assert_eq!(correlation(&a, &b, 6), None, "too little overlap");
//! # Ok::<(), portfolio_fitness::ReturnsError>(())
//! ```

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
