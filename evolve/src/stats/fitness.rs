//! The configurable fitness objective of the search, with constraints that rank every violating
//! candidate below every feasible one.
//!
//! Objective values are clamped to ±[`RATIO_CAP`] (the kernel's bound on ratios, so kernel figures
//! pass unchanged). A feasible candidate's fitness is its objective. A candidate violating a
//! constraint gets `objective − INFEASIBLE_SHIFT − penalty · violation`: the shift of
//! `2·RATIO_CAP + 1` puts it below −[`RATIO_CAP`], i.e. below every feasible candidate, whatever
//! the penalty (≥ 0); among violators a larger violation ranks lower, and equal violations still
//! rank by objective, which keeps a gradient towards feasibility (Deb 2000, "An efficient
//! constraint handling method for genetic algorithms", in spirit).

use kernel::metrics::{RATIO_CAP, safe_ratio};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::dsr::deflated_sharpe;
use super::moments::ReturnStats;
use crate::problem::Evaluation;

/// How far below the feasible range violating candidates are moved: `2·RATIO_CAP + 1`.
pub const INFEASIBLE_SHIFT: f64 = 2.0 * RATIO_CAP + 1.0;

/// What the search maximises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Annualised Sharpe ratio.
    #[default]
    Sharpe,
    /// Annualised Sortino ratio.
    Sortino,
    /// Calmar ratio (CAGR over |max drawdown|) as the kernel reports it.
    Calmar,
    /// Total return over |max drawdown| (the kernel's `safe_ratio`: +100 with no drawdown).
    ReturnOverDrawdown,
    /// Deflated Sharpe Ratio in [0, 1], from the per-period return moments and the run's
    /// deflation (trials, Sharpe variance); a flat return series (zero std) scores 0.
    DeflatedSharpe,
}

/// Objective and constraints, as read from an experiment file.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FitnessConfig {
    /// What to maximise (default `sharpe`).
    pub objective: Objective,
    /// Fewest closed trades for a feasible candidate (default 5; 0 disables the constraint).
    pub min_trades: usize,
    /// Largest tolerated drawdown as a positive fraction (0.5 = −50 %); none by default.
    pub max_drawdown: Option<f64>,
    /// Fitness lost per unit of normalised violation (default 1).
    pub penalty: f64,
}

impl Default for FitnessConfig {
    fn default() -> Self {
        FitnessConfig { objective: Objective::Sharpe, min_trades: 5, max_drawdown: None, penalty: 1.0 }
    }
}

/// An invalid [`FitnessConfig`] field.
#[derive(Clone, Copy, Debug, Error, PartialEq)]
pub enum FitnessConfigError {
    /// `max_drawdown` outside (0, 1].
    #[error("`max_drawdown` must be a fraction in (0, 1], got {0}")]
    MaxDrawdown(f64),
    /// `penalty` negative or not finite.
    #[error("`penalty` must be finite and non-negative, got {0}")]
    Penalty(f64),
}

impl FitnessConfig {
    /// Checks the fields; the ordering guarantee of [`fitness`] holds for a valid config.
    pub fn validate(&self) -> Result<(), FitnessConfigError> {
        if let Some(limit) = self.max_drawdown
            && !(limit > 0.0 && limit <= 1.0)
        {
            return Err(FitnessConfigError::MaxDrawdown(limit));
        }
        if !(self.penalty >= 0.0 && self.penalty.is_finite()) {
            return Err(FitnessConfigError::Penalty(self.penalty));
        }
        Ok(())
    }
}

/// The figures of one backtest that fitness can draw on. Its one constructor,
/// [`FitnessInput::from_metrics`], reads them from the stored projection of a backtest's kernel
/// metrics ([`Evaluation`]), so the figures fitness sees are those every report shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitnessInput {
    /// Annualised Sharpe ratio.
    sharpe_annual: f64,
    /// Annualised Sortino ratio.
    sortino: f64,
    /// Calmar ratio.
    calmar: f64,
    /// Total return as a fraction.
    total_return: f64,
    /// Deepest drawdown as a negative fraction, as the kernel reports it (−0.23 = −23 %).
    max_drawdown: f64,
    /// Closed trades.
    trades: usize,
    /// Per-period return moments (used by `deflated_sharpe`).
    returns: ReturnStats,
    /// `(trials, per-period Sharpe variance)` fixed for the run, for `deflated_sharpe`; `None`
    /// means one trial (no deflation: the PSR against 0).
    deflation: Option<(usize, f64)>,
}

