//! `vol_managed_momentum`: time-series momentum scaled down when volatility is high.

use std::num::NonZeroUsize;

use super::select::{LegRule, POSITIONS, limit, per_symbol_strongest};
use super::{
    Cadence, MarketData, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy,
    StrategyError, SymbolData,
};
use datasets::Timeframe;

use crate::indicators::{RealisedVol, Resumable, Roc};
use crate::metrics::periods_per_year;
use crate::sim::{Signal, SignalColumn, Strength};

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
pub(super) fn rule(params: &Params, data: &MarketData) -> Rule {
    Rule {
        lookback: params.usize("lookback"),
        vol_window: params.usize("vol_window"),
        target: params.real("target_vol"),
        timeframe: data.timeframe(),
        mom: Vec::new(),
        vol: Vec::new(),
        returns: Vec::new(),
    }
}

/// [`rule`]: the parameters, and buffers kept from symbol to symbol.
pub(super) struct Rule {
    /// Bars of the momentum.
    lookback: usize,
    /// Log returns of the realised volatility.
    vol_window: usize,
    /// The annual volatility an entry at full strength aims at.
    target: f64,
    /// The bars' timeframe, for annualising.
    timeframe: Timeframe,
    /// The block's momentum.
    mom: Vec<f64>,
    /// The block's realised volatility.
    vol: Vec<f64>,
    /// The log returns the realised volatility reads.
    returns: Vec<f64>,
}

impl LegRule for Rule {
    type Leg = (Roc, RealisedVol);

    fn start(&self, symbol: &SymbolData) -> Result<Self::Leg, StrategyError> {
        let ppy = periods_per_year(self.timeframe, symbol.meta.asset_class);
        Ok((Roc::new(self.lookback)?, RealisedVol::new(self.vol_window, ppy)?))
    }

    fn extend(
        &mut self,
        (roc, realised): &mut Self::Leg,
        s: &SymbolData,
        end: usize,
        signals: &mut SignalColumn,
        score: &mut Vec<f64>,
    ) -> Result<(), StrategyError> {
        let close = &s.bars.close()[..end];
        let (mom, vol) = (&mut self.mom, &mut self.vol);
        for buffer in [&mut *mom, &mut *vol] {
            buffer.resize(end - roc.seen(), 0.0);
        }
        roc.extend_into(close, mom)?;
        realised.extend_with(close, vol, &mut self.returns)?;
        score.extend(mom.iter().zip(&*vol).map(|(&m, &v)| if v > 0.0 { m / v } else { m }));
        let target = self.target;
        signals.extend(mom.iter().zip(&*vol).map(|(&m, &v)| {
            if m < 0.0 {
                Signal::Exit
            } else if m > 0.0 && v >= 0.0 {
                let strength = if v > 0.0 { (target / v).min(1.0) } else { 1.0 };
                Strength::new(strength).map_or(Signal::Hold, Signal::Enter)
            } else {
                Signal::Hold
            }
        }));
        Ok(())
    }
}
