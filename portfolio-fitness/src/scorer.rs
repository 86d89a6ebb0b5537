//! Scoring a candidate by what it adds to the promoted portfolio.
//!
//! With promoted strategies `i` at allocations `a_i` (`A = Σ a_i ≤ 1`) and the candidate at
//! `c = candidate_allocation`, over the candidate's days `t` (its evaluation window):
//!
//! * promoted strategy `i`'s return on day `t` is `x_i(t)`, or 0 when its series has no such
//!   day (it is taken as flat then);
//! * the current portfolio returns `P(t) = Σ a_i·x_i(t) / A` and the portfolio with the
//!   candidate `Q(t) = (Σ a_i·x_i(t) + c·r(t)) / (A + c)`: weights rescaled to sum to 1 and
//!   held constant (rebalanced daily), so the candidate's cash comes pro rata out of the
//!   promoted sleeves and the comparison does not depend on how much of the account is idle;
//! * `ΔSharpe = Sharpe(Q) − Sharpe(P)`, both by [`kernel::metrics::sharpe_from_sums`]
//!   (annualised by `periods_per_year`, excess over `risk_free_rate`); with nothing promoted
//!   `Sharpe(P) = 0` and `Q = r`, so ΔSharpe is the candidate's own Sharpe;
//! * `ρ_max` is the largest correlation of `r` with any promoted strategy's returns over their
//!   common days ([`crate::correlation`]; unknown correlations, with too few common days, are
//!   left out, and `ρ_max` is absent when none is known);
//! * **score = ΔSharpe − correlation_weight · max(0, ρ_max − correlation_threshold)**.
//!
//! The penalty uses the signed correlation, not its absolute value: a strategy that moves
//! against a promoted one is a hedge, not a copy, and ΔSharpe already says whether the hedge
//! pays. The score is in Sharpe units; use it as the fitness, or add it (weighted) to another.

use kernel::metrics::{MetricsConfig, sharpe_from_sums};
use serde::{Deserialize, Serialize};

use crate::correlation::{Aligned, pearson};
use crate::{DailyReturns, PortfolioFitnessConfig, PortfolioFitnessError};

/// Tolerance on the sum of allocations (rounding of fractions like 0.1 × 10).
const ALLOCATION_SLACK: f64 = 1e-9;

/// A strategy of the current portfolio: its allocation and daily returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromotedStrategy {
    /// Name, for errors and reports.
    pub name: String,
    /// Fraction of the account, in (0, 1].
    pub allocation: f64,
    /// Its daily returns.
    pub returns: DailyReturns,
}

/// What a candidate adds to the portfolio (see the module docs for each figure).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioScore {
    /// `ΔSharpe − penalty`.
    pub score: f64,
    /// `Sharpe(Q) − Sharpe(P)`.
    pub marginal_sharpe: f64,
    /// Sharpe of the current portfolio over the candidate's days (0 with nothing promoted).
    pub portfolio_sharpe: f64,
    /// Sharpe of the portfolio with the candidate.
    pub combined_sharpe: f64,
    /// Sharpe of the candidate alone.
    pub candidate_sharpe: f64,
    /// Correlation with each promoted strategy, in promoted order (`None`: too few common days).
    pub correlations: Vec<Option<f64>>,
    /// Largest known correlation (`None` when none is known).
    pub max_correlation: Option<f64>,
    /// `correlation_weight · max(0, ρ_max − correlation_threshold)`.
    pub penalty: f64,
}

/// The promoted portfolio laid out for fast scoring of many candidates: every promoted
/// series on the union of their days, and the allocation-weighted sum per day.
#[derive(Clone, Debug)]
pub struct PortfolioScorer {
    config: PortfolioFitnessConfig,
    names: Vec<String>,
    total_allocation: f64,
    /// Union of the promoted strategies' days, increasing.
    grid: Vec<i64>,
    /// Each promoted strategy's return per grid day, NaN where it has none.
    members: Vec<Vec<f64>>,
    /// `Σ a_i·x_i` per grid day, missing returns as 0.
    weighted: Vec<f64>,
}

