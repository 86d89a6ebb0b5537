//! Alpaca's JSON shapes, field for field; money and quantities as exact [`Decimal`]s.
//!
//! Alpaca sends amounts as decimal strings (`"10000.00"`); `rust_decimal` reads them (and plain
//! numbers) without going through a float. Every struct ignores fields it does not name, so a
//! field Alpaca adds or drops (`pattern_day_trader` is deprecated) never breaks parsing, and
//! [`OrderStatus`] keeps an unknown status as [`OrderStatus::Other`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `GET /v2/account`: the brokerage account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Account UUID.
    pub id: String,
    /// Account number.
    #[serde(default)]
    pub account_number: String,
    /// `ACTIVE` when the account can trade.
    pub status: String,
    /// Cash balance, settled or not.
    pub cash: Decimal,
    /// Cash plus the market value of the positions.
    pub equity: Decimal,
    /// Equity at the previous session's close.
    pub last_equity: Decimal,
    /// What Alpaca would let the account buy now.
    pub buying_power: Decimal,
    /// Buying power of securities that cannot be margined (cash).
    #[serde(default)]
    pub non_marginable_buying_power: Option<Decimal>,
    /// Market value of the long positions.
    #[serde(default)]
    pub long_market_value: Decimal,
    /// Market value of the short positions (0 on a cash-disciplined account).
    #[serde(default)]
    pub short_market_value: Decimal,
    /// Margin multiplier as a string: `"1"` for a cash account.
    #[serde(default)]
    pub multiplier: String,
    /// Whether the account may sell short.
    #[serde(default)]
    pub shorting_enabled: bool,
    /// Set when Alpaca blocks trading.
    #[serde(default)]
    pub trading_blocked: bool,
    /// Set when the account is blocked altogether.
    #[serde(default)]
    pub account_blocked: bool,
    /// Deprecated by Alpaca: may be missing or null.
    #[serde(default)]
    pub pattern_day_trader: Option<bool>,
}

/// `GET/PATCH /v2/account/configurations`: account settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountConfigurations {
    /// True forbids short sales.
    #[serde(default)]
    pub no_shorting: bool,
    /// Margin multiplier cap as a string (`"1"` = no margin).
    #[serde(default)]
    pub max_margin_multiplier: String,
    /// True blocks new orders.
    #[serde(default)]
    pub suspend_trade: bool,
    /// Whether fractional orders are allowed.
    #[serde(default)]
    pub fractional_trading: bool,
    /// Day-trading buying power check (`entry`, `exit`, `both`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtbp_check: Option<String>,
    /// Trade confirmation e-mails (`all`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_confirm_email: Option<String>,
    /// Pattern-day-trader check (`entry`, `exit`, `both`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdt_check: Option<String>,
}

/// The settings the cash-account discipline requires: no shorting, margin multiplier 1.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CashAccountPatch {
    /// Always `true`.
    pub no_shorting: bool,
    /// Always `"1"`.
    pub max_margin_multiplier: String,
}

impl CashAccountPatch {
    /// No shorting, multiplier 1.
    pub fn new() -> Self {
        CashAccountPatch { no_shorting: true, max_margin_multiplier: "1".into() }
    }
}

/// `GET /v2/positions`: one open position.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Ticker.
    pub symbol: String,
    /// Signed quantity (negative when short).
    pub qty: Decimal,
    /// Average entry price.
    pub avg_entry_price: Decimal,
    /// `long` or `short`.
    #[serde(default)]
    pub side: String,
    /// Quantity not tied up in open orders.
    #[serde(default)]
    pub qty_available: Option<Decimal>,
    /// Current market value.
    #[serde(default)]
    pub market_value: Option<Decimal>,
    /// Cost basis.
    #[serde(default)]
    pub cost_basis: Option<Decimal>,
    /// Last price.
    #[serde(default)]
    pub current_price: Option<Decimal>,
}

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSide {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl OrderSide {
    /// `buy` or `sell`, as Alpaca spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "buy",
            OrderSide::Sell => "sell",
        }
    }

    /// Parses `buy` / `sell`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "buy" => Some(OrderSide::Buy),
            "sell" => Some(OrderSide::Sell),
            _ => None,
        }
    }
}

