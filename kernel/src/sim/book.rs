//! One book: the position a strategy holds in one symbol, stepped bar by bar.
//!
//! The single-symbol engine and every leg of a portfolio run this same state machine; cash is
//! passed in so a portfolio sleeve can share it between its legs. A bar runs in phases
//! (exits, entries, stops) that [`step_books`](super::step::step_books) orders across books.

use datasets::{Bars, Timestamp};

use super::column::SignalsRef;
use super::fill::{self, Holding, Prices};
use super::record::{Activity, ExitReason, OpenPosition, Refusal, RefusalReason, Trade};
use super::rules::{FillTiming, TradeRules};
use super::signal::{Signal, Strength};
use super::step::Slots;

/// A position with the signal that opened it.
#[derive(Clone, Copy, Debug)]
struct Position {
    entry_signal_bar: usize,
    holding: Holding,
}

/// A symbol's bars and signals, the rules, the position and what happened so far. Prices,
/// costs and stops come from the fill core ([`fill`]); the book records what they decide.
pub(crate) struct Book<'a> {
    ts: &'a [i64],
    prices: Prices<'a>,
    signals: SignalsRef<'a>,
    rules: &'a TradeRules,
    position: Option<Position>,
    activity: Activity,
    /// Bars before this one are already counted in `activity.exposed_bars`.
    counted: usize,
    /// Whether the refusal record was sized from a bound ([`Book::refuse`]) and needs trimming.
    refusals_bounded: bool,
    /// Whether the book was flat at the current bar's fill point, before its exits.
    can_enter: bool,
}

impl<'a> Book<'a> {
    /// A flat book; `activity` is cleared and reused. `signals.len()` must equal `bars.len()`.
    pub(crate) fn new(
        bars: &'a Bars,
        signals: SignalsRef<'a>,
        rules: &'a TradeRules,
        mut activity: Activity,
    ) -> Self {
        debug_assert_eq!(bars.len(), signals.len());
        activity.clear();
        Book {
            ts: bars.timestamps(),
            prices: Prices::of(bars),
            signals,
            rules,
            position: None,
            activity,
            counted: 0,
            refusals_bounded: false,
            can_enter: false,
        }
    }

    /// Value of the position at bar `t`'s close (0 when flat).
    pub(crate) fn mark(&self, t: usize) -> f64 {
        self.position.map_or(0.0, |p| p.holding.qty * self.prices.close[t])
    }

    /// True while a position is open.
    pub(crate) fn is_open(&self) -> bool {
        self.position.is_some()
    }

    /// Units held (0 when flat).
    pub(crate) fn qty(&self) -> f64 {
        self.position.map_or(0.0, |p| p.holding.qty)
    }

