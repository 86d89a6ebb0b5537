//! `sma_cross`: the classic moving-average crossover, long only.

use super::{
    Cadence, MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet,
    Strategy, StrategyError, per_symbol,
};
use std::collections::HashMap;

use datasets::Bars;

use crate::indicators::sma_into;
use crate::metrics::{Figures, MetricsConfig};
use crate::sim::Simulator;
use crate::sweep::{SweepError, cross_signals_into, sma_cross_grid};

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

    fn cadence(&self) -> Option<Cadence> {
        // Daily per-symbol rule: 10:00 New York.
        Some(Cadence::daily(10, 0))
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

    /// [`sma_cross_grid`] over the span of the combinations' windows, when they fill at least a
    /// quarter of that span's pairs (the grid runs all of them).
    fn fast_grid(
        &self,
        bars: &Bars,
        combos: &[Params],
        sim: &Simulator,
        metrics: &MetricsConfig,
    ) -> Result<Option<Vec<Figures>>, SweepError> {
        let windows = combos.iter().flat_map(|p| [p.usize("fast"), p.usize("slow")]);
        let (Some(lo), Some(hi)) = (windows.clone().min(), windows.max()) else { return Ok(None) };
        let span = hi - lo + 1;
        if combos.len() * 4 < span * (span - 1) / 2 {
            return Ok(None);
        }
        let grid = sma_cross_grid(bars, lo..=hi, sim, metrics)?;
        let by_pair: HashMap<(usize, usize), usize> =
            grid.iter().enumerate().map(|(k, r)| ((r.fast, r.slow), k)).collect();
        Ok(Some(
            combos
                .iter()
                .map(|p| {
                    let r = &grid[by_pair[&(p.usize("fast"), p.usize("slow"))]];
                    Figures {
                        trades: r.trades,
                        final_equity: r.final_equity,
                        total_return: r.total_return,
                        sharpe: r.sharpe,
                        max_drawdown: r.max_drawdown,
                        ..Figures::missing()
                    }
                })
                .collect(),
        ))
    }
}
