//! `vix_regime_rotation`: equities in calm markets, the strongest defensive asset in stressed ones.

use std::num::NonZeroUsize;

use super::ranking::{hold_listed_top_k, lagged_return, rebalance_bars};
use super::{
    Cadence, LegSignals, MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params,
    SignalSet, Strategy, StrategyError,
};
use crate::regime::{Regime, RegimeRules};
use crate::sim::{Signal, SignalColumn, Strength};

/// The equity leg.
const EQUITY: &str = "SPY";
/// The defensive candidates (those present in the data), in tie-break order.
const DEFENSIVES: [&str; 3] = ["TLT", "GLD", "SHY"];
/// The VIX-like index the regime is read from.
const INDEX: &str = "VIX";

/// Classifies each day from the `VIX` close with [`RegimeRules`] (thresholds and hysteresis
/// are parameters) and holds `SPY` while the regime is calmer than `risk_off_from`, otherwise
/// the single defensive among `TLT`, `GLD`, `SHY` (whichever the data has) with the highest
/// return over the last `defensive_lookback` closes (ties go to the earlier of TLT, GLD, SHY).
///
/// The defensive is re-ranked on the first risk-off bar after a calm/normal (or unclassified)
/// one, on the month starts of the ranked strategies' schedule (every `rerank_months`) while
/// risk is off, and on bar `defensive_lookback`, the first with enough history, if risk is off
/// then; between re-ranks it is held. Before that first bar no defensive is held. `SPY`'s
/// signals and the defensives' exits while risk is on are restated every bar (repeated entries
/// are ignored by the simulator, a refused one is retried the next bar); a defensive's entry is
/// given on re-rank bars only. Every choice reads closes up to its own bar only.
///
/// It holds one position at a time, so a portfolio run sizes every entry on the whole sleeve:
/// the account is fully invested in whichever leg it holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct VixRegimeRotation;

static SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec {
        name: "calm_below",
        kind: ParamKind::Real { min: 5.0, max: 60.0 },
        default: ParamValue::Real(15.0),
    },
    ParamSpec {
        name: "normal_below",
        kind: ParamKind::Real { min: 5.0, max: 80.0 },
        default: ParamValue::Real(25.0),
    },
    ParamSpec {
        name: "crisis_above",
        kind: ParamKind::Real { min: 5.0, max: 100.0 },
        default: ParamValue::Real(35.0),
    },
    ParamSpec {
        name: "hold_days",
        kind: ParamKind::Integer { min: 1, max: 30 },
        default: ParamValue::Int(1),
    },
    ParamSpec {
        name: "risk_off_from",
        kind: ParamKind::Choice(&["stressed", "crisis"]),
        default: ParamValue::Choice(0),
    },
    ParamSpec {
        name: "defensive_lookback",
        kind: ParamKind::Integer { min: 21, max: 252 },
        default: ParamValue::Int(63),
    },
    ParamSpec {
        name: "rerank_months",
        kind: ParamKind::Integer { min: 1, max: 12 },
        default: ParamValue::Int(1),
    },
]);

impl VixRegimeRotation {
    /// Positions of the defensives the data has, in [`DEFENSIVES`] order.
    fn defensives(data: &MarketData) -> Vec<usize> {
        DEFENSIVES.iter().filter_map(|s| data.find(s)).collect()
    }

    fn rules(params: &Params) -> Result<RegimeRules, ParamError> {
        let hold = NonZeroUsize::new(params.usize("hold_days")).expect("hold_days >= 1 by its bounds");
        RegimeRules::new(
            params.real("calm_below"),
            params.real("normal_below"),
            params.real("crisis_above"),
            hold,
        )
        .map_err(|e| ParamError::Constraint { strategy: "vix_regime_rotation", rule: e.to_string() })
    }
}

impl Strategy for VixRegimeRotation {
    fn name(&self) -> &'static str {
        "vix_regime_rotation"
    }

    fn cadence(&self) -> Option<Cadence> {
        // 10:30 New York.
        Some(Cadence::daily(10, 30))
    }

    fn description(&self) -> &'static str {
        "hold SPY in calm/normal VIX regimes, the best of TLT/GLD/SHY by trailing return in stressed/crisis ones"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        Self::rules(params).map(|_| ())
    }

    fn max_positions(&self, _params: &Params, _data: &MarketData) -> Option<NonZeroUsize> {
        Some(NonZeroUsize::MIN)
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        let missing =
            |what: &str| StrategyError::MissingSymbols { strategy: self.name(), what: what.to_string() };
        let index = data.find(INDEX).ok_or_else(|| missing("symbol VIX"))?;
        let equity = data.find(EQUITY).ok_or_else(|| missing("symbol SPY"))?;
        let defensives = Self::defensives(data);
        if defensives.is_empty() {
            return Err(missing("defensive symbol (TLT, GLD or SHY)"));
        }
        let risk_off_from = match params.choice("risk_off_from") {
            "crisis" => Regime::Crisis,
            _ => Regime::Stressed,
        };
        let regimes = Self::rules(params)?.classify(data.symbols()[index].bars.close());
        let risk_off: Vec<Option<bool>> = regimes.iter().map(|r| r.map(|r| r >= risk_off_from)).collect();
        let lookback = params.usize("defensive_lookback");
        let month_starts = rebalance_bars(data.timestamps(), params.usize("rerank_months"));
        let rerank: Vec<bool> = (0..risk_off.len())
            .map(|t| {
                let switched = t == 0 || risk_off[t - 1] != Some(true);
                risk_off[t] == Some(true) && (switched || month_starts[t] || t == lookback)
            })
            .collect();
        let mut set = hold_listed_top_k(data, &defensives, 1, &rerank, |t, s| {
            lagged_return(data.symbols()[s].bars.close(), t, lookback, 0)
        });
        for leg in &mut set.legs {
            leg.signals = leg
                .signals
                .iter()
                .zip(&risk_off)
                .map(|(signal, off)| if *off == Some(false) { Signal::Exit } else { signal })
                .collect();
        }
        let equity_signals: SignalColumn = risk_off
            .iter()
            .map(|off| match off {
                None => Signal::Hold,
                Some(true) => Signal::Exit,
                Some(false) => Signal::Enter(Strength::FULL),
            })
            .collect();
        set.legs.push(LegSignals { symbol: equity, signals: equity_signals.restrict(data.listed(equity)) });
        set.legs.sort_by_key(|l| l.symbol);
        Ok(set)
    }
}
