//! Cross-sectional strategies: rank a universe on a schedule and hold the top k.

use std::num::NonZeroUsize;

use chrono::Datelike;
use datasets::calendar;
use datasets::{AssetClass, Timestamp};

use super::{
    Cadence, LegSignals, MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params,
    SignalSet, Strategy, StrategyError,
};
use crate::sim::{Signal, SignalColumn, Strength};

/// Rebalance bars: the first bar of every New York calendar month whose number since year 0
/// is a multiple of `every_months` (so the schedule does not depend on where the data starts).
/// Bar 0 is never one: it has no previous bar to tell a new month from.
pub(super) fn rebalance_bars(timestamps: &[i64], every_months: usize) -> Vec<bool> {
    let month = |ts: i64| {
        let d = calendar::session_date(Timestamp(ts));
        i64::from(d.year()) * 12 + i64::from(d.month0())
    };
    let mut out = vec![false; timestamps.len()];
    for t in 1..timestamps.len() {
        let m = month(timestamps[t]);
        out[t] = m != month(timestamps[t - 1]) && m.rem_euclid(every_months as i64) == 0;
    }
    out
}

/// Legs for holding the `k` best-scoring `candidates` (positions in the data): on each
/// rebalance bar the top `k` by `score(t, symbol)` (higher is better; NaN is unrankable; ties
/// go to the earlier candidate) get `Enter`, every other candidate `Exit`. A rebalance bar
/// with no rankable candidate (warm-up) changes nothing; other bars `Hold`.
pub(super) fn hold_top_k(
    candidates: &[usize],
    k: usize,
    rebalance: &[bool],
    score: impl Fn(usize, usize) -> f64,
) -> SignalSet {
    let n = rebalance.len();
    let mut legs: Vec<LegSignals> =
        candidates.iter().map(|&symbol| LegSignals { symbol, signals: SignalColumn::holds(n) }).collect();
    let mut ranked: Vec<(f64, usize)> = Vec::with_capacity(candidates.len());
    for t in (0..n).filter(|&t| rebalance[t]) {
        ranked.clear();
        ranked.extend(
            candidates.iter().enumerate().map(|(c, &s)| (score(t, s), c)).filter(|(x, _)| !x.is_nan()),
        );
        if ranked.is_empty() {
            continue;
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for leg in &mut legs {
            leg.signals.set(t, Signal::Exit);
        }
        for &(_, c) in ranked.iter().take(k) {
            legs[c].signals.set(t, Signal::Enter(Strength::FULL));
        }
    }
    SignalSet { legs }
}

/// [`hold_top_k`] point in time: a candidate is ranked only on the bars where `data` lets it be
/// entered ([`MarketData::can_enter_at`]), and its leg is held before its listing and exited
/// at its last bar.
pub(super) fn hold_listed_top_k(
    data: &MarketData,
    candidates: &[usize],
    k: usize,
    rebalance: &[bool],
    score: impl Fn(usize, usize) -> f64,
) -> SignalSet {
    let mut set =
        hold_top_k(
            candidates,
            k,
            rebalance,
            |t, s| {
                if data.can_enter_at(s, t) { score(t, s) } else { f64::NAN }
            },
        );
    for leg in &mut set.legs {
        leg.signals = std::mem::take(&mut leg.signals).restrict(data.listed(leg.symbol));
    }
    set
}

/// Return from `t − lookback` to `t − skip` of `close`; NaN before enough history.
pub(super) fn lagged_return(close: &[f64], t: usize, lookback: usize, skip: usize) -> f64 {
    match t.checked_sub(lookback) {
        Some(start) => close[t - skip] / close[start] - 1.0,
        None => f64::NAN,
    }
}

/// Positions of the symbols matching `keep`, or an error naming the universe that is missing.
fn universe(
    strategy: &'static str,
    data: &MarketData,
    what: &str,
    keep: impl Fn(&datasets::SymbolMeta) -> bool,
) -> Result<Vec<usize>, StrategyError> {
    let found: Vec<usize> = (0..data.symbols().len()).filter(|&i| keep(&data.symbols()[i].meta)).collect();
    if found.is_empty() {
        return Err(StrategyError::MissingSymbols { strategy, what: what.to_string() });
    }
    Ok(found)
}

/// Positions held at once by a top-k strategy: its `top_k` parameter.
fn top_k_positions(params: &Params) -> Option<NonZeroUsize> {
    NonZeroUsize::new(params.usize("top_k"))
}

/// A constraint error for `strategy`.
fn constraint(strategy: &'static str, rule: String) -> ParamError {
    ParamError::Constraint { strategy, rule }
}

/// Cross-sectional 12−1 month momentum on the equities: each rebalance, rank by the return
/// from `lookback` bars ago to `skip` bars ago (252 and 21 daily bars by default, skipping
/// the last month's short-term reversal) and hold the top `top_k`.
#[derive(Clone, Copy, Debug, Default)]
pub struct FactorMomentum;

static FACTOR_SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec {
        name: "lookback",
        kind: ParamKind::Integer { min: 21, max: 756 },
        default: ParamValue::Int(252),
    },
    ParamSpec { name: "skip", kind: ParamKind::Integer { min: 0, max: 126 }, default: ParamValue::Int(21) },
    ParamSpec { name: "top_k", kind: ParamKind::Integer { min: 1, max: 500 }, default: ParamValue::Int(10) },
    ParamSpec {
        name: "rebalance_months",
        kind: ParamKind::Integer { min: 1, max: 12 },
        default: ParamValue::Int(1),
    },
]);

