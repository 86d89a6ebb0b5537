//! A fake Alpaca on 127.0.0.1 for tests (cargo feature `fake`): the trading API v2, market data
//! v2 and the `trade_updates` websocket, speaking Alpaca's JSON, with fault injection.
//!
//! It holds one cash account, its positions and orders, and bars it serves and fills at: a
//! market order is answered `accepted` with nothing filled (as Alpaca answers) and executes at the
//! open of the 1-minute bar in progress on the shared [`Clock`] (the latest daily close when it has
//! no minute bars), which is exactly the next-open fill of the kernel's simulator for a signal
//! computed on the bar before; the fill is seen on the stream and by lookups. It refuses what
//! Alpaca refuses (a sell stop at or above the market, a wash trade, a long `client_order_id`, a
//! request or stream without the account's keys: [`FakeAlpaca::set_keys`]),
//! lists an oco's legs as orders of their own unless asked `nested=true`, and splits stocks
//! ([`FakeAlpaca::split`]). Protective sells (`stop`,
//! `limit`, `oco`, `trailing_stop`, good till canceled) trigger against each completed bar as
//! the kernel's stops do, at their level or at the open of a bar that gapped through. Faults are queued per [`Route`]
//! and each fires once: an HTTP status (429 carries the rate-limit headers), a delay past the
//! client's timeout (after acting), a connection dropped before or after the request took effect, or a hang
//! (for kill tests). [`FillMode`] makes orders fill partially or rest unfilled.

mod history;
mod hooked;
mod market;
mod protect;
pub mod scenario;
mod server;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use datasets::{Bars, Timeframe};
use rust_decimal::Decimal;
use tokio::sync::broadcast;

pub use history::{DataFault, FakeAsset};
pub use hooked::{Hook, HookedClock};

use crate::alpaca::model::{AccountConfigurations, Order};
use crate::clock::Clock;

/// Which requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /v2/orders`.
    CreateOrder,
    /// `GET /v2/orders/{id}` and `GET /v2/orders:by_client_order_id`.
    GetOrder,
    /// `GET /v2/orders`.
    ListOrders,
    /// `DELETE /v2/orders/{id}`.
    CancelOrder,
    /// `GET /v2/positions`.
    Positions,
    /// `GET /v2/account`.
    Account,
    /// Market data bars.
    Bars,
    /// Any request.
    Any,
}

/// One injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an Alpaca error body, without acting (429 with headers).
    Status(u16),
    /// Act, then answer only after this long: past the client's timeout, the client cannot
    /// know the request took effect.
    Delay(Duration),
    /// Close the connection without acting.
    DropBefore,
    /// Act, then close the connection without an answer: the client cannot know it happened.
    DropAfter,
    /// On a cancel: the order fills completely at the market first (a stop that triggered
    /// while the cancel was on its way), so the cancel finds nothing left to cancel. On a
    /// positions read: every working order fills at the market first, whatever the fill mode
    /// (a fill landing between a reconciliation's order lookups and its positions read).
    FillFirst,
}

/// How market orders fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FillMode {
    /// Completely, at once.
    #[default]
    Immediate,
    /// Half (rounded up) at once, the rest on the next request after that.
    Partial,
    /// Not at all: orders stay `new`.
    Never,
}

/// One request the fake saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Status answered (0 when the connection was dropped or hung).
    pub status: u16,
}

#[derive(Clone, Debug)]
struct FakeOrder {
    order: Order,
    /// Quantity still to fill.
    left: Decimal,
    /// Where a protective (stop, limit, oco, trailing-stop) order stands in its bars; `None`
    /// for market orders.
    watch: Option<protect::Watch>,
    /// When it was accepted.
    placed: datasets::Timestamp,
}

struct State {
    clock: Arc<dyn Clock>,
    cash: Decimal,
    last_equity: Decimal,
    config: AccountConfigurations,
    positions: BTreeMap<String, (Decimal, Decimal)>,
    orders: Vec<FakeOrder>,
    minute: HashMap<String, Bars>,
    daily: HashMap<String, Bars>,
    faults: HashMap<Route, VecDeque<Fault>>,
    fill_mode: FillMode,
    seen: Vec<Seen>,
    duplicate_submissions: usize,
    hang_at: Option<(Route, usize)>,
    counts: HashMap<Route, usize>,
    hanging: bool,
    rate: (u64, u32),
    rate_limit: u32,
    updates: broadcast::Sender<String>,
    /// Sessions the exchange closed after the calendar was built (not in the built-in one).
    closed: BTreeSet<NaiveDate>,
    /// The account's id.
    account_id: String,
    /// Splits: symbol → (the ex-date's open, new shares per old share). The bars the fake holds
    /// are the raw ones; `adjustment=split` serves the bars before each ex-date adjusted.
    splits: HashMap<String, Vec<(datasets::Timestamp, Decimal)>>,
    /// Stream connections opened before the latest [`FakeAlpaca::stall_stream`] have stalled.
    stream_generation: u64,
    /// No `trade_updates` event is sent (the connection itself stays alive).
    stream_muted: bool,
    /// An oco that triggers fills through both its take-profit and its stop-loss leg.
    double_fill_ocos: bool,
    /// Minute bars are served preliminary until this long (ns) after they end.
    revision_ns: Option<i64>,
    /// Crypto bars, assets and data-API faults (`history.rs`).
    history: history::History,
    /// The account's API key id and secret: set by [`FakeAlpaca::set_keys`], else the first
    /// complete pair presented.
    keys: Option<(String, String)>,
}