impl FitnessInput {
    /// The input for a backtest's figures (its kernel metrics, final equity and per-period
    /// return moments), deflating by `deflation` for the `deflated_sharpe` objective.
    pub fn from_metrics(eval: &Evaluation, deflation: Option<(usize, f64)>) -> Self {
        let figures = &eval.figures;
        FitnessInput {
            sharpe_annual: figures.sharpe,
            sortino: figures.sortino,
            calmar: figures.calmar,
            total_return: figures.total_return,
            max_drawdown: figures.max_drawdown,
            trades: figures.trades,
            returns: eval.returns,
            deflation,
        }
    }
}

/// How a candidate breaks the constraints.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Trades short of `min_trades` (0 when enough).
    pub missing_trades: usize,
    /// `|max_drawdown|` beyond the limit (0 when within).
    pub excess_drawdown: f64,
    /// `missing_trades / min_trades + excess_drawdown / limit`.
    pub size: f64,
}

/// A candidate's fitness: higher is better; NaN is the worst and marks a non-finite input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fitness {
    /// The value to maximise (see the module documentation).
    pub value: f64,
    /// The constraint violation, `None` when feasible.
    pub violation: Option<Violation>,
}

/// Fitness of `input` under `config`. NaN when the objective or the drawdown is not finite.
pub fn fitness(config: &FitnessConfig, input: &FitnessInput) -> Fitness {
    let objective = objective_value(config.objective, input);
    let violation = violation(config, input);
    let value = if !objective.is_finite() || !input.max_drawdown.is_finite() {
        f64::NAN
    } else {
        let objective = objective.clamp(-RATIO_CAP, RATIO_CAP);
        match violation {
            None => objective,
            Some(v) => objective - INFEASIBLE_SHIFT - config.penalty * v.size,
        }
    };
    Fitness { value, violation }
}

fn objective_value(objective: Objective, input: &FitnessInput) -> f64 {
    match objective {
        Objective::Sharpe => input.sharpe_annual,
        Objective::Sortino => input.sortino,
        Objective::Calmar => input.calmar,
        Objective::ReturnOverDrawdown if input.total_return.is_finite() => {
            safe_ratio(input.total_return, input.max_drawdown.abs())
        }
        Objective::ReturnOverDrawdown => f64::NAN,
        Objective::DeflatedSharpe if input.returns.n >= 2 && input.returns.std == 0.0 => 0.0,
        Objective::DeflatedSharpe => {
            let (trials, variance) = input.deflation.unwrap_or((1, 0.0));
            deflated_sharpe(&input.returns, trials, variance)
        }
    }
}

