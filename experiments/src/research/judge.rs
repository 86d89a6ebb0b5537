//! What a family's record is worth at the capital it deploys and next to the passive
//! alternative, the extra gates an `enable` must pass, and the state a reader sees.
//!
//! The statistical verdict ([`evolve::stats::verdict`]) judges the out-of-sample Sharpe ratio,
//! which is blind to size: a strategy that buys one share in a $100,000 account can show a
//! Sharpe of 2. So after it, an `enable` must also show
//!
//! * an out-of-sample CAGR of at least `[validation] min_oos_return` (default 2 % a year),
//! * capital at work — the time-averaged share of equity held in positions — of at least
//!   `[validation] min_capital_at_work` (default 10 %), and
//! * unless `[validation] benchmark = "absolute"`, a positive excess CAGR over the universe's
//!   equal-weight buy-and-hold after the strategy's costs (`benchmark = "passive"`, the
//!   default): on a rising market a long-only family can look good by holding the market.
//!
//! An `enable` that fails one of them becomes `keep`: the family stays as it is.

use std::fmt;
use std::ops::Range;

use datasets::AssetClass;
use evolve::stats::Verdict;
use kernel::metrics::{Figures, periods_per_year};
use kernel::strategy::MarketData;
use serde::{Deserialize, Serialize};

use crate::evolution::Winner;

/// What an `enable` needs besides the statistical evidence (`[validation]` keys).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Gates {
    /// Least out-of-sample CAGR (fraction a year) to enable.
    pub min_oos_return: f64,
    /// Least out-of-sample capital at work (fraction of equity) to enable.
    pub min_capital_at_work: f64,
    /// Whether enabling needs to beat the passive benchmark.
    pub benchmark: BenchmarkGate,
}

impl Default for Gates {
    /// 2 % a year, 10 % of the capital at work, beat the passive benchmark.
    fn default() -> Self {
        Gates { min_oos_return: 0.02, min_capital_at_work: 0.10, benchmark: BenchmarkGate::Passive }
    }
}

/// Whether an `enable` must beat the passive benchmark (`[validation] benchmark`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkGate {
    /// Must beat the universe's equal-weight buy-and-hold after costs.
    Passive,
    /// Judged on its own figures only (e.g. a hedge meant to lag the market).
    Absolute,
}

/// A family's record against one passive alternative over the same out-of-sample bars.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Passive {
    /// What was held, e.g. `equal-weight buy-and-hold of 511 symbols` or `SPY`.
    pub name: String,
    /// The benchmark's CAGR.
    pub cagr: f64,
    /// The family's CAGR minus the benchmark's.
    pub excess_return: f64,
    /// Annualised mean over standard deviation of the per-bar return difference.
    pub information_ratio: f64,
    /// Regression slope of the family's per-bar returns on the benchmark's.
    pub beta: f64,
}

/// The winner `w`'s out-of-sample record (its equity over the bars `oos` of `data`, from `cash`)
/// against the passive alternatives: equal-weight buy-and-hold of the tradable universe first,
/// then SPY when present. Nothing is backtested again: the equity comes from the backtest
/// validation ran (which also measured capital at work, in the winner's figures). `None`
/// without an out-of-sample test.
pub fn assess(w: &Winner, data: &MarketData, cash: f64, oos: Range<usize>) -> Option<Vec<Passive>> {
    w.out_of_sample.as_ref()?;
    let returns = returns_from(cash, w.oos_equity.iter().map(|e| e.1));
    let tradable: Vec<usize> = data.tradable().collect();
    let mut passive = vec![versus_holding(data, &tradable, oos.clone(), &returns)?];
    if let Some(spy) = data.find("SPY") {
        let mut spy = versus_holding(data, &[spy], oos, &returns)?;
        spy.name = "SPY".to_string();
        passive.push(spy);
    }
    Some(passive)
}

/// A whole-history record (the account's `equity` at each bar of `data`, from `cash`) against
/// holding the tradable universe in equal parts from the first close: the passive gate's
/// comparison over every bar instead of the out-of-sample ones (`tradebot bench truth` judges its
/// oracle by it). `None` with fewer than two bars.
pub fn versus_universe(data: &MarketData, cash: f64, equity: &[f64]) -> Option<Passive> {
    let returns = returns_from(cash, equity.iter().copied());
    let tradable: Vec<usize> = data.tradable().collect();
    versus_holding(data, &tradable, 1..equity.len(), returns.get(1..)?)
}

