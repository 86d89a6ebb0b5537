//! The fake's HTTP and websocket front: routing, faults, rate-limit headers, market data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use datasets::time::NANOS_PER_MIN;
use datasets::{Bars, Timestamp, calendar};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::market::{WASH_TRADE, order_json, rfc3339};
use super::{Fault, Route, Seen, State};
use crate::alpaca::model::{AccountConfigurations, Order, OrderRequest};

type Shared = Arc<Mutex<State>>;

pub(super) fn router(state: Shared) -> Router {
    Router::new().route("/stream", get(stream)).fallback(handle).with_state(state)
}

fn route_of(method: &Method, path: &str) -> Route {
    match (method.as_str(), path) {
        ("POST", "/v2/orders") => Route::CreateOrder,
        ("GET", "/v2/orders") => Route::ListOrders,
        ("GET", p) if p.starts_with("/v2/orders") => Route::GetOrder,
        ("DELETE", p) if p.starts_with("/v2/orders/") => Route::CancelOrder,
        ("GET", "/v2/positions") => Route::Positions,
        ("GET", "/v2/account") => Route::Account,
        ("GET", p) if p.starts_with("/v2/stocks") || p.starts_with("/v1beta3/crypto") => Route::Bars,
        _ => Route::Any,
    }
}

/// Drops the connection without an answer (no panic message: the hook is not called).
fn drop_connection() -> ! {
    std::panic::resume_unwind(Box::new("fake: connection dropped"))
}

async fn handle(
    Extract(shared): Extract<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let route = route_of(&method, &path);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (n, fault, hang) = {
        let mut s = shared.lock().expect("fake state lock");
        s.seen.push(Seen { method: method.to_string(), path: path.clone(), status: 0 });
        let n = s.seen.len();
        *s.counts.entry(route).or_default() += 1;
        if route != Route::Any {
            *s.counts.entry(Route::Any).or_default() += 1;
        }
        let hang = s.hang_at.is_some_and(|(r, k)| s.counts.get(&r) == Some(&k));
        if !s.admit(header("APCA-API-KEY-ID"), header("APCA-API-SECRET-KEY")) {
            drop(s);
            return finish(&shared, n, coded(401, 40_110_000, "request is not authorized"));
        }
        let fault = [route, Route::Any].iter().find_map(|r| s.faults.get_mut(r).and_then(|q| q.pop_front()));
        (n, fault, hang)
    };
    match fault {
        Some(Fault::Status(code)) => return finish(&shared, n, error(code, "injected fault")),
        Some(Fault::DropBefore) => drop_connection(),
        _ => {}
    }
    let response = {
        let mut s = shared.lock().expect("fake state lock");
        s.process_pending();
        if fault == Some(Fault::FillFirst) {
            if route == Route::Positions {
                s.fill_all_at_market();
            } else {
                s.fill_at_market(path.trim_start_matches("/v2/orders/"));
            }
        }
        dispatch(&mut s, &method, &path, &query, &body)
    };
    if let Some(Fault::Delay(d)) = fault {
        tokio::time::sleep(d).await;
    }
    if hang {
        shared.lock().expect("fake state lock").hanging = true;
        std::future::pending::<()>().await;
    }
    if fault == Some(Fault::DropAfter) {
        drop_connection();
    }
    finish(&shared, n, response)
}