/// An order's state at Alpaca. Unknown statuses parse as [`OrderStatus::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Received and routed.
    New,
    /// Partly filled, still working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Done for the day, may resume.
    DoneForDay,
    /// Canceled.
    Canceled,
    /// Expired.
    Expired,
    /// Replaced by another order.
    Replaced,
    /// A cancel is pending.
    PendingCancel,
    /// A replace is pending.
    PendingReplace,
    /// Accepted, not yet routed.
    Accepted,
    /// Received, not yet accepted.
    PendingNew,
    /// Accepted for bidding (auctions).
    AcceptedForBidding,
    /// Stopped: a fill is guaranteed.
    Stopped,
    /// Rejected.
    Rejected,
    /// Suspended.
    Suspended,
    /// Filled and being calculated.
    Calculated,
    /// A status this client does not know; treated as still working.
    #[serde(untagged)]
    Other(String),
}

impl OrderStatus {
    /// True when the order can no longer change (filled, canceled, expired, replaced, rejected).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Canceled
                | OrderStatus::Expired
                | OrderStatus::Replaced
                | OrderStatus::Rejected
        )
    }

    /// Alpaca's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::DoneForDay => "done_for_day",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Expired => "expired",
            OrderStatus::Replaced => "replaced",
            OrderStatus::PendingCancel => "pending_cancel",
            OrderStatus::PendingReplace => "pending_replace",
            OrderStatus::Accepted => "accepted",
            OrderStatus::PendingNew => "pending_new",
            OrderStatus::AcceptedForBidding => "accepted_for_bidding",
            OrderStatus::Stopped => "stopped",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Suspended => "suspended",
            OrderStatus::Calculated => "calculated",
            OrderStatus::Other(s) => s,
        }
    }
}

/// An order as Alpaca reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Alpaca's order UUID.
    pub id: String,
    /// Our deterministic id.
    pub client_order_id: String,
    /// Ticker.
    pub symbol: String,
    /// Ordered quantity (null for notional orders).
    #[serde(default)]
    pub qty: Option<Decimal>,
    /// Quantity filled so far.
    pub filled_qty: Decimal,
    /// Average fill price so far (null before the first fill).
    #[serde(default)]
    pub filled_avg_price: Option<Decimal>,
    /// Buy or sell.
    pub side: OrderSide,
    /// `market`, `limit`, … (kept as text).
    #[serde(rename = "type", default)]
    pub order_type: String,
    /// `day`, `gtc`, … (kept as text).
    #[serde(default)]
    pub time_in_force: String,
    /// Current state.
    pub status: OrderStatus,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Submission time (RFC 3339).
    #[serde(default)]
    pub submitted_at: Option<String>,
    /// Fill time (RFC 3339).
    #[serde(default)]
    pub filled_at: Option<String>,
    /// `""` (simple), `oco`, `bracket`, `oto` (kept as text).
    #[serde(default)]
    pub order_class: String,
    /// Limit price of `limit` orders (the take-profit of an `oco` parent).
    #[serde(default)]
    pub limit_price: Option<Decimal>,
    /// Stop price of `stop` orders (and the trigger a trailing stop stands at).
    #[serde(default)]
    pub stop_price: Option<Decimal>,
    /// Trail of `trailing_stop` orders, in percent.
    #[serde(default)]
    pub trail_percent: Option<Decimal>,
    /// High-water mark of a `trailing_stop` order.
    #[serde(default)]
    pub hwm: Option<Decimal>,
    /// The other orders of a multi-leg order (an `oco`'s stop-loss leg); null for simple ones.
    #[serde(default)]
    pub legs: Option<Vec<Order>>,
}

