//! The Alpaca client against the fake server: JSON shapes, pagination, faults, the stream.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use datasets::{Bar, Bars, Timeframe, Timestamp, calendar};
use live_bridge::alpaca::model::{OrderRequest, OrderSide, OrderStatus, Protection};
use live_bridge::alpaca::stream::{self, StreamEvent};
use live_bridge::alpaca::{AlpacaError, Client, ClientConfig, Credentials};
use live_bridge::clock::SimulatedClock;
use live_bridge::fake::{FakeAlpaca, Fault, FillMode, Route};
use rust_decimal::Decimal;

/// 10:15 New York on 2025-12-30, a regular session.
fn ten_fifteen() -> Timestamp {
    let s = calendar::session(NaiveDate::from_ymd_opt(2025, 12, 30).unwrap()).unwrap();
    Timestamp(s.open.0 + 45 * 60_000_000_000)
}

/// Minute bars over the whole session of 2025-12-30: open 100 + i/100, close = open + 0.05.
fn minute_bars() -> Bars {
    let s = calendar::session(NaiveDate::from_ymd_opt(2025, 12, 30).unwrap()).unwrap();
    Bars::from_bars((0..390).map(|i| {
        let open = 100.0 + i as f64 / 100.0;
        Bar {
            ts: Timestamp(s.open.0 + i * 60_000_000_000),
            open,
            high: open + 0.1,
            low: open - 0.1,
            close: open + 0.05,
            volume: 1000.0,
            vwap: None,
            trade_count: None,
        }
    }))
    .unwrap()
}

async fn setup(config: impl FnOnce(&mut ClientConfig)) -> (FakeAlpaca, Client) {
    let clock = Arc::new(SimulatedClock::new(ten_fifteen()));
    let fake = FakeAlpaca::start(clock, Decimal::from(100_000)).await.unwrap();
    fake.add_bars("SPY", Timeframe::Min1, minute_bars());
    fake.add_bars("QQQ", Timeframe::Min1, minute_bars());
    let mut cfg = ClientConfig::new(fake.endpoints());
    cfg.timeout = Duration::from_millis(300);
    cfg.min_backoff = Duration::from_millis(5);
    cfg.max_backoff = Duration::from_millis(20);
    config(&mut cfg);
    let client = Client::new(cfg, Credentials::new("PKTEST", "secret")).unwrap();
    (fake, client)
}

#[tokio::test]
async fn account_configuration_and_orders_round_trip() {
    let (fake, client) = setup(|_| {}).await;
    let account = client.account().await.unwrap();
    assert_eq!(account.cash, Decimal::from(100_000));
    let config = client.enforce_cash_account().await.unwrap();
    assert!(config.no_shorting);
    assert_eq!(config.max_margin_multiplier, "1");
    assert_eq!(fake.configuration().max_margin_multiplier, "1");

    let order = client
        .create_order(&OrderRequest::market("SPY", Decimal::from(10), OrderSide::Buy, "tb-1"))
        .await
        .unwrap();
    // Answered `accepted` with nothing filled, as Alpaca answers; it fills afterwards.
    assert_eq!((order.status.clone(), order.filled_qty), (OrderStatus::Accepted, Decimal::ZERO));
    let found = client.order_by_client_id("tb-1").await.unwrap().unwrap();
    assert_eq!(found.id, order.id);
    // 10:15 is minute 45 of the session: the bar in progress opens at 100.45.
    assert_eq!(found.status, OrderStatus::Filled);
    assert_eq!(found.filled_avg_price, Some(Decimal::new(10045, 2)));
    assert_eq!(client.order(&order.id).await.unwrap().filled_qty, Decimal::from(10));
    assert!(client.order_by_client_id("tb-unknown").await.unwrap().is_none());
    let positions = client.positions().await.unwrap();
    assert_eq!((positions[0].symbol.as_str(), positions[0].qty), ("SPY", Decimal::from(10)));
    assert_eq!(client.list_orders("closed", 100).await.unwrap().len(), 1);

    // A reused client_order_id is a typed 422; too little cash is a typed 403.
    let again = client.create_order(&OrderRequest::market("SPY", Decimal::ONE, OrderSide::Buy, "tb-1")).await;
    assert!(again.as_ref().is_err_and(AlpacaError::is_reused_client_order_id), "{again:?}");
    let big =
        client.create_order(&OrderRequest::market("SPY", Decimal::from(5000), OrderSide::Buy, "tb-2")).await;
    assert!(matches!(big, Err(AlpacaError::Forbidden { .. })), "{big:?}");
    let short =
        client.create_order(&OrderRequest::market("QQQ", Decimal::ONE, OrderSide::Sell, "tb-3")).await;
    assert!(matches!(short, Err(AlpacaError::Forbidden { .. })), "{short:?}");

    let clock = client.clock().await.unwrap();
    assert!(clock.is_open);
    let days = client
        .calendar(
            NaiveDate::from_ymd_opt(2025, 12, 24).unwrap(),
            NaiveDate::from_ymd_opt(2025, 12, 29).unwrap(),
        )
        .await
        .unwrap();
    let dates: Vec<_> = days.iter().map(|d| (d.date.as_str(), d.close.as_str())).collect();
    assert_eq!(dates, [("2025-12-24", "13:00"), ("2025-12-26", "16:00"), ("2025-12-29", "16:00")]);
    assert_eq!(days[0].settlement_date.as_deref(), Some("2025-12-26"));
}