fn violation(config: &FitnessConfig, input: &FitnessInput) -> Option<Violation> {
    let missing_trades = config.min_trades.saturating_sub(input.trades);
    let (excess_drawdown, drawdown_part) = match config.max_drawdown {
        Some(limit) if input.max_drawdown.abs() > limit => {
            let excess = input.max_drawdown.abs() - limit;
            (excess, excess / limit)
        }
        _ => (0.0, 0.0),
    };
    if missing_trades == 0 && excess_drawdown == 0.0 {
        return None;
    }
    let trade_part = if missing_trades > 0 { missing_trades as f64 / config.min_trades as f64 } else { 0.0 };
    Some(Violation { missing_trades, excess_drawdown, size: trade_part + drawdown_part })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> FitnessInput {
        FitnessInput {
            sharpe_annual: 1.2,
            sortino: 1.8,
            calmar: 0.9,
            total_return: 0.3,
            max_drawdown: -0.15,
            trades: 20,
            returns: ReturnStats { n: 250, mean: 0.001, std: 0.01, sharpe: 0.1, skew: -0.5, kurtosis: 4.0 },
            deflation: Some((100, 0.0025)),
        }
    }

    fn config(objective: Objective) -> FitnessConfig {
        FitnessConfig { objective, ..FitnessConfig::default() }
    }

    fn value(objective: Objective, input: &FitnessInput) -> f64 {
        fitness(&config(objective), input).value
    }

    #[test]
    fn each_objective_reads_its_figure() {
        let i = input();
        assert_eq!(value(Objective::Sharpe, &i), 1.2);
        assert_eq!(value(Objective::Sortino, &i), 1.8);
        assert_eq!(value(Objective::Calmar, &i), 0.9);
        assert!((value(Objective::ReturnOverDrawdown, &i) - 2.0).abs() < 1e-15);
        // The hand-computed DSR of the dsr module: SR 0.1, T 250, skew −0.5, kurtosis 4, N 100.
        assert!((value(Objective::DeflatedSharpe, &i) - 0.341_967_959_732_757_5).abs() < 1e-12);
        let undeflated = FitnessInput { deflation: None, ..i };
        assert!((value(Objective::DeflatedSharpe, &undeflated) - 0.937_543_436_454_541_2).abs() < 1e-12);
        assert!(fitness(&config(Objective::Sharpe), &i).violation.is_none());
    }

    #[test]
    fn objective_edge_cases() {
        let no_drawdown = FitnessInput { max_drawdown: 0.0, ..input() };
        assert_eq!(value(Objective::ReturnOverDrawdown, &no_drawdown), RATIO_CAP);
        let flat = FitnessInput { returns: ReturnStats::of(&[0.0; 50]), ..input() };
        assert_eq!(value(Objective::DeflatedSharpe, &flat), 0.0);
        let huge = FitnessInput { sortino: 1e9, ..input() };
        assert_eq!(value(Objective::Sortino, &huge), RATIO_CAP);
    }

    #[test]
    fn non_finite_inputs_give_nan() {
        let i = input();
        assert!(value(Objective::Sharpe, &FitnessInput { sharpe_annual: f64::NAN, ..i }).is_nan());
        assert!(value(Objective::Sortino, &FitnessInput { sortino: f64::INFINITY, ..i }).is_nan());
        assert!(value(Objective::ReturnOverDrawdown, &FitnessInput { total_return: f64::NAN, ..i }).is_nan());
        let nan_dd = FitnessInput { max_drawdown: f64::NAN, total_return: 0.0, ..i };
        assert!(value(Objective::ReturnOverDrawdown, &nan_dd).is_nan());
        assert!(value(Objective::Sharpe, &nan_dd).is_nan());
        let one_return = FitnessInput { returns: ReturnStats::of(&[0.01]), ..i };
        assert!(value(Objective::DeflatedSharpe, &one_return).is_nan());
        // An input the objective does not use does not matter.
        assert_eq!(value(Objective::Sharpe, &FitnessInput { calmar: f64::NAN, ..i }), 1.2);
    }

    #[test]
    fn violation_sizes() {
        let cfg = FitnessConfig { max_drawdown: Some(0.5), penalty: 2.0, ..config(Objective::Sharpe) };
        // 2 of 5 trades: 3 missing, size 3/5.
        let f = fitness(&cfg, &FitnessInput { trades: 2, ..input() });
        let v = f.violation.unwrap();
        assert_eq!((v.missing_trades, v.excess_drawdown), (3, 0.0));
        assert!((v.size - 0.6).abs() < 1e-15);
        assert!((f.value - (1.2 - INFEASIBLE_SHIFT - 2.0 * 0.6)).abs() < 1e-12);
        // Drawdown −60 % against a 50 % limit: excess 0.1, size 0.1/0.5 = 0.2.
        let v = fitness(&cfg, &FitnessInput { max_drawdown: -0.6, ..input() }).violation.unwrap();
        assert_eq!(v.missing_trades, 0);
        assert!((v.excess_drawdown - 0.1).abs() < 1e-15 && (v.size - 0.2).abs() < 1e-15);
        // Both: 1 trade (4 missing, 0.8) and −75 % (0.25 excess, 0.5).
        let v = fitness(&cfg, &FitnessInput { trades: 1, max_drawdown: -0.75, ..input() }).violation.unwrap();
        assert!((v.size - 1.3).abs() < 1e-15);
        // Exactly at the limits is feasible; min_trades 0 never binds.
        let at = FitnessInput { trades: 5, max_drawdown: -0.5, ..input() };
        assert!(fitness(&cfg, &at).violation.is_none());
        let none = FitnessConfig { min_trades: 0, ..config(Objective::Sharpe) };
        assert!(fitness(&none, &FitnessInput { trades: 0, ..input() }).violation.is_none());
    }

    #[test]
    fn every_violator_ranks_below_every_feasible_candidate() {
        let cfg = FitnessConfig { max_drawdown: Some(0.3), penalty: 0.0, ..config(Objective::Calmar) };
        let worst_feasible = fitness(&cfg, &FitnessInput { calmar: -RATIO_CAP, ..input() });
        let best_violator = fitness(&cfg, &FitnessInput { calmar: RATIO_CAP, trades: 4, ..input() });
        assert!(worst_feasible.violation.is_none() && best_violator.violation.is_some());
        assert!(best_violator.value < worst_feasible.value);
        assert!(best_violator.value <= -RATIO_CAP - 1.0);
        // Among violators: more violation ranks lower at equal objective, and equal violation
        // ranks by objective.
        let cfg = FitnessConfig { penalty: 1.0, ..cfg };
        let v = |calmar, trades| fitness(&cfg, &FitnessInput { calmar, trades, ..input() }).value;
        assert!(v(1.0, 4) > v(1.0, 1));
        assert!(v(2.0, 0) > v(1.0, 0));
        // Feasible first; then violators by objective − violation: (3, 4 trades) −198.2,
        // (3, 0 trades) −199, (−3, 4 trades) −204.2.
        let mut ranked = [v(-3.0, 4), v(0.5, 20), v(3.0, 0), v(-3.0, 20), v(3.0, 4)];
        ranked.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(ranked, [v(0.5, 20), v(-3.0, 20), v(3.0, 4), v(3.0, 0), v(-3.0, 4)]);
        assert!((v(3.0, 4) - (3.0 - INFEASIBLE_SHIFT - 0.2)).abs() < 1e-12);
    }

    #[test]
    fn config_serde_and_validation() {
        let cfg: FitnessConfig =
            serde_json::from_str(r#"{"objective":"deflated_sharpe","max_drawdown":0.3}"#).unwrap();
        assert_eq!(
            cfg,
            FitnessConfig {
                objective: Objective::DeflatedSharpe,
                min_trades: 5,
                max_drawdown: Some(0.3),
                penalty: 1.0
            }
        );
        assert_eq!(serde_json::from_str::<FitnessConfig>("{}").unwrap(), FitnessConfig::default());
        assert!(serde_json::from_str::<FitnessConfig>(r#"{"objectiv":"sharpe"}"#).is_err());
        let name = serde_json::to_string(&Objective::ReturnOverDrawdown).unwrap();
        assert_eq!(name, r#""return_over_drawdown""#);
        assert_eq!(cfg.validate(), Ok(()));
        let bad_dd = FitnessConfig { max_drawdown: Some(0.0), ..cfg };
        assert_eq!(bad_dd.validate(), Err(FitnessConfigError::MaxDrawdown(0.0)));
        let bad_penalty = FitnessConfig { penalty: -1.0, ..cfg };
        assert_eq!(bad_penalty.validate(), Err(FitnessConfigError::Penalty(-1.0)));
    }

    #[test]
    fn from_kernel_metrics() {
        let m = kernel::metrics::Metrics {
            sharpe: 1.1,
            sortino: 1.5,
            calmar: 0.7,
            total_return: 0.2,
            max_drawdown: -0.1,
            trades: 9,
            ..kernel::metrics::Metrics::default()
        };
        let i =
            FitnessInput::from_metrics(&Evaluation::with_returns(&m, 1.0, input().returns), Some((4, 0.5)));
        assert_eq!((i.sharpe_annual, i.sortino, i.calmar, i.total_return), (1.1, 1.5, 0.7, 0.2));
        assert_eq!((i.max_drawdown, i.trades, i.deflation), (-0.1, 9, Some((4, 0.5))));
        assert_eq!(i.returns, input().returns);
    }
}
