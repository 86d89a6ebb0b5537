//! The hall of fame tested out of sample and judged by the promotion gates.

use std::collections::HashMap;
use std::ops::Range;

use evolve::db::ResearchDb;
use evolve::discovery::{GpEval, GpProblem};
use evolve::ga::Engine;
use evolve::problem::Evaluation;
use evolve::stats::{deflated_sharpe, sharpe_variance};
use gp::Genome;
use kernel::strategy::{Backtest, MarketData, SymbolData, backtest_signals};
use portfolio_fitness::{DailyReturns, PortfolioScorer};
use promoted::{PromotedDir, PromotedStrategy};
use rayon::prelude::*;
use serde::Serialize;

use super::{DiscoverError, DiscoverSpec};
use crate::config::DsrVariance;
use crate::research::BenchmarkGate;
use crate::research::judge;

/// One gate's verdict on a candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateResult {
    /// The gate: `selection` (only the in-sample best genome is tested out of sample),
    /// `oos_sharpe`, `deflated_sharpe`, `oos_trades`, `oos_drawdown`, `benchmark`,
    /// `correlation`, `cash_account`.
    pub gate: &'static str,
    /// The candidate's figure (NaN, shown as null, when it has none).
    pub value: f64,
    /// The threshold it is compared with.
    pub threshold: f64,
    /// Whether it passed.
    pub passed: bool,
    /// Why, in words.
    pub detail: String,
}

/// A hall-of-fame genome, tested and judged.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// The genome (its s-expression in JSON).
    pub genome: Genome,
    /// Its key.
    pub key: u64,
    /// Generation it was first evaluated in.
    pub generation: u32,
    /// Keys of its parents (empty for a random genome).
    pub parents: Vec<u64>,
    /// In-sample fitness.
    pub fitness: f64,
    /// In-sample figures.
    pub in_sample: Evaluation,
    /// Out-of-sample figures (`None` when the backtest was refused, or when the genome is not
    /// the in-sample best and so was not tested).
    pub out_of_sample: Option<Evaluation>,
    /// Deflated Sharpe ratio of its in-sample returns over the run's trials.
    pub deflated_sharpe: f64,
    /// Highest correlation of its out-of-sample daily returns to a promoted strategy's (over
    /// their common days; `None` when nothing promoted runs on these bars).
    pub max_correlation: Option<f64>,
    /// Every gate.
    pub gates: Vec<GateResult>,
    /// Whether it passed every gate.
    pub passed: bool,
    /// Its id in `discovered_strategies` once recorded.
    pub id: Option<i64>,
}

/// What judging the candidates of one run needs.
pub(super) struct Judge<'a> {
    spec: &'a DiscoverSpec<'a>,
    problem: &'a GpProblem<'a>,
    engine: &'a Engine<'a, GpProblem<'a>>,
    data: &'a MarketData,
    oos: Range<usize>,
    generations: HashMap<u64, u32>,
    trials: usize,
    sharpe_variance: f64,
    /// The promoted strategies that run on these bars, with their out-of-sample daily returns.
    portfolio: PortfolioScorer,
}

impl<'a> Judge<'a> {
    pub(super) fn new(
        spec: &'a DiscoverSpec<'a>,
        problem: &'a GpProblem<'a>,
        engine: &'a Engine<'a, GpProblem<'a>>,
        data: &'a MarketData,
        oos: Range<usize>,
        db: &ResearchDb,
        run_id: i64,
    ) -> Result<Self, DiscoverError> {
        let individuals = db.individuals(run_id)?;
        let generations = individuals.iter().map(|i| (i.key, i.generation)).collect();
        let sharpes: Vec<f64> = individuals
            .iter()
            .filter_map(|ind| match serde_json::from_str::<GpEval>(&ind.metrics) {
                Ok(GpEval::Ran(f)) => Some(f.figures.returns.sharpe).filter(|s| s.is_finite()),
                _ => None,
            })
            .collect();
        let promoted = promoted_daily(&spec.settings.promoted, data, oos.clone())?;
        let portfolio = PortfolioScorer::new(spec.settings.portfolio_fitness.clone(), promoted)
            .map_err(|e| DiscoverError::Files(format!("the promoted set: {e}")))?;
        Ok(Judge {
            spec,
            problem,
            engine,
            data,
            oos,
            generations,
            trials: engine.evaluations(),
            portfolio,
            sharpe_variance: match spec.settings.gates.dsr_variance {
                DsrVariance::Null => 1.0 / problem.bars().max(1) as f64,
                DsrVariance::Trials => sharpe_variance(&sharpes),
            },
        })
    }