impl PortfolioScorer {
    /// Validates `config` and the allocations of `promoted` (may be empty) and lays them out.
    pub fn new(config: PortfolioFitnessConfig, promoted: &[PromotedStrategy]) -> Result<Self, PortfolioFitnessError> {
        config.validate()?;
        let total: f64 = promoted.iter().map(|p| p.allocation).sum();
        if let Some(p) = promoted
            .iter()
            .find(|p| !(p.allocation > 0.0 && p.allocation <= 1.0) || total > 1.0 + ALLOCATION_SLACK)
        {
            return Err(PortfolioFitnessError::Allocation { strategy: p.name.clone(), allocation: p.allocation, total });
        }
        let mut grid: Vec<i64> = promoted.iter().flat_map(|p| p.returns.timestamps().iter().copied()).collect();
        grid.sort_unstable();
        grid.dedup();
        let mut weighted = vec![0.0; grid.len()];
        let members = promoted
            .iter()
            .map(|p| {
                let mut on_grid = vec![f64::NAN; grid.len()];
                for (i, g) in Aligned::new(p.returns.timestamps(), &grid) {
                    on_grid[g] = p.returns.returns()[i];
                    weighted[g] += p.allocation * on_grid[g];
                }
                on_grid
            })
            .collect();
        let names = promoted.iter().map(|p| p.name.clone()).collect();
        Ok(PortfolioScorer { config, names, total_allocation: total, grid, members, weighted })
    }

    /// The settings.
    pub fn config(&self) -> &PortfolioFitnessConfig {
        &self.config
    }

    /// Names of the promoted strategies, in the order of [`PortfolioScore::correlations`].
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Correlation of `candidate` with each promoted strategy over their common days, `None`
    /// with fewer than `min_overlap_days` of them.
    pub fn correlations(&self, candidate: &DailyReturns) -> Vec<Option<f64>> {
        let matched: Vec<(usize, usize)> = Aligned::new(candidate.timestamps(), &self.grid).collect();
        self.correlations_on(candidate, &matched)
    }

    /// The largest known correlation of `candidate` with a promoted strategy: the promotion
    /// gate "maximum correlation to promoted strategies". `None` with nothing promoted or no
    /// correlation measurable.
    pub fn max_correlation(&self, candidate: &DailyReturns) -> Option<f64> {
        max_known(&self.correlations(candidate))
    }

    fn correlations_on(&self, candidate: &DailyReturns, matched: &[(usize, usize)]) -> Vec<Option<f64>> {
        let r = candidate.returns();
        self.members
            .iter()
            .map(|member| {
                let pairs = matched.iter().map(|&(c, g)| (r[c], member[g])).filter(|&(_, x)| !x.is_nan());
                pearson(pairs, self.config.min_overlap_days)
            })
            .collect()
    }

    /// Scores `candidate` against the promoted portfolio (see the module docs).
    pub fn score(&self, candidate: &DailyReturns) -> PortfolioScore {
        let matched: Vec<(usize, usize)> = Aligned::new(candidate.timestamps(), &self.grid).collect();
        let (a, c) = (self.total_allocation, self.config.candidate_allocation);
        let (mut p, mut q, mut own) = (Sums::default(), Sums::default(), Sums::default());
        let mut next = matched.iter().peekable();
        for (t, &r) in candidate.returns().iter().enumerate() {
            let weighted = match next.peek() {
                Some(&&(ct, g)) if ct == t => {
                    next.next();
                    self.weighted[g]
                }
                _ => 0.0,
            };
            own.add(r);
            if a > 0.0 {
                p.add(weighted / a);
                q.add((weighted + c * r) / (a + c));
            }
        }
        let metrics = MetricsConfig {
            periods_per_year: self.config.periods_per_year,
            risk_free_rate: self.config.risk_free_rate,
        };
        let candidate_sharpe = own.sharpe(&metrics);
        let (portfolio_sharpe, combined_sharpe) =
            if a > 0.0 { (p.sharpe(&metrics), q.sharpe(&metrics)) } else { (0.0, candidate_sharpe) };
        let correlations = self.correlations_on(candidate, &matched);
        let max_correlation = max_known(&correlations);
        let excess = max_correlation.map_or(0.0, |rho| (rho - self.config.correlation_threshold).max(0.0));
        let penalty = self.config.correlation_weight * excess;
        let marginal_sharpe = combined_sharpe - portfolio_sharpe;
        PortfolioScore {
            score: marginal_sharpe - penalty,
            marginal_sharpe,
            portfolio_sharpe,
            combined_sharpe,
            candidate_sharpe,
            correlations,
            max_correlation,
            penalty,
        }
    }
}

/// The largest of the known correlations.
fn max_known(correlations: &[Option<f64>]) -> Option<f64> {
    correlations.iter().flatten().copied().reduce(f64::max)
}

/// Running count, sum and sum of squares of a return series, for [`sharpe_from_sums`].
#[derive(Default)]
struct Sums {
    n: usize,
    sum: f64,
    sum_sq: f64,
}

impl Sums {
    fn add(&mut self, r: f64) {
        self.n += 1;
        self.sum += r;
        self.sum_sq += r * r;
    }

    fn sharpe(&self, config: &MetricsConfig) -> f64 {
        sharpe_from_sums(self.n, self.sum, self.sum_sq, config)
    }
}
