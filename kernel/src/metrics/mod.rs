//! Performance metrics of a simulation, with every formula written out and no NaN or infinity
//! ever returned.
//!
//! Notation: `E_0..E_{n−1}` is the equity at each bar's close, `E_{−1}` the initial equity,
//! `r_t = E_t / E_{t−1} − 1` the per-bar returns (n of them; 0 after the equity reached 0),
//! `P` the bars per year
//! ([`periods_per_year`]) and `rf_p = (1 + rf)^(1/P) − 1` the per-bar risk-free rate. Per-bar
//! statistics annualise with `P`; CAGR counts calendar years ([`calendar_years`]).
//! Ratios whose denominator is zero are defined by [`safe_ratio`]: 0 when the numerator is 0,
//! ±[`RATIO_CAP`] otherwise; every ratio is clamped to ±[`RATIO_CAP`].

mod capital;
mod drawdown;
mod figures;
mod moments;
mod periods;

use datasets::{AssetClass, Bars, Timeframe};

pub use capital::capital_at_work;
pub use drawdown::Drawdowns;
pub use figures::{Figures, nan_as_null, same_figure};
pub use moments::{ReturnMoments, ReturnShape, risk_free_per_bar};
pub use periods::periods_per_year;

use crate::sim::{SimResult, Trade};

/// Bound on every ratio (Sharpe, Sortino, Calmar, profit factor, SQN), also the value of a ratio
/// with a positive numerator and a zero denominator (e.g. profit factor with no losing trade).
pub const RATIO_CAP: f64 = 100.0;

/// `num / den` clamped to ±[`RATIO_CAP`]; with `den <= 0`: 0 if `num == 0`, else ±[`RATIO_CAP`]
/// by the sign of `num`.
pub fn safe_ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        (num / den).clamp(-RATIO_CAP, RATIO_CAP)
    } else if num > 0.0 {
        RATIO_CAP
    } else if num < 0.0 {
        -RATIO_CAP
    } else {
        0.0
    }
}

/// How to annualise and what the risk-free rate is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricsConfig {
    /// Bars per year, `P`.
    pub periods_per_year: f64,
    /// Annual risk-free rate (0.02 = 2 %), 0 by default.
    pub risk_free_rate: f64,
}

impl MetricsConfig {
    /// Annualisation for `timeframe` bars of an `asset`, risk-free rate 0.
    pub fn new(timeframe: Timeframe, asset: AssetClass) -> Self {
        MetricsConfig { periods_per_year: periods_per_year(timeframe, asset), risk_free_rate: 0.0 }
    }
}

/// Closed trades as [`Metrics::compute`] reads them, in the order their statistics are summed.
#[derive(Clone, Copy, Debug)]
pub enum TradeList<'a> {
    /// The trades themselves.
    Slice(&'a [Trade]),
    /// References to trades held elsewhere: a portfolio's legs' trades in exit order
    /// ([`PortfolioResult::trades_by_exit`](crate::sim::PortfolioResult::trades_by_exit)),
    /// without a copy of each record.
    Refs(&'a [&'a Trade]),
}

impl<'a> TradeList<'a> {
    /// Number of trades.
    pub fn len(self) -> usize {
        match self {
            TradeList::Slice(t) => t.len(),
            TradeList::Refs(t) => t.len(),
        }
    }

    /// True when there is no trade.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The trades in order.
    pub fn iter(self) -> impl Iterator<Item = &'a Trade> + Clone {
        let (slice, refs): (&[Trade], &[&Trade]) = match self {
            TradeList::Slice(t) => (t, &[]),
            TradeList::Refs(t) => (&[], t),
        };
        slice.iter().chain(refs.iter().copied())
    }
}

/// What metrics are computed from: an equity curve, its trades and activity totals.
#[derive(Clone, Copy, Debug)]
pub struct MetricsInput<'a> {
    /// Equity before the first bar, `E_{−1}` (must be positive).
    pub initial_equity: f64,
    /// Equity at each bar's close.
    pub equity: &'a [f64],
    /// Bar timestamps (UTC ns), same length as `equity`.
    pub timestamps: &'a [i64],
    /// Closed trades (open positions are not trades).
    pub trades: TradeList<'a>,
    /// Bars during which any position was held.
    pub exposed_bars: usize,
    /// Sum of the notional of every fill, buys and sells.
    pub traded_notional: f64,
    /// Closes of the instrument for the buy-and-hold comparison, first to last bar held.
    pub benchmark_close: &'a [f64],
}

impl<'a> MetricsInput<'a> {
    /// The input for a single-symbol run over `bars`, benchmarked against holding the same bars.
    pub fn from_sim(result: &'a SimResult, bars: &'a Bars) -> Self {
        MetricsInput {
            initial_equity: result.initial_cash,
            equity: &result.equity,
            timestamps: bars.timestamps(),
            trades: TradeList::Slice(&result.activity.trades),
            exposed_bars: result.activity.exposed_bars,
            traded_notional: result.activity.traded_notional,
            benchmark_close: bars.close(),
        }
    }
}

