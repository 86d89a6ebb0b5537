//! Many strategies over many symbols in one cash account, each strategy confined to its sleeve.
//!
//! Each [`Sleeve`] (one strategy) owns the cash of its allocation, `allocation × initial cash`,
//! and trades its legs (one per symbol) with the same [`Book`] state machine as the single-symbol
//! simulator, stepped by a [`Desk`] that visits only the legs with something to do; the
//! unallocated remainder is a reserve that never trades. A sleeve can only spend its own cash,
//! so one strategy can never use another's allocation.
//!
//! Sizing within a sleeve: each entry sizes against one slot of the sleeve's equity (its cash
//! plus its positions marked at the previous close), capped by the sleeve's free cash. A sleeve
//! with [`Sleeve::max_positions`] `= k` has `min(k, legs)` slots and never holds more than `k`
//! positions: an entry finding them all taken is refused with
//! [`RefusalReason::PositionLimit`](super::RefusalReason::PositionLimit) (in leg order). Without
//! a limit every leg has its own slot (`1/legs` of the equity). A cross-sectional strategy that
//! holds the top `k` of `n` symbols declares `k`, so it invests its whole equity, not `k/n` of it.
//!
//! Same-bar order: at each fill point all the sleeve's exits settle before any of its entries,
//! so a rotation (exit A, enter B on the same bar) buys B with A's proceeds at that fill.
//!
//! Rebalancing rule: every `rebalance_every` bars, at that bar's close, allocations are re-based
//! to the current account equity `E`: each sleeve's target is `allocation × E` (the reserve's is
//! the rest). Only cash moves — no position is sold to rebalance: a member above target releases
//! `min(excess, its cash)` into a pool, and the pool is shared among members below target in
//! proportion to their shortfalls. Equity curves record a rebalancing bar before its transfer.
//! With `rebalance_every = None` sleeves compound independently.

use std::num::NonZeroUsize;

use datasets::Bars;

use super::book::Book;
use super::column::SignalsRef;
use super::desk::Desk;
use super::record::Activity;
use super::rules::{RulesError, TradeRules, check_cash};

/// One symbol traded by a sleeve: its bars and the strategy's signals for them (one per bar).
#[derive(Clone, Copy, Debug)]
pub struct Leg<'a> {
    /// Ticker, for the report.
    pub symbol: &'a str,
    /// The symbol's bars, aligned with every other leg's (same timestamps).
    pub bars: &'a Bars,
    /// One signal per bar (a slice or a [`SignalColumn`](super::SignalColumn)).
    pub signals: SignalsRef<'a>,
}

/// One strategy's share of the account.
#[derive(Clone, Debug)]
pub struct Sleeve<'a> {
    /// Strategy name, e.g. `mean_reversion`.
    pub name: &'a str,
    /// Fraction of the account, in `(0, 1]`; all sleeves together at most 1.
    pub allocation: f64,
    /// How the strategy's signals become fills.
    pub rules: TradeRules,
    /// The symbols it trades (at least one).
    pub legs: Vec<Leg<'a>>,
    /// The most positions it holds at once (see the module docs); `None` allows one per leg.
    pub max_positions: Option<NonZeroUsize>,
}

/// Account-wide settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PortfolioConfig {
    /// Starting cash of the whole account.
    pub initial_cash: f64,
    /// Re-base allocations every this many bars (see the module docs); `None` never.
    pub rebalance_every: Option<NonZeroUsize>,
}

/// A portfolio that cannot be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PortfolioError {
    /// A rule or the initial cash is out of range.
    #[error("sleeve `{sleeve}`: {source}")]
    Config {
        /// Sleeve name (`account` for the initial cash).
        sleeve: String,
        /// The bad parameter.
        source: RulesError,
    },
    /// Allocations outside `(0, 1]` or summing above 1.
    #[error(
        "sleeve `{sleeve}`: allocation {allocation} is invalid (each in (0, 1], total {total} must be <= 1)"
    )]
    Allocation {
        /// Sleeve name.
        sleeve: String,
        /// Its allocation.
        allocation: f64,
        /// Sum of all allocations.
        total: f64,
    },
    /// A sleeve with no legs, or a portfolio with no sleeves.
    #[error("sleeve `{sleeve}` has no legs")]
    NoLegs {
        /// Sleeve name (empty when there are no sleeves at all).
        sleeve: String,
    },
    /// A leg whose timestamps differ from the first leg's.
    #[error("sleeve `{sleeve}`, symbol `{symbol}`: bars are not aligned with the first leg's timestamps")]
    Misaligned {
        /// Sleeve name.
        sleeve: String,
        /// Leg symbol.
        symbol: String,
    },
    /// A leg with a different number of signals than bars.
    #[error("sleeve `{sleeve}`, symbol `{symbol}`: {bars} bars but {signals} signals")]
    LengthMismatch {
        /// Sleeve name.
        sleeve: String,
        /// Leg symbol.
        symbol: String,
        /// Number of bars.
        bars: usize,
        /// Number of signals.
        signals: usize,
    },
}