#[tokio::test]
async fn bars_paginate_and_only_completed_bars_are_served() {
    let (fake, client) = setup(|c| c.bar_page_limit = 7).await;
    let start = Timestamp(ten_fifteen().0 - 86_400_000_000_000);
    let bars = client.bars("SPY", Timeframe::Min1, start, ten_fifteen()).await.unwrap();
    assert_eq!(bars.len(), 45, "09:30 to 10:14 are complete at 10:15");
    assert_eq!(bars[44].open, 100.44);
    let pages = fake.seen().iter().filter(|s| s.path == "/v2/stocks/SPY/bars").count();
    assert_eq!(pages, 7, "45 bars in pages of 7");
    let both = client
        .multi_bars(&["SPY".into(), "QQQ".into()], Timeframe::Min1, start, ten_fifteen())
        .await
        .unwrap();
    assert_eq!((both["SPY"].len(), both["QQQ"].len()), (45, 45));
    assert_eq!(both["QQQ"], bars);
    let latest = client.latest_bars(&["SPY".into()]).await.unwrap();
    assert_eq!(latest["SPY"].ts, bars[44].ts);
}

#[tokio::test]
async fn transient_faults_are_retried_and_429_waits_for_the_reset() {
    let (fake, client) = setup(|_| {}).await;
    fake.inject(Route::Account, Fault::Status(500));
    fake.inject(Route::Account, Fault::DropBefore);
    fake.inject(Route::Account, Fault::Delay(Duration::from_millis(600)));
    assert_eq!(client.account().await.unwrap().cash, Decimal::from(100_000));
    let statuses: Vec<u16> = fake.seen().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [500, 0, 0, 200]);

    fake.inject(Route::Positions, Fault::Status(429));
    let started = std::time::Instant::now();
    client.positions().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900), "waited for X-Ratelimit-Reset");

    for _ in 0..5 {
        fake.inject(Route::Account, Fault::Status(503));
    }
    let err = client.account().await.unwrap_err();
    assert!(matches!(err, AlpacaError::Server { status: 503, .. }), "{err}");
}

#[tokio::test]
async fn order_creation_is_not_resent_after_an_unknown_outcome() {
    let (fake, client) = setup(|_| {}).await;
    // The order is placed, then the connection drops: the error says the outcome is unknown,
    // and the client did not resend it.
    fake.inject(Route::CreateOrder, Fault::DropAfter);
    let err =
        client.create_order(&OrderRequest::market("SPY", Decimal::from(3), OrderSide::Buy, "tb-d")).await;
    assert!(err.as_ref().is_err_and(AlpacaError::outcome_unknown), "{err:?}");
    assert_eq!(fake.orders().len(), 1);
    assert_eq!(fake.duplicate_submissions(), 0);
    assert!(client.order_by_client_id("tb-d").await.unwrap().is_some());
    // A 429 on creation was refused before processing: retried.
    fake.inject(Route::CreateOrder, Fault::Status(429));
    client.create_order(&OrderRequest::market("SPY", Decimal::ONE, OrderSide::Buy, "tb-e")).await.unwrap();
    assert_eq!(fake.orders().len(), 2);
}

