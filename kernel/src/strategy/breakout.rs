//! `relative_volume_breakout`: a new high on unusually heavy volume.

use std::num::NonZeroUsize;

use super::select::{LegRule, POSITIONS, limit, per_symbol_strongest};
use super::{
    Cadence, MarketData, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy,
    StrategyError, SymbolData, exit_or_enter,
};
use crate::indicators::{RelativeVolume, Resumable, RollingExtreme};
use crate::sim::SignalColumn;

/// Enter when the close breaks above the highest high of the `lookback` bars before it while
/// relative volume (volume over the mean of the previous `rvol_window` bars) exceeds
/// `min_rvol`; exit when the close falls below the lowest low of the `exit_lookback` bars
/// before it (a Donchian-style trailing exit). At most `positions` symbols are held, each on
/// `1/positions` of the sleeve; a bar's entries beyond the free slots go to the heaviest
/// relative volume first.
#[derive(Clone, Copy, Debug, Default)]
pub struct RelativeVolumeBreakout;

static SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec {
        name: "lookback",
        kind: ParamKind::Integer { min: 5, max: 250 },
        default: ParamValue::Int(20),
    },
    ParamSpec {
        name: "rvol_window",
        kind: ParamKind::Integer { min: 5, max: 100 },
        default: ParamValue::Int(20),
    },
    ParamSpec {
        name: "min_rvol",
        kind: ParamKind::Real { min: 1.0, max: 10.0 },
        default: ParamValue::Real(1.5),
    },
    ParamSpec {
        name: "exit_lookback",
        kind: ParamKind::Integer { min: 2, max: 250 },
        default: ParamValue::Int(10),
    },
    POSITIONS,
]);

impl Strategy for RelativeVolumeBreakout {
    fn name(&self) -> &'static str {
        "relative_volume_breakout"
    }

    fn cadence(&self) -> Option<Cadence> {
        // Daily per-symbol rule: 10:00 New York.
        Some(Cadence::daily(10, 0))
    }

    fn description(&self) -> &'static str {
        "long when the close breaks the prior N-bar high on relative volume above k, flat below the prior M-bar low"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn max_positions(&self, params: &Params, data: &MarketData) -> Option<NonZeroUsize> {
        limit(params, data)
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        per_symbol_strongest(self.name(), params, data, rule(params, data))
    }
}

/// The rule on one symbol's bars: its signals, and its relative volume as each bar's entry
/// score.
pub(super) fn rule(params: &Params, _data: &MarketData) -> Rule {
    Rule {
        lookback: params.usize("lookback"),
        rvol_window: params.usize("rvol_window"),
        min_rvol: params.real("min_rvol"),
        exit_lookback: params.usize("exit_lookback"),
        high: Vec::new(),
        low: Vec::new(),
        rvol: Vec::new(),
    }
}

/// [`rule`]: the parameters, and buffers kept from symbol to symbol.
pub(super) struct Rule {
    /// Bars of the breakout channel's high.
    lookback: usize,
    /// Bars the relative volume compares with.
    rvol_window: usize,
    /// The relative volume above which a breakout enters.
    min_rvol: f64,
    /// Bars of the exit channel's low.
    exit_lookback: usize,
    /// The block's channel highs.
    high: Vec<f64>,
    /// The block's channel lows.
    low: Vec<f64>,
    /// The block's relative volumes.
    rvol: Vec<f64>,
}

/// One symbol's state in [`Rule`]: its channels, its relative volume, and the channel low and
/// high of the last bar seen (NaN before the first), which the next bar compares with.
#[derive(Clone)]
pub(super) struct Leg {
    /// The channel's high.
    high: RollingExtreme,
    /// The exit channel's low.
    low: RollingExtreme,
    /// Relative volume.
    rvol: RelativeVolume,
    /// The channel (low, high) of the last bar seen.
    last: (f64, f64),
}

impl LegRule for Rule {
    type Leg = Leg;

    fn start(&self, _symbol: &SymbolData) -> Result<Leg, StrategyError> {
        Ok(Leg {
            high: RollingExtreme::max(self.lookback)?,
            low: RollingExtreme::min(self.exit_lookback)?,
            rvol: RelativeVolume::new(self.rvol_window)?,
            last: (f64::NAN, f64::NAN),
        })
    }

    fn extend(
        &mut self,
        leg: &mut Leg,
        s: &SymbolData,
        end: usize,
        signals: &mut SignalColumn,
        score: &mut Vec<f64>,
    ) -> Result<(), StrategyError> {
        let b = &s.bars;
        let (high, low, rvol) = (&mut self.high, &mut self.low, &mut self.rvol);
        let from = leg.high.seen();
        for buffer in [&mut *high, &mut *low, &mut *rvol] {
            buffer.resize(end - from, 0.0);
        }
        leg.high.extend_into(&b.high()[..end], high)?;
        leg.low.extend_into(&b.low()[..end], low)?;
        leg.rvol.extend_into(&b.volume()[..end], rvol)?;
        score.extend_from_slice(rvol);
        // Bar t compares its close and relative volume with the channel of bars t − n ..= t − 1
        // (none before the first bar, so it holds).
        let now = b.close()[from..end].iter().zip(&*rvol);
        let before = std::iter::once(leg.last).chain(low.iter().copied().zip(high.iter().copied()));
        let min_rvol = self.min_rvol;
        signals.extend(now.zip(before).map(|((&close, &rvol), (low, high))| {
            exit_or_enter(close < low, (close > high) & (rvol > min_rvol))
        }));
        if let (Some(&l), Some(&h)) = (low.last(), high.last()) {
            leg.last = (l, h);
        }
        Ok(())
    }
}