impl State {
    /// Whether a request or stream presenting `id` and `secret` may use the account: both must
    /// be given, and be the account's (the first pair presented becomes the account's when none
    /// was set), as Alpaca answers 401 to a request without its keys.
    fn admit(&mut self, id: Option<&str>, secret: Option<&str>) -> bool {
        let (Some(id), Some(secret)) = (id.filter(|x| !x.is_empty()), secret.filter(|x| !x.is_empty()))
        else {
            return false;
        };
        let keys = self.keys.get_or_insert_with(|| (id.to_string(), secret.to_string()));
        keys.0 == id && keys.1 == secret
    }
}

/// How long after its minute a minute bar is served preliminary by default (Alpaca revises bars
/// with the late trades of their minute about 30 s after it ends).
const REVISION_NS: i64 = 30_000_000_000;

/// A running fake Alpaca. Dropping it stops the server.
pub struct FakeAlpaca {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAlpaca {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAlpaca {
    /// Starts a fake with `cash` on a free port of 127.0.0.1, reading the time from `clock`.
    pub async fn start(clock: Arc<dyn Clock>, cash: Decimal) -> std::io::Result<Self> {
        let (updates, _) = broadcast::channel(4096);
        let state = State {
            clock,
            cash,
            last_equity: cash,
            config: AccountConfigurations {
                max_margin_multiplier: "4".into(),
                fractional_trading: true,
                dtbp_check: Some("entry".into()),
                trade_confirm_email: Some("all".into()),
                pdt_check: Some("entry".into()),
                ..AccountConfigurations::default()
            },
            positions: BTreeMap::new(),
            orders: Vec::new(),
            minute: HashMap::new(),
            daily: HashMap::new(),
            faults: HashMap::new(),
            fill_mode: FillMode::Immediate,
            seen: Vec::new(),
            duplicate_submissions: 0,
            hang_at: None,
            counts: HashMap::new(),
            hanging: false,
            rate: (0, 0),
            rate_limit: crate::alpaca::REQUESTS_PER_MINUTE,
            updates,
            closed: BTreeSet::new(),
            account_id: "fake-account-0001".into(),
            splits: HashMap::new(),
            stream_generation: 0,
            stream_muted: false,
            double_fill_ocos: false,
            revision_ns: Some(REVISION_NS),
            history: history::History::default(),
            keys: None,
        };
        let state = Arc::new(Mutex::new(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = server::router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeAlpaca { state, addr, task })
    }

    /// The endpoints to give the client: every base URL on this server.
    pub fn endpoints(&self) -> crate::alpaca::Endpoints {
        crate::alpaca::Endpoints {
            trading: format!("http://{}", self.addr),
            data: format!("http://{}", self.addr),
            stream: format!("ws://{}/stream", self.addr),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("fake state lock"))
    }

    /// Serves and fills at these bars (`1Min` or `1Day`).
    pub fn add_bars(&self, symbol: &str, timeframe: Timeframe, bars: Bars) {
        self.with(|s| match timeframe {
            Timeframe::Day1 => s.daily.insert(symbol.to_string(), bars),
            _ => s.minute.insert(symbol.to_string(), bars),
        });
    }

    /// Closes the session of `date` (an unscheduled closure announced after the build): the
    /// clock and the calendar say so, and nothing fills that day.
    pub fn close_session(&self, date: NaiveDate) {
        self.with(|s| s.closed.insert(date));
    }

    /// Splits `symbol` `ratio` for one (2 = 2-for-1, 0.5 = 1-for-2) with ex-date `date`, as
    /// the broker does overnight: its position holds `ratio` times the shares at the same cost,
    /// its working orders in the symbol are canceled, and its bars before the ex-date (the
    /// prices they traded at, as given to [`FakeAlpaca::add_bars`]) are served divided by
    /// `ratio` when asked for `adjustment=split`, as they are when asked `raw`.
    pub fn split(&self, symbol: &str, date: NaiveDate, ratio: Decimal) {
        self.with(|s| {
            let open = datasets::calendar::session(date).expect("the ex-date is a trading day").open;
            s.splits.entry(symbol.to_string()).or_default().push((open, ratio));
            if let Some(p) = s.positions.get_mut(symbol) {
                p.0 *= ratio;
            }
            let ids: Vec<String> = s
                .orders
                .iter()
                .filter(|o| o.order.symbol == symbol && !o.order.status.is_terminal())
                .map(|o| o.order.id.clone())
                .collect();
            for id in ids {
                s.cancel(&id);
            }
        });
    }

    /// Stalls every open `trade_updates` connection, as a connection dies without closing (a
    /// NAT entry dropped): it sends nothing more, answers no ping and never closes; the events
    /// meant for it are lost. Connections opened afterwards work.
    pub fn stall_stream(&self) {
        self.with(|s| s.stream_generation += 1);
    }

    /// Sends no `trade_updates` event while `muted` (an event the broker never delivered);
    /// connections stay alive and answer pings.
    pub fn mute_stream(&self, muted: bool) {
        self.with(|s| s.stream_muted = muted);
    }

    /// Makes every oco that triggers from now on fill twice: its take-profit and its stop-loss
    /// leg, each for the whole quantity (Alpaca documents that both legs of an oco can execute
    /// in a fast market). The account ends short what it held.
    pub fn double_fill_ocos(&self, on: bool) {
        self.with(|s| s.double_fill_ocos = on);
    }

    /// Serves each minute bar as a preliminary version (its opening trade only) until `delay`
    /// after its minute ends, and the final bar after that, as Alpaca revises bars with the late
    /// trades of their minute (the default: 30 s); `None` serves final bars at once.
    pub fn revise_minutes(&self, delay: Option<Duration>) {
        self.with(|s| s.revision_ns = delay.map(|d| d.as_nanos() as i64));
    }

    /// The account's API keys: every request and stream presenting other ones (or none) is
    /// refused, 401 and `unauthorized`. Without this, the first pair presented is the account's.
    pub fn set_keys(&self, key_id: &str, secret: &str) {
        self.with(|s| s.keys = Some((key_id.to_string(), secret.to_string())));
    }

    /// Answers as another account from now on (other keys, or the other environment).
    pub fn set_account_id(&self, id: &str) {
        self.with(|s| s.account_id = id.to_string());
    }

    /// Queues `fault` for the next request on `route`.
    pub fn inject(&self, route: Route, fault: Fault) {
        self.with(|s| s.faults.entry(route).or_default().push_back(fault));
    }

    /// Sets how orders fill from now on.
    pub fn set_fill_mode(&self, mode: FillMode) {
        self.with(|s| s.fill_mode = mode);
    }

    /// Sets a position outright (0 removes it): the broker disagreeing with the bridge.
    pub fn set_position(&self, symbol: &str, qty: Decimal, avg_price: Decimal) {
        self.with(|s| {
            if qty.is_zero() {
                s.positions.remove(symbol);
            } else {
                s.positions.insert(symbol.to_string(), (qty, qty * avg_price));
            }
        });
    }

    /// Sets cash and the previous close's equity.
    pub fn set_cash(&self, cash: Decimal, last_equity: Decimal) {
        self.with(|s| {
            s.cash = cash;
            s.last_equity = last_equity;
        });
    }

    /// Acts on the `n`-th request on `route` (counting from 1 since the fake started;
    /// [`Route::Any`] counts all) and then never answers it: the request hangs, so a kill test
    /// can kill the client while the broker has acted and the client does not know.
    pub fn hang_at(&self, n: Option<(Route, usize)>) {
        self.with(|s| {
            s.hang_at = n;
            s.hanging = false;
        });
    }

    /// True once a request is hanging.
    pub fn is_hanging(&self) -> bool {
        self.with(|s| s.hanging)
    }

    /// Sets the requests per minute the rate-limit headers count down from (Alpaca: 200).
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.with(|s| s.rate_limit = per_minute);
    }

    /// Requests seen so far on `route` ([`Route::Any`]: all).
    pub fn count(&self, route: Route) -> usize {
        self.with(|s| s.counts.get(&route).copied().unwrap_or(0))
    }

    /// Requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }

    /// Orders accepted so far.
    pub fn orders(&self) -> Vec<Order> {
        self.with(|s| s.orders.iter().map(|o| o.order.clone()).collect())
    }

    /// Fills every working order now at the market, whatever the fill mode or the session
    /// (an order the broker executed while the client was away).
    pub fn fill_now(&self) {
        self.with(State::fill_all_at_market);
    }

    /// Positions: symbol → quantity.
    pub fn positions(&self) -> BTreeMap<String, Decimal> {
        self.with(|s| s.positions.iter().map(|(k, v)| (k.clone(), v.0)).collect())
    }

    /// Cash now.
    pub fn cash(&self) -> Decimal {
        self.with(|s| s.cash)
    }

    /// The account configuration now.
    pub fn configuration(&self) -> AccountConfigurations {
        self.with(|s| s.config.clone())
    }

    /// Order submissions refused because their `client_order_id` was already used.
    pub fn duplicate_submissions(&self) -> usize {
        self.with(|s| s.duplicate_submissions)
    }
}