/// Headline statistics. Fractions throughout (0.05 = 5 %); every value is finite.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// `E_{n−1} / E_{−1} − 1` (0 with no bars).
    pub total_return: f64,
    /// `(E_{n−1} / E_{−1})^(1 / Y) − 1` over the calendar years `Y` of [`calendar_years`] (so the
    /// same bars give the same CAGR whatever the asset class); −1 if the equity ends at or below
    /// 0, 0 with no bars, capped at `f64::MAX` for a huge gain over a very short span.
    pub cagr: f64,
    /// `sd(r) × √P`, sample standard deviation (n − 1); 0 with fewer than 2 bars.
    pub volatility: f64,
    /// `(mean(r) − rf_p) × √P / sd(r)`, clamped to ±[`RATIO_CAP`]; 0 when `sd(r) = 0` (e.g. a flat
    /// curve) or with fewer than 2 bars.
    pub sharpe: f64,
    /// `safe_ratio((mean(r) − rf_p) × √P, DD)` with downside deviation
    /// `DD = √(Σ min(r_t − rf_p, 0)² / n)`; no downside and a positive mean gives [`RATIO_CAP`];
    /// 0 with fewer than 2 bars.
    pub sortino: f64,
    /// `safe_ratio(cagr, |max_drawdown|)`.
    pub calmar: f64,
    /// Deepest drawdown `min_t (E_t / peak_t − 1)`, negative (peak includes `E_{−1}`); 0 if none.
    pub max_drawdown: f64,
    /// Longest drawdown, bars from its peak to recovery (or the last bar).
    pub max_drawdown_bars: usize,
    /// Longest drawdown in nanoseconds between the same bars' timestamps.
    pub max_drawdown_nanos: i64,
    /// Mean of the deepest points of all drawdown episodes (negative; 0 if none).
    pub avg_drawdown: f64,
    /// Number of closed trades.
    pub trades: usize,
    /// Share of trades with `pnl > 0` (0 with no trades).
    pub win_rate: f64,
    /// Largest trade return (0 with no trades).
    pub best_trade: f64,
    /// Smallest trade return (0 with no trades).
    pub worst_trade: f64,
    /// Geometric mean trade return `exp(mean(ln(1 + ret))) − 1`; −1 if any trade lost everything,
    /// 0 with no trades.
    pub avg_trade: f64,
    /// `safe_ratio(Σ pnl⁺, Σ |pnl⁻|)`, in money: all winners gives [`RATIO_CAP`], no trades 0.
    pub profit_factor: f64,
    /// Arithmetic mean trade return (0 with no trades).
    pub expectancy: f64,
    /// `exposed_bars / n`: share of bars with a position held at any moment (0 with no bars).
    pub exposure: f64,
    /// Mean `bars_held` of closed trades (0 with no trades).
    pub avg_bars_held: f64,
    /// Annualised one-way turnover `(traded_notional / 2) / mean(E) / (n / P)` (0 with no bars).
    pub turnover: f64,
    /// System quality number `√N × safe_ratio(mean(pnl), sd(pnl))` (sample sd, clamped to
    /// ±[`RATIO_CAP`]); 0 with fewer than 2 trades.
    pub sqn: f64,
    /// Kelly fraction `W − (1 − W) / R`, `W` = win rate, `R` = mean winning pnl / mean |losing pnl|,
    /// clamped to [−1, 1]: no losers gives `W` (1), no winners −1, no trades 0.
    pub kelly: f64,
    /// Buy-and-hold return of the benchmark, `last / first − 1` (0 if fewer than 2 closes).
    pub buy_and_hold_return: f64,
}

/// Mean and sample standard deviation (n − 1) of `xs` in one pass; `(0, 0)` when empty, sd 0
/// for a single value.
fn mean_sd(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut sum, mut sum_sq) = (0.0f64, 0.0, 0.0);
    for x in xs {
        n += 1.0;
        sum += x;
        sum_sq += x * x;
    }
    moments(n, sum, sum_sq)
}

