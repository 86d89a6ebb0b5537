//! The sweep runner: combinations, evaluation (fast SMA-cross grid or the general backtest in
//! parallel) and ranking.
//!
//! Evaluation: each combination is backtested with [`kernel::strategy::backtest`] through
//! [`evaluate_all_with_progress`] (rayon; results in input order, so identical at any thread
//! count). A grid on one symbol without protective exits, ranked by a metric a fast path
//! computes (total return, Sharpe, max drawdown, final equity), instead asks the family for its
//! fast sweep path ([`Strategy::fast_grid`](kernel::strategy::Strategy::fast_grid); `sma_cross`
//! has one: its SMA grid over the span of the windows when the combinations fill at least a
//! quarter of that span's pairs) — exact against the general path; its rows carry no CAGR,
//! Sortino, win rate, profit factor or exposure, except the top `output.top`, which are re-run
//! through the general backtest.
//!
//! Several symbols: every combination runs once on all of them together (one portfolio, legs
//! sized on equal shares; rows with `symbol = None`), and with `per_symbol = true` also on each
//! tradable symbol alone. Each of these scopes is ranked on its own: by `rank_by`, best first,
//! ties broken by the combination's position in the grid (or draw order).

use std::borrow::Cow;

use evolve::ga::Evaluator;
use evolve::genes::ParamGenes;
use evolve::problem::{StrategyEval, StrategyFarm, StrategyProblem};
use evolve::stats::FitnessConfig;
use kernel::metrics::{Figures, MetricsConfig};
use kernel::sim::Simulator;
use kernel::strategy::{BacktestError, MarketData, ParamValue, Params, backtest};
use kernel::sweep::{SweepError, evaluate_all, evaluate_all_with_progress};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::{Axis, Experiment, Mode};

/// One ranked combination.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    /// The symbol it ran on alone, `None` for all of the data together.
    pub symbol: Option<String>,
    /// 1-based rank within its scope.
    pub rank: usize,
    /// The parameters.
    pub params: Params,
    /// Its figures.
    pub metrics: Figures,
}

/// A finished sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepOutcome {
    /// Combinations evaluated per scope.
    pub combinations: usize,
    /// Combinations skipped for breaking the strategy's constraints.
    pub skipped: usize,
    /// True when the SMA-cross fast path evaluated the combined scope.
    pub fast_path: bool,
    /// Ranked rows: the combined scope first, then each symbol's, each best first.
    pub rows: Vec<ResultRow>,
}

/// A sweep that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A backtest failed (the strategy does not fit the data, for instance).
    #[error("{strategy} with {params}{scope}: {source}")]
    Backtest {
        /// Strategy name.
        strategy: &'static str,
        /// The combination.
        params: String,
        /// ` on SYMBOL` for a per-symbol run.
        scope: String,
        /// What went wrong (boxed: it is large).
        source: Box<BacktestError>,
    },
    /// The fast SMA-cross grid refused the rules.
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// The local thread pool could not be built.
    #[error("cannot build a pool of worker threads: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
    /// Rules or cash the simulator refuses (config validation makes this unreachable in practice).
    #[error(transparent)]
    Config(#[from] kernel::sim::RulesError),
}

/// The combinations `exp` describes that satisfy its strategy's constraints, and the number
/// skipped for breaking them. Grid order: the last parameter varies fastest.
pub fn combinations(exp: &Experiment) -> (Vec<Params>, usize) {
    let space = exp.strategy.space();
    let drawn: Vec<Vec<ParamValue>> = match exp.mode {
        Mode::Grid => {
            let lists: Vec<&[ParamValue]> = exp.axes.iter().map(grid_values).collect();
            let total: usize = lists.iter().map(|l| l.len()).product();
            (0..total)
                .map(|mut k| {
                    let mut values = vec![ParamValue::Int(0); lists.len()];
                    for (slot, list) in values.iter_mut().zip(&lists).rev() {
                        *slot = list[k % list.len()];
                        k /= list.len();
                    }
                    values
                })
                .collect()
        }
        Mode::Random { samples, seed } => {
            let mut rng = Pcg64::seed_from_u64(seed);
            (0..samples).map(|_| exp.axes.iter().map(|a| draw(a, &mut rng)).collect()).collect()
        }
    };
    let total = drawn.len();
    let valid: Vec<Params> = drawn
        .into_iter()
        .map(|v| Params::from_values(space, v).expect("axes hold values checked against the space"))
        .filter(|p| exp.strategy.validate(p).is_ok())
        .collect();
    let skipped = total - valid.len();
    (valid, skipped)
}

