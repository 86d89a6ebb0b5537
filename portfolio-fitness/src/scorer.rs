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

use crate::correlation::{Aligned, PairSums};
use crate::lanes::{dot, masked_squares, sum};
use crate::{DailyReturns, PortfolioFitnessConfig, PortfolioFitnessError, ReturnsError};

/// Tolerance on the sum of allocations (rounding of fractions like 0.1 × 10).
const ALLOCATION_SLACK: f64 = 1e-9;

/// A strategy of the current portfolio as the scorer sees it: its allocation and daily returns
/// (the promoted file itself is `promoted::PromotedStrategy`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioMember {
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

/// The validated promoted portfolio. Score candidates with their own days through
/// [`PortfolioScorer::score`], or lay the portfolio out once for a window of days shared by
/// many candidates ([`PortfolioScorer::window`]) — the fast path of a discovery run, where
/// every candidate is backtested over the same bars.
#[derive(Clone, Debug)]
pub struct PortfolioScorer {
    config: PortfolioFitnessConfig,
    promoted: Vec<PortfolioMember>,
    total_allocation: f64,
}

impl PortfolioScorer {
    /// Validates `config` and the allocations of `promoted` (which may be empty).
    pub fn new(
        config: PortfolioFitnessConfig,
        promoted: Vec<PortfolioMember>,
    ) -> Result<Self, PortfolioFitnessError> {
        config.validate()?;
        let total: f64 = promoted.iter().map(|p| p.allocation).sum();
        if let Some(p) = promoted
            .iter()
            .find(|p| !(p.allocation > 0.0 && p.allocation <= 1.0) || total > 1.0 + ALLOCATION_SLACK)
        {
            return Err(PortfolioFitnessError::Allocation {
                strategy: p.name.clone(),
                allocation: p.allocation,
                total,
            });
        }
        Ok(PortfolioScorer { config, promoted, total_allocation: total })
    }

    /// The settings.
    pub fn config(&self) -> &PortfolioFitnessConfig {
        &self.config
    }

    /// The promoted strategies, in the order of [`PortfolioScore::correlations`].
    pub fn promoted(&self) -> &[PortfolioMember] {
        &self.promoted
    }

    /// The portfolio laid out on `days` (strictly increasing day keys, UTC ns): each promoted
    /// strategy's returns on those days, the current portfolio's returns and Sharpe. Cost:
    /// one merge of each promoted series with `days`.
    pub fn window(&self, days: &[i64]) -> Result<WindowScorer, ReturnsError> {
        DailyReturns::new(days.to_vec(), vec![0.0; days.len()])?;
        Ok(self.window_unchecked(days))
    }

    fn window_unchecked(&self, days: &[i64]) -> WindowScorer {
        let n = days.len();
        let mut weighted = vec![0.0; n];
        let members = self
            .promoted
            .iter()
            .map(|p| {
                let (mut y, mut mask) = (vec![0.0; n], vec![0.0; n]);
                for (t, i) in Aligned::new(days, p.returns.timestamps()) {
                    y[t] = p.returns.returns()[i];
                    mask[t] = 1.0;
                    weighted[t] += p.allocation * y[t];
                }
                WindowMember::new(y, mask)
            })
            .collect();
        let a = self.total_allocation;
        let metrics = MetricsConfig {
            periods_per_year: self.config.periods_per_year,
            risk_free_rate: self.config.risk_free_rate,
        };
        let portfolio_sharpe = if a > 0.0 {
            let p: Vec<f64> = weighted.iter().map(|w| w / a).collect();
            sharpe_from_sums(n, sum(&p), dot(&p, &p), &metrics)
        } else {
            0.0
        };
        WindowScorer {
            config: self.config.clone(),
            metrics,
            total_allocation: a,
            weighted,
            portfolio_sharpe,
            members,
        }
    }

    /// Scores `candidate` over its own days (see the module docs).
    pub fn score(&self, candidate: &DailyReturns) -> PortfolioScore {
        self.window_unchecked(candidate.timestamps()).score_unchecked(candidate.returns())
    }

    /// Correlation of `candidate` with each promoted strategy over their common days, `None`
    /// with fewer than `min_overlap_days` of them.
    pub fn correlations(&self, candidate: &DailyReturns) -> Vec<Option<f64>> {
        self.window_unchecked(candidate.timestamps()).correlations_unchecked(candidate.returns())
    }

    /// The largest known correlation of `candidate` with a promoted strategy: the promotion
    /// gate "maximum correlation to promoted strategies". `None` with nothing promoted or no
    /// correlation measurable.
    pub fn max_correlation(&self, candidate: &DailyReturns) -> Option<f64> {
        max_known(&self.correlations(candidate))
    }
}

