//! Recorded responses: Alpaca's JSON as its documentation and its Python SDK's tests show it
//! (`tests/recorded/*.json`), for every endpoint and stream message the bridge uses: replayed by a
//! loopback server, the real client reads each with the values it carries; and the fake answers
//! with every field each recorded response has — so the fake speaks the real shape.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use datasets::{Timeframe, Timestamp, calendar};
use live_bridge::alpaca::model::{
    CalendarDay, Clock, Order, OrderRequest, OrderSide, OrderStatus, TradeUpdate,
};
use live_bridge::alpaca::stream::{self, StreamEvent};
use live_bridge::alpaca::{AlpacaError, Client, ClientConfig, Credentials, Endpoints};
use live_bridge::clock::SimulatedClock;
use live_bridge::fake::FakeAlpaca;
use rust_decimal::Decimal;

fn recorded(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recorded").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn recorded_responses_decode_with_their_values() {
    let order: Order = serde_json::from_str(&recorded("order_accepted.json")).unwrap();
    assert_eq!(
        (order.status, order.filled_qty, order.qty),
        (OrderStatus::Accepted, Decimal::ZERO, Some(Decimal::ONE))
    );
    assert_eq!((order.side, order.order_type.as_str(), order.legs), (OrderSide::Buy, "market", None));

    let clock: Clock = serde_json::from_str(&recorded("clock.json")).unwrap();
    assert!(!clock.is_open);
    assert_eq!(clock.next_open, "2022-05-17T09:30:00-04:00");

    let days: Vec<CalendarDay> = serde_json::from_str(&recorded("calendar.json")).unwrap();
    assert_eq!(
        (days[0].date.as_str(), days[0].open.as_str(), days[0].close.as_str()),
        ("2025-01-02", "09:30", "16:00")
    );
    assert_eq!(days[0].settlement_date.as_deref(), Some("2025-01-03"));

    let message: serde_json::Value = serde_json::from_str(&recorded("trade_update_fill.json")).unwrap();
    assert_eq!(message["stream"], "trade_updates");
    let update: TradeUpdate = serde_json::from_value(message["data"].clone()).unwrap();
    assert_eq!(
        (update.event.as_str(), update.price, update.qty),
        ("fill", Some(Decimal::new(17908, 2)), Some(Decimal::ONE))
    );
    assert_eq!(
        (update.order.status, update.order.filled_avg_price),
        (OrderStatus::Filled, Some(Decimal::new(17908, 2)))
    );
}

/// The fields of `real` (recursively, the first element of arrays) that `fake` lacks.
fn missing(real: &serde_json::Value, fake: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match (real, fake) {
        (Value::Object(r), Value::Object(f)) => {
            for (k, v) in r {
                match f.get(k) {
                    Some(fv) => missing(v, fv, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}")),
                }
            }
        }
        (Value::Array(r), Value::Array(f)) => {
            if let (Some(r), Some(f)) = (r.first(), f.first()) {
                missing(r, f, &format!("{at}[0]"), out);
            }
        }
        _ => {}
    }
}