/// Per-bar returns of an equity curve that starts from `cash`, one per equity point.
pub(crate) fn returns_from(cash: f64, equity: impl Iterator<Item = f64>) -> Vec<f64> {
    std::iter::once(cash).chain(equity).collect::<Vec<_>>().windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// A record's per-bar `returns` over the bars `oos` of `data` against holding `held` in equal
/// amounts from the close before `oos` (never rebalanced), named `equal-weight buy-and-hold of
/// N symbols`. `None` when `oos` is empty or starts at the first bar (no close to buy at).
pub(crate) fn versus_holding(
    data: &MarketData,
    held: &[usize],
    oos: Range<usize>,
    returns: &[f64],
) -> Option<Passive> {
    if oos.is_empty() {
        return None;
    }
    let ppy = periods_per_year(data.timeframe(), first_asset_class(data));
    let start = oos.start.checked_sub(1)?;
    let bench = equal_weight(data, held, start..oos.end);
    let name = format!("equal-weight buy-and-hold of {} symbols", held.len());
    Some(compare(name, returns, &bench, ppy))
}

/// The asset class the metrics annualise by: the first symbol's.
fn first_asset_class(data: &MarketData) -> AssetClass {
    data.symbols()[0].meta.asset_class
}

/// Per-bar returns of holding `symbols` in equal amounts from the close of `bars.start`
/// (never rebalanced), one per bar of `bars.start + 1..bars.end`.
fn equal_weight(data: &MarketData, symbols: &[usize], bars: Range<usize>) -> Vec<f64> {
    let value = |t: usize| {
        symbols
            .iter()
            .map(|&i| {
                let close = data.symbols()[i].bars.close();
                close[t] / close[bars.start]
            })
            .sum::<f64>()
    };
    let values: Vec<f64> = bars.clone().map(value).collect();
    values.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// The family's per-bar `returns` against the benchmark's over the same bars.
fn compare(name: String, returns: &[f64], bench: &[f64], ppy: f64) -> Passive {
    let n = returns.len().min(bench.len());
    let (r, b) = (&returns[..n], &bench[..n]);
    let cagr = |x: &[f64]| {
        let growth: f64 = x.iter().map(|v| 1.0 + v).product();
        if n == 0 || growth <= 0.0 { -1.0 } else { growth.powf(ppy / n as f64) - 1.0 }
    };
    let mean = |x: &[f64]| x.iter().sum::<f64>() / n.max(1) as f64;
    let (mr, mb) = (mean(r), mean(b));
    let diff: Vec<f64> = r.iter().zip(b).map(|(x, y)| x - y).collect();
    let md = mean(&diff);
    let sd = (diff.iter().map(|d| (d - md).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64).sqrt();
    let cov: f64 = r.iter().zip(b).map(|(x, y)| (x - mr) * (y - mb)).sum();
    let var: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    let bench_cagr = cagr(b);
    Passive {
        name,
        cagr: bench_cagr,
        excess_return: cagr(r) - bench_cagr,
        information_ratio: if sd > 0.0 { md / sd * ppy.sqrt() } else { 0.0 },
        beta: if var > 0.0 { cov / var } else { 0.0 },
    }
}

/// `x ≥ min`, false when `x` is NaN.
fn at_least(x: f64, min: f64) -> bool {
    x >= min
}

/// Turns an `enable` that fails a gate into `keep`, naming every shortfall; any other verdict
/// passes through. `oos` is the family's out-of-sample figures (CAGR and capital at work),
/// `passive` its comparison with the passive alternatives ([`assess`]; `None` without an
/// out-of-sample backtest); `currently_enabled` says what `keep` keeps.
pub fn gate(
    gates: &Gates,
    (verdict, reason): (Verdict, String),
    oos: &Figures,
    passive: Option<&[Passive]>,
    currently_enabled: bool,
) -> (Verdict, String) {
    if verdict != Verdict::Enable {
        return (verdict, reason);
    }
    let mut short = Vec::new();
    if !at_least(oos.cagr, gates.min_oos_return) {
        short.push(format!(
            "out-of-sample CAGR {:.1} % is below the {:.1} % required",
            oos.cagr * 100.0,
            gates.min_oos_return * 100.0
        ));
    }
    match passive {
        None => short.push("its capital at work could not be measured (no out-of-sample backtest)".into()),
        Some(passive) => {
            if !at_least(oos.capital_at_work, gates.min_capital_at_work) {
                short.push(format!(
                    "out-of-sample capital at work {:.1} % is below the {:.1} % required",
                    oos.capital_at_work * 100.0,
                    gates.min_capital_at_work * 100.0
                ));
            }
            if gates.benchmark == BenchmarkGate::Passive
                && let Some(p) = passive.first()
                && !at_least(p.excess_return, f64::MIN_POSITIVE)
            {
                short.push(format!(
                    "it trails the {} by {:.1} % a year after costs",
                    p.name,
                    -p.excess_return * 100.0
                ));
            }
        }
    }
    if short.is_empty() {
        return (verdict, reason);
    }
    let state = if currently_enabled { "enabled" } else { "disabled" };
    (Verdict::Keep, format!("stays {state}: {} (statistically: {reason})", short.join("; ")))
}

/// True when a report row earns less than `gates.min_oos_return` a year out of sample or keeps
/// less than `gates.min_capital_at_work` of its equity at work (a missing figure counts as
/// dust): such a row ranks below the rows that deploy capital, whatever its Sharpe ratio.
pub fn is_dust(row: &crate::research_report::FamilyReport, gates: &Gates) -> bool {
    let oos = &row.out_of_sample;
    !(at_least(oos.cagr, gates.min_oos_return) && at_least(oos.capital_at_work, gates.min_capital_at_work))
}

/// The state of a family after the run, as a reader needs it.
/// Serialised as it reads (`"unchanged (enabled)"`), as the report's JSON has always shown it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum State {
    /// Switched on (or confirmed on) by an `enable`.
    #[serde(rename = "enabled")]
    Enabled,
    /// Switched off (or confirmed off) by a `disable`.
    #[serde(rename = "disabled")]
    Disabled,
    /// `keep`: left as it was, which is enabled.
    #[serde(rename = "unchanged (enabled)")]
    UnchangedEnabled,
    /// `keep`: left as it was, which is disabled.
    #[serde(rename = "unchanged (disabled)")]
    UnchangedDisabled,
    /// `keep` on a family no earlier run judged: it stays off, as every new family starts
    /// (there is no earlier state to leave "unchanged").
    #[serde(rename = "disabled (new; keep = not enough evidence)")]
    NewDisabled,
}

impl State {
    /// The state after `verdict` on a family that was enabled or not (`before`; `None` when no
    /// earlier run judged it).
    pub fn after(verdict: Verdict, before: Option<bool>) -> State {
        match (verdict, before) {
            (Verdict::Enable, _) => State::Enabled,
            (Verdict::Disable, _) => State::Disabled,
            (Verdict::Keep, Some(true)) => State::UnchangedEnabled,
            (Verdict::Keep, Some(false)) => State::UnchangedDisabled,
            (Verdict::Keep, None) => State::NewDisabled,
        }
    }

    /// True when the family trades after the run.
    pub fn is_enabled(self) -> bool {
        matches!(self, State::Enabled | State::UnchangedEnabled)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Enabled => "enabled",
            State::Disabled => "disabled",
            State::UnchangedEnabled => "unchanged (enabled)",
            State::UnchangedDisabled => "unchanged (disabled)",
            State::NewDisabled => "disabled (new; keep = not enough evidence)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Out-of-sample figures with this CAGR and capital at work.
    fn oos(cagr: f64, capital_at_work: f64) -> Figures {
        Figures { cagr, capital_at_work, ..Figures::missing() }
    }

    /// The equal-weight book, `excess` a year behind or ahead.
    fn passive(excess: f64) -> Vec<Passive> {
        vec![Passive {
            name: "equal-weight buy-and-hold of 3 symbols".into(),
            cagr: 0.08,
            excess_return: excess,
            information_ratio: 0.3,
            beta: 0.9,
        }]
    }

    #[test]
    fn dust_and_laggards_are_not_enabled() {
        let g = Gates::default();
        let strong = || (Verdict::Enable, "strong".to_string());
        assert_eq!(gate(&g, strong(), &oos(0.12, 0.8), Some(&passive(0.02)), false), strong());
        // The case: Sharpe 1.56 on 0.1 % a year with 0.1 % of the capital at work.
        let (v, why) = gate(&g, strong(), &oos(0.001, 0.001), Some(&passive(-0.07)), false);
        assert_eq!(v, Verdict::Keep);
        assert_eq!(
            why,
            "stays disabled: out-of-sample CAGR 0.1 % is below the 2.0 % required; out-of-sample capital at work \
             0.1 % is below the 10.0 % required; it trails the equal-weight buy-and-hold of 3 symbols by 7.0 % a \
             year after costs (statistically: strong)"
        );
        // Beating the benchmark is not needed when the file says the gate is absolute.
        let absolute = Gates { benchmark: BenchmarkGate::Absolute, ..g };
        assert_eq!(gate(&absolute, strong(), &oos(0.05, 0.5), Some(&passive(-0.03)), true), strong());
        let (v, why) = gate(&g, strong(), &oos(0.05, 0.5), Some(&passive(-0.03)), true);
        assert_eq!(v, Verdict::Keep);
        assert!(why.starts_with("stays enabled: it trails"), "{why}");
        // NaN figures never pass; other verdicts pass through untouched.
        assert_eq!(gate(&g, strong(), &oos(f64::NAN, 0.5), Some(&passive(0.1)), false).0, Verdict::Keep);
        assert_eq!(gate(&g, strong(), &oos(0.1, f64::NAN), Some(&passive(0.1)), false).0, Verdict::Keep);
        assert_eq!(gate(&g, strong(), &oos(0.1, 0.5), None, false).0, Verdict::Keep);
        let off = (Verdict::Disable, "weak".to_string());
        assert_eq!(gate(&g, off.clone(), &oos(0.0, 0.0), None, true), off);
    }

    #[test]
    fn states_say_what_the_family_does_after_the_run() {
        let names: Vec<String> = [
            (Verdict::Enable, None),
            (Verdict::Disable, Some(true)),
            (Verdict::Keep, Some(true)),
            (Verdict::Keep, Some(false)),
            (Verdict::Keep, None),
        ]
        .iter()
        .map(|&(v, before)| State::after(v, before).to_string())
        .collect();
        // A family no earlier run judged has no state to leave "unchanged": `keep` leaves it
        // off, as it started (issue 13 item 5).
        assert_eq!(
            names,
            [
                "enabled",
                "disabled",
                "unchanged (enabled)",
                "unchanged (disabled)",
                "disabled (new; keep = not enough evidence)"
            ]
        );
        assert!(State::UnchangedEnabled.is_enabled() && !State::UnchangedDisabled.is_enabled());
        assert!(!State::NewDisabled.is_enabled());
        // The report's JSON says what the text says.
        assert_eq!(
            serde_json::to_value(State::NewDisabled).unwrap(),
            "disabled (new; keep = not enough evidence)"
        );
    }

    #[test]
    fn passive_comparison_of_a_known_series() {
        // A family that earns exactly twice the benchmark's per-bar returns: beta 2.
        let bench = [0.01, -0.02, 0.015, 0.0, 0.005];
        let family: Vec<f64> = bench.iter().map(|b| 2.0 * b).collect();
        let p = compare("b".into(), &family, &bench, 252.0);
        assert!((p.beta - 2.0).abs() < 1e-12, "{}", p.beta);
        let growth: f64 = bench.iter().map(|b| 1.0 + b).product();
        assert!((p.cagr - (growth.powf(252.0 / 5.0) - 1.0)).abs() < 1e-12);
        let same = compare("b".into(), &bench, &bench, 252.0);
        assert_eq!((same.excess_return, same.information_ratio, same.beta), (0.0, 0.0, 1.0));
    }
}
