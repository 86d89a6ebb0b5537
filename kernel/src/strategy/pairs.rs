//! `pairs`: statistical-arbitrage pair trading, which needs a short leg.

use super::{
    Cadence, MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet,
    Strategy, StrategyError,
};

/// Trade the spread between two related symbols: when it stretches beyond `entry_z` standard
/// deviations, buy the cheap side and sell the rich side short; close at `exit_z`.
///
/// The profit comes from the spread, so both legs are needed at once: a long-only version
/// would be a one-legged directional bet with the pair's name on it. Every account in this
/// system is a cash account, so the strategy declares [`Strategy::needs_short`] and refuses
/// to produce signals with [`StrategyError::NeedsShortLeg`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Pairs;

/// Why `pairs` will not run long-only; quoted in its error.
pub const PAIRS_REFUSAL: &str = "a pair trade must sell the rich leg short while buying the cheap one, \
a cash account cannot sell short, and trading only the long leg would be a one-legged bet, not a pair trade";

static SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec {
        name: "lookback",
        kind: ParamKind::Integer { min: 10, max: 500 },
        default: ParamValue::Int(60),
    },
    ParamSpec {
        name: "entry_z",
        kind: ParamKind::Real { min: 0.5, max: 5.0 },
        default: ParamValue::Real(2.0),
    },
    ParamSpec {
        name: "exit_z",
        kind: ParamKind::Real { min: 0.0, max: 3.0 },
        default: ParamValue::Real(0.5),
    },
]);

impl Strategy for Pairs {
    fn name(&self) -> &'static str {
        "pairs"
    }

    fn cadence(&self) -> Option<Cadence> {
        // None: it needs a short leg and never runs live.
        None
    }

    fn description(&self) -> &'static str {
        "spread mean reversion between two symbols; needs a short leg, so refuses on a cash account"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn needs_short(&self) -> bool {
        true
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        let (entry, exit) = (params.real("entry_z"), params.real("exit_z"));
        if exit >= entry {
            let rule = format!("exit_z ({exit}) must be below entry_z ({entry})");
            return Err(ParamError::Constraint { strategy: self.name(), rule });
        }
        Ok(())
    }

    fn signals(&self, _params: &Params, _data: &MarketData) -> Result<SignalSet, StrategyError> {
        Err(StrategyError::NeedsShortLeg { strategy: self.name(), why: PAIRS_REFUSAL })
    }
}