/// What one leg did.
#[derive(Clone, Debug, PartialEq)]
pub struct LegResult {
    /// Ticker.
    pub symbol: String,
    /// Trades, refusals, exposure, turnover.
    pub activity: Activity,
}

/// What one sleeve did.
#[derive(Clone, Debug, PartialEq)]
pub struct SleeveResult {
    /// Strategy name.
    pub name: String,
    /// Sleeve equity (its cash plus its positions at the close) at every bar.
    pub equity: Vec<f64>,
    /// Sleeve cash at the end.
    pub final_cash: f64,
    /// Per-symbol activity.
    pub legs: Vec<LegResult>,
}

/// The outcome of a portfolio run.
#[derive(Clone, Debug, PartialEq)]
pub struct PortfolioResult {
    /// Cash at the start.
    pub initial_cash: f64,
    /// Account equity (reserve plus every sleeve) at every bar's close.
    pub equity: Vec<f64>,
    /// Unallocated reserve cash at the end.
    pub final_reserve: f64,
    /// Bars in which any leg held a position at any moment.
    pub exposed_bars: usize,
    /// Per-strategy results, in the order given.
    pub sleeves: Vec<SleeveResult>,
}

impl PortfolioResult {
    /// Every closed trade of every leg, ordered by exit bar then entry bar (stable otherwise).
    pub fn trades(&self) -> Vec<super::Trade> {
        self.trades_by_exit().into_iter().copied().collect()
    }

    /// [`PortfolioResult::trades`] by reference: what the metrics read, without a second copy
    /// of every trade record (a universe of fast-trading legs holds millions of them).
    pub fn trades_by_exit(&self) -> Vec<&super::Trade> {
        let mut all: Vec<_> =
            self.sleeves.iter().flat_map(|s| &s.legs).flat_map(|l| &l.activity.trades).collect();
        all.sort_by_key(|t| (t.exit_bar, t.entry_bar));
        all
    }

    /// Sum of every fill's notional value across the account.
    pub fn traded_notional(&self) -> f64 {
        self.sleeves.iter().flat_map(|s| &s.legs).map(|l| l.activity.traded_notional).sum()
    }
}

