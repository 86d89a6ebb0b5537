//! One book: the position a strategy holds in one symbol, stepped bar by bar.
//!
//! The single-symbol engine and every leg of a portfolio run this same state machine; cash is
//! passed in so a portfolio sleeve can share it between its legs. A bar runs in phases
//! (exits, entries, stops) that [`step_books`](super::step::step_books) orders across books.

use datasets::{Bars, Timestamp};

use super::costs::Side;
use super::record::{Activity, ExitReason, OpenPosition, Refusal, RefusalReason, Trade};
use super::rules::{FillTiming, SizingPrice, TradeRules};
use super::signal::{Signal, Strength};
use super::sizing::{buy_cost, entry_quantity};
use super::step::Slots;

#[derive(Clone, Copy, Debug)]
struct Position {
    entry_signal_bar: usize,
    entry_bar: usize,
    entry_price: f64,
    qty: f64,
    entry_fee: f64,
    /// Highest high of completed held bars (entry price before the first).
    peak: f64,
}

/// A symbol's bars and signals, the rules, the position and what happened so far.
pub(crate) struct Book<'a> {
    ts: &'a [i64],
    open: &'a [f64],
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    signals: &'a [Signal],
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
        signals: &'a [Signal],
        rules: &'a TradeRules,
        mut activity: Activity,
    ) -> Self {
        debug_assert_eq!(bars.len(), signals.len());
        activity.clear();
        Book {
            ts: bars.timestamps(),
            open: bars.open(),
            high: bars.high(),
            low: bars.low(),
            close: bars.close(),
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
        self.position.map_or(0.0, |p| p.qty * self.close[t])
    }

    /// True while a position is open.
    pub(crate) fn is_open(&self) -> bool {
        self.position.is_some()
    }

    /// Units held (0 when flat).
    pub(crate) fn qty(&self) -> f64 {
        self.position.map_or(0.0, |p| p.qty)
    }

    /// Its closes, which [`Book::mark`] reads.
    pub(crate) fn closes(&self) -> &'a [f64] {
        self.close
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
        let n = self.close.len();
        let first = from.max(lag) - lag;
        let holding = self.position.is_some();
        let acts = |s: &Signal| match s {
            Signal::Hold => false,
            Signal::Enter(_) => !holding,
            Signal::Exit => holding,
            Signal::EnterShort => true,
        };
        let signalled = self.signals.get(first..n.saturating_sub(lag)).and_then(|s| s.iter().position(acts));
        let by_signal = signalled.map(|i| first + i + lag);
        let time_stop = self.position.zip(self.rules.exits.max_bars).map(|(p, m)| p.entry_bar + m);
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
            FillTiming::NextOpen => self.open[t],
            FillTiming::SameBarClose => self.close[t],
        }
    }

    /// The exits at bar `t`'s fill point: the exit signal, else the time stop. Only a book flat
    /// at this point may enter at it ([`Book::fill_entry`]): a position closed here is not
    /// re-opened on the same fill point.
    pub(crate) fn fill_exit(&mut self, t: usize, cash: &mut f64) {
        let Some(signal_bar) = self.signal_bar(t) else { return };
        self.can_enter = self.position.is_none();
        let Some(p) = self.position else { return };
        if self.signals[signal_bar] == Signal::Exit {
            self.close_position(t, self.reference(t), ExitReason::Signal, Some(signal_bar), cash);
        } else if self.rules.exits.max_bars.is_some_and(|m| t - p.entry_bar >= m) {
            self.close_position(t, self.reference(t), ExitReason::TimeStop, None, cash);
        }
    }

    /// The entry at bar `t`'s fill point, called after [`Book::fill_exit`] of every book sharing
    /// `cash`. `base` is the equity that sizing fractions apply to; `slots` counts the positions
    /// open in the sleeve and refuses an entry beyond its limit. True when a position opened.
    pub(crate) fn fill_entry(&mut self, t: usize, cash: &mut f64, base: f64, slots: &mut Slots) -> bool {
        let Some(signal_bar) = self.signal_bar(t) else { return false };
        match self.signals[signal_bar] {
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
            let last = self.close.len() - 1;
            if self.rules.close_at_end {
                self.close_position(last, self.close[last], ExitReason::EndOfData, None, cash);
            } else {
                self.count_exposure(p.entry_bar, last);
                self.activity.open_position = Some(OpenPosition {
                    entry_signal_bar: p.entry_signal_bar,
                    entry_bar: p.entry_bar,
                    entry_price: p.entry_price,
                    qty: p.qty,
                    entry_fee: p.entry_fee,
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
            let entries = |s: &&Signal| matches!(s, Signal::Enter(_) | Signal::EnterShort);
            refusals.reserve_exact(self.signals[signal_bar..].iter().filter(entries).count());
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
        let rules = self.rules;
        let commission = &rules.costs.commission;
        let slippage = rules.costs.slippage;
        let fill = slippage.fill_price(Side::Buy, reference, self.low[t], self.high[t]);
        let sizing_price = match rules.sizing_price {
            SizingPrice::FillPrice => fill,
            SizingPrice::SignalClose => slippage.fill_price(
                Side::Buy,
                self.close[signal_bar],
                self.low[signal_bar],
                self.high[signal_bar],
            ),
        };
        let qty = match entry_quantity(rules, &self.close[..=signal_bar], strength, base, *cash, sizing_price)
        {
            Ok(qty) => qty,
            Err(reason) => {
                self.refuse(t, signal_bar, reason);
                return false;
            }
        };
        let (notional, fee) = buy_cost(qty, fill, commission);
        if notional + fee > *cash {
            let reason = RefusalReason::InsufficientCash { required: notional + fee, available: *cash };
            self.refuse(t, signal_bar, reason);
            return false;
        }
        *cash -= notional + fee;
        self.activity.traded_notional += notional;
        self.position = Some(Position {
            entry_signal_bar: signal_bar,
            entry_bar: t,
            entry_price: fill,
            qty,
            entry_fee: fee,
            peak: fill,
        });
        true
    }

    fn close_position(
        &mut self,
        t: usize,
        reference: f64,
        reason: ExitReason,
        exit_signal_bar: Option<usize>,
        cash: &mut f64,
    ) {
        let Some(p) = self.position.take() else { return };
        self.count_exposure(p.entry_bar, t);
        let costs = &self.rules.costs;
        let fill = costs.slippage.fill_price(Side::Sell, reference, self.low[t], self.high[t]);
        let notional = p.qty * fill;
        let fee = costs.commission.cost(p.qty, fill).min(notional);
        *cash += notional - fee;
        self.activity.traded_notional += notional;
        let entry_value = p.qty * p.entry_price;
        let pnl = (notional - fee) - (entry_value + p.entry_fee);
        self.activity.trades.push(Trade {
            entry_signal_bar: p.entry_signal_bar,
            entry_bar: p.entry_bar,
            exit_bar: t,
            exit_signal_bar,
            entry_time: Timestamp(self.ts[p.entry_bar]),
            exit_time: Timestamp(self.ts[t]),
            entry_price: p.entry_price,
            exit_price: fill,
            qty: p.qty,
            fees: p.entry_fee + fee,
            pnl,
            ret: pnl / entry_value,
            exit_reason: reason,
        });
    }

    /// Stop-loss, trailing stop and take-profit inside bar `t` (rules in [`ExitRules`]).
    ///
    /// [`ExitRules`]: super::ExitRules
    pub(crate) fn check_stops(&mut self, t: usize, cash: &mut f64) {
        let Some(p) = self.position else { return };
        let exits = &self.rules.exits;
        let (open, high, low) = (self.open[t], self.high[t], self.low[t]);
        let stop_loss = exits.stop_loss.map(|f| (p.entry_price * (1.0 - f), ExitReason::StopLoss));
        let trailing = exits.trailing_stop.map(|f| (p.peak * (1.0 - f), ExitReason::TrailingStop));
        let stop = match (stop_loss, trailing) {
            (Some(s), Some(tr)) => Some(if tr.0 > s.0 { tr } else { s }),
            (s, tr) => s.or(tr),
        };
        let take_profit = exits.take_profit.map(|f| p.entry_price * (1.0 + f));
        // On the bar opened at its own open, the open was the entry: nothing can gap.
        let can_gap = p.entry_bar < t;
        let hit = match (stop, take_profit) {
            (Some((level, reason)), _) if can_gap && open <= level => Some((open, reason)),
            (_, Some(tp)) if can_gap && open >= tp => Some((open, ExitReason::TakeProfit)),
            (Some((level, reason)), _) if low <= level => Some((level, reason)),
            (_, Some(tp)) if high >= tp => Some((tp, ExitReason::TakeProfit)),
            _ => None,
        };
        match hit {
            Some((price, reason)) => self.close_position(t, price, reason, None, cash),
            None => {
                if let Some(pos) = self.position.as_mut() {
                    pos.peak = pos.peak.max(high);
                }
            }
        }
    }
}
