//! `vix_regime_rotation`: equities in calm markets, defensive assets in stressed ones.

use std::num::NonZeroUsize;

use super::{
    LegSignals, MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet,
    Strategy, StrategyError,
};
use crate::regime::{Regime, RegimeRules};
use crate::sim::{Signal, Strength};

/// The equity leg.
const EQUITY: &str = "SPY";
/// The defensive legs, held together (those present in the data).
const DEFENSIVES: [&str; 3] = ["TLT", "GLD", "SHY"];
/// The VIX-like index the regime is read from.
const INDEX: &str = "VIX";

/// Classifies each day from the `VIX` close with [`RegimeRules`] (thresholds and hysteresis
/// are parameters) and holds `SPY` while the regime is calmer than `risk_off_from`, the
/// defensives `TLT`, `GLD`, `SHY` (whichever the data has) otherwise. Every bar restates
/// the target (enter what should be held, exit the rest); repeated entries are ignored by
/// the simulator, and a refused entry is retried the next bar.
///
/// It holds at most as many positions as there are defensives in the data (all of them at
/// once when risk is off), and a portfolio run sizes every entry on that share of the sleeve:
/// with all three present SPY alone uses a third of the equity, each defensive a third.
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

    fn description(&self) -> &'static str {
        "hold SPY in calm/normal VIX regimes and TLT/GLD/SHY in stressed/crisis ones"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        Self::rules(params).map(|_| ())
    }

    fn max_positions(&self, _params: &Params, data: &MarketData) -> Option<NonZeroUsize> {
        NonZeroUsize::new(Self::defensives(data).len().max(1))
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
        let leg = |symbol: usize, held_when_risk_off: bool| LegSignals {
            symbol,
            signals: regimes
                .iter()
                .map(|r| match r {
                    None => Signal::Hold,
                    Some(r) if (*r >= risk_off_from) == held_when_risk_off => Signal::Enter(Strength::FULL),
                    Some(_) => Signal::Exit,
                })
                .collect(),
        };
        let mut legs = vec![leg(equity, false)];
        legs.extend(defensives.into_iter().map(|d| leg(d, true)));
        legs.sort_by_key(|l| l.symbol);
        Ok(SignalSet { legs })
    }
}