impl Strategy for FactorMomentum {
    fn name(&self) -> &'static str {
        "factor_momentum"
    }

    fn cadence(&self) -> Option<Cadence> {
        // Monthly rebalances need no precise time: 11:00 New York.
        Some(Cadence::daily(11, 0))
    }

    fn description(&self) -> &'static str {
        "hold the top k equities by 12-1 month momentum, rebalanced monthly"
    }

    fn space(&self) -> &'static ParamSpace {
        &FACTOR_SPACE
    }

    fn max_positions(&self, params: &Params, _data: &MarketData) -> Option<NonZeroUsize> {
        top_k_positions(params)
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        let (lookback, skip) = (params.int("lookback"), params.int("skip"));
        if skip >= lookback {
            return Err(constraint(
                self.name(),
                format!("skip ({skip}) must be below lookback ({lookback})"),
            ));
        }
        Ok(())
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        let stocks = universe(self.name(), data, "equities", |m| m.asset_class == AssetClass::Equity)?;
        let (lookback, skip) = (params.usize("lookback"), params.usize("skip"));
        let rebalance = rebalance_bars(data.timestamps(), params.usize("rebalance_months"));
        let closes: Vec<&[f64]> = data.symbols().iter().map(|s| s.bars.close()).collect();
        Ok(hold_listed_top_k(data, &stocks, params.usize("top_k"), &rebalance, |t, s| {
            lagged_return(closes[s], t, lookback, skip)
        }))
    }
}

/// Sector rotation: each rebalance, rank the sector ETFs (ETFs with a sector) by their
/// `lookback`-bar return and hold the top `top_k`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SectorRotation;

static SECTOR_SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec {
        name: "lookback",
        kind: ParamKind::Integer { min: 5, max: 504 },
        default: ParamValue::Int(126),
    },
    ParamSpec { name: "top_k", kind: ParamKind::Integer { min: 1, max: 11 }, default: ParamValue::Int(3) },
    ParamSpec {
        name: "rebalance_months",
        kind: ParamKind::Integer { min: 1, max: 12 },
        default: ParamValue::Int(1),
    },
]);

impl Strategy for SectorRotation {
    fn name(&self) -> &'static str {
        "sector_rotation"
    }

    fn cadence(&self) -> Option<Cadence> {
        // Monthly rebalances need no precise time: 11:00 New York.
        Some(Cadence::daily(11, 0))
    }

    fn description(&self) -> &'static str {
        "hold the top k sector ETFs by N-bar momentum, rebalanced monthly"
    }

    fn space(&self) -> &'static ParamSpace {
        &SECTOR_SPACE
    }

    fn max_positions(&self, params: &Params, _data: &MarketData) -> Option<NonZeroUsize> {
        top_k_positions(params)
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        let sectors = universe(self.name(), data, "sector ETFs", |m| {
            m.asset_class == AssetClass::Etf && m.sector.is_some()
        })?;
        let lookback = params.usize("lookback");
        let rebalance = rebalance_bars(data.timestamps(), params.usize("rebalance_months"));
        let closes: Vec<&[f64]> = data.symbols().iter().map(|s| s.bars.close()).collect();
        Ok(hold_listed_top_k(data, &sectors, params.usize("top_k"), &rebalance, |t, s| {
            lagged_return(closes[s], t, lookback, 0)
        }))
    }
}

