//! The GA [`Problem`] of tuning one kernel strategy: genomes are parameter vectors, fitness is
//! the configured objective of a backtest on one stage of the data.

use kernel::metrics::{Figures, Metrics};
use kernel::sim::TradeRules;
use kernel::strategy::{Backtest, MarketData, ParamValue, Params, Strategy, backtest};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::discovery::GpProblem;
use crate::ga::{Evaluator, Problem};
use crate::genes::ParamGenes;
use crate::stats::{FitnessConfig, FitnessInput, ReturnStats, fitness, returns_from_equity};

/// Draws that break the strategy's cross-parameter rules (e.g. `fast >= slow`) are redrawn
/// from the same stream up to this many times; a child still invalid after that is left as
/// its parent was (mutation) or is a copy of the first parent (crossover).
const REDRAWS: usize = 64;

/// One strategy on one stage of the data, with the costs, fitness and parameter domains of
/// an experiment.
pub struct StrategyProblem<'d> {
    /// The strategy tuned.
    pub strategy: &'static dyn Strategy,
    /// The domain of each of its parameters, in its space's order.
    pub genes: ParamGenes,
    /// The bars fitness is measured on (the in-sample stage).
    pub data: &'d MarketData,
    /// Costs and fill rules.
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// Objective, constraints and penalties.
    pub fitness: FitnessConfig,
    /// Trials and Sharpe variance the `deflated_sharpe` objective deflates by (fixed for a run).
    pub deflation: Option<(usize, f64)>,
}

/// What a backtest of one individual gave, as stored with it: the kernel's [`Figures`] (made
/// only from a [`Metrics`], [`Evaluation::with_returns`]) and the per-bar return moments the
/// deflated Sharpe ratio needs. Fitness reads them through [`FitnessInput::from_metrics`].
/// Stored as one flat JSON object (the figures' fields beside `returns`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The backtest's figures (capital at work not measured).
    #[serde(flatten)]
    pub figures: Figures,
    /// Per-bar return statistics (per-period Sharpe, skewness, raw kurtosis) for the
    /// deflated Sharpe ratio; a moment that does not exist is NaN (`null` stored).
    pub returns: ReturnStats,
}

/// What evaluating a genome gave: the figures, or why the backtest could not run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyEval {
    /// The backtest ran.
    Ran(Evaluation),
    /// The parameters or the data were refused; the fitness is NaN (counted as invalid).
    Failed(String),
}

impl StrategyEval {
    /// The backtest of `strategy` with the parameters `genome` on `data` from `cash`: what
    /// [`StrategyProblem`] evaluates, and what a cluster worker runs for it on its own copy of
    /// the data (crate `cluster`).
    pub fn of(
        strategy: &dyn Strategy,
        genome: &[ParamValue],
        data: &MarketData,
        rules: TradeRules,
        cash: f64,
    ) -> StrategyEval {
        let run = Params::from_values(strategy.space(), genome.to_vec())
            .map_err(|e| e.to_string())
            .and_then(|p| backtest(strategy, &p, data, rules, cash).map_err(|e| e.to_string()));
        match run {
            Ok(bt) => StrategyEval::Ran(Evaluation::of(&bt, cash)),
            Err(why) => StrategyEval::Failed(why),
        }
    }
}

/// Farms the evaluations of strategy-tuning runs (and sweeps) and of discovery runs out to
/// other processes (crate `cluster` implements it over NATS JetStream): one [`Evaluator`] per
/// run, so tasks and results are keyed by the run. A farmed run is bit-identical to a local one.
pub trait StrategyFarm: Sync {
    /// The evaluator of run `run`'s batches.
    fn for_run(&self, run: i64) -> Box<dyn for<'d> Evaluator<StrategyProblem<'d>> + '_>;
    /// The evaluator of discovery run `run`'s batches of GP genomes.
    fn for_discovery(&self, run: i64) -> Box<dyn for<'d> Evaluator<GpProblem<'d>> + '_>;
}

impl Evaluation {
    /// The fitness of this evaluation under `config`, deflating by `deflation` (trials, Sharpe
    /// variance) for the `deflated_sharpe` objective.
    pub fn score(&self, config: &FitnessConfig, deflation: Option<(usize, f64)>) -> f64 {
        fitness(config, &FitnessInput::from_metrics(self, deflation)).value
    }

    /// The evaluation of a finished backtest that started from `cash`.
    pub fn of(bt: &Backtest, cash: f64) -> Evaluation {
        Evaluation::from_metrics(&bt.metrics, bt.result.equity(), cash)
    }