#[tokio::test]
async fn the_stream_delivers_partial_fills_and_the_fill() {
    let (fake, client) = setup(|_| {}).await;
    let client = Arc::new(client);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(stream::run(client.clone(), tx, stopped));
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap();
    assert_eq!(first, Some(StreamEvent::Connected));
    fake.set_fill_mode(FillMode::Partial);
    let order = client
        .create_order(&OrderRequest::market("SPY", Decimal::from(7), OrderSide::Buy, "tb-p"))
        .await
        .unwrap();
    assert_eq!((order.status.clone(), order.filled_qty), (OrderStatus::Accepted, Decimal::ZERO));
    client.order(&order.id).await.unwrap(); // the next request completes the fill
    let mut events = Vec::new();
    while events.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap() {
            Some(StreamEvent::Update(u)) => events.push((u.event.clone(), u.order.filled_qty, u.qty)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        events,
        [
            ("new".to_string(), Decimal::ZERO, None),
            ("partial_fill".to_string(), Decimal::from(4), Some(Decimal::from(4))),
            ("fill".to_string(), Decimal::from(7), Some(Decimal::from(3))),
        ]
    );
    stop.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn the_fake_takes_client_order_ids_of_at_most_48_characters_as_alpaca_does() {
    let (fake, client) = setup(|_| {}).await;
    let long = "x".repeat(49);
    let err = client.create_order(&OrderRequest::market("SPY", Decimal::ONE, OrderSide::Buy, &long)).await;
    assert!(err.unwrap_err().to_string().contains("no more than 48 characters"));
    let longest = live_bridge::service::client_order_id(&long, "2025-12-30T10:15", "SPY", OrderSide::Buy);
    let placed =
        client.create_order(&OrderRequest::market("SPY", Decimal::ONE, OrderSide::Buy, &longest)).await;
    assert_eq!(placed.unwrap().client_order_id, longest);
    assert_eq!(fake.orders().len(), 1);
}

#[tokio::test]
async fn a_sell_stop_at_or_above_the_market_is_refused_as_alpaca_does() {
    let (fake, client) = setup(|_| {}).await;
    fake.set_position("SPY", Decimal::from(10), Decimal::from(100));
    // The market is at 100.45 (the bar in progress opens there): a stop must rest below 100.44.
    let stop = |level: Decimal, cid: &str| {
        OrderRequest::protective("SPY", Decimal::from(10), Protection::Stop { stop: level }, cid)
    };
    let refused = client.create_order(&stop(Decimal::new(10044, 2), "tb-s1")).await.unwrap_err();
    assert!(refused.is_stop_crossed(), "{refused}");
    assert!(refused.to_string().contains("422"), "{refused}");
    let oco = Protection::Oco { stop: Decimal::from(101), limit: Decimal::from(110) };
    let refused = client
        .create_order(&OrderRequest::protective("SPY", Decimal::from(10), oco, "tb-s2"))
        .await
        .unwrap_err();
    assert!(refused.is_stop_crossed(), "{refused}");
    let placed = client.create_order(&stop(Decimal::new(10043, 2), "tb-s3")).await.unwrap();
    assert_eq!(placed.stop_price, Some(Decimal::new(10043, 2)));
}

#[tokio::test]
async fn a_split_refetches_the_cached_history_adjusted() {
    let (fake, client) = setup(|_| {}).await;
    let mut cache = live_bridge::bars::BarCache::default();
    let symbols = ["SPY".to_string(), "QQQ".to_string()];
    let start = calendar::session(NaiveDate::from_ymd_opt(2025, 12, 30).unwrap()).unwrap().open;
    let tf = Timeframe::Min1;
    let needed = live_bridge::bars::BarCache::last_needed(tf, ten_fifteen());
    cache.refresh(&client, &symbols, tf, start, ten_fifteen()).await.unwrap();
    let before = cache.market_data(&symbols, tf, needed).unwrap();
    assert_eq!(before.symbols()[0].bars.close()[0], 100.05);
    // SPY splits 2-for-1 with the next session as its ex-date: the broker's adjusted history
    // halves; the cache sees its last bar changed and fetches SPY's history again.
    fake.split("SPY", NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(), Decimal::TWO);
    let requests = fake.count(Route::Bars);
    cache.refresh(&client, &symbols, tf, start, ten_fifteen()).await.unwrap();
    assert_eq!(fake.count(Route::Bars), requests + 2, "both symbols once, then SPY's history anew");
    let after = cache.market_data(&symbols, tf, needed).unwrap();
    let spy = after.symbols().iter().find(|s| s.meta.symbol == "SPY").unwrap();
    let qqq = after.symbols().iter().find(|s| s.meta.symbol == "QQQ").unwrap();
    assert_eq!(spy.bars.close()[0], 50.025);
    assert_eq!(spy.bars.len(), 45);
    assert_eq!(
        qqq.bars.close(),
        before.symbols().iter().find(|s| s.meta.symbol == "QQQ").unwrap().bars.close()
    );
    // Raw bars (Alpaca's default) stay as they traded.
    let raw = fake.endpoints().data + "/v2/stocks/SPY/bars?timeframe=1Min&limit=1";
    let raw = reqwest::Client::new().get(raw).header("APCA-API-KEY-ID", "PKTEST");
    let raw = raw.header("APCA-API-SECRET-KEY", "secret").send().await.unwrap();
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["bars"][0]["c"], 100.05);
}

#[tokio::test]
async fn the_stream_takes_the_documented_authentication_only() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (fake, _client) = setup(|_| {}).await;
    let reply = |auth: serde_json::Value| {
        let url = fake.endpoints().stream;
        async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
            ws.send(Message::Text(auth.to_string().into())).await.unwrap();
            let answer =
                tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&answer.into_data()).unwrap();
            (v["stream"].as_str().unwrap().to_string(), v["data"]["status"].as_str().unwrap().to_string())
        }
    };
    let documented =
        serde_json::json!({"action": "authenticate", "data": {"key_id": "PKTEST", "secret_key": "secret"}});
    assert_eq!(reply(documented).await, ("authorization".into(), "authorized".into()));
    let other_form = serde_json::json!({"action": "auth", "key": "PKTEST", "secret": "secret"});
    assert_eq!(reply(other_form).await, ("authorization".into(), "unauthorized".into()));
    let no_secret = serde_json::json!({"action": "authenticate", "data": {"key_id": "PKTEST"}});
    assert_eq!(reply(no_secret).await.1, "unauthorized");
}