fn grid_values(axis: &Axis) -> &[ParamValue] {
    match axis {
        Axis::Values(v) => v,
        Axis::Interval { .. } => panic!("config bug: a grid axis without a step"),
    }
}

fn draw(axis: &Axis, rng: &mut Pcg64) -> ParamValue {
    match axis {
        Axis::Values(v) => v[rng.random_range(0..v.len())],
        Axis::Interval { min, max } => ParamValue::Real(rng.random_range(*min..=*max)),
    }
}

/// Runs `exp` on `data` with `threads` workers (the global rayon pool when `None`), calling
/// `progress(done, total)` as combinations finish (possibly out of order). With a `farm`, the
/// general path's backtests are farmed out to its workers in tasks (crate `cluster`; the fast
/// path and the re-run of the top rows stay here): the rows are the same.
pub fn run(
    exp: &Experiment,
    data: &MarketData,
    threads: Option<usize>,
    farm: Option<&dyn StrategyFarm>,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<SweepOutcome, RunError> {
    match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()?
            .install(|| sweep(exp, data, farm, &progress)),
        None => sweep(exp, data, farm, &progress),
    }
}

fn sweep(
    exp: &Experiment,
    data: &MarketData,
    farm: Option<&dyn StrategyFarm>,
    progress: &(impl Fn(usize, usize) + Sync),
) -> Result<SweepOutcome, RunError> {
    let (combos, skipped) = combinations(exp);
    let scopes = scopes(exp, data);
    let total = combos.len() * scopes.len();
    let mut rows = Vec::with_capacity(total);
    let mut fast_path = false;
    for (k, (symbol, scope)) in scopes.iter().enumerate() {
        let base = k * combos.len();
        let report = |done: usize, _| progress(base + done, total);
        let fast = fast_metrics(exp, scope, &combos)?;
        fast_path |= symbol.is_none() && fast.is_some();
        let refine = fast.is_some();
        let metrics = match fast {
            Some(m) => {
                report(combos.len(), total);
                m
            }
            None => {
                // One evaluator per scope: an evaluator's tasks all name the bars of its first.
                let runs = match farm.map(|farm| farm.for_run(k as i64)) {
                    Some(evaluator) => farmed_figures(exp, scope, &combos, evaluator.as_ref(), report),
                    None => evaluate_all_with_progress(&combos, |p| full(exp, scope, p), report),
                };
                runs.into_iter()
                    .zip(&combos)
                    .map(|(r, p)| r.map_err(|source| backtest_error(exp, symbol, p, source)))
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let mut ranked = rank(exp, symbol, &combos, metrics);
        if refine {
            let top = &mut ranked[..exp.output.top.min(combos.len())];
            let again = evaluate_all(top, |row| full(exp, scope, &row.params));
            for (row, r) in top.iter_mut().zip(again) {
                row.metrics = r.map_err(|source| backtest_error(exp, symbol, &row.params, source))?;
            }
        }
        rows.extend(ranked);
    }
    Ok(SweepOutcome { combinations: combos.len(), skipped, fast_path, rows })
}

/// The combined data and, with `per_symbol` and several tradable symbols, each one alone.
fn scopes<'a>(exp: &Experiment, data: &'a MarketData) -> Vec<(Option<String>, Cow<'a, MarketData>)> {
    let mut out = vec![(None, Cow::Borrowed(data))];
    let tradable: Vec<usize> = data.tradable().collect();
    if exp.per_symbol && tradable.len() > 1 {
        for i in tradable {
            let s = &data.symbols()[i];
            let alone = MarketData::new(data.timeframe(), vec![s.clone()]).expect("one symbol is aligned");
            out.push((Some(s.meta.symbol.clone()), Cow::Owned(alone)));
        }
    }
    out
}

fn backtest_error(exp: &Experiment, symbol: &Option<String>, p: &Params, source: BacktestError) -> RunError {
    let scope = symbol.as_ref().map(|s| format!(" on {s}")).unwrap_or_default();
    RunError::Backtest {
        strategy: exp.strategy.name(),
        params: p.to_string(),
        scope,
        source: Box::new(source),
    }
}

/// Combinations of a farmed scope evaluated in the first batch: its tasks measure the
/// evaluation time the rest's tasks are sized on (about 50 ms of work each), as a GA run's first
/// generation does.
const PROBE: usize = 16;

/// The general path's figures of `combos` on `data` (one scope) from `evaluator`'s
/// workers: the same backtest ([`StrategyEval::of`] is [`full`]'s); a combination whose
/// backtest failed there is run here again for the error.
fn farmed_figures(
    exp: &Experiment,
    data: &MarketData,
    combos: &[Params],
    evaluator: &dyn for<'d> Evaluator<StrategyProblem<'d>>,
    report: impl Fn(usize, usize),
) -> Vec<Result<Figures, BacktestError>> {
    let problem = StrategyProblem {
        strategy: exp.strategy,
        // A sweep breeds nothing and scores nothing: its parameter sets are only evaluated.
        genes: ParamGenes::new(Vec::new()).expect("no genes are valid genes"),
        data,
        rules: exp.rules,
        cash: exp.cash,
        fitness: FitnessConfig::default(),
        deflation: None,
    };
    let values: Vec<Vec<ParamValue>> = combos.iter().map(|p| p.values().to_vec()).collect();
    let mut out = Vec::with_capacity(combos.len());
    let probe = values.len().min(PROBE);
    for part in [&values[..probe], &values[probe..]] {
        let at = out.len();
        let evals = evaluator.evaluate(&problem, 0, &part.iter().collect::<Vec<_>>());
        out.extend(evals.into_iter().zip(&combos[at..]).map(|(eval, p)| match eval {
            StrategyEval::Ran(e) => Ok(e.figures),
            StrategyEval::Failed(_) => full(exp, data, p),
        }));
        report(out.len(), combos.len());
    }
    out
}

/// Every figure, from the general backtest.
fn full(exp: &Experiment, data: &MarketData, p: &Params) -> Result<Figures, BacktestError> {
    let bt = backtest(exp.strategy, p, data, exp.rules, exp.cash)?;
    Ok(Figures::of(&bt.metrics, bt.result.equity().last().copied().unwrap_or(exp.cash)))
}

/// The figures of every combination from the family's fast sweep path
/// ([`Strategy::fast_grid`](kernel::strategy::Strategy::fast_grid)), when it has one and it
/// applies (see the module docs).
fn fast_metrics(
    exp: &Experiment,
    data: &MarketData,
    combos: &[Params],
) -> Result<Option<Vec<Figures>>, RunError> {
    let [symbol] = data.symbols() else { return Ok(None) };
    let applies = exp.mode == Mode::Grid
        && exp.rank_by.on_fast_path()
        && data.tradable().count() == 1
        && exp.rules.exits == kernel::sim::ExitRules::default();
    if !applies {
        return Ok(None);
    }
    let sim = Simulator::new(exp.cash, exp.rules)?;
    let config = MetricsConfig::new(data.timeframe(), symbol.meta.asset_class);
    let Some(fast) = exp.strategy.fast_grid(&symbol.bars, combos, &sim, &config)? else { return Ok(None) };
    Ok(Some(fast))
}

/// Rows ranked by `rank_by` (best first; ties by combination order).
fn rank(
    exp: &Experiment,
    symbol: &Option<String>,
    combos: &[Params],
    metrics: Vec<Figures>,
) -> Vec<ResultRow> {
    let key = |m: &Figures| exp.rank_by.of(m).unwrap_or(f64::NEG_INFINITY);
    let mut order: Vec<usize> = (0..combos.len()).collect();
    order.sort_by(|&a, &b| key(&metrics[b]).total_cmp(&key(&metrics[a])).then(a.cmp(&b)));
    order
        .into_iter()
        .enumerate()
        .map(|(r, k)| ResultRow {
            symbol: symbol.clone(),
            rank: r + 1,
            params: combos[k].clone(),
            metrics: metrics[k],
        })
        .collect()
}
