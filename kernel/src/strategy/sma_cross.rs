//! `sma_cross`: the classic moving-average crossover, long only.

use super::{
    MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy,
    StrategyError, per_symbol,
};
use crate::indicators::sma_into;
use crate::sweep::cross_signals_into;

/// Enter all-in when the fast SMA of the close crosses above the slow SMA; exit the whole
/// position when it crosses below, with the cross of [`cross_signals_into`] (strict, as
/// backtesting.py's `crossover`: touching is no cross, NaN never crosses).
#[derive(Clone, Copy, Debug, Default)]
pub struct SmaCross;

static SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec { name: "fast", kind: ParamKind::Integer { min: 2, max: 200 }, default: ParamValue::Int(10) },
    ParamSpec { name: "slow", kind: ParamKind::Integer { min: 3, max: 400 }, default: ParamValue::Int(20) },
]);

impl Strategy for SmaCross {
    fn name(&self) -> &'static str {
        "sma_cross"
    }

    fn description(&self) -> &'static str {
        "long when the fast SMA of the close crosses above the slow SMA, flat when it crosses below"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        let (fast, slow) = (params.int("fast"), params.int("slow"));
        if fast >= slow {
            let rule = format!("fast ({fast}) must be below slow ({slow})");
            return Err(ParamError::Constraint { strategy: self.name(), rule });
        }
        Ok(())
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        let (fast, slow) = (params.usize("fast"), params.usize("slow"));
        let (mut f, mut sl) = (vec![0.0; data.len()], vec![0.0; data.len()]);
        per_symbol(self.name(), data, |s| {
            let close = s.bars.close();
            sma_into(close, fast, &mut f)?;
            sma_into(close, slow, &mut sl)?;
            let mut signals = Vec::with_capacity(close.len());
            cross_signals_into(&f, &sl, &mut signals)?;
            Ok(signals)
        })
    }
}