    /// Every hall-of-fame genome judged, best first. Only the first — the in-sample best of the
    /// distinct genomes — is tested out of sample: testing all of them and keeping whichever
    /// passes would be a best-of-N selection on the test data, which the gates do not correct
    /// for. The others are listed with their in-sample figures and fail the `selection` gate.
    pub(super) fn candidates(&self) -> Vec<Candidate> {
        self.engine
            .hall_of_fame()
            .par_iter()
            .enumerate()
            .filter_map(|(rank, s)| self.judge(&s.genome, s.key, s.fitness, rank == 0))
            .collect()
    }

    fn judge(&self, genome: &Genome, key: u64, fitness: f64, in_sample_best: bool) -> Option<Candidate> {
        let Some(GpEval::Ran(is)) = self.engine.eval(key) else { return None };
        let gates = &self.spec.settings.gates;
        let oos = in_sample_best
            .then(|| self.problem.backtest_window(genome, self.data, self.oos.clone()).ok())
            .flatten();
        let times = &self.data.timestamps()[self.oos.clone()];
        let daily = oos
            .as_ref()
            .and_then(|bt| DailyReturns::from_equity(self.spec.cash, bt.result.equity(), times).ok());
        let out_of_sample = oos.as_ref().map(|bt| Evaluation::of(bt, self.spec.cash));
        let dsr = deflated_sharpe(&is.figures.returns, self.trials, self.sharpe_variance);
        // Correlation of daily returns over the common days (portfolio-fitness); a promoted
        // strategy with too few common days is not compared.
        let correlations: Vec<(String, f64)> = match &daily {
            Some(d) => self
                .portfolio
                .promoted()
                .iter()
                .zip(self.portfolio.correlations(d))
                .filter_map(|(p, c)| Some((p.name.clone(), c?)))
                .collect(),
            None => Vec::new(),
        };
        let max_correlation = correlations.iter().map(|c| c.1).max_by(f64::total_cmp);
        let account =
            PromotedStrategy::gp("candidate", genome, self.data, self.spec.rules, 1.0, "discovery").check();
        let o = out_of_sample.as_ref();
        let nan = f64::NAN;
        let gate = |gate, value: f64, threshold: f64, passed: bool, detail: String| GateResult {
            gate,
            value,
            threshold,
            passed,
            detail,
        };
        let sharpe = o.map_or(nan, |f| f.figures.sharpe);
        let trades = o.map_or(0, |f| f.figures.trades);
        let drawdown = o.map_or(nan, |f| f.figures.max_drawdown);
        let results = vec![
            gate(
                "selection",
                f64::from(u8::from(in_sample_best)),
                1.0,
                in_sample_best,
                if in_sample_best {
                    "the in-sample best distinct genome: the only one tested out of sample".into()
                } else {
                    "not tested out of sample: only the in-sample best distinct genome is".into()
                },
            ),
            gate(
                "oos_sharpe",
                sharpe,
                gates.min_oos_sharpe,
                sharpe >= gates.min_oos_sharpe,
                format!("out-of-sample Sharpe {sharpe:.2} (at least {})", gates.min_oos_sharpe),
            ),
            gate(
                "deflated_sharpe",
                dsr,
                gates.min_dsr,
                dsr >= gates.min_dsr,
                format!("deflated Sharpe {dsr:.3} over {} trials (at least {})", self.trials, gates.min_dsr),
            ),
            gate(
                "oos_trades",
                trades as f64,
                gates.min_oos_trades as f64,
                trades >= gates.min_oos_trades,
                format!("{trades} out-of-sample trades (at least {})", gates.min_oos_trades),
            ),
            gate(
                "oos_drawdown",
                drawdown,
                -gates.max_drawdown,
                drawdown >= -gates.max_drawdown,
                format!(
                    "out-of-sample drawdown {:.1} % (no deeper than {:.1} %)",
                    drawdown * 100.0,
                    gates.max_drawdown * 100.0
                ),
            ),
            benchmark_gate(gates.benchmark, self.data, self.oos.clone(), self.spec.cash, oos.as_ref()),
            gate(
                "correlation",
                max_correlation.unwrap_or(nan),
                gates.max_correlation,
                max_correlation.is_none_or(|c| c <= gates.max_correlation),
                match correlations.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
                    Some((id, c)) => {
                        format!("correlation {c:.2} with promoted `{id}` (at most {})", gates.max_correlation)
                    }
                    None => "no promoted strategy runs on these bars".into(),
                },
            ),
            gate(
                "cash_account",
                f64::from(u8::from(account.is_ok())),
                1.0,
                account.is_ok(),
                match &account {
                    Ok(_) => "long-only, whole cash, next-open fills".into(),
                    Err(e) => e.to_string(),
                },
            ),
        ];
        let passed = out_of_sample.is_some() && results.iter().all(|g| g.passed);
        Some(Candidate {
            genome: genome.clone(),
            key,
            generation: self.generations.get(&key).copied().unwrap_or(0),
            parents: is.parents.clone(),
            fitness,
            in_sample: is.figures.clone(),
            out_of_sample,
            deflated_sharpe: dsr,
            max_correlation,
            gates: results,
            passed,
            id: None,
        })
    }
}