/// The first value of an object keyed by symbol (`bars` of the multi-symbol endpoints).
fn first_of(v: &serde_json::Value) -> serde_json::Value {
    v["bars"].as_object().and_then(|m| m.values().next()).cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_fake_answers_with_every_field_of_the_recorded_responses() {
    let clock = Arc::new(SimulatedClock::new(live_bridge::fake::scenario::replay_start()));
    let fake = FakeAlpaca::start(clock, Decimal::from(1_000)).await.unwrap();
    let universe = live_bridge::fake::scenario::universe(1);
    live_bridge::fake::scenario::serve(&fake, &universe);
    let symbol = &universe.symbols().iter().find(|m| m.symbol != "SPY").unwrap().symbol;
    fake.set_position(symbol, Decimal::from(5), Decimal::from(100));
    let base = fake.endpoints().trading;
    let http = reqwest::Client::new();
    let keyed =
        |r: reqwest::RequestBuilder| r.header("APCA-API-KEY-ID", "PK").header("APCA-API-SECRET-KEY", "S");
    let get = |path: String| {
        let request = keyed(http.get(format!("{base}{path}")));
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let bars = "start=2025-12-01T00:00:00Z&end=2025-12-31T00:00:00Z&timeframe=1Day&limit=2";
    let mut gaps = Vec::new();
    let mut check = |file: &str, real: serde_json::Value, answer: serde_json::Value| {
        missing(&real, &answer, file, &mut gaps);
    };
    check(
        "account.json",
        serde_json::from_str(&recorded("account.json")).unwrap(),
        get("/v2/account".into()).await,
    );
    let configurations = get("/v2/account/configurations".into()).await;
    check(
        "account_configurations.json",
        serde_json::from_str(&recorded("account_configurations.json")).unwrap(),
        configurations,
    );
    check(
        "positions.json",
        serde_json::from_str(&recorded("positions.json")).unwrap(),
        get("/v2/positions".into()).await,
    );
    check(
        "clock.json",
        serde_json::from_str(&recorded("clock.json")).unwrap(),
        get("/v2/clock".into()).await,
    );
    let days = get("/v2/calendar?start=2025-12-01&end=2025-12-31".into()).await;
    check("calendar.json", serde_json::from_str(&recorded("calendar.json")).unwrap(), days);
    let single = get(format!("/v2/stocks/{symbol}/bars?{bars}")).await;
    check("bars_single.json", serde_json::from_str(&recorded("bars_single.json")).unwrap(), single);
    let multi = get(format!("/v2/stocks/bars?symbols={symbol}&{bars}")).await;
    let real: serde_json::Value = serde_json::from_str(&recorded("bars_multi.json")).unwrap();
    check("bars_multi.json", serde_json::json!({"next_page_token": real["next_page_token"]}), multi.clone());
    check("bars_multi.json bar", first_of(&real), first_of(&multi));
    let latest = get(format!("/v2/stocks/bars/latest?symbols={symbol}")).await;
    let real: serde_json::Value = serde_json::from_str(&recorded("latest_bars.json")).unwrap();
    check("latest_bars.json bar", first_of(&real), first_of(&latest));
    let error = get("/v2/orders/no-such-order".into()).await;
    check("error_wash_trade.json", serde_json::from_str(&recorded("error_wash_trade.json")).unwrap(), error);

    let url = format!("{base}/v2/orders");
    let request = OrderRequest::market(symbol, Decimal::ONE, OrderSide::Buy, "tb-recorded");
    let answer: serde_json::Value =
        keyed(http.post(url).json(&request)).send().await.unwrap().json().await.unwrap();
    assert_eq!((answer["status"].as_str(), answer["filled_qty"].as_str()), (Some("accepted"), Some("0")));
    check("order_accepted.json", serde_json::from_str(&recorded("order_accepted.json")).unwrap(), answer);

    // The stream's messages: authorization, listening and an order event.
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(fake.endpoints().stream).await.unwrap();
    let mut say = async |v: serde_json::Value| ws.send(Message::Text(v.to_string().into())).await.unwrap();
    say(serde_json::json!({"action": "authenticate", "data": {"key_id": "PK", "secret_key": "S"}})).await;
    say(serde_json::json!({"action": "listen", "data": {"streams": ["trade_updates"]}})).await;
    let mut heard = Vec::new();
    while heard.len() < 2 {
        let Some(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() else {
            break;
        };
        heard.push(serde_json::from_slice::<serde_json::Value>(&m.into_data()).unwrap());
    }
    let sell = OrderRequest::market(symbol, Decimal::ONE, OrderSide::Sell, "tb-recorded-sell");
    keyed(http.post(format!("{base}/v2/orders")).json(&sell)).send().await.unwrap();
    let Some(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() else {
        panic!("an event")
    };
    heard.push(serde_json::from_slice(&m.into_data()).unwrap());
    check(
        "stream_authorized.json",
        serde_json::from_str(&recorded("stream_authorized.json")).unwrap(),
        heard[0].clone(),
    );
    check(
        "stream_listening.json",
        serde_json::from_str(&recorded("stream_listening.json")).unwrap(),
        heard[1].clone(),
    );
    let mut event: serde_json::Value = serde_json::from_str(&recorded("trade_update_fill.json")).unwrap();
    // Only a fill carries the execution's fields; the fake's first event is the order's `new`.
    for k in ["execution_id", "price", "qty", "position_qty"] {
        event["data"].as_object_mut().unwrap().remove(k);
    }
    check("trade_update_fill.json", event, heard[2].clone());
    assert!(gaps.is_empty(), "the fake's answers lack {gaps:#?}");
}

/// One recorded answer: for `method path` (with a `page_token` query or without), `status` and
/// the body of `file`.
struct Recorded {
    method: &'static str,
    path: &'static str,
    paged: bool,
    status: u16,
    file: &'static str,
}

/// What the replaying server answers and what it was asked.
struct Replay {
    answers: Vec<Recorded>,
    /// The stream's answer to the authentication.
    authorization: &'static str,
    /// (path, query) of every request, in order.
    asked: std::sync::Mutex<Vec<(String, String)>>,
}

/// A server on loopback answering every endpoint the client uses with a recorded response, and
/// the `trade_updates` stream with recorded messages: authorization, listening, then a fill.
async fn replay(authorization: &'static str) -> (Arc<Replay>, Endpoints) {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use axum::extract::{RawQuery, State};
    use axum::http::{Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    let answers = vec![
        Recorded { method: "GET", path: "/v2/account", paged: false, status: 200, file: "account.json" },
        Recorded {
            method: "GET",
            path: "/v2/account/configurations",
            paged: false,
            status: 200,
            file: "account_configurations.json",
        },
        Recorded { method: "GET", path: "/v2/positions", paged: false, status: 200, file: "positions.json" },
        Recorded { method: "GET", path: "/v2/clock", paged: false, status: 200, file: "clock.json" },
        Recorded { method: "GET", path: "/v2/calendar", paged: false, status: 200, file: "calendar.json" },
        Recorded {
            method: "GET",
            path: "/v2/stocks/AAPL/bars",
            paged: false,
            status: 200,
            file: "bars_single.json",
        },
        Recorded {
            method: "GET",
            path: "/v2/stocks/AAPL/bars",
            paged: true,
            status: 200,
            file: "bars_single_empty.json",
        },
        Recorded {
            method: "GET",
            path: "/v2/stocks/bars",
            paged: false,
            status: 200,
            file: "bars_multi.json",
        },
        Recorded {
            method: "GET",
            path: "/v2/stocks/bars/latest",
            paged: false,
            status: 200,
            file: "latest_bars.json",
        },
        Recorded {
            method: "POST",
            path: "/v2/orders",
            paged: false,
            status: 200,
            file: "order_accepted.json",
        },
    ];
    let state = Arc::new(Replay { answers, authorization, asked: Default::default() });
    let http = |State(s): State<Arc<Replay>>, method: Method, uri: Uri, RawQuery(query): RawQuery| async move {
        let query = query.unwrap_or_default();
        s.asked.lock().unwrap().push((uri.path().to_string(), query.clone()));
        let paged = query.contains("page_token=");
        // A second order is the buy Alpaca refuses as a wash trade.
        let orders = s.asked.lock().unwrap().iter().filter(|(p, _)| p == "/v2/orders").count();
        let found = s
            .answers
            .iter()
            .find(|r| r.method == method.as_str() && r.path == uri.path() && r.paged == paged);
        let (status, file) = match found {
            Some(r) if r.path == "/v2/orders" && orders > 1 => (403, "error_wash_trade.json"),
            Some(r) => (r.status, r.file),
            None => {
                return (StatusCode::NOT_FOUND, format!("no recorded answer for {method} {uri}"))
                    .into_response();
            }
        };
        let body = recorded(file);
        (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body).into_response()
    };
    let stream = |State(s): State<Arc<Replay>>, upgrade: WebSocketUpgrade| async move {
        upgrade.on_upgrade(move |mut socket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                let Message::Text(text) = message else { continue };
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let replies = match v["action"].as_str() {
                    Some("authenticate") => vec![s.authorization],
                    Some("listen") => vec!["stream_listening.json", "trade_update_fill.json"],
                    _ => continue,
                };
                for file in replies {
                    // Paper trading sends binary frames.
                    let frame = Message::Binary(recorded(file).into_bytes().into());
                    if socket.send(frame).await.is_err() {
                        return;
                    }
                }
            }
        })
    };
    let app = axum::Router::new()
        .route("/stream", axum::routing::get(stream))
        .fallback(http)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoints = Endpoints {
        trading: format!("http://{addr}"),
        data: format!("http://{addr}"),
        stream: format!("ws://{addr}/stream"),
    };
    (state, endpoints)
}

fn client(endpoints: Endpoints) -> Arc<Client> {
    let mut config = ClientConfig::new(endpoints);
    config.min_backoff = Duration::from_millis(5);
    Arc::new(Client::new(config, Credentials::new("PKTEST", "secret")).unwrap())
}

#[tokio::test]
async fn the_client_reads_every_recorded_response_with_its_values() {
    let (server, endpoints) = replay("stream_authorized.json").await;
    let client = client(endpoints);
    let account = client.account().await.unwrap();
    assert_eq!((account.cash, account.multiplier.as_str()), (Decimal::new(-231402, 1), "4"));
    assert_eq!(account.non_marginable_buying_power, Some(Decimal::new(9894502, 2)));
    let config = client.account_configurations().await.unwrap();
    assert_eq!((config.max_margin_multiplier.as_str(), config.no_shorting), ("4", false));
    let positions = client.positions().await.unwrap();
    assert_eq!(
        (positions[0].symbol.as_str(), positions[0].qty, positions[0].current_price),
        ("AAPL", Decimal::from(5), Some(Decimal::from(120)))
    );
    let clock = client.clock().await.unwrap();
    assert!(!clock.is_open);
    let day = |d| NaiveDate::from_ymd_opt(2025, 1, d).unwrap();
    let days = client.calendar(day(2), day(3)).await.unwrap();
    assert_eq!(days[0].settlement_date.as_deref(), Some("2025-01-03"));

    // Daily bars stand at midnight New York, as the store's; the second page is asked for with
    // the token of the first and is empty (`"bars": null`).
    let (start, end) = (Timestamp(0), Timestamp(i64::MAX / 2));
    let bars = client.bars("AAPL", Timeframe::Day1, start, end).await.unwrap();
    let first = calendar::daily_bar_timestamp(NaiveDate::from_ymd_opt(2022, 2, 1).unwrap());
    assert_eq!((bars.len(), bars[0].ts, bars[0].open, bars[1].close), (2, first, 174.0, 175.84));
    let token = "page_token=QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg%3D%3D";
    assert!(
        server.asked.lock().unwrap().iter().any(|(p, q)| p == "/v2/stocks/AAPL/bars" && q.contains(token))
    );
    // A symbol the page has no bars for is missing from it: no bars, not an error.
    let symbols = ["AAPL", "TSLA", "MSFT"].map(String::from);
    let multi = client.multi_bars(&symbols, Timeframe::Day1, start, end).await.unwrap();
    assert_eq!((multi["AAPL"][0].low, multi["TSLA"][0].open, multi["MSFT"].len()), (159.41, 839.0, 0));
    let latest = client.latest_bars(&symbols[..2]).await.unwrap();
    let tsla =
        chrono::DateTime::parse_from_rfc3339("2022-07-26T19:59:00Z").unwrap().with_timezone(&chrono::Utc);
    assert_eq!(latest["TSLA"].ts, Timestamp::from_datetime(tsla).unwrap());

    let buy = OrderRequest::market("AAPL", Decimal::ONE, OrderSide::Buy, "tb-recorded");
    let order = client.create_order(&buy).await.unwrap();
    assert_eq!((order.status, order.filled_qty), (OrderStatus::Accepted, Decimal::ZERO));
    let refused = client.create_order(&buy).await.unwrap_err();
    assert!(
        matches!(&refused, AlpacaError::Forbidden { message, .. } if message.contains("wash trade")),
        "{refused}"
    );

    // The stream: authorized, listening, then the recorded fill as an update.
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(stream::run(client.clone(), events, shutdown));
    let wait = Duration::from_secs(5);
    let connected = tokio::time::timeout(wait, received.recv()).await.unwrap();
    assert_eq!(connected, Some(StreamEvent::Connected));
    let Some(StreamEvent::Update(update)) = tokio::time::timeout(wait, received.recv()).await.unwrap() else {
        panic!("a trade update")
    };
    assert_eq!((update.event.as_str(), update.price), ("fill", Some(Decimal::new(17908, 2))));
}

#[tokio::test]
async fn a_stream_answered_unauthorized_never_listens() {
    let (_server, endpoints) = replay("stream_unauthorized.json").await;
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(stream::run(client(endpoints), events, shutdown));
    let got = tokio::time::timeout(Duration::from_millis(600), received.recv()).await;
    assert!(got.is_err(), "no event without authorization: {got:?}");
}
