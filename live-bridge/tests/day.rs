//! A whole simulated trading day through the service against the fake broker: the orders
//! match the kernel's backtest of the same strategy and bars share for share.

use std::sync::Arc;
use std::time::Duration;

use datasets::{Timestamp, calendar};
use kernel::sim::TradeRules;
use kernel::strategy::{GapFill, RunResult, Strategy, backtest_window};
use live_bridge::alpaca::model::OrderSide;
use live_bridge::alpaca::{Client, Credentials};
use live_bridge::clock::{Clock, SimulatedClock};
use live_bridge::db::Db;
use live_bridge::fake::{FakeAlpaca, scenario};
use live_bridge::service::{Bridge, Ended};
use promoted::Runnable;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// (time, symbol, side, qty) of every fill the kernel's backtest makes on the replay date.
fn kernel_fills(
    data: &kernel::strategy::MarketData,
    strategy: &promoted::PromotedStrategy,
    cash: f64,
    rules: TradeRules,
) -> Vec<(i64, String, OrderSide, f64)> {
    let day = scenario::replay_date();
    let first = data.timestamps().iter().position(|&t| calendar::session_date(Timestamp(t)) == day).unwrap();
    let Runnable::Builtin { strategy: s, params } = strategy.resolve().unwrap();
    assert_eq!(s.name(), GapFill.name());
    let bt = backtest_window(s, &params, data, rules, cash, first..data.len()).unwrap();
    let RunResult::Portfolio(result) = bt.result else { panic!("several legs run as a portfolio") };
    let mut fills = Vec::new();
    for leg in &result.sleeves[0].legs {
        for t in &leg.activity.trades {
            fills.push((t.entry_time.0, leg.symbol.clone(), OrderSide::Buy, t.qty));
            fills.push((t.exit_time.0, leg.symbol.clone(), OrderSide::Sell, t.qty));
        }
        assert!(leg.activity.open_position.is_none());
    }
    fills.sort_by(|a, b| (a.0, &a.1, a.2 as u8).cmp(&(b.0, &b.1, b.2 as u8)));
    fills
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_day_trades_share_for_share_like_the_backtest() {
    let root = tempfile::tempdir().unwrap();
    let (universe, data, strategy) = scenario::promoted_gap_fill(root.path(), 8);
    let clock = Arc::new(SimulatedClock::new(scenario::replay_start()));
    let fake = FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap();
    scenario::serve(&fake, &universe);
    let config = scenario::config(root.path(), &fake);
    let client =
        Arc::new(Client::new(config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap());
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let bridge = Bridge::new(config, client, clock.clone(), shutdown).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(30), bridge.run()).await.unwrap().unwrap();
    assert_eq!(ended, Ended::ReplayDone);

    let live: Vec<(i64, String, OrderSide, f64)> = {
        let mut v: Vec<_> = fake
            .orders()
            .iter()
            .map(|o| {
                let t = chrono::DateTime::parse_from_rfc3339(o.filled_at.as_deref().unwrap()).unwrap();
                (
                    Timestamp::from_datetime(t.into()).unwrap().0,
                    o.symbol.clone(),
                    o.side,
                    o.filled_qty.to_f64().unwrap(),
                )
            })
            .collect();
        v.sort_by(|a, b| (a.0, &a.1, a.2 as u8).cmp(&(b.0, &b.1, b.2 as u8)));
        v
    };
    let expected = kernel_fills(&data, &strategy, 50_000.0, scenario::rules());
    assert!(expected.len() >= 4, "the day should trade: {expected:?}");
    assert_eq!(live, expected, "live fills against the kernel's");
    assert!(fake.positions().is_empty(), "gap_fill is flat by the close");
    assert_eq!(fake.configuration().max_margin_multiplier, "1");

    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    let signals = db.signals().unwrap();
    let entries = signals.iter().filter(|s| s.side == "enter").count();
    let candidates = signals.iter().filter(|s| s.side == "gap_candidate").count();
    assert_eq!(entries, expected.len() / 2, "every entry signal is stored");
    assert!(candidates >= entries, "gap candidates {candidates}, entries {entries}");
    let daily = db.daily().unwrap();
    assert_eq!(daily.len(), 1);
    assert_eq!(daily[0].day, "2025-12-31");
    assert_eq!(daily[0].equity, fake.cash());
    assert!(clock.now().0 >= calendar::session(scenario::replay_date()).unwrap().close.0);
}