/// The `benchmark` gate: the tested candidate's out-of-sample CAGR after costs (`bt`, trading
/// the bars `oos` of `data` from `cash`) against an equal-weight buy-and-hold of every symbol it
/// trades over the same bars. Without it, a rule that mostly holds SPY passes on a rising
/// market. `Absolute` passes every candidate and still shows the excess. An untested candidate
/// has no excess (NaN) and fails, as it fails the other out-of-sample gates.
pub(super) fn benchmark_gate(
    rule: BenchmarkGate,
    data: &MarketData,
    oos: Range<usize>,
    cash: f64,
    bt: Option<&Backtest>,
) -> GateResult {
    let held: Vec<usize> = data.tradable().collect();
    let passive = bt.and_then(|bt| {
        let returns = judge::returns_from(cash, bt.result.equity().iter().copied());
        judge::versus_holding(data, &held, oos, &returns)
    });
    let excess = passive.as_ref().map_or(f64::NAN, |p| p.excess_return);
    let beats = excess >= f64::MIN_POSITIVE;
    let detail = match &passive {
        Some(p) => format!(
            "out-of-sample CAGR {} the {} ({:.1} % a year) by {:.1} % a year after costs{}",
            if beats { "beats" } else { "trails" },
            p.name,
            p.cagr * 100.0,
            excess.abs() * 100.0,
            if rule == BenchmarkGate::Absolute { " (not required: benchmark = \"absolute\")" } else { "" }
        ),
        None => "no out-of-sample record to compare with buy-and-hold".into(),
    };
    GateResult {
        gate: "benchmark",
        value: excess,
        threshold: 0.0,
        passed: passive.is_some() && (beats || rule == BenchmarkGate::Absolute),
        detail,
    }
}

/// Every strategy of the promoted set in `dir` that runs on `data`, with its daily returns
/// trading the `window` of it (see [`promoted_returns`]).
pub(super) fn promoted_daily(
    dir: &std::path::Path,
    data: &MarketData,
    window: Range<usize>,
) -> Result<Vec<portfolio_fitness::PortfolioMember>, DiscoverError> {
    let set = PromotedDir::new(dir).current().map_err(|e| DiscoverError::Files(e.to_string()))?;
    Ok(set
        .map(|s| s.strategies)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let returns = promoted_returns(p, data, window.clone())?;
            Some(portfolio_fitness::PortfolioMember { name: p.id.clone(), allocation: p.allocation, returns })
        })
        .collect())
}

/// Daily returns of promoted strategy `p` trading the `window` of `data` (its signals
/// warmed up on the bars before, as the candidates' are), when `data` has its timeframe and
/// every symbol it reads (else it cannot be compared bar for bar).
fn promoted_returns(p: &PromotedStrategy, data: &MarketData, window: Range<usize>) -> Option<DailyReturns> {
    if p.timeframe != data.timeframe() {
        return None;
    }
    let symbols: Vec<SymbolData> =
        p.symbols.iter().map(|s| data.find(s).map(|i| data.symbols()[i].clone())).collect::<Option<_>>()?;
    let own = MarketData::new(data.timeframe(), symbols).ok()?;
    let runnable = p.resolve().ok()?;
    let mut signals = runnable.signals(&own).ok()?;
    for leg in &mut signals.legs {
        leg.signals = leg.signals.slice(window.clone());
    }
    let max_positions = runnable.max_positions(&own);
    let cash = p.recorded.as_ref().map_or(10_000.0, |r| r.cash);
    let bt =
        backtest_signals(&p.id, &own.slice(window.clone()), signals, p.rules, cash, max_positions).ok()?;
    DailyReturns::from_equity(cash, bt.result.equity(), &data.timestamps()[window]).ok()
}
