//! Protective exits through the service on a replayed day against the fake broker: stop-loss,
//! take-profit with stop-loss (oco) and a time stop, trailing stop — placed at the broker after
//! each entry, triggered by the bars, canceled before any other exit; the fills match the
//! kernel's backtest of the same strategies share for share and at the same prices.

use std::sync::Arc;

use datasets::{Timeframe, Timestamp, calendar};
use kernel::sim::ExitRules;
use kernel::strategy::MarketData;
use live_bridge::alpaca::model::{OrderSide, OrderStatus};
use live_bridge::alpaca::{Client, Credentials};
use live_bridge::clock::SimulatedClock;
use live_bridge::config::LiveConfig;
use live_bridge::db::{Db, OrderState};
use live_bridge::fake::{FakeAlpaca, Fault, Route, scenario};
use promoted::PromotedStrategy;
use rust_decimal::Decimal;

/// `gap_fill` as `id` with `exits`, allocation 0.2.
fn with_exits(data: &MarketData, id: &str, exits: ExitRules) -> PromotedStrategy {
    let mut s = scenario::gap_fill(data, 0.2);
    s.id = id.into();
    s.rules.exits = exits;
    s
}

/// Runs one replayed session of `config` to its end on `clock`.
async fn run_day(config: &LiveConfig, clock: Arc<SimulatedClock>) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    scenario::run_day(config, clock).await;
}

