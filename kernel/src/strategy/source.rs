//! What runs: a [`SignalSource`] is anything that turns [`MarketData`] into signals — a family
//! with its parameters bound ([`Bound`]), a GP genome (`gp::Genome` implements it), and later a
//! strategy file. Backtests of a source, the promoted strategies and the live bridge see only
//! this trait, so none of them names a family: what differs between families (when it runs
//! live, what it records beside its signals, which exits it carries) is a hook here or on
//! [`Strategy`], written in the family's own file.

use std::fmt;
use std::num::NonZeroUsize;

use super::{MarketData, Params, SignalSet, Strategy, StrategyError};
use crate::sim::ExitRules;

/// Turns market data into one signal per bar for each traded symbol (a leg), reading only bars
/// up to the signal's own bar. Object-safe; `Display` shows the source as a person reads it.
pub trait SignalSource: fmt::Display + Send + Sync {
    /// The name its legs trade under in a portfolio and in the live bridge's sleeves: the
    /// family's registry name, `gp` for a genome.
    fn name(&self) -> &str;

    /// The legs' signals on `data`.
    fn signals(&self, data: &MarketData) -> Result<SignalSet, StrategyError>;

    /// The most positions it holds at once on `data`'s universe; `None` sizes each leg on an
    /// equal share of all the legs (see [`Strategy::max_positions`]).
    fn max_positions(&self, _data: &MarketData) -> Option<NonZeroUsize> {
        None
    }

    /// True when it needs a short leg, which a cash account cannot provide.
    fn needs_short(&self) -> bool {
        false
    }

    /// When it runs live on a trading day unless the live config says otherwise; `None` when it
    /// has no default time (it cannot run live without one from the config).
    fn cadence(&self) -> Option<Cadence>;

    /// The protective exits it carries itself (a genome's genes), which the rules it trades
    /// under must equal; `None` when the rules are free.
    fn own_exits(&self) -> Option<ExitRules> {
        None
    }

    /// Observations a live run records beside the signals of `data`'s last bar, e.g.
    /// `gap_fill`'s gap candidates (traded or not), for the operator to compare with the trades.
    fn diagnostics(&self, _data: &MarketData) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// A default live run time: a New York wall-clock time, once a day or repeated until a minute
/// before the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    /// Hour of the first run, New York (0–23).
    pub hour: u32,
    /// Minute of the first run (0–59).
    pub minute: u32,
    /// Repeat every this many minutes until a minute before the close; `None` runs once.
    pub every_minutes: Option<u32>,
}

impl Cadence {
    /// Once a day at `hour:minute` New York.
    pub const fn daily(hour: u32, minute: u32) -> Cadence {
        Cadence { hour, minute, every_minutes: None }
    }

    /// Every `every` minutes from `hour:minute` New York until a minute before the close.
    pub const fn repeating(hour: u32, minute: u32, every: u32) -> Cadence {
        Cadence { hour, minute, every_minutes: Some(every) }
    }
}

/// One observation a source records beside its signals ([`SignalSource::diagnostics`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The bar it was observed at (index into the data).
    pub bar: usize,
    /// The symbol (index into [`MarketData::symbols`]).
    pub symbol: usize,
    /// What it is, e.g. `gap_candidate`.
    pub kind: &'static str,
    /// Its size, e.g. the gap as a positive fraction.
    pub strength: f64,
    /// The price it refers to, e.g. the session's open.
    pub price: f64,
    /// The observation in words.
    pub detail: String,
}

/// A family with checked parameters: resolved once, run as often as needed.
#[derive(Clone)]
pub struct Bound {
    family: &'static dyn Strategy,
    params: Params,
}

impl Bound {
    /// `family` with `params`, checked against its space and its rules between parameters.
    pub fn new(family: &'static dyn Strategy, params: Params) -> Result<Bound, StrategyError> {
        super::check_params(family, &params)?;
        Ok(Bound { family, params })
    }

    /// The family.
    pub fn family(&self) -> &'static dyn Strategy {
        self.family
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

impl fmt::Debug for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Bound {
    /// `family name=value …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.family.name(), self.params)
    }
}

impl SignalSource for Bound {
    fn name(&self) -> &str {
        self.family.name()
    }

    fn signals(&self, data: &MarketData) -> Result<SignalSet, StrategyError> {
        self.family.signals(&self.params, data)
    }

    fn max_positions(&self, data: &MarketData) -> Option<NonZeroUsize> {
        self.family.max_positions(&self.params, data)
    }

    fn needs_short(&self) -> bool {
        self.family.needs_short()
    }

    fn cadence(&self) -> Option<Cadence> {
        self.family.cadence()
    }

    fn own_exits(&self) -> Option<ExitRules> {
        self.family.own_exits(&self.params)
    }

    fn diagnostics(&self, data: &MarketData) -> Vec<Diagnostic> {
        self.family.diagnostics(&self.params, data)
    }
}