fn validate(config: &PortfolioConfig, sleeves: &[Sleeve<'_>]) -> Result<usize, PortfolioError> {
    check_cash("initial_cash", config.initial_cash)
        .map_err(|source| PortfolioError::Config { sleeve: "account".into(), source })?;
    let first = sleeves
        .first()
        .and_then(|s| s.legs.first())
        .ok_or_else(|| PortfolioError::NoLegs { sleeve: sleeves.first().map_or("", |s| s.name).into() })?;
    let total: f64 = sleeves.iter().map(|s| s.allocation).sum();
    for s in sleeves {
        let sleeve = || s.name.to_string();
        s.rules.validate().map_err(|source| PortfolioError::Config { sleeve: sleeve(), source })?;
        if !(s.allocation > 0.0 && s.allocation <= 1.0 && total <= 1.0 + 1e-12) {
            return Err(PortfolioError::Allocation { sleeve: sleeve(), allocation: s.allocation, total });
        }
        if s.legs.is_empty() {
            return Err(PortfolioError::NoLegs { sleeve: sleeve() });
        }
        for leg in &s.legs {
            let symbol = || leg.symbol.to_string();
            if !leg.bars.same_timestamps(first.bars) {
                return Err(PortfolioError::Misaligned { sleeve: sleeve(), symbol: symbol() });
            }
            if leg.signals.len() != leg.bars.len() {
                let (bars, signals) = (leg.bars.len(), leg.signals.len());
                return Err(PortfolioError::LengthMismatch {
                    sleeve: sleeve(),
                    symbol: symbol(),
                    bars,
                    signals,
                });
            }
        }
    }
    Ok(first.bars.len())
}

/// Moves cash between members (sleeves, then the reserve last) toward `targets`; see module docs.
fn rebalance(cash: &mut [f64], equity: &[f64], targets: &[f64]) {
    let mut pool = 0.0;
    for ((c, &e), &target) in cash.iter_mut().zip(equity).zip(targets) {
        let release = (e - target).min(*c);
        if release > 0.0 {
            *c -= release;
            pool += release;
        }
    }
    let shortfall: f64 = equity.iter().zip(targets).map(|(&e, &t)| (t - e).max(0.0)).sum();
    if pool <= 0.0 || shortfall <= 0.0 {
        *cash.last_mut().expect("the reserve is always a member") += pool;
        return;
    }
    let last_short = equity.iter().zip(targets).rposition(|(&e, &t)| t > e).expect("shortfall > 0");
    let mut given = 0.0;
    for (i, c) in cash.iter_mut().enumerate() {
        let need = (targets[i] - equity[i]).max(0.0);
        let share = if i == last_short { pool - given } else { pool * need / shortfall };
        if need > 0.0 {
            *c += share;
            given += share;
        }
    }
}

/// Runs every sleeve over the shared bar clock.
pub fn run_portfolio(
    config: &PortfolioConfig,
    sleeves: &[Sleeve<'_>],
) -> Result<PortfolioResult, PortfolioError> {
    let n = validate(config, sleeves)?;
    let initial = config.initial_cash;
    let allocated: f64 = sleeves.iter().map(|s| s.allocation * initial).sum();
    // Members: one per sleeve, then the reserve (cash only).
    let mut cash: Vec<f64> = sleeves.iter().map(|s| s.allocation * initial).collect();
    cash.push((initial - allocated).max(0.0));
    let mut alloc: Vec<f64> = sleeves.iter().map(|s| s.allocation).collect();
    alloc.push((1.0 - alloc.iter().sum::<f64>()).max(0.0));
    let mut desks: Vec<Desk<'_>> = sleeves
        .iter()
        .map(|s| {
            let books = s.legs.iter().map(|l| Book::new(l.bars, l.signals, &s.rules, Activity::default()));
            Desk::new(books.collect(), &s.rules, s.max_positions)
        })
        .collect();
    let mut sleeve_equity: Vec<Vec<f64>> = sleeves.iter().map(|_| Vec::with_capacity(n)).collect();
    let mut equity = Vec::with_capacity(n);
    let mut member_equity = vec![0.0; sleeves.len() + 1];
    let mut targets = vec![0.0; sleeves.len() + 1];
    let mut exposed_bars = 0;
    for t in 0..n {
        let mut exposed = false;
        for (s, desk) in desks.iter_mut().enumerate() {
            exposed |= desk.step(t, &mut cash[s]);
            member_equity[s] = cash[s] + desk.value();
            sleeve_equity[s].push(member_equity[s]);
        }
        member_equity[sleeves.len()] = cash[sleeves.len()];
        let total: f64 = member_equity.iter().sum();
        equity.push(total);
        exposed_bars += usize::from(exposed);
        if config.rebalance_every.is_some_and(|k| (t + 1) % k.get() == 0 && t + 1 < n) {
            for (target, a) in targets.iter_mut().zip(&alloc) {
                *target = a * total;
            }
            rebalance(&mut cash, &member_equity, &targets);
        }
    }
    let mut results = Vec::with_capacity(sleeves.len());
    for ((s, sleeve), desk) in sleeves.iter().enumerate().zip(desks) {
        let legs: Vec<LegResult> = sleeve
            .legs
            .iter()
            .zip(desk.finish(&mut cash[s]))
            .map(|(leg, activity)| LegResult { symbol: leg.symbol.to_string(), activity })
            .collect();
        let mut eq = std::mem::take(&mut sleeve_equity[s]);
        if let Some(last) = eq.last_mut() {
            let open: f64 = legs
                .iter()
                .zip(&sleeve.legs)
                .map(|(l, leg)| l.activity.open_value(*leg.bars.close().last().expect("n > 0")))
                .sum();
            *last = cash[s] + open;
        }
        results.push(SleeveResult { name: sleeve.name.to_string(), equity: eq, final_cash: cash[s], legs });
    }
    let final_reserve = cash[sleeves.len()];
    if let Some(last) = equity.last_mut() {
        *last = final_reserve + results.iter().map(|r| r.equity.last().copied().unwrap_or(0.0)).sum::<f64>();
    }
    Ok(PortfolioResult { initial_cash: initial, equity, final_reserve, exposed_bars, sleeves: results })
}