/// Small-cap quality value on the equities with full fundamentals: the score is
/// `w_size·z(−ln market cap) + w_value·z(ln book-to-market) + w_quality·z(ROE)` (z-scores
/// across the candidates) and the top `top_k` are held, re-entered every
/// `rebalance_months`.
///
/// **Point in time** when the store has dated reports ([`datasets::SymbolMeta::reports`]):
/// each rebalance bar scores the equities with dated reports on the latest report known at
/// that bar, so a decision never sees a value published later. Without any dated report it
/// falls back to the symbols' undated snapshot, one set of values for the whole history —
/// no look-ahead within the bars, but not point in time either, which
/// [`Strategy::not_point_in_time`] reports and the nightly verdict refuses to enable.
#[derive(Clone, Copy, Debug, Default)]
pub struct QualitySmallcapValue;

static QUALITY_SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec { name: "top_k", kind: ParamKind::Integer { min: 1, max: 500 }, default: ParamValue::Int(10) },
    ParamSpec {
        name: "rebalance_months",
        kind: ParamKind::Integer { min: 1, max: 12 },
        default: ParamValue::Int(3),
    },
    ParamSpec {
        name: "w_size",
        kind: ParamKind::Real { min: 0.0, max: 1.0 },
        default: ParamValue::Real(1.0),
    },
    ParamSpec {
        name: "w_value",
        kind: ParamKind::Real { min: 0.0, max: 1.0 },
        default: ParamValue::Real(1.0),
    },
    ParamSpec {
        name: "w_quality",
        kind: ParamKind::Real { min: 0.0, max: 1.0 },
        default: ParamValue::Real(1.0),
    },
]);

/// Cross-sectional z-scores of `xs` (0 everywhere when they do not vary).
fn zscores(xs: &[f64]) -> Vec<f64> {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    xs.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
}

impl Strategy for QualitySmallcapValue {
    fn name(&self) -> &'static str {
        "quality_smallcap_value"
    }

    fn cadence(&self) -> Option<Cadence> {
        // Monthly rebalances need no precise time: 11:00 New York.
        Some(Cadence::daily(11, 0))
    }

    fn description(&self) -> &'static str {
        "hold the top k equities by small market cap, high book-to-market and high ROE"
    }

    fn space(&self) -> &'static ParamSpace {
        &QUALITY_SPACE
    }

    fn not_point_in_time(&self, data: &MarketData) -> Option<&'static str> {
        (!dated(data))
            .then_some("it reads one undated fundamentals snapshot for the whole history (no dated reports)")
    }

    fn max_positions(&self, params: &Params, _data: &MarketData) -> Option<NonZeroUsize> {
        top_k_positions(params)
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        if params.real("w_size") + params.real("w_value") + params.real("w_quality") <= 0.0 {
            return Err(constraint(
                self.name(),
                "at least one of w_size, w_value, w_quality must be positive".into(),
            ));
        }
        Ok(())
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        let weights = (params.real("w_size"), params.real("w_value"), params.real("w_quality"));
        let rebalance = rebalance_bars(data.timestamps(), params.usize("rebalance_months"));
        let k = params.usize("top_k");
        if !dated(data) {
            let stocks =
                universe(self.name(), data, "equities with market cap, book-to-market and ROE", |m| {
                    m.asset_class == AssetClass::Equity && usable(&m.fundamentals)
                })?;
            let snapshot: Vec<datasets::Fundamentals> =
                stocks.iter().map(|&s| data.symbols()[s].meta.fundamentals).collect();
            let score = quality_scores(&snapshot, weights);
            let mut by_symbol = vec![f64::NAN; data.symbols().len()];
            for (c, &s) in stocks.iter().enumerate() {
                by_symbol[s] = score[c];
            }
            return Ok(hold_listed_top_k(data, &stocks, k, &rebalance, |_, s| by_symbol[s]));
        }
        let stocks = universe(self.name(), data, "equities with dated fundamentals reports", |m| {
            m.asset_class == AssetClass::Equity && !m.reports.is_empty()
        })?;
        // Each rebalance bar's scores, from the reports known at that bar (NaN for a stock
        // with no usable report yet).
        let ts = data.timestamps();
        let mut scores: Vec<Vec<f64>> = vec![Vec::new(); ts.len()];
        for t in (0..ts.len()).filter(|&t| rebalance[t]) {
            let known: Vec<Option<datasets::Fundamentals>> = stocks
                .iter()
                .map(|&s| data.symbols()[s].meta.fundamentals_known_at(ts[t]).filter(usable))
                .collect();
            let present: Vec<datasets::Fundamentals> = known.iter().flatten().copied().collect();
            let score = quality_scores(&present, weights);
            let mut next = score.into_iter();
            let mut row = vec![f64::NAN; data.symbols().len()];
            for (c, &s) in stocks.iter().enumerate() {
                if known[c].is_some() {
                    row[s] = next.next().unwrap_or(f64::NAN);
                }
            }
            scores[t] = row;
        }
        Ok(hold_listed_top_k(data, &stocks, k, &rebalance, |t, s| {
            scores[t].get(s).copied().unwrap_or(f64::NAN)
        }))
    }
}

