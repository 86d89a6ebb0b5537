//! `mean_reversion`: buy a stretch below the mean, sell when price has reverted.

use std::num::NonZeroUsize;

use super::select::{LegRule, POSITIONS, limit, per_symbol_strongest};
use super::{
    Cadence, MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet,
    Strategy, StrategyError, SymbolData, exit_or_enter,
};
use crate::indicators::{Resumable, Rsi, ZScore};
use crate::sim::SignalColumn;

/// Enter when the close's z-score against its `window`-bar mean is at or below `−entry_z`
/// and the RSI(`rsi_period`) is at or below `rsi_oversold` (100 turns the RSI filter off);
/// exit when the z-score is back at or above `exit_z`. At most `positions` symbols are held,
/// each on `1/positions` of the sleeve; a bar's entries beyond the free slots go to the most
/// stretched (lowest z-score) first.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanReversion;

static SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec { name: "window", kind: ParamKind::Integer { min: 5, max: 200 }, default: ParamValue::Int(20) },
    ParamSpec {
        name: "entry_z",
        kind: ParamKind::Real { min: 0.5, max: 4.0 },
        default: ParamValue::Real(2.0),
    },
    ParamSpec {
        name: "exit_z",
        kind: ParamKind::Real { min: -2.0, max: 2.0 },
        default: ParamValue::Real(0.0),
    },
    ParamSpec {
        name: "rsi_period",
        kind: ParamKind::Integer { min: 2, max: 50 },
        default: ParamValue::Int(14),
    },
    ParamSpec {
        name: "rsi_oversold",
        kind: ParamKind::Real { min: 1.0, max: 100.0 },
        default: ParamValue::Real(35.0),
    },
    POSITIONS,
]);

impl Strategy for MeanReversion {
    fn name(&self) -> &'static str {
        "mean_reversion"
    }

    fn cadence(&self) -> Option<Cadence> {
        // Daily per-symbol rule: 10:00 New York.
        Some(Cadence::daily(10, 0))
    }

    fn description(&self) -> &'static str {
        "long when the close's z-score is below -entry_z and RSI is oversold, flat once z reaches exit_z"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        let (entry, exit) = (params.real("entry_z"), params.real("exit_z"));
        if exit <= -entry {
            let rule = format!("exit_z ({exit}) must be above -entry_z ({})", -entry);
            return Err(ParamError::Constraint { strategy: self.name(), rule });
        }
        Ok(())
    }

    fn max_positions(&self, params: &Params, data: &MarketData) -> Option<NonZeroUsize> {
        limit(params, data)
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        per_symbol_strongest(self.name(), params, data, rule(params, data))
    }
}

/// The rule on one symbol's bars: its signals, and how far its close is stretched below the
/// mean (−z) as each bar's entry score.
pub(super) fn rule(params: &Params, _data: &MarketData) -> Rule {
    Rule {
        window: params.usize("window"),
        period: params.usize("rsi_period"),
        entry: params.real("entry_z"),
        exit: params.real("exit_z"),
        oversold: params.real("rsi_oversold"),
        z: Vec::new(),
        r: Vec::new(),
    }
}

/// [`rule`]: the parameters, and buffers kept from symbol to symbol.
pub(super) struct Rule {
    /// Bars of the z-score.
    window: usize,
    /// Bars of the RSI.
    period: usize,
    /// The z-score at or below `−entry` that may enter.
    entry: f64,
    /// The z-score at or above which a position exits.
    exit: f64,
    /// The RSI at or below which an entry may fire.
    oversold: f64,
    /// The block's z-scores.
    z: Vec<f64>,
    /// The block's RSI.
    r: Vec<f64>,
}

impl LegRule for Rule {
    type Leg = (ZScore, Rsi);

    fn start(&self, _symbol: &SymbolData) -> Result<Self::Leg, StrategyError> {
        Ok((ZScore::new(self.window)?, Rsi::new(self.period)?))
    }

    fn extend(
        &mut self,
        (zscore, rsi): &mut Self::Leg,
        s: &SymbolData,
        end: usize,
        signals: &mut SignalColumn,
        score: &mut Vec<f64>,
    ) -> Result<(), StrategyError> {
        let close = &s.bars.close()[..end];
        let (z, r) = (&mut self.z, &mut self.r);
        for buffer in [&mut *z, &mut *r] {
            buffer.resize(end - zscore.seen(), 0.0);
        }
        zscore.extend_into(close, z)?;
        rsi.extend_into(close, r)?;
        score.extend(z.iter().map(|z| -z));
        let (entry, exit, oversold) = (self.entry, self.exit, self.oversold);
        let signal = |(&z, &r): (&f64, &f64)| exit_or_enter(z >= exit, (z <= -entry) & (r <= oversold));
        signals.extend(z.iter().zip(&*r).map(signal));
        Ok(())
    }
}
