//! `vol_managed_momentum`: time-series momentum scaled down when volatility is high.

use std::num::NonZeroUsize;

use super::select::{POSITIONS, limit, per_symbol_strongest};
use super::{
    Cadence, MarketData, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy,
    StrategyError, SymbolData,
};
use crate::indicators::{realised_vol, roc_into};
use crate::metrics::periods_per_year;
use crate::sim::{Signal, Strength};

/// Long while the `lookback`-bar return is positive, flat once it turns negative. An entry's
/// strength is `min(1, target_vol / realised)`, `realised` being the annualised volatility of
/// the last `vol_window` log returns (1 when it is 0), so risk is cut in turbulent markets.
/// `target_vol` is an annual volatility between 5 % and 60 %: below that the strategy would
/// trade dust whose Sharpe ratio says nothing about its P&L. At most `positions` symbols are
/// held, each on `1/positions` of the sleeve; a bar's entries beyond the free slots go to the
/// highest momentum per unit of realised volatility first.
#[derive(Clone, Copy, Debug, Default)]
pub struct VolManagedMomentum;

static SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec {
        name: "lookback",
        kind: ParamKind::Integer { min: 5, max: 504 },
        default: ParamValue::Int(126),
    },
    ParamSpec {
        name: "vol_window",
        kind: ParamKind::Integer { min: 5, max: 252 },
        default: ParamValue::Int(21),
    },
    ParamSpec {
        name: "target_vol",
        kind: ParamKind::Real { min: 0.05, max: 0.60 },
        default: ParamValue::Real(0.15),
    },
    POSITIONS,
]);

impl Strategy for VolManagedMomentum {
    fn name(&self) -> &'static str {
        "vol_managed_momentum"
    }

    fn cadence(&self) -> Option<Cadence> {
        // 10:30 New York.
        Some(Cadence::daily(10, 30))
    }

    fn description(&self) -> &'static str {
        "long while N-bar momentum is positive, entry strength min(1, target vol / realised vol)"
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

/// The rule on one symbol's bars: its signals, and its momentum per unit of realised
/// volatility as each bar's entry score.
pub(super) fn rule(
    params: &Params,
    data: &MarketData,
) -> impl FnMut(&SymbolData, &mut Vec<f64>) -> Result<Vec<Signal>, StrategyError> + use<> {
    let (lookback, vol_window, target) =
        (params.usize("lookback"), params.usize("vol_window"), params.real("target_vol"));
    let timeframe = data.timeframe();
    let mut mom = Vec::with_capacity(data.len());
    move |s, score| {
        let close = s.bars.close();
        let ppy = periods_per_year(timeframe, s.meta.asset_class);
        mom.resize(close.len(), 0.0);
        roc_into(close, lookback, &mut mom)?;
        let vol = realised_vol(close, vol_window, ppy)?;
        score.extend(mom.iter().zip(&vol).map(|(&m, &v)| if v > 0.0 { m / v } else { m }));
        Ok(mom
            .iter()
            .zip(&vol)
            .map(|(&m, &v)| {
                if m < 0.0 {
                    Signal::Exit
                } else if m > 0.0 && v >= 0.0 {
                    let strength = if v > 0.0 { (target / v).min(1.0) } else { 1.0 };
                    Strength::new(strength).map_or(Signal::Hold, Signal::Enter)
                } else {
                    Signal::Hold
                }
            })
            .collect())
    }
}