/// Whether any equity of `data` has dated fundamentals reports (the family then reads only
/// those, point in time).
fn dated(data: &MarketData) -> bool {
    data.symbols().iter().any(|s| s.meta.asset_class == AssetClass::Equity && !s.meta.reports.is_empty())
}

/// Whether `f` has the three fundamentals the score needs, in range.
fn usable(f: &datasets::Fundamentals) -> bool {
    f.market_cap.is_some_and(|c| c > 0.0)
        && f.book_to_market.is_some_and(|b| b > 0.0)
        && f.roe.is_some_and(f64::is_finite)
}

/// The quality-small-cap-value score of each of `fundamentals` (all [`usable`]) with weights
/// `(size, value, quality)`, the z-scores taken across them.
fn quality_scores(fundamentals: &[datasets::Fundamentals], (ws, wv, wq): (f64, f64, f64)) -> Vec<f64> {
    let field =
        |get: fn(&datasets::Fundamentals) -> f64| zscores(&fundamentals.iter().map(get).collect::<Vec<_>>());
    let size = field(|f| -f.market_cap.map_or(f64::NAN, f64::ln));
    let value = field(|f| f.book_to_market.map_or(f64::NAN, f64::ln));
    let quality = field(|f| f.roe.unwrap_or(f64::NAN));
    (0..fundamentals.len()).map(|c| ws * size[c] + wv * value[c] + wq * quality[c]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn rebalance_bars_are_month_starts_on_a_fixed_schedule() {
        let day = |y, m, d| calendar::daily_bar_timestamp(NaiveDate::from_ymd_opt(y, m, d).unwrap()).0;
        let ts = [
            day(2024, 1, 30),
            day(2024, 1, 31),
            day(2024, 2, 1),
            day(2024, 2, 2),
            day(2024, 3, 1),
            day(2024, 4, 1),
        ];
        assert_eq!(rebalance_bars(&ts, 1), [false, false, true, false, true, true]);
        // Month numbers since year 0: Feb 2024 = 24289 (odd), Mar = 24290, Apr = 24291.
        assert_eq!(rebalance_bars(&ts, 2), [false, false, false, false, true, false]);
    }

    #[test]
    fn top_k_enters_the_best_and_exits_the_rest_on_rebalance_bars_only() {
        let rebalance = [false, true, false, true];
        // Candidates are data positions 4, 7, 9; scores by (t, symbol).
        let score = |t: usize, s: usize| match (t, s) {
            (1, _) => f64::NAN,
            (3, 4) => 0.1,
            (3, 7) => 0.3,
            (3, 9) => 0.3,
            _ => unreachable!("scores are read on rebalance bars only"),
        };
        let set = hold_top_k(&[4, 7, 9], 1, &rebalance, score);
        let at = |leg: usize| set.legs[leg].signals.to_vec();
        let enter = Signal::Enter(Strength::FULL);
        assert_eq!(at(0), [Signal::Hold, Signal::Hold, Signal::Hold, Signal::Exit]);
        assert_eq!(at(1), [Signal::Hold, Signal::Hold, Signal::Hold, enter], "tie goes to the earlier");
        assert_eq!(at(2), [Signal::Hold, Signal::Hold, Signal::Hold, Signal::Exit]);
        assert_eq!(set.legs.iter().map(|l| l.symbol).collect::<Vec<_>>(), [4, 7, 9]);
    }
}
