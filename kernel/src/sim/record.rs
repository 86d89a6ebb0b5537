//! What a simulation reports: closed trades, refusals, the open position and per-book activity.

use datasets::Timestamp;

/// Why a position was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// The strategy's exit signal.
    Signal,
    /// The stop-loss level was touched or gapped through.
    StopLoss,
    /// The take-profit level was touched or gapped through.
    TakeProfit,
    /// The trailing stop was touched or gapped through.
    TrailingStop,
    /// The position reached its maximum holding period.
    TimeStop,
    /// Closed at the last bar's close because the data ended.
    EndOfData,
}

/// One closed round trip (always long: the account cannot short).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trade {
    /// Bar whose signal asked for the entry.
    pub entry_signal_bar: usize,
    /// Bar the entry filled in.
    pub entry_bar: usize,
    /// Bar the exit filled in.
    pub exit_bar: usize,
    /// Bar whose signal asked for the exit, when a signal did (not for stops or end of data).
    pub exit_signal_bar: Option<usize>,
    /// Start time of the entry bar.
    pub entry_time: Timestamp,
    /// Start time of the exit bar.
    pub exit_time: Timestamp,
    /// Entry fill price, slippage included.
    pub entry_price: f64,
    /// Exit fill price, slippage included.
    pub exit_price: f64,
    /// Units held.
    pub qty: f64,
    /// Entry plus exit commission.
    pub fees: f64,
    /// Cash returned minus cash spent: `qty × (exit − entry) − fees`.
    pub pnl: f64,
    /// `pnl / (qty × entry_price)`: return on the position's entry value, net of fees.
    pub ret: f64,
    /// Why it closed.
    pub exit_reason: ExitReason,
}

impl Trade {
    /// Bars between entry and exit fills (`exit_bar − entry_bar`).
    pub fn bars_held(&self) -> usize {
        self.exit_bar - self.entry_bar
    }
}

/// A position still open when the data ended (only when the rules do not close it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenPosition {
    /// Bar whose signal asked for the entry.
    pub entry_signal_bar: usize,
    /// Bar the entry filled in.
    pub entry_bar: usize,
    /// Entry fill price, slippage included.
    pub entry_price: f64,
    /// Units held.
    pub qty: f64,
    /// Commission paid at entry.
    pub entry_fee: f64,
}

/// Why an order was refused instead of being resized into something else.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RefusalReason {
    /// The order needs a short sale, which a cash account cannot make.
    ShortSelling,
    /// Not even one unit (or the sized quantity, under
    /// [`SizingPrice::SignalClose`](super::SizingPrice::SignalClose)) is affordable.
    InsufficientCash {
        /// Cost of the order that was attempted: one whole unit at the sizing price when the sized
        /// quantity was zero, else the sized quantity at the fill price; commission included.
        required: f64,
        /// Cash the order could use.
        available: f64,
    },
    /// Volatility-target sizing has too little history before the signal bar.
    VolatilityUnavailable,
    /// The sleeve already holds its [`Sleeve::max_positions`](super::Sleeve::max_positions)
    /// positions (after the same fill point's exits settled).
    PositionLimit {
        /// The sleeve's limit.
        max: usize,
    },
}

/// An order the simulator declined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refusal {
    /// Bar whose signal asked for the order.
    pub signal_bar: usize,
    /// Bar the order would have filled in.
    pub bar: usize,
    /// Why it was refused.
    pub reason: RefusalReason,
}

/// Everything one book (one symbol traded by one strategy) did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Activity {
    /// Closed trades in exit order.
    pub trades: Vec<Trade>,
    /// Refused orders in bar order.
    pub refusals: Vec<Refusal>,
    /// The position left open at the end, if the rules keep it open.
    pub open_position: Option<OpenPosition>,
    /// Bars during which a position was held at any moment (entry and exit bars included).
    pub exposed_bars: usize,
    /// Sum of the notional value of every fill, buys and sells.
    pub traded_notional: f64,
}

impl Activity {
    /// Value of the open position, if any, at `close`.
    pub(crate) fn open_value(&self, close: f64) -> f64 {
        self.open_position.map_or(0.0, |p| p.qty * close)
    }

    /// Empties every record, keeping allocations for reuse.
    pub(crate) fn clear(&mut self) {
        self.trades.clear();
        self.refusals.clear();
        self.open_position = None;
        self.exposed_bars = 0;
        self.traded_notional = 0.0;
    }
}
