//! A whole simulated trading day through the service against the fake broker: the orders
//! match the kernel's backtest of the same strategy and bars share for share.

use std::sync::Arc;

use datasets::{Timestamp, calendar};
use live_bridge::alpaca::model::OrderSide;
use live_bridge::clock::{Clock, SimulatedClock};
use live_bridge::db::Db;
use live_bridge::fake::{FakeAlpaca, scenario};
use live_bridge::schedule::new_york;
use rust_decimal::Decimal;

/// (time, symbol, side, qty) of fills.
fn keys(fills: Vec<scenario::Fill>) -> Vec<(i64, String, OrderSide, f64)> {
    fills.into_iter().map(|f| (f.time, f.symbol, f.side, f.qty)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_day_trades_share_for_share_like_the_backtest() {
    let root = tempfile::tempdir().unwrap();
    let (universe, _, strategy) = scenario::promoted_gap_fill(root.path(), 8);
    let (daily, momentum) = scenario::daily_momentum(&universe);
    scenario::promote(&root.path().join("promoted"), vec![strategy.clone(), momentum.clone()]);
    let clock = Arc::new(SimulatedClock::new(scenario::replay_start()));
    let fake = FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap();
    scenario::serve(&fake, &universe);
    // As on the IEX feed, a minute without a trade has no bar: each stock misses some minutes,
    // and in three of the afternoon (after gap_fill's last exit) none trades. The backtest runs
    // on the same bars, aligned as the bridge aligns them.
    let at = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let quiet = [at(14, 0), at(14, 1), at(15, 30)];
    let sparse = scenario::iex_minutes(&universe, &quiet);
    for s in &sparse {
        fake.add_bars(&s.meta.symbol, datasets::Timeframe::Min1, s.bars.clone());
    }
    let data = kernel::strategy::MarketData::align(datasets::Timeframe::Min1, sparse).unwrap();
    // As at Alpaca (and by default in the fake), a minute bar is served preliminary (its opening
    // trade) for 30 s after its minute, then revised: the runs read their bars once they are final.
    scenario::run_day(&scenario::config(root.path(), &fake), clock.clone()).await;

    let live = |prefix: &str| keys(scenario::broker_fills(&fake, prefix));
    let day = scenario::replay_date();
    let first = data.timestamps().iter().position(|&t| calendar::session_date(Timestamp(t)) == day).unwrap();
    let gap_fills = keys(scenario::kernel_fills(&data, &strategy, 50_000.0, first..data.len()));
    assert!(gap_fills.len() >= 4, "the day should trade: {gap_fills:?}");
    assert_eq!(live("tb-gap_fill-"), gap_fills, "gap_fill's live fills against the kernel's");

    // The daily strategy ran once, at its family's 10:30, on the previous session's signals: the
    // kernel fills them at the day's open, the bridge at 10:30 — the same quantities.
    let n = daily.len();
    let ten_thirty = new_york(day, chrono::NaiveTime::from_hms_opt(10, 30, 0).unwrap()).0;
    let expected: Vec<_> = keys(scenario::kernel_fills(&daily, &momentum, 40_000.0, n - 2..n))
        .into_iter()
        .map(|(_, symbol, side, qty)| (ten_thirty, symbol, side, qty))
        .collect();
    assert!(expected.len() >= 2, "momentum should enter: {expected:?}");
    assert_eq!(live("tb-momentum-"), expected, "momentum's live fills against the kernel's");
    assert_eq!(fake.configuration().max_margin_multiplier, "1");

    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    let books: std::collections::BTreeMap<String, Decimal> =
        db.positions().unwrap().into_iter().map(|p| (p.symbol.clone(), p.qty)).collect();
    assert_eq!(books, fake.positions(), "the books equal the broker's positions");
    let held = db.positions().unwrap();
    assert!(held.iter().all(|p| p.strategy == "momentum"), "gap_fill is flat by the close: {held:?}");
    let signals = db.signals().unwrap();
    // Every gap_fill signal was computed on the final bar: its price is that bar's close slipped.
    let slippage = scenario::rules().costs.slippage;
    for s in signals.iter().filter(|s| s.strategy == "gap_fill" && s.action != "candidate") {
        let t = data.timestamps().iter().position(|&t| t == s.bar_ns).unwrap();
        let bars = &data.symbols()[data.find(&s.symbol).unwrap()].bars;
        let price =
            slippage.fill_price(kernel::sim::Side::Buy, bars.close()[t], bars.low()[t], bars.high()[t]);
        assert_eq!(s.price, price, "{s:?}");
    }
    let entries = signals.iter().filter(|s| s.side == "enter" && s.strategy == "gap_fill").count();
    let candidates = signals.iter().filter(|s| s.side == "gap_candidate").count();
    assert_eq!(entries, gap_fills.len() / 2, "every entry signal is stored");
    assert!(candidates >= entries, "gap candidates {candidates}, entries {entries}");
    // A minute in which none of its stocks traded is no bar, as in the backtest: its run is
    // skipped for that reason, never failed as stale data; every other minute ran.
    let day = day.to_string();
    let runs = db.run_counts(&day).unwrap();
    let count = |status: &str| runs.iter().find(|r| r.0 == "gap_fill" && r.1 == status).map_or(0, |r| r.2);
    assert_eq!((count("skipped"), count("failed")), (3, 0), "gap_fill's runs: {runs:?}");
    for q in quiet {
        let slot = live_bridge::schedule::slot_name(new_york(
            scenario::replay_date(),
            q + chrono::Duration::minutes(1),
        ));
        let run = db.run("gap_fill", &slot).unwrap().expect("the quiet minute's run is recorded");
        assert!(run.detail.starts_with("no trade in the 1Min bar"), "{run:?}");
    }
    let daily = db.daily().unwrap();
    assert_eq!(daily.len(), 1);
    assert_eq!(daily[0].day, "2025-12-31");
    assert_eq!(daily[0].cash, fake.cash());
    assert!(daily[0].equity > daily[0].cash, "momentum holds positions overnight");
    assert!(clock.now().0 >= calendar::session(scenario::replay_date()).unwrap().close.0);
}