    /// The evaluation of metrics `m` computed on the equity curve `equity` that started from `cash`.
    pub fn from_metrics(m: &Metrics, equity: &[f64], cash: f64) -> Evaluation {
        let returns = ReturnStats::of(&returns_from_equity(cash, equity));
        Evaluation::with_returns(m, equity.last().copied().unwrap_or(cash), returns)
    }

    /// The evaluation of metrics `m`, a final equity and the per-bar return statistics (moments
    /// that are not finite kept as NaN, [`ReturnStats::defined`]).
    pub fn with_returns(m: &Metrics, final_equity: f64, returns: ReturnStats) -> Evaluation {
        Evaluation { figures: Figures::of(m, final_equity), returns: returns.defined() }
    }
}

impl StrategyProblem<'_> {
    /// The genome as the strategy's parameters.
    pub fn params(&self, genome: &[ParamValue]) -> Result<Params, String> {
        Params::from_values(self.strategy.space(), genome.to_vec()).map_err(|e| e.to_string())
    }

    fn valid(&self, genome: &[ParamValue]) -> bool {
        self.params(genome).is_ok_and(|p| self.strategy.validate(&p).is_ok())
    }

    /// The fitness of `figures` under this problem's configuration.
    pub fn score(&self, figures: &Evaluation) -> f64 {
        figures.score(&self.fitness, self.deflation)
    }
}

impl Problem for StrategyProblem<'_> {
    type Genome = Vec<ParamValue>;
    type Eval = StrategyEval;
    type Memory = ();

    fn random(&self, rng: &mut Pcg64) -> Self::Genome {
        let mut genome = self.genes.random(rng);
        for _ in 1..REDRAWS {
            if self.valid(&genome) {
                break;
            }
            genome = self.genes.random(rng);
        }
        genome
    }

    fn crossover(&self, a: &Self::Genome, b: &Self::Genome, rng: &mut Pcg64) -> Self::Genome {
        (0..REDRAWS)
            .map(|_| self.genes.crossover(a, b, rng))
            .find(|c| self.valid(c))
            .unwrap_or_else(|| a.clone())
    }

    fn mutate(&self, genome: &mut Self::Genome, rate: f64, rng: &mut Pcg64) {
        for _ in 0..REDRAWS {
            let mut child = genome.clone();
            self.genes.mutate(&mut child, rate, rng);
            if self.valid(&child) {
                *genome = child;
                return;
            }
        }
    }

    fn distance(&self, a: &Self::Genome, b: &Self::Genome) -> f64 {
        self.genes.distance(a, b)
    }

    fn key(&self, genome: &Self::Genome) -> u64 {
        self.genes.key(genome)
    }

    fn evaluate(&self, genome: &Self::Genome) -> StrategyEval {
        StrategyEval::of(self.strategy, genome, self.data, self.rules, self.cash)
    }

    fn fitness(&self, eval: &StrategyEval) -> f64 {
        match eval {
            StrategyEval::Ran(figures) => self.score(figures),
            StrategyEval::Failed(_) => f64::NAN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An individual's figures as the research database has stored them (here a flat curve's:
    /// the moments that do not exist are `null`) load, with NaN for the missing moments, score as
    /// before, and are written back the same way.
    #[test]
    fn stored_figures_load_with_nan_for_missing_moments() {
        let stored = r#"{"ran":{"trades":0,"final_equity":10000.0,"total_return":0.0,"cagr":0.0,
            "sharpe":0.0,"sortino":0.0,"calmar":0.0,"max_drawdown":0.0,"win_rate":0.0,
            "profit_factor":0.0,"exposure":0.0,
            "returns":{"n":250,"mean":0.0,"std":0.0,"sharpe":null,"skew":null,"kurtosis":null}}}"#;
        let StrategyEval::Ran(f) = serde_json::from_str::<StrategyEval>(stored).unwrap() else { panic!() };
        assert_eq!((f.returns.n, f.returns.std), (250, 0.0));
        assert!(f.returns.sharpe.is_nan() && f.returns.skew.is_nan() && f.returns.kurtosis.is_nan());
        let deflated = FitnessConfig {
            objective: crate::stats::Objective::DeflatedSharpe,
            min_trades: 0,
            ..FitnessConfig::default()
        };
        assert_eq!(f.score(&deflated, None), 0.0, "a flat curve's deflated Sharpe");
        let again = serde_json::to_string(&StrategyEval::Ran(f.clone())).unwrap();
        assert!(again.contains(r#""sharpe":null,"skew":null,"kurtosis":null"#), "{again}");
        // The same figures made from a flat backtest's metrics.
        let flat = Evaluation::from_metrics(&Metrics::default(), &[10_000.0; 250], 10_000.0);
        assert_eq!(serde_json::to_string(&StrategyEval::Ran(flat)).unwrap(), again);
    }
}