impl Order {
    /// Filled quantity and average price over the order and its legs: an `oco` fills through
    /// its take-profit parent or its stop-loss leg, and both count as the one sale.
    pub fn filled_with_legs(&self) -> (Decimal, Option<Decimal>) {
        let parts = std::iter::once(self).chain(self.legs.iter().flatten());
        let (mut qty, mut notional) = (Decimal::ZERO, Decimal::ZERO);
        for o in parts {
            qty += o.filled_qty;
            notional += o.filled_qty * o.filled_avg_price.unwrap_or_default();
        }
        let avg = (!qty.is_zero()).then(|| notional / qty);
        (qty, avg.or(self.filled_avg_price))
    }

    /// True when neither the order nor any of its legs can change any more.
    pub fn is_done_with_legs(&self) -> bool {
        self.status.is_terminal() && self.legs.iter().flatten().all(|l| l.status.is_terminal())
    }
}

/// `POST /v2/orders`: a market order, or a protective sell ([`Protection`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Ticker.
    pub symbol: String,
    /// Quantity, sent as a string.
    pub qty: Decimal,
    /// Buy or sell.
    pub side: OrderSide,
    /// `market`, `stop`, `limit` or `trailing_stop`.
    #[serde(rename = "type")]
    pub order_type: String,
    /// `day` for market orders, `gtc` for protective ones (held overnight).
    pub time_in_force: String,
    /// Our deterministic id (at most 128 characters).
    pub client_order_id: String,
    /// `oco` for a take-profit with a stop-loss; absent for simple orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_class: Option<String>,
    /// Limit price (`limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<Decimal>,
    /// Stop price (`stop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
    /// Trail in percent (`trailing_stop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_percent: Option<Decimal>,
    /// The take-profit leg of an `oco`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<TakeProfitLeg>,
    /// The stop-loss leg of an `oco`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<StopLossLeg>,
}

/// `take_profit` of a multi-leg order request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeProfitLeg {
    /// The limit the position is sold at (or better).
    pub limit_price: Decimal,
}

/// `stop_loss` of a multi-leg order request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopLossLeg {
    /// The stop that triggers a market sale.
    pub stop_price: Decimal,
}

/// A protective sell resting at the broker for a held position: what one Alpaca order can
/// express of a strategy's stop-loss, take-profit and trailing stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// `stop`: a market sale once the price trades at or below `stop`.
    Stop {
        /// Stop price.
        stop: Decimal,
    },
    /// `limit`: a sale at `limit` or better.
    Limit {
        /// Limit price.
        limit: Decimal,
    },
    /// `oco`: a take-profit limit and a stop-loss; one filling cancels the other.
    Oco {
        /// Stop price of the stop-loss leg.
        stop: Decimal,
        /// Limit price of the take-profit leg.
        limit: Decimal,
    },
    /// `trailing_stop`: a stop trailing the high-water mark by `percent` %.
    Trailing {
        /// Trail in percent.
        percent: Decimal,
    },
}

impl OrderRequest {
    /// A day market order.
    pub fn market(symbol: &str, qty: Decimal, side: OrderSide, client_order_id: &str) -> Self {
        OrderRequest {
            symbol: symbol.to_string(),
            qty,
            side,
            order_type: "market".into(),
            time_in_force: "day".into(),
            client_order_id: client_order_id.to_string(),
            order_class: None,
            limit_price: None,
            stop_price: None,
            trail_percent: None,
            take_profit: None,
            stop_loss: None,
        }
    }

    /// A good-till-canceled protective sell of `qty` shares.
    pub fn protective(symbol: &str, qty: Decimal, protection: Protection, client_order_id: &str) -> Self {
        let mut r = OrderRequest::market(symbol, qty, OrderSide::Sell, client_order_id);
        r.time_in_force = "gtc".into();
        match protection {
            Protection::Stop { stop } => {
                r.order_type = "stop".into();
                r.stop_price = Some(stop);
            }
            Protection::Limit { limit } => {
                r.order_type = "limit".into();
                r.limit_price = Some(limit);
            }
            Protection::Oco { stop, limit } => {
                r.order_type = "limit".into();
                r.order_class = Some("oco".into());
                r.take_profit = Some(TakeProfitLeg { limit_price: limit });
                r.stop_loss = Some(StopLossLeg { stop_price: stop });
            }
            Protection::Trailing { percent } => {
                r.order_type = "trailing_stop".into();
                r.trail_percent = Some(percent);
            }
        }
        r
    }