/// Records the status and adds the rate-limit headers.
fn finish(shared: &Shared, n: usize, mut response: Response) -> Response {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut s = shared.lock().expect("fake state lock");
    s.seen[n - 1].status = response.status().as_u16();
    let window = now / 60;
    if s.rate.0 != window {
        s.rate = (window, 0);
    }
    s.rate.1 += 1;
    let remaining = if response.status() == StatusCode::TOO_MANY_REQUESTS {
        0
    } else {
        s.rate_limit.saturating_sub(s.rate.1)
    };
    // A 429 asks for a short wait so tests stay fast; a real reset is the minute's end.
    let reset = if remaining == 0 { now + 2 } else { (window + 1) * 60 };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(s.rate_limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    response
}

pub(super) fn error(status: u16, message: &str) -> Response {
    coded(status, u64::from(status) * 100_000, message)
}

/// An Alpaca error body with its own `code` (e.g. 40310000 for a wash trade).
fn coded(status: u16, code: u64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

pub(super) fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn dispatch(
    s: &mut State,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    if let Some(response) = super::history::intercept(s, path) {
        return response;
    }
    match (method.as_str(), path) {
        ("GET", "/v2/assets") => super::history::assets(s, query),
        ("GET", p) if p.starts_with("/v1beta3/crypto/") => super::history::crypto_bars(s, query),
        ("GET", "/v2/account") => account(s),
        ("GET", "/v2/account/configurations") => configurations(s),
        ("PATCH", "/v2/account/configurations") => patch_config(s, body),
        ("GET", "/v2/positions") => positions(s),
        ("POST", "/v2/orders") => match serde_json::from_slice::<OrderRequest>(body) {
            Ok(request) => match s.create_order(request) {
                Ok(order) => ok(order_json(&order)),
                Err((status, message)) if message == WASH_TRADE => coded(status, 40_310_000, &message),
                Err((status, message)) => error(status, &message),
            },
            Err(e) => error(422, &format!("invalid order request: {e}")),
        },
        ("GET", "/v2/orders") => list_orders(s, query),
        ("GET", "/v2/orders:by_client_order_id") => {
            let id = query.get("client_order_id").map(String::as_str).unwrap_or_default();
            match s.orders.iter().find(|o| o.order.client_order_id == id) {
                Some(o) => ok(order_json(&o.order)),
                None => error(404, "order not found"),
            }
        }
        ("GET", p) if p.starts_with("/v2/orders/") => {
            let id = &p["/v2/orders/".len()..];
            let nested = query.get("nested").is_some_and(|n| n == "true");
            match s.orders.iter().find(|o| o.order.id == id) {
                Some(o) if nested => ok(order_json(&o.order)),
                Some(o) => ok(order_json(&Order { legs: None, ..o.order.clone() })),
                None => error(404, "order not found"),
            }
        }
        ("DELETE", p) if p.starts_with("/v2/orders/") => match s.cancel(&p["/v2/orders/".len()..]) {
            Some(true) => StatusCode::NO_CONTENT.into_response(),
            Some(false) => error(422, "order is not cancelable"),
            None => error(404, "order not found"),
        },
        ("GET", "/v2/clock") => clock(s),
        ("GET", "/v2/calendar") => calendar_days(s, query),
        ("GET", "/v2/stocks/bars/latest") => latest_bars(s, query),
        ("GET", "/v2/stocks/bars") => multi_bars(s, query),
        ("GET", p) if p.starts_with("/v2/stocks/") && p.ends_with("/bars") => {
            let symbol = &p["/v2/stocks/".len()..p.len() - "/bars".len()];
            single_bars(s, symbol, query)
        }
        _ => error(404, "not found"),
    }
}

fn account(s: &State) -> Response {
    let (equity, long) = s.equity();
    ok(json!({
        "id": s.account_id, "account_number": "PA0000FAKE", "status": "ACTIVE", "currency": "USD",
        "cash": s.cash.to_string(), "equity": equity.to_string(), "portfolio_value": equity.to_string(),
        "last_equity": s.last_equity.to_string(), "buying_power": s.cash.to_string(),
        "non_marginable_buying_power": s.cash.to_string(), "regt_buying_power": s.cash.to_string(),
        "daytrading_buying_power": "0", "long_market_value": long.to_string(), "short_market_value": "0",
        "multiplier": s.config.max_margin_multiplier, "shorting_enabled": !s.config.no_shorting,
        "pattern_day_trader": false, "trading_blocked": false, "transfers_blocked": false,
        "account_blocked": false, "trade_suspended_by_user": false, "daytrade_count": 0,
        "created_at": "2024-01-02T14:30:00Z", "crypto_status": "INACTIVE",
        // A cash account: no margin in use, none required.
        "accrued_fees": "0", "initial_margin": "0", "maintenance_margin": "0",
        "last_maintenance_margin": "0", "sma": "0",
    }))
}

fn patch_config(s: &mut State, body: &[u8]) -> Response {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(body) else {
        return error(422, "invalid configuration");
    };
    let mut current = serde_json::to_value(&s.config).expect("config");
    for (k, v) in patch {
        current[k] = v;
    }
    match serde_json::from_value::<AccountConfigurations>(current) {
        Ok(c) => {
            s.config = c;
            configurations(s)
        }
        Err(e) => error(422, &e.to_string()),
    }
}

/// The account configuration as Alpaca answers it, with the fields the client does not read.
fn configurations(s: &State) -> Response {
    let mut v = serde_json::to_value(&s.config).expect("config");
    v["ptp_no_exception_entry"] = json!(false);
    ok(v)
}

fn positions(s: &State) -> Response {
    let list: Vec<Value> = s
        .positions
        .iter()
        .map(|(symbol, (qty, cost))| {
            let px = s.mark_price(symbol).unwrap_or_default();
            let lastday = s.previous_close(symbol).unwrap_or(px);
            let ratio = |a: Decimal, b: Decimal| if b.is_zero() { Decimal::ZERO } else { (a / b).round_dp(6) };
            let today = qty * (px - lastday);
            json!({
                "asset_id": format!("asset-{symbol}"), "symbol": symbol, "exchange": "NASDAQ",
                "asset_class": "us_equity", "qty": qty.to_string(), "qty_available": qty.to_string(),
                "avg_entry_price": if qty.is_zero() { "0".into() } else { (cost / qty).round_dp(4).to_string() },
                "side": if qty.is_sign_negative() { "short" } else { "long" },
                "market_value": (qty * px).to_string(), "cost_basis": cost.to_string(),
                "current_price": px.to_string(), "unrealized_pl": (qty * px - cost).to_string(),
                "unrealized_plpc": ratio(qty * px - cost, *cost).to_string(),
                "unrealized_intraday_pl": today.to_string(),
                "unrealized_intraday_plpc": ratio(today, qty * lastday).to_string(),
                "lastday_price": lastday.to_string(), "change_today": ratio(px - lastday, lastday).to_string(),
                "asset_marginable": true,
            })
        })
        .collect();
    ok(Value::Array(list))
}

fn list_orders(s: &State, query: &HashMap<String, String>) -> Response {
    let status = query.get("status").map_or("open", String::as_str);
    let limit = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50usize);
    // Newest first unless asked otherwise, as Alpaca's `direction` (default `desc`).
    let ascending = query.get("direction").is_some_and(|d| d == "asc");
    let ordered: Box<dyn Iterator<Item = &super::FakeOrder>> =
        if ascending { Box::new(s.orders.iter()) } else { Box::new(s.orders.iter().rev()) };
    // Without `nested=true` an oco's legs are listed as orders of their own after their parent.
    let nested = query.get("nested").is_some_and(|n| n == "true");
    let flat = ordered.flat_map(|o| {
        let legs = if nested { Vec::new() } else { o.order.legs.clone().unwrap_or_default() };
        let parent = if nested { o.order.clone() } else { Order { legs: None, ..o.order.clone() } };
        std::iter::once(parent).chain(legs)
    });
    let list: Vec<Value> = flat
        .filter(|o| match status {
            "open" => !o.status.is_terminal(),
            "closed" => o.status.is_terminal(),
            _ => true,
        })
        .take(limit)
        .map(|o| order_json(&o))
        .collect();
    ok(Value::Array(list))
}

fn clock(s: &State) -> Response {
    let now = s.clock.now();
    let today = calendar::session_date(now);
    let open = s.is_open(now);
    let next = s.session(today).filter(|x| now < x.close).unwrap_or_else(|| s.next_session(today));
    let next_open = if open { s.next_session(today).open } else { next.open };
    ok(json!({
        "timestamp": rfc3339(now), "is_open": open,
        "next_open": rfc3339(next_open), "next_close": rfc3339(next.close),
    }))
}

fn calendar_days(s: &State, query: &HashMap<String, String>) -> Response {
    let date = |k: &str| query.get(k).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (Some(start), Some(end)) = (date("start"), date("end")) else {
        return error(422, "start and end dates are required");
    };
    let ny = |t: Timestamp| calendar::to_new_york(t).format("%H:%M").to_string();
    let days: Vec<Value> = calendar::trading_days(start, end)
        .into_iter()
        .filter_map(|d| {
            let x = s.session(d)?;
            Some(json!({
                "date": d.to_string(), "open": ny(x.open), "close": ny(x.close),
                "session_open": "0400", "session_close": "2000",
                "settlement_date": settlement_date(s, d).to_string(),
            }))
        })
        .collect();
    ok(Value::Array(days))
}

/// True on a US bank holiday on which the exchange trades (Columbus Day, the second Monday of
/// October; Veterans Day, 11 November or the Monday after a Sunday): nothing settles then.
fn bank_holiday(d: NaiveDate) -> bool {
    use chrono::{Datelike, Weekday};
    let columbus = d.month() == 10 && d.weekday() == Weekday::Mon && (8..=14).contains(&d.day());
    let veterans = d.month() == 11
        && (d.day() == 11 && d.weekday() != Weekday::Sun || d.day() == 12 && d.weekday() == Weekday::Mon);
    columbus || veterans
}

/// The settlement date of a trade on `date` (T+1): the next session on which banks are open.
fn settlement_date(s: &State, date: NaiveDate) -> NaiveDate {
    let mut next = s.next_session(date).date;
    while bank_holiday(next) {
        next = s.next_session(next).date;
    }
    next
}

/// Bar `i` of `bars` as Alpaca's JSON, its prices multiplied by `factor` (its volume divided):
/// 1 for raw bars, below 1 before a split for split-adjusted ones.
pub(super) fn bar_json(bars: &Bars, i: usize, factor: f64) -> Value {
    let mut b = bars.bar(i);
    if factor != 1.0 {
        (b.open, b.high, b.low, b.close) =
            (b.open * factor, b.high * factor, b.low * factor, b.close * factor);
        b.volume /= factor;
        b.vwap = b.vwap.map(|v| v * factor);
    }
    json!({
        "t": Timestamp(bars.timestamps()[i]).to_datetime().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "o": b.open, "h": b.high, "l": b.low, "c": b.close, "v": b.volume,
        "n": b.trade_count.unwrap_or(100), "vw": b.vwap.unwrap_or((b.high + b.low + b.close) / 3.0),
    })
}

/// Indices of the completed bars of `symbol` in `[start, end)` from the query.
fn served(s: &State, symbol: &str, query: &HashMap<String, String>) -> Option<(&'static str, Vec<usize>)> {
    let parse = |k: &str| {
        query
            .get(k)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
    };
    let now = s.clock.now();
    let start = parse("start").unwrap_or(Timestamp(i64::MIN));
    let end = parse("end").unwrap_or(now);
    let (daily, bars) = match query.get("timeframe").map(String::as_str) {
        Some("1Day") => (true, s.daily.get(symbol)?),
        Some("1Min") => (false, s.minute.get(symbol)?),
        _ => return None,
    };
    let complete = |t: i64| {
        if daily {
            calendar::session(calendar::session_date(Timestamp(t))).is_some_and(|x| x.close <= now)
        } else {
            t + NANOS_PER_MIN <= now.0
        }
    };
    let idx = (0..bars.len())
        .filter(|&i| {
            let t = bars.timestamps()[i];
            t >= start.0 && t < end.0 && complete(t)
        })
        .collect();
    Some((if daily { "1Day" } else { "1Min" }, idx))
}

/// What a bar of `symbol` starting at `t` is multiplied by when served: 1 for raw prices
/// (Alpaca's default), one over the ratio of every split since when the query asks for
/// `adjustment=split` (or `all`).
fn factor(s: &State, symbol: &str, t: i64, query: &HashMap<String, String>) -> f64 {
    if !query.get("adjustment").is_some_and(|a| a == "split" || a == "all") {
        return 1.0;
    }
    let splits = s.splits.get(symbol).map(Vec::as_slice).unwrap_or_default();
    splits
        .iter()
        // Every bar of a session before the ex-date's (a daily bar is stamped at midnight, before
        // the ex-date's open, yet trades at the new prices).
        .filter(|(ex, _)| calendar::session_date(Timestamp(t)) < calendar::session_date(*ex))
        .map(|(_, r)| 1.0 / rust_decimal::prelude::ToPrimitive::to_f64(r).unwrap_or(1.0))
        .product()
}

pub(super) fn page_bounds(query: &HashMap<String, String>, total: usize) -> (usize, usize) {
    let limit = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(1000usize).clamp(1, 10_000);
    let from = query.get("page_token").and_then(|t| t.parse().ok()).unwrap_or(0usize).min(total);
    (from, (from + limit).min(total))
}

pub(super) fn token(to: usize, total: usize) -> Value {
    if to < total { json!(to.to_string()) } else { Value::Null }
}

/// Bar `i` of `bars` as served now ([`bar_json`]): a minute bar (`minute`) that ended less
/// than the fake's revision delay ago ([`super::FakeAlpaca::revise_minutes`]) is served as its
/// preliminary version, as Alpaca serves a bar before the late trades of its minute are in: only
/// its opening trade (high, low and close at the open) and half its volume.
fn served_json(s: &State, minute: bool, bars: &Bars, i: usize, factor: f64) -> Value {
    let mut bar = bar_json(bars, i, factor);
    let end = bars.timestamps()[i] + NANOS_PER_MIN;
    if minute && s.revision_ns.is_some_and(|d| s.clock.now().0 < end + d) {
        let open = bar["o"].clone();
        for k in ["h", "l", "c", "vw"] {
            bar[k] = open.clone();
        }
        bar["v"] = json!(bar["v"].as_f64().unwrap_or(0.0) / 2.0);
    }
    bar
}

fn single_bars(s: &State, symbol: &str, query: &HashMap<String, String>) -> Response {
    let Some((tf, idx)) = served(s, symbol, query) else {
        return ok(json!({"bars": null, "symbol": symbol, "next_page_token": null}));
    };
    let bars = if tf == "1Day" { &s.daily[symbol] } else { &s.minute[symbol] };
    let (from, to) = page_bounds(query, idx.len());
    let list: Vec<Value> = idx[from..to]
        .iter()
        .map(|&i| served_json(s, tf == "1Min", bars, i, factor(s, symbol, bars.timestamps()[i], query)))
        .collect();
    ok(json!({"bars": list, "symbol": symbol, "next_page_token": token(to, idx.len())}))
}

fn multi_bars(s: &State, query: &HashMap<String, String>) -> Response {
    let symbols: Vec<&str> = query.get("symbols").map(|x| x.split(',').collect()).unwrap_or_default();
    let mut flat: Vec<(&str, &Bars, usize)> = Vec::new();
    let mut sorted = symbols.clone();
    sorted.sort_unstable();
    for symbol in sorted {
        if let Some((tf, idx)) = served(s, symbol, query) {
            let bars = if tf == "1Day" { &s.daily[symbol] } else { &s.minute[symbol] };
            flat.extend(idx.into_iter().map(|i| (symbol, bars, i)));
        }
    }
    let minute = query.get("timeframe").is_some_and(|t| t == "1Min");
    super::history::symbols_page(&flat, query, |symbol, bars, i| {
        served_json(s, minute, bars, i, factor(s, symbol, bars.timestamps()[i], query))
    })
}

fn latest_bars(s: &State, query: &HashMap<String, String>) -> Response {
    let now = s.clock.now();
    let mut out = serde_json::Map::new();
    for symbol in query.get("symbols").map(|x| x.split(',').collect::<Vec<_>>()).unwrap_or_default() {
        if let Some(bars) = s.minute.get(symbol) {
            let done = bars.timestamps().partition_point(|&t| t + NANOS_PER_MIN <= now.0);
            if done > 0 {
                out.insert(symbol.to_string(), served_json(s, true, bars, done - 1, 1.0));
            }
        }
    }
    ok(json!({"bars": out}))
}

async fn stream(Extract(shared): Extract<Shared>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| serve_stream(shared, socket))
}

