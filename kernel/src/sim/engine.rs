//! The single-symbol simulator: one strategy, one symbol, one cash account.

use datasets::Bars;

use super::book::Book;
use super::column::SignalsRef;
use super::record::Activity;
use super::rules::{RulesError, TradeRules, check_cash};
use super::step::step_books;

/// A validated simulator: starting cash plus trading rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Simulator {
    initial_cash: f64,
    rules: TradeRules,
}

/// The bar and signal series of a run have different lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{bars} bars but {signals} signals: a signal is needed for every bar")]
pub struct LengthMismatch {
    /// Number of bars.
    pub bars: usize,
    /// Number of signals.
    pub signals: usize,
}

/// The outcome of a single-symbol run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimResult {
    /// Cash at the start.
    pub initial_cash: f64,
    /// Account equity at every bar's close: cash plus the position marked at the close. The last
    /// value is after the end-of-data close when the rules close open positions.
    pub equity: Vec<f64>,
    /// Cash at the end.
    pub final_cash: f64,
    /// Trades, refusals, exposure and turnover.
    pub activity: Activity,
}

impl Simulator {
    /// A simulator starting with `initial_cash`, after checking every rule parameter.
    pub fn new(initial_cash: f64, rules: TradeRules) -> Result<Self, RulesError> {
        check_cash("initial_cash", initial_cash)?;
        rules.validate()?;
        Ok(Simulator { initial_cash, rules })
    }

    /// The cash a run starts with.
    pub fn initial_cash(&self) -> f64 {
        self.initial_cash
    }

    /// The trading rules.
    pub fn rules(&self) -> &TradeRules {
        &self.rules
    }

    /// Runs `signals` (one per bar: a slice or a [`SignalColumn`](super::SignalColumn)) over `bars`.
    pub fn run<'s>(
        &self,
        bars: &Bars,
        signals: impl Into<SignalsRef<'s>>,
    ) -> Result<SimResult, LengthMismatch> {
        let mut out = SimResult::default();
        self.run_into(bars, signals, &mut out)?;
        Ok(out)
    }

    /// Like [`Simulator::run`], reusing `out`'s buffers: no allocation once they are large enough.
    pub fn run_into<'s>(
        &self,
        bars: &Bars,
        signals: impl Into<SignalsRef<'s>>,
        out: &mut SimResult,
    ) -> Result<(), LengthMismatch> {
        let signals = signals.into();
        if bars.len() != signals.len() {
            return Err(LengthMismatch { bars: bars.len(), signals: signals.len() });
        }
        out.initial_cash = self.initial_cash;
        out.equity.clear();
        let mut cash = self.initial_cash;
        let mut book = Book::new(bars, signals, &self.rules, std::mem::take(&mut out.activity));
        for t in 0..bars.len() {
            step_books(std::slice::from_mut(&mut book), t, &mut cash, None);
            out.equity.push(cash + book.mark(t));
        }
        out.activity = book.finish(&mut cash);
        if let (Some(last), Some(&close)) = (out.equity.last_mut(), bars.close().last()) {
            *last = cash + out.activity.open_value(close);
        }
        out.final_cash = cash;
        Ok(())
    }
}
