//! The fake's research-data endpoints, for `tradebot data fetch` and `data universe`: crypto
//! bars (`GET /v1beta3/crypto/us/bars`), the asset list (`GET /v2/assets`), the page builder
//! shared with the stocks bars endpoint (multi-symbol pages in symbol then time order, cut by
//! `limit`, continued by `next_page_token`), and data-API failures injected one at a time: a 429
//! with `Retry-After`, a malformed body, an empty body, a bar the store would refuse.
//!
//! Historical stock bars and splits are the fake's own ([`FakeAlpaca::add_bars`],
//! [`FakeAlpaca::split`]): `adjustment=split` serves the bars before an ex-date divided by its
//! ratio, so a split injected after a first fetch changes the history a second fetch sees.

use std::collections::{HashMap, VecDeque};

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use datasets::{Bars, Timeframe};
use serde_json::{Value, json};

use super::server::{bar_json, error, ok, page_bounds, token};
use super::{FakeAlpaca, State};

/// One answer of the market-data API that is not the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFault {
    /// `429 Too Many Requests` with `Retry-After: N` seconds.
    RateLimited {
        /// The seconds `Retry-After` asks for.
        retry_after: u64,
    },
    /// `200 OK` with a JSON body cut off inside a bar.
    Malformed,
    /// `200 OK` with no body at all.
    EmptyBody,
    /// `200 OK` with well-formed JSON holding a bar the store would refuse (close above high).
    BadBar,
}

/// One asset of the fake's `GET /v2/assets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeAsset {
    /// Ticker.
    pub symbol: String,
    /// Listing exchange (`NYSE`, `NASDAQ`, `ARCA`, …).
    pub exchange: String,
    /// Still listed (`active`) or delisted (`inactive`).
    pub active: bool,
}

/// What the research-data endpoints serve, inside the fake's state.
#[derive(Debug, Default)]
pub(super) struct History {
    assets: Vec<FakeAsset>,
    crypto: HashMap<(String, Timeframe), Bars>,
    faults: VecDeque<DataFault>,
}

impl FakeAlpaca {
    /// Lists `asset` in `GET /v2/assets`.
    pub fn add_asset(&self, asset: FakeAsset) {
        self.with(|s| s.history.assets.push(asset));
    }

    /// Serves `bars` as `symbol`'s (e.g. `BTC/USD`) crypto bars, around the clock.
    pub fn add_crypto_bars(&self, symbol: &str, timeframe: Timeframe, bars: Bars) {
        self.with(|s| s.history.crypto.insert((symbol.to_string(), timeframe), bars));
    }

    /// Answers the next market-data bars request (stocks or crypto) with `fault`.
    pub fn inject_data(&self, fault: DataFault) {
        self.with(|s| s.history.faults.push_back(fault));
    }
}

/// The injected answer to a bars request, if one is queued.
pub(super) fn intercept(s: &mut State, path: &str) -> Option<Response> {
    let bars = path.starts_with("/v2/stocks/") || path.starts_with("/v1beta3/crypto/");
    if !bars {
        return None;
    }
    Some(match s.history.faults.pop_front()? {
        DataFault::RateLimited { retry_after } => {
            let mut response = error(429, "too many requests");
            response.headers_mut().insert("retry-after", HeaderValue::from(retry_after));
            response
        }
        DataFault::Malformed => {
            let body = r#"{"bars":{"AAPL":[{"t":"2024-01-02T05:00:00Z","o":187.1,"h":1"#;
            (StatusCode::OK, [("content-type", "application/json")], body).into_response()
        }
        DataFault::EmptyBody => (StatusCode::OK, [("content-type", "application/json")], "").into_response(),
        DataFault::BadBar => ok(json!({
            "bars": {"AAA": [{"t": "2024-07-01T04:00:00Z", "o": 10.0, "h": 11.0, "l": 9.0, "c": 12.0, "v": 100}]},
            "next_page_token": null,
        })),
    })
}

/// `GET /v2/assets?status=&exchange=&asset_class=`: the listed assets (every status when none is
/// asked), as Alpaca's asset objects.
pub(super) fn assets(s: &State, query: &HashMap<String, String>) -> Response {
    if query.get("asset_class").is_some_and(|c| c != "us_equity") {
        return ok(json!([]));
    }
    let status = query.get("status").map(String::as_str);
    let exchange = query.get("exchange").map(String::as_str);
    let list: Vec<Value> = s
        .history
        .assets
        .iter()
        .filter(|a| status.is_none_or(|st| st == if a.active { "active" } else { "inactive" }))
        .filter(|a| exchange.is_none_or(|e| e == a.exchange))
        .map(|a| {
            json!({
                "id": format!("asset-{}", a.symbol), "class": "us_equity", "exchange": a.exchange,
                "symbol": a.symbol, "name": format!("{} Inc.", a.symbol),
                "status": if a.active { "active" } else { "inactive" }, "tradable": a.active,
                "marginable": true, "shortable": false, "easy_to_borrow": false, "fractionable": true,
                "attributes": [],
            })
        })
        .collect();
    ok(Value::Array(list))
}

/// `GET /v1beta3/crypto/us/bars?symbols=…`: completed crypto bars in `[start, end)`, paged.
pub(super) fn crypto_bars(s: &State, query: &HashMap<String, String>) -> Response {
    let Some(timeframe) = query.get("timeframe").and_then(|t| t.parse::<Timeframe>().ok()) else {
        return error(422, "invalid timeframe");
    };
    let time = |k: &str| {
        query
            .get(k)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| datasets::Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
            .map(|t| t.0)
    };
    let now = s.clock.now().0;
    let (start, end) = (time("start").unwrap_or(i64::MIN), time("end").unwrap_or(now));
    let mut symbols: Vec<&str> = query.get("symbols").map(|x| x.split(',').collect()).unwrap_or_default();
    symbols.sort_unstable();
    let mut flat = Vec::new();
    for symbol in symbols {
        if let Some(bars) = s.history.crypto.get(&(symbol.to_string(), timeframe)) {
            let served = bars
                .timestamps()
                .iter()
                .enumerate()
                .filter(|&(_, &t)| t >= start && t < end && t + timeframe.nominal_nanos() <= now);
            flat.extend(served.map(|(i, _)| (symbol, bars, i)));
        }
    }
    symbols_page(&flat, query, |_, bars, i| bar_json(bars, i, 1.0))
}

/// One page of `flat` (symbol, its bars, a bar index; symbol then time order) as Alpaca's
/// multi-symbol answer, each bar as `bar(symbol, bars, index)` writes it.
pub(super) fn symbols_page(
    flat: &[(&str, &Bars, usize)],
    query: &HashMap<String, String>,
    bar: impl Fn(&str, &Bars, usize) -> Value,
) -> Response {
    let (from, to) = page_bounds(query, flat.len());
    let mut out = serde_json::Map::new();
    for &(symbol, bars, i) in &flat[from..to] {
        let json = bar(symbol, bars, i);
        out.entry(symbol).or_insert_with(|| json!([])).as_array_mut().expect("array").push(json);
    }
    ok(json!({"bars": out, "next_page_token": token(to, flat.len())}))
}