/// Authenticates (the documented `{"action":"authenticate","data":{"key_id","secret_key"}}`
/// only, with the account's keys), acknowledges `listen`, then forwards every order event as a binary frame (as paper
/// trading does).
async fn serve_stream(shared: Shared, mut socket: WebSocket) {
    let (mut updates, born) = {
        let s = shared.lock().expect("fake state lock");
        (s.updates.subscribe(), s.stream_generation)
    };
    let (mut listening, mut authorized) = (false, false);
    let mut look = tokio::time::interval(std::time::Duration::from_millis(20));
    loop {
        let update = tokio::select! {
            _ = look.tick() => None,
            message = socket.recv() => {
                let Some(Ok(message)) = message else { return };
                let text = match message {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                    Message::Close(_) => return,
                    _ => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                let reply = match v["action"].as_str() {
                    // Alpaca's documented form; anything else (no keys, the `auth` form of
                    // the market-data streams) is answered `unauthorized`.
                    Some("authenticate") | Some("auth") => {
                        let key = |k: &str| v["data"][k].as_str();
                        authorized = v["action"] == "authenticate"
                            && shared.lock().expect("fake state lock").admit(key("key_id"), key("secret_key"));
                        let status = if authorized { "authorized" } else { "unauthorized" };
                        json!({"stream": "authorization", "data": {"status": status, "action": "authenticate"}})
                    }
                    Some("listen") if !authorized => continue,
                    Some("listen") => {
                        listening = true;
                        json!({"stream": "listening", "data": {"streams": ["trade_updates"]}})
                    }
                    _ => continue,
                };
                if socket.send(Message::Binary(reply.to_string().into_bytes().into())).await.is_err() {
                    return;
                }
                None
            }
            update = updates.recv() => {
                let Ok(update) = update else { return };
                Some(update)
            }
        };
        if shared.lock().expect("fake state lock").stream_generation != born {
            // Stalled ([`super::FakeAlpaca::stall_stream`]): nothing more is read (no pong) or
            // sent, an event due is lost with the connection, and the socket stays open.
            tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
            return;
        }
        if let Some(update) = update
            && listening
            && socket.send(Message::Binary(update.into_bytes().into())).await.is_err()
        {
            return;
        }
    }
}