/// One promoted strategy on a window's days.
#[derive(Clone, Debug)]
struct WindowMember {
    /// Its return per day, 0 where it has none.
    y: Vec<f64>,
    /// 1 on the days it has, 0 elsewhere.
    mask: Vec<f64>,
    /// Its own sums over the days it has: count, `Σ y`, `Σ y²`.
    n: f64,
    sy: f64,
    syy: f64,
}

impl WindowMember {
    fn new(y: Vec<f64>, mask: Vec<f64>) -> Self {
        let (n, sy, syy) = (sum(&mask), sum(&y), dot(&y, &y));
        WindowMember { y, mask, n, sy, syy }
    }

    /// True when it has every day of the window.
    fn full(&self) -> bool {
        self.n == self.y.len() as f64
    }
}

/// The promoted portfolio laid out on one window of days, scoring candidates given as plain
/// return slices on exactly those days: no alignment, no allocation besides the result, and
/// the current portfolio's Sharpe computed once.
#[derive(Clone, Debug)]
pub struct WindowScorer {
    config: PortfolioFitnessConfig,
    metrics: MetricsConfig,
    total_allocation: f64,
    /// `Σ a_i·x_i` per day, missing returns as 0.
    weighted: Vec<f64>,
    portfolio_sharpe: f64,
    members: Vec<WindowMember>,
}

impl WindowScorer {
    /// Days in the window.
    pub fn days(&self) -> usize {
        self.weighted.len()
    }

    /// Sharpe of the current portfolio over the window (0 with nothing promoted).
    pub fn portfolio_sharpe(&self) -> f64 {
        self.portfolio_sharpe
    }

    /// Scores a candidate with one finite return per day of the window (see the module docs).
    pub fn score(&self, returns: &[f64]) -> Result<PortfolioScore, ReturnsError> {
        self.check(returns)?;
        Ok(self.score_unchecked(returns))
    }

    /// Correlation of a candidate (one finite return per day of the window) with each
    /// promoted strategy.
    pub fn correlations(&self, returns: &[f64]) -> Result<Vec<Option<f64>>, ReturnsError> {
        self.check(returns)?;
        Ok(self.correlations_unchecked(returns))
    }

    fn check(&self, returns: &[f64]) -> Result<(), ReturnsError> {
        if returns.len() != self.days() {
            return Err(ReturnsError::Length {
                what: "candidate returns",
                left: returns.len(),
                right: self.days(),
            });
        }
        DailyReturns::check_finite("candidate returns", returns)
    }

    fn score_unchecked(&self, r: &[f64]) -> PortfolioScore {
        let n = r.len();
        let (sx, sxx) = (sum(r), dot(r, r));
        let candidate_sharpe = sharpe_from_sums(n, sx, sxx, &self.metrics);
        let (a, c) = (self.total_allocation, self.config.candidate_allocation);
        let combined_sharpe = if a > 0.0 {
            let q: Vec<f64> = self.weighted.iter().zip(r).map(|(w, x)| (w + c * x) / (a + c)).collect();
            sharpe_from_sums(n, sum(&q), dot(&q, &q), &self.metrics)
        } else {
            candidate_sharpe
        };
        let correlations = self.correlations_with(r, sx, sxx);
        let max_correlation = max_known(&correlations);
        let excess = max_correlation.map_or(0.0, |rho| (rho - self.config.correlation_threshold).max(0.0));
        let penalty = self.config.correlation_weight * excess;
        let marginal_sharpe = combined_sharpe - self.portfolio_sharpe;
        PortfolioScore {
            score: marginal_sharpe - penalty,
            marginal_sharpe,
            portfolio_sharpe: self.portfolio_sharpe,
            combined_sharpe,
            candidate_sharpe,
            correlations,
            max_correlation,
            penalty,
        }
    }

    fn correlations_unchecked(&self, r: &[f64]) -> Vec<Option<f64>> {
        self.correlations_with(r, sum(r), dot(r, r))
    }

    /// Correlations given the candidate's own `Σ r` and `Σ r²` (reused when a promoted
    /// strategy has every day, else summed over its days).
    fn correlations_with(&self, r: &[f64], sx: f64, sxx: f64) -> Vec<Option<f64>> {
        self.members
            .iter()
            .map(|m| {
                let (sx, sxx) =
                    if m.full() { (sx, sxx) } else { (dot(r, &m.mask), masked_squares(r, &m.mask)) };
                let sums = PairSums { n: m.n, sx, sy: m.sy, sxx, syy: m.syy, sxy: dot(r, &m.y) };
                sums.correlation(self.config.min_overlap_days)
            })
            .collect()
    }
}

/// The largest of the known correlations.
fn max_known(correlations: &[Option<f64>]) -> Option<f64> {
    correlations.iter().flatten().copied().reduce(f64::max)
}