    /// The protection this request places, if it is a protective sell.
    pub fn protection(&self) -> Option<Protection> {
        match (self.order_type.as_str(), self.order_class.as_deref()) {
            ("limit", Some("oco")) => Some(Protection::Oco {
                stop: self.stop_loss.as_ref()?.stop_price,
                limit: self.take_profit.as_ref()?.limit_price,
            }),
            ("stop", _) => Some(Protection::Stop { stop: self.stop_price? }),
            ("limit", _) => Some(Protection::Limit { limit: self.limit_price? }),
            ("trailing_stop", _) => Some(Protection::Trailing { percent: self.trail_percent? }),
            _ => None,
        }
    }
}

/// `GET /v2/clock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// Now (RFC 3339 with offset).
    pub timestamp: String,
    /// Whether the market is open now.
    pub is_open: bool,
    /// Next open (RFC 3339).
    pub next_open: String,
    /// Next close (RFC 3339).
    pub next_close: String,
}

/// `GET /v2/calendar`: one trading day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Open, `HH:MM` New York.
    pub open: String,
    /// Close, `HH:MM` New York (13:00 on early closes).
    pub close: String,
    /// Extended session open, `HHMM`.
    #[serde(default)]
    pub session_open: Option<String>,
    /// Extended session close, `HHMM`.
    #[serde(default)]
    pub session_close: Option<String>,
    /// When a trade of this day settles (T+1), `YYYY-MM-DD`.
    #[serde(default)]
    pub settlement_date: Option<String>,
}

/// One asset of `GET /v2/assets` (the fields a universe needs; the rest are ignored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Ticker, e.g. `AAPL`.
    pub symbol: String,
    /// Listing exchange: `NYSE`, `NASDAQ`, `ARCA`, `AMEX`, `BATS`, `OTC`, …
    pub exchange: String,
    /// `active`, or `inactive` for delisted names the broker still lists.
    pub status: String,
    /// `us_equity` or `crypto`.
    #[serde(default)]
    pub class: String,
    /// Company name.
    #[serde(default)]
    pub name: String,
    /// Whether Alpaca trades it.
    #[serde(default)]
    pub tradable: bool,
}

/// An error body: `{"code": 40310000, "message": "insufficient buying power"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// Alpaca's error code.
    #[serde(default)]
    pub code: Option<u64>,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

