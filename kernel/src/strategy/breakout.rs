//! `relative_volume_breakout`: a new high on unusually heavy volume.

use super::{
    MarketData, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy, StrategyError,
    per_symbol,
};
use crate::indicators::{relative_volume, rolling_max, rolling_min};
use crate::sim::{Signal, Strength};

/// Enter when the close breaks above the highest high of the `lookback` bars before it while
/// relative volume (volume over the mean of the previous `rvol_window` bars) exceeds
/// `min_rvol`; exit when the close falls below the lowest low of the `exit_lookback` bars
/// before it (a Donchian-style trailing exit).
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
]);

impl Strategy for RelativeVolumeBreakout {
    fn name(&self) -> &'static str {
        "relative_volume_breakout"
    }

    fn description(&self) -> &'static str {
        "long when the close breaks the prior N-bar high on relative volume above k, flat below the prior M-bar low"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        let (lookback, rvol_window) = (params.usize("lookback"), params.usize("rvol_window"));
        let (min_rvol, exit_lookback) = (params.real("min_rvol"), params.usize("exit_lookback"));
        per_symbol(self.name(), data, |s| {
            let b = &s.bars;
            let high = rolling_max(b.high(), lookback)?;
            let low = rolling_min(b.low(), exit_lookback)?;
            let rvol = relative_volume(b.volume(), rvol_window)?;
            Ok((0..b.len())
                .map(|t| {
                    let Some(prev) = t.checked_sub(1) else { return Signal::Hold };
                    let close = b.close()[t];
                    if close < low[prev] {
                        Signal::Exit
                    } else if close > high[prev] && rvol[t] > min_rvol {
                        Signal::Enter(Strength::FULL)
                    } else {
                        Signal::Hold
                    }
                })
                .collect())
        })
    }
}