/// Asserts the broker's fills equal the kernel's: same bars, symbols, sides and shares, prices
/// within a cent (a stop rests at the kernel's level rounded to Alpaca's tick).
fn assert_same_fills(live: &[scenario::Fill], kernel: &[scenario::Fill], what: &str) {
    let key = |f: &scenario::Fill| (f.time, f.symbol.clone(), f.side, f.qty);
    assert_eq!(
        live.iter().map(key).collect::<Vec<_>>(),
        kernel.iter().map(key).collect::<Vec<_>>(),
        "{what}: live {live:#?}\nkernel {kernel:#?}"
    );
    for (l, k) in live.iter().zip(kernel) {
        assert!((l.price - k.price).abs() < 0.01, "{what}: {l:?} against {k:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protective_exits_trade_live_like_the_backtest() {
    let root = tempfile::tempdir().unwrap();
    let universe = scenario::universe(12);
    let data = scenario::on_ticks(&scenario::minute_data(&universe));
    // The oco's take-profit is a resting sell limit: Alpaca refuses any buy of its symbol
    // meanwhile (a wash trade), so it trades symbols of its own; stops and trailing stops
    // (no limit price) do not block buys, and the others share theirs.
    let part = |range: std::ops::Range<usize>| {
        MarketData::new(data.timeframe(), data.symbols()[range].to_vec()).unwrap()
    };
    let (own, shared) = (part(0..4), part(4..data.symbols().len()));
    let strategies = [
        with_exits(&shared, "stop", ExitRules { stop_loss: Some(0.003), ..ExitRules::default() }),
        with_exits(
            &own,
            "oco",
            ExitRules {
                stop_loss: Some(0.006),
                take_profit: Some(0.004),
                max_bars: Some(60),
                ..ExitRules::default()
            },
        ),
        with_exits(&shared, "trail", ExitRules { trailing_stop: Some(0.004), ..ExitRules::default() }),
        with_exits(&shared, "timed", ExitRules { max_bars: Some(25), ..ExitRules::default() }),
    ];
    let data_of = |id: &str| if id == "oco" { &own } else { &shared };
    scenario::promote(&root.path().join("promoted"), strategies.to_vec());
    let clock = Arc::new(SimulatedClock::new(scenario::replay_start()));
    let fake = FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap();
    scenario::serve(&fake, &universe);
    for s in data.symbols() {
        fake.add_bars(&s.meta.symbol, Timeframe::Min1, s.bars.clone());
    }
    let config = scenario::config(root.path(), &fake);
    run_day(&config, clock).await;

    let day = scenario::replay_date();
    let first = data.timestamps().iter().position(|&t| calendar::session_date(Timestamp(t)) == day).unwrap();
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for s in &strategies {
        let kernel = scenario::kernel_fills(data_of(&s.id), s, 20_000.0, first..data.len());
        let live = scenario::broker_fills(&fake, &format!("tb-{}-", s.id));
        assert!(kernel.len() >= 4, "{} should trade: {kernel:?}", s.id);
        assert_same_fills(&live, &kernel, &s.id);
        for (l, k) in live.iter().zip(&kernel) {
            *reasons.entry(format!("{} {} by {}", s.id, k.why, l.why)).or_default() += 1;
        }
    }
    eprintln!("{reasons:#?}");
    // Every kind of exit happened, each through the order the bridge meant for it.
    for expected in [
        "stop StopLoss by stop",
        "oco TakeProfit by oco limit",
        "oco StopLoss by oco stop",
        "oco TimeStop by market",
        "trail TrailingStop by trailing_stop",
        "timed TimeStop by market",
    ] {
        assert!(reasons.contains_key(expected), "no `{expected}` exit: {reasons:#?}");
    }

    // The protective orders rest good till canceled; those not filled were canceled before
    // the position's other exit — never two sells working for one position.
    let orders = fake.orders();
    let protective: Vec<_> = orders.iter().filter(|o| o.client_order_id.contains("-p1")).collect();
    assert!(protective.iter().all(|o| o.time_in_force == "gtc" && o.side == OrderSide::Sell));
    assert!(protective.iter().all(|o| o.is_done_with_legs()), "every position ended closed");
    assert!(protective.iter().any(|o| o.status == OrderStatus::Canceled && o.filled_with_legs().0.is_zero()));
    assert!(!orders.iter().any(|o| o.client_order_id.starts_with("tb-timed-") && o.order_type != "market"));
    assert_eq!(fake.duplicate_submissions(), 0);
    assert_eq!(fake.count(Route::CreateOrder), orders.len(), "no order was refused");

    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    assert!(db.positions().unwrap().is_empty(), "gap_fill is flat by the close");
    assert!(fake.positions().is_empty());
    for o in db.orders().unwrap() {
        assert!(matches!(o.state, OrderState::Filled | OrderState::Canceled | OrderState::NotSent), "{o:?}");
        let b = orders.iter().find(|b| b.client_order_id == o.client_order_id);
        let filled = b.map_or(Decimal::ZERO, |b| b.filled_with_legs().0);
        assert_eq!(o.filled_qty, filled, "{} booked as the broker filled it", o.client_order_id);
    }
    let time_stops = db.signals().unwrap().into_iter().filter(|s| s.side == "time_stop").count();
    assert!(time_stops >= 2, "time stops are stored as signals: {time_stops}");
    // Each sleeve's cash is its start plus what its fills made (the protective sales included).
    for s in &strategies {
        let prefix = format!("tb-{}-", s.id);
        let pnl: f64 = scenario::broker_fills(&fake, &prefix)
            .iter()
            .map(|f| if f.side == OrderSide::Sell { f.qty * f.price } else { -f.qty * f.price })
            .sum();
        let cash: f64 = db.sleeve_cash(&s.id).unwrap().unwrap().try_into().unwrap();
        assert!((cash - (20_000.0 + pnl)).abs() < 1e-6, "{}: cash {cash}, pnl {pnl}", s.id);
    }
}

/// `gap_fill` promoted under `root` with a stop-loss far below any entry (it rests at the
/// broker and never triggers), and a fake broker serving the universe from the replay's start.
async fn gap_fill_with_a_far_stop(root: &std::path::Path) -> (Arc<SimulatedClock>, FakeAlpaca) {
    let universe = scenario::universe(4);
    let data = scenario::minute_data(&universe);
    let far = ExitRules { stop_loss: Some(0.5), ..ExitRules::default() };
    scenario::promote(&root.join("promoted"), vec![with_exits(&data, "gap_fill", far)]);
    let clock = Arc::new(SimulatedClock::new(scenario::replay_start()));
    let fake = FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap();
    scenario::serve(&fake, &universe);
    (clock, fake)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_whose_protective_order_went_missing_gets_it_back_at_start_up() {
    let root = tempfile::tempdir().unwrap();
    let (clock, fake) = gap_fill_with_a_far_stop(root.path()).await;
    let morning = "[strategies.gap_fill]\nuntil = \"09:40\"\n";
    let config = LiveConfig::parse(&scenario::config_toml(root.path(), &fake, morning)).unwrap();
    run_day(&config, clock.clone()).await;
    let held = fake.positions();
    assert!(!held.is_empty(), "the morning entered");
    let stops = |suffix: &str| -> Vec<(String, Decimal)> {
        let mut v: Vec<_> = fake
            .orders()
            .into_iter()
            .filter(|o| o.client_order_id.ends_with(suffix) && !o.status.is_terminal())
            .map(|o| (o.symbol, o.qty.unwrap()))
            .collect();
        v.sort();
        v
    };
    let protected: Vec<_> = held.clone().into_iter().collect();
    assert_eq!(stops("-p1"), protected, "each position rests protected by a stop of its size");

    // Someone cancels every open order by hand, the stops included; the service restarts (the next
    // session).
    let client = Client::new(config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    let canceled = live_bridge::service::cancel_open_orders(&client, &db, 0, true).await.unwrap();
    assert_eq!(canceled.len(), held.len(), "{canceled:?}");
    assert!(stops("-p1").is_empty());
    drop(db);
    run_day(&config, clock).await;
    assert_eq!(stops("-p2"), protected, "re-placed at start-up under the next id");
    assert_eq!(fake.duplicate_submissions(), 0);
    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    let open: Vec<_> = db
        .orders()
        .unwrap()
        .into_iter()
        .filter(|o| o.state == OrderState::Open)
        .map(|o| o.client_order_id)
        .collect();
    assert_eq!(open.len(), held.len(), "{open:?}");
    assert!(open.iter().all(|c| c.ends_with("-p2")), "{open:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_racing_a_stop_that_filled_meanwhile_sells_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (clock, fake) = gap_fill_with_a_far_stop(root.path()).await;
    // The first exit's cancel arrives after its stop filled.
    fake.inject(Route::CancelOrder, Fault::FillFirst);
    let config = scenario::config(root.path(), &fake);
    run_day(&config, clock).await;

    let orders = fake.orders();
    let cancels: Vec<_> =
        fake.seen().into_iter().filter(|s| s.method == "DELETE").map(|s| (s.path, s.status)).collect();
    assert!(cancels.len() >= 2, "exits canceled their stops first: {cancels:?}");
    assert_eq!(cancels[0].1, 422, "the first cancel found its stop filled");
    assert!(cancels[1..].iter().all(|c| c.1 == 204), "{cancels:?}");
    let raced = orders.iter().find(|o| cancels[0].0.ends_with(&o.id)).unwrap();
    assert_eq!(raced.status, OrderStatus::Filled);
    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    let sale = db
        .orders()
        .unwrap()
        .into_iter()
        .find(|o| o.symbol == raced.symbol && o.client_order_id.ends_with("-s"))
        .expect("the exit was planned");
    assert_eq!(sale.state, OrderState::NotSent);
    assert_eq!(sale.detail, "the position was closed by its protective order");
    assert!(orders.iter().all(|o| o.client_order_id != sale.client_order_id), "never sent");
    // Every other exit sold after its confirmed cancel; the day ends flat, never short, and the
    // raced position's cash came from its stop.
    let sells = orders.iter().filter(|o| o.side == OrderSide::Sell && o.order_type == "market").count();
    assert_eq!(sells, cancels.len() - 1);
    assert!(fake.positions().is_empty() && db.positions().unwrap().is_empty());
    assert_eq!(db.order(&raced.client_order_id).unwrap().unwrap().filled_qty, raced.filled_qty);
    assert_eq!(fake.duplicate_submissions(), 0);
}
