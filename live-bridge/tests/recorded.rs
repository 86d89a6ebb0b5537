//! Recorded responses: Alpaca's JSON as its documentation and its Python SDK's tests show it
//! (`tests/recorded/*.json`) decodes into the client's types with the values it carries, and the
//! fake answers with every field the recorded order has — so the fake speaks the real shape.

use std::sync::Arc;

use live_bridge::alpaca::model::{
    CalendarDay, Clock, Order, OrderRequest, OrderSide, OrderStatus, TradeUpdate,
};
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

#[tokio::test]
async fn the_fakes_order_has_every_field_of_the_recorded_one() {
    let clock = Arc::new(SimulatedClock::new(live_bridge::fake::scenario::replay_start()));
    let fake = FakeAlpaca::start(clock, Decimal::from(1_000)).await.unwrap();
    let universe = live_bridge::fake::scenario::universe(1);
    live_bridge::fake::scenario::serve(&fake, &universe);
    let symbol = &universe.symbols().iter().find(|m| m.symbol != "SPY").unwrap().symbol;
    let url = format!("{}/v2/orders", fake.endpoints().trading);
    let request = OrderRequest::market(symbol, Decimal::ONE, OrderSide::Buy, "tb-recorded");
    let answer: serde_json::Value =
        reqwest::Client::new().post(url).json(&request).send().await.unwrap().json().await.unwrap();
    let real: serde_json::Value = serde_json::from_str(&recorded("order_accepted.json")).unwrap();
    let missing: Vec<&String> =
        real.as_object().unwrap().keys().filter(|k| answer.get(k.as_str()).is_none()).collect();
    assert!(missing.is_empty(), "the fake's order lacks {missing:?}: {answer:#}");
    assert_eq!((answer["status"].as_str(), answer["filled_qty"].as_str()), (Some("accepted"), Some("0")));
}