#[tokio::test]
async fn the_fake_refuses_requests_and_streams_without_the_accounts_keys() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (fake, client) = setup(|_| {}).await;
    fake.set_keys("PKTEST", "secret");
    client.account().await.unwrap();
    // Another secret: 401 at once, never retried (the keys will not get better).
    let other =
        Client::new(ClientConfig::new(fake.endpoints()), Credentials::new("PKTEST", "other")).unwrap();
    let before = fake.count(Route::Account);
    let refused = other.account().await.unwrap_err();
    assert!(matches!(refused, AlpacaError::Unauthorized { .. }), "{refused}");
    assert_eq!(fake.count(Route::Account), before + 1);
    // No keys at all: Alpaca's 401 body.
    let bare = reqwest::get(fake.endpoints().trading + "/v2/account").await.unwrap();
    assert_eq!(bare.status(), 401);
    let body: serde_json::Value = bare.json().await.unwrap();
    assert_eq!(
        (body["code"].as_u64(), body["message"].as_str()),
        (Some(40_110_000), Some("request is not authorized"))
    );
    // The stream checks the keys too, and the client's stream never listens with wrong ones.
    let (mut ws, _) = tokio_tungstenite::connect_async(fake.endpoints().stream).await.unwrap();
    let wrong =
        serde_json::json!({"action": "authenticate", "data": {"key_id": "PKTEST", "secret_key": "other"}});
    ws.send(Message::Text(wrong.to_string().into())).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&answer.into_data()).unwrap();
    assert_eq!(v["data"]["status"], "unauthorized");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(stream::run(Arc::new(other), tx, stopped));
    assert!(tokio::time::timeout(Duration::from_millis(600), rx.recv()).await.is_err(), "never listening");
}

/// The next stream event, within 5 s.
async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<StreamEvent>) -> StreamEvent {
    let wait = tokio::time::timeout(Duration::from_secs(5), rx.recv());
    wait.await.expect("an event within 5 s").expect("the stream runs")
}

#[tokio::test]
async fn a_stream_gone_silent_is_dropped_and_reconnected() {
    let (fake, client) = setup(|c| c.stream_timeout = Duration::from_millis(600)).await;
    let client = Arc::new(client);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(stream::run(client.clone(), tx, stopped));
    assert_eq!(next(&mut rx).await, StreamEvent::Connected);
    // A quiet but healthy connection answers the pings: no reconnection for twice the timeout.
    assert!(tokio::time::timeout(Duration::from_millis(1_200), rx.recv()).await.is_err());
    // The connection dies without closing: the order's events are lost with it. Within the
    // timeout the stream notices, reconnects and says so (the consumer then looks orders up).
    fake.stall_stream();
    let order = OrderRequest::market("SPY", Decimal::ONE, OrderSide::Buy, "tb-lost");
    client.create_order(&order).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(next(&mut rx).await, StreamEvent::Connected, "reconnected");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // The new connection carries the events from now on.
    let order = OrderRequest::market("SPY", Decimal::ONE, OrderSide::Buy, "tb-seen");
    client.create_order(&order).await.unwrap();
    match next(&mut rx).await {
        StreamEvent::Update(u) => assert_eq!(u.order.client_order_id, "tb-seen"),
        other => panic!("unexpected {other:?}"),
    }
    stop.send(true).unwrap();
    task.await.unwrap();
}