/// Mean and sample standard deviation (n − 1) of `n` values from their sum and sum of squares;
/// `(0, 0)` when `n = 0`, sd 0 when `n = 1`.
fn moments(n: f64, sum: f64, sum_sq: f64) -> (f64, f64) {
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = sum / n;
    let var = if n > 1.0 { ((sum_sq - sum * mean) / (n - 1.0)).max(0.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// `(mean − rf_p) × √P / sd` clamped to ±[`RATIO_CAP`], 0 when `sd = 0`: the Sharpe ratio of
/// per-bar returns with this mean and sample sd.
fn sharpe_ratio(mean: f64, sd: f64, rf_p: f64, config: &MetricsConfig) -> f64 {
    if sd > 0.0 { safe_ratio((mean - rf_p) * config.periods_per_year.sqrt(), sd) } else { 0.0 }
}

/// [`Metrics::sharpe`] of a curve of `n` bars from the running sums of its per-bar returns
/// (`sum = Σ r_t`, `sum_sq = Σ r_t²`), bit for bit: lets a streaming evaluator (the sweep) keep
/// sums instead of the whole curve.
pub fn sharpe_from_sums(n: usize, sum: f64, sum_sq: f64, config: &MetricsConfig) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let (mean, sd) = moments(n as f64, sum, sum_sq);
    sharpe_ratio(mean, sd, risk_free_per_bar(config), config)
}

/// Nanoseconds in a calendar year of 365.25 days, the year [`Metrics::cagr`] counts in.
pub const NANOS_PER_YEAR: f64 = 365.25 * 86_400e9;

/// The years a curve over `timestamps` (one per bar) covers: the span from the first to the last
/// timestamp times `n / (n − 1)` (the `n` returns from `E_{−1}` cover one bar spacing more than
/// the span), in years of [`NANOS_PER_YEAR`]. `n / P` when the timestamps cannot tell (fewer than
/// two, or not increasing).
pub fn calendar_years(timestamps: &[i64], periods_per_year: f64) -> f64 {
    let n = timestamps.len() as f64;
    match timestamps {
        [first, .., last] if last > first => (last - first) as f64 / NANOS_PER_YEAR * n / (n - 1.0),
        _ => n / periods_per_year,
    }
}

/// Compound annual growth from `initial` to `last` over `years`: [`Metrics::cagr`].
pub fn cagr(initial: f64, last: f64, years: f64) -> f64 {
    if last > 0.0 { ((last / initial).powf(1.0 / years) - 1.0).min(f64::MAX) } else { -1.0 }
}

impl Metrics {
    /// Computes every metric; see each field for its formula and edge-case value.
    pub fn compute(input: &MetricsInput<'_>, config: &MetricsConfig) -> Metrics {
        let mut m = Metrics::default();
        let equity = input.equity;
        let n = equity.len();
        let initial = input.initial_equity;
        let p = config.periods_per_year;
        m.trades = input.trades.len();
        m.buy_and_hold_return = match input.benchmark_close {
            [first, .., last] => last / first - 1.0,
            _ => 0.0,
        };
        m.trade_stats(input.trades);
        let Some(&last) = equity.last() else { return m };
        let nf = n as f64;
        let years = nf / p;

        m.total_return = last / initial - 1.0;
        m.cagr = cagr(initial, last, calendar_years(input.timestamps, p));

        if n >= 2 {
            let mut returns = ReturnMoments::new(initial, config);
            for &e in equity {
                returns.push_all(e);
            }
            m.volatility = returns.mean_sd().1 * p.sqrt();
            m.sharpe = returns.sharpe(config);
            m.sortino = returns.sortino(config);
        }

        let dd = drawdown::drawdowns(initial, equity, input.timestamps);
        m.max_drawdown = dd.max;
        m.avg_drawdown = dd.average;
        m.max_drawdown_bars = dd.longest_bars;
        m.max_drawdown_nanos = dd.longest_nanos;
        m.calmar = safe_ratio(m.cagr, -dd.max);

        m.exposure = input.exposed_bars as f64 / nf;
        let mean_equity = equity.iter().sum::<f64>() / nf;
        m.turnover = if mean_equity > 0.0 { input.traded_notional / 2.0 / mean_equity / years } else { 0.0 };
        m
    }

    /// The trade-list statistics (left at 0 when there are no trades).
    fn trade_stats(&mut self, trades: TradeList<'_>) {
        if trades.is_empty() {
            return;
        }
        let nt = trades.len() as f64;
        let wins = trades.iter().filter(|t| t.pnl > 0.0).count() as f64;
        self.win_rate = wins / nt;
        self.best_trade = trades.iter().map(|t| t.ret).fold(f64::NEG_INFINITY, f64::max);
        self.worst_trade = trades.iter().map(|t| t.ret).fold(f64::INFINITY, f64::min);
        self.expectancy = trades.iter().map(|t| t.ret).sum::<f64>() / nt;
        self.avg_trade = if trades.iter().any(|t| t.ret <= -1.0) {
            -1.0
        } else {
            (trades.iter().map(|t| t.ret.ln_1p()).sum::<f64>() / nt).exp_m1()
        };
        self.avg_bars_held = trades.iter().map(|t| t.bars_held() as f64).sum::<f64>() / nt;

        let gross_profit: f64 = trades.iter().map(|t| t.pnl.max(0.0)).sum();
        let gross_loss: f64 = trades.iter().map(|t| (-t.pnl).max(0.0)).sum();
        self.profit_factor = safe_ratio(gross_profit, gross_loss);

        if trades.len() >= 2 {
            let (mean_pnl, sd_pnl) = mean_sd(trades.iter().map(|t| t.pnl));
            self.sqn = (nt.sqrt() * safe_ratio(mean_pnl, sd_pnl)).clamp(-RATIO_CAP, RATIO_CAP);
        }

        let losses = trades.iter().filter(|t| t.pnl < 0.0).count() as f64;
        self.kelly = if losses == 0.0 {
            self.win_rate
        } else if wins == 0.0 {
            -1.0
        } else {
            let payoff = (gross_profit / wins) / (gross_loss / losses);
            (self.win_rate - (1.0 - self.win_rate) / payoff).clamp(-1.0, 1.0)
        };
    }
}

#[cfg(test)]
mod tests;
