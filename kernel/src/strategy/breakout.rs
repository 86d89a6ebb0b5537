//! `relative_volume_breakout`: a new high on unusually heavy volume.

use std::num::NonZeroUsize;

use super::select::{POSITIONS, limit, per_symbol_strongest};
use super::{
    Cadence, MarketData, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy,
    StrategyError, SymbolData, exit_or_enter,
};
use crate::indicators::{relative_volume_into, rolling_max_into, rolling_min_into};
use crate::sim::Signal;

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
pub(super) fn rule(
    params: &Params,
    data: &MarketData,
) -> impl FnMut(&SymbolData, &mut Vec<f64>) -> Result<Vec<Signal>, StrategyError> + use<> {
    let (lookback, rvol_window) = (params.usize("lookback"), params.usize("rvol_window"));
    let (min_rvol, exit_lookback) = (params.real("min_rvol"), params.usize("exit_lookback"));
    let cap = data.len();
    let (mut high, mut low, mut rvol) =
        (Vec::with_capacity(cap), Vec::with_capacity(cap), Vec::with_capacity(cap));
    move |s, score| {
        let b = &s.bars;
        let len = b.len();
        for buffer in [&mut high, &mut low, &mut rvol] {
            buffer.resize(len, 0.0);
        }
        rolling_max_into(b.high(), lookback, &mut high)?;
        rolling_min_into(b.low(), exit_lookback, &mut low)?;
        relative_volume_into(b.volume(), rvol_window, &mut rvol)?;
        score.extend_from_slice(&rvol);
        // Bar t compares its close and relative volume with the channel of bars t − n ..= t − 1.
        let now = b.close().iter().zip(&rvol).skip(1);
        let before = low.iter().zip(&high);
        let signals = now.zip(before).map(|((&close, &rvol), (&low, &high))| {
            exit_or_enter(close < low, (close > high) & (rvol > min_rvol))
        });
        let first = (len > 0).then_some(Signal::Hold);
        Ok(first.into_iter().chain(signals).collect())
    }
}