    /// Its closes, which [`Book::mark`] reads.
    pub(crate) fn closes(&self) -> &'a [f64] {
        self.prices.close
    }

    /// When this book's orders fill.
    pub(crate) fn fill_timing(&self) -> FillTiming {
        self.rules.fill
    }

    /// The first bar at or after `from` at which this book, in its current state, may act at
    /// the fill point: flat, a bar whose signal is an entry or a short entry (refused); holding,
    /// one whose signal is an exit or a short entry, or its time stop. `None` when there is none.
    /// Between now and then [`Book::fill_exit`] and [`Book::fill_entry`] would do nothing, so an
    /// event-driven stepper may skip them there (intrabar stops are not covered).
    pub(crate) fn next_due(&self, from: usize) -> Option<usize> {
        let lag = match self.rules.fill {
            FillTiming::NextOpen => 1,
            FillTiming::SameBarClose => 0,
        };
        let n = self.prices.close.len();
        let first = from.max(lag) - lag;
        let holding = self.position.is_some();
        let acts = |s: Signal| match s {
            Signal::Hold => false,
            Signal::Enter(_) => !holding,
            Signal::Exit => holding,
            Signal::EnterShort => true,
        };
        let by_signal = self.signals.position_from(first, n.saturating_sub(lag), acts).map(|i| i + lag);
        let time_stop = self.position.zip(self.rules.exits.max_bars).map(|(p, m)| p.holding.entry_bar + m);
        match (by_signal, time_stop.filter(|&b| b < n)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The bar whose signal fills at bar `t`'s fill point; none on bar 0 with next-open fills.
    fn signal_bar(&self, t: usize) -> Option<usize> {
        match self.rules.fill {
            FillTiming::NextOpen => t.checked_sub(1),
            FillTiming::SameBarClose => Some(t),
        }
    }

    /// The reference price of bar `t`'s fill point: the open, or the close under
    /// [`FillTiming::SameBarClose`]. Read only when an order fills, so a flat book's exit
    /// check touches no price.
    fn reference(&self, t: usize) -> f64 {
        match self.rules.fill {
            FillTiming::NextOpen => self.prices.open[t],
            FillTiming::SameBarClose => self.prices.close[t],
        }
    }

    /// The exits at bar `t`'s fill point: the exit signal, else the time stop. Only a book flat
    /// at this point may enter at it ([`Book::fill_entry`]): a position closed here is not
    /// re-opened on the same fill point.
    pub(crate) fn fill_exit(&mut self, t: usize, cash: &mut f64) {
        let Some(signal_bar) = self.signal_bar(t) else { return };
        self.can_enter = self.position.is_none();
        let Some(p) = self.position else { return };
        if self.signals.get(signal_bar) == Signal::Exit {
            self.close_position(t, self.reference(t), ExitReason::Signal, Some(signal_bar), cash);
        } else if self.rules.exits.max_bars.is_some_and(|m| t - p.holding.entry_bar >= m) {
            self.close_position(t, self.reference(t), ExitReason::TimeStop, None, cash);
        }
    }

    /// The entry at bar `t`'s fill point, called after [`Book::fill_exit`] of every book sharing
    /// `cash`. `base` is the equity that sizing fractions apply to; `slots` counts the positions
    /// open in the sleeve and refuses an entry beyond its limit. True when a position opened.
    pub(crate) fn fill_entry(&mut self, t: usize, cash: &mut f64, base: f64, slots: &mut Slots) -> bool {
        let Some(signal_bar) = self.signal_bar(t) else { return false };
        match self.signals.get(signal_bar) {
            Signal::EnterShort => self.refuse(t, signal_bar, RefusalReason::ShortSelling),
            Signal::Enter(strength) if self.can_enter => {
                if let Some(max) = slots.full() {
                    self.refuse(t, signal_bar, RefusalReason::PositionLimit { max: max.get() });
                } else if self.open_position(t, signal_bar, self.reference(t), strength, cash, base) {
                    slots.open += 1;
                    return true;
                }
            }
            _ => {}
        }
        false
    }

    /// Ends the run after the last bar: closes or reports the open position.
    pub(crate) fn finish(mut self, cash: &mut f64) -> Activity {
        if self.refusals_bounded {
            self.activity.refusals.shrink_to_fit();
        }
        if let Some(p) = self.position {
            let last = self.prices.close.len() - 1;
            if self.rules.close_at_end {
                self.close_position(last, self.prices.close[last], ExitReason::EndOfData, None, cash);
            } else {
                let h = p.holding;
                self.count_exposure(h.entry_bar, last);
                self.activity.open_position = Some(OpenPosition {
                    entry_signal_bar: p.entry_signal_bar,
                    entry_bar: h.entry_bar,
                    entry_price: h.entry_price,
                    qty: h.qty,
                    entry_fee: h.entry_fee,
                });
            }
        }
        self.activity
    }

    /// Counts bars `from..=to` as exposed, except those already counted (a position opened on
    /// the bar another one closed in).
    fn count_exposure(&mut self, from: usize, to: usize) {
        self.activity.exposed_bars += (to + 1).saturating_sub(from.max(self.counted));
        self.counted = to + 1;
    }

    /// Records a refused order.
    ///
    /// Each refusal answers a distinct entry or short-entry signal, so a record with no room yet
    /// reserves one place for every such signal left, and never grows again: a strategy that
    /// keeps asking for an entry it cannot afford is refused bar after bar, and growing that
    /// record by doubling, over hundreds of legs, cost more than deciding the refusals (the
    /// copies, and the fresh memory they fault in). [`Book::finish`] trims the unused room; a
    /// record reused with room to spare (`Simulator::run_into`) just grows when it must.
    fn refuse(&mut self, t: usize, signal_bar: usize, reason: RefusalReason) {
        let refusals = &mut self.activity.refusals;
        if refusals.capacity() == 0 {
            let entries = |s: Signal| matches!(s, Signal::Enter(_) | Signal::EnterShort);
            refusals.reserve_exact(self.signals.count_from(signal_bar, entries));
            self.refusals_bounded = true;
        }
        refusals.push(Refusal { signal_bar, bar: t, reason });
    }

    fn open_position(
        &mut self,
        t: usize,
        signal_bar: usize,
        reference: f64,
        strength: Strength,
        cash: &mut f64,
        base: f64,
    ) -> bool {
        match fill::buy(self.rules, &self.prices, t, signal_bar, reference, strength, base, cash) {
            Ok(bought) => {
                self.activity.traded_notional += bought.notional;
                self.position = Some(Position { entry_signal_bar: signal_bar, holding: bought.holding });
                true
            }
            Err(reason) => {
                self.refuse(t, signal_bar, reason);
                false
            }
        }
    }

    fn close_position(
        &mut self,
        t: usize,
        reference: f64,
        reason: ExitReason,
        exit_signal_bar: Option<usize>,
        cash: &mut f64,
    ) {
        let Some(Position { entry_signal_bar, holding: h }) = self.position.take() else { return };
        self.count_exposure(h.entry_bar, t);
        let sold = h.sell(&self.rules.costs, &self.prices, t, reference, cash);
        self.activity.traded_notional += sold.notional;
        self.activity.trades.push(Trade {
            entry_signal_bar,
            entry_bar: h.entry_bar,
            exit_bar: t,
            exit_signal_bar,
            entry_time: Timestamp(self.ts[h.entry_bar]),
            exit_time: Timestamp(self.ts[t]),
            entry_price: h.entry_price,
            exit_price: sold.fill,
            qty: h.qty,
            fees: h.entry_fee + sold.fee,
            pnl: sold.pnl,
            ret: sold.pnl / sold.entry_value,
            exit_reason: reason,
        });
    }

    /// Stop-loss, trailing stop and take-profit inside bar `t` (rules in [`ExitRules`], levels
    /// decided by [`Holding::stop`]).
    ///
    /// [`ExitRules`]: super::ExitRules
    pub(crate) fn check_stops(&mut self, t: usize, cash: &mut f64) {
        let Some(p) = self.position.as_mut() else { return };
        if let Some((price, reason)) = p.holding.stop(&self.rules.exits, &self.prices, t) {
            self.close_position(t, price, reason, None, cash);
        }
    }
}