/// One `trade_updates` message's `data`: an order event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TradeUpdate {
    /// `new`, `fill`, `partial_fill`, `canceled`, `expired`, `rejected`, … (kept as text).
    pub event: String,
    /// The order after the event.
    pub order: Order,
    /// Price of this execution (fills only).
    #[serde(default)]
    pub price: Option<Decimal>,
    /// Quantity of this execution (fills only).
    #[serde(default)]
    pub qty: Option<Decimal>,
    /// Position size after the execution.
    #[serde(default)]
    pub position_qty: Option<Decimal>,
    /// Event time (RFC 3339).
    #[serde(default)]
    pub timestamp: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_parses_strings_and_survives_deprecated_and_unknown_fields() {
        let json = r#"{"id":"e6fe16f3","account_number":"010203ABCD","status":"ACTIVE","currency":"USD",
            "cash":"-23140.2","equity":"103820.56","last_equity":"103529.24","buying_power":"262113.632",
            "multiplier":"4","shorting_enabled":true,"pattern_day_trader":null,"crypto_status":"ACTIVE",
            "long_market_value":"126960.76","short_market_value":"0","daytrade_count":0}"#;
        let a: Account = serde_json::from_str(json).unwrap();
        assert_eq!(a.cash, Decimal::new(-231402, 1));
        assert_eq!(a.buying_power.to_string(), "262113.632");
        assert_eq!(a.pattern_day_trader, None);
        let without: Account =
            serde_json::from_str(&json.replace(r#""pattern_day_trader":null,"#, "")).unwrap();
        assert_eq!(without.equity, a.equity);
    }

    #[test]
    fn unknown_order_status_is_kept_not_an_error() {
        let json = r#"{"id":"1","client_order_id":"c","symbol":"SPY","qty":"3","filled_qty":"0",
            "filled_avg_price":null,"side":"buy","type":"market","time_in_force":"day","status":"held_for_review"}"#;
        let o: Order = serde_json::from_str(json).unwrap();
        assert_eq!(o.status, OrderStatus::Other("held_for_review".into()));
        assert!(!o.status.is_terminal());
        let filled: Order = serde_json::from_str(&json.replace("held_for_review", "filled")).unwrap();
        assert!(filled.status.is_terminal());
        assert_eq!(serde_json::to_value(&filled.status).unwrap(), "filled");
    }

    #[test]
    fn protective_orders_have_alpacas_json_shapes() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let json = |p| serde_json::to_value(OrderRequest::protective("SPY", d("7"), p, "tb-p")).unwrap();
        let stop = json(Protection::Stop { stop: d("98.51") });
        assert_eq!(
            stop,
            serde_json::json!({"symbol": "SPY", "qty": "7", "side": "sell", "type": "stop",
                "time_in_force": "gtc", "client_order_id": "tb-p", "stop_price": "98.51"})
        );
        let limit = json(Protection::Limit { limit: d("103.2") });
        assert_eq!((&limit["type"], &limit["limit_price"]), (&"limit".into(), &"103.2".into()));
        assert!(limit.get("stop_price").is_none() && limit.get("order_class").is_none());
        let oco = json(Protection::Oco { stop: d("98.51"), limit: d("103.2") });
        assert_eq!(
            oco,
            serde_json::json!({"symbol": "SPY", "qty": "7", "side": "sell", "type": "limit",
                "time_in_force": "gtc", "client_order_id": "tb-p", "order_class": "oco",
                "take_profit": {"limit_price": "103.2"}, "stop_loss": {"stop_price": "98.51"}})
        );
        let trailing = json(Protection::Trailing { percent: d("1.5") });
        assert_eq!((&trailing["type"], &trailing["trail_percent"]), (&"trailing_stop".into(), &"1.5".into()));
        // Each request reads back as the protection it places; a market order places none.
        for p in [
            Protection::Stop { stop: d("1") },
            Protection::Limit { limit: d("2") },
            Protection::Oco { stop: d("1"), limit: d("2") },
            Protection::Trailing { percent: d("3") },
        ] {
            assert_eq!(OrderRequest::protective("SPY", d("1"), p, "x").protection(), Some(p));
        }
        assert_eq!(OrderRequest::market("SPY", d("1"), OrderSide::Sell, "x").protection(), None);
    }

    #[test]
    fn an_oco_order_fills_through_its_stop_leg() {
        let json = r#"{"id":"p","client_order_id":"tb-p","symbol":"SPY","qty":"10","filled_qty":"0",
            "filled_avg_price":null,"side":"sell","type":"limit","time_in_force":"gtc","status":"canceled",
            "order_class":"oco","limit_price":"110","stop_price":null,"legs":[{"id":"l","client_order_id":"x",
            "symbol":"SPY","qty":"10","filled_qty":"10","filled_avg_price":"95.5","side":"sell","type":"stop",
            "time_in_force":"gtc","status":"filled","stop_price":"95.5","legs":null}]}"#;
        let o: Order = serde_json::from_str(json).unwrap();
        assert_eq!(o.limit_price, Some(Decimal::from(110)));
        assert_eq!(o.filled_with_legs(), (Decimal::from(10), Some(Decimal::new(955, 1))));
        assert!(o.is_done_with_legs());
    }

    #[test]
    fn order_request_sends_quantity_as_a_string() {
        let r = OrderRequest::market("SPY", Decimal::new(15, 0), OrderSide::Sell, "tb-x");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["qty"], "15");
        assert_eq!(v["type"], "market");
        assert_eq!(v["side"], "sell");
    }
}
