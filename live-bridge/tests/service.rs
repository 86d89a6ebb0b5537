//! The service against a misbehaving broker: reconciliation failing closed, positions that
//! differ, unknown order states, faults while sending, partial fills, the kill switch, the
//! breakers and the cash-account rules — each on a short replayed morning.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use datasets::Timeframe;
use datasets::synth::{SynthConfig, Universe};
use kernel::regime::MarketRegimeRules;
use live_bridge::alpaca::model::{OrderRequest, OrderSide, Protection};
use live_bridge::alpaca::{Client, Credentials};
use live_bridge::clock::SimulatedClock;
use live_bridge::config::LiveConfig;
use live_bridge::db::{Db, MANUAL, OrderRow, OrderState};
use live_bridge::fake::{FakeAlpaca, Fault, FillMode, HookedClock, Route, scenario};
use live_bridge::safety::KillSwitch;
use live_bridge::schedule::new_york;
use live_bridge::service::{Bridge, Ended, ServiceError};
use ops::alert::{AlertsConfig, Notifier};
use ops::testing::Receiver;
use regimes::{ForestParams, MarketInputs, Selection, TrainConfig, WalkForward};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

/// Runs until 09:45 only.
const MORNING: &str = "[strategies.gap_fill]\nuntil = \"09:45\"\n";

struct Replay {
    root: tempfile::TempDir,
    fake: Arc<FakeAlpaca>,
    config: LiveConfig,
    clock: Arc<HookedClock>,
}

async fn replay() -> Replay {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let root = tempfile::tempdir().unwrap();
    let (universe, _, _) = scenario::promoted_gap_fill(root.path(), 4);
    let clock = Arc::new(HookedClock::new(scenario::replay_start()));
    let fake = Arc::new(FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap());
    scenario::serve(&fake, &universe);
    let config = LiveConfig::parse(&scenario::config_toml(root.path(), &fake, MORNING)).unwrap();
    Replay { root, fake, config, clock }
}

impl Replay {
    fn db(&self) -> Db {
        std::fs::create_dir_all(self.root.path().join("live")).unwrap();
        Db::open(&self.root.path().join("live/live.db")).unwrap()
    }

    /// Runs the service over the morning, on the clock the fake reads.
    async fn run(&self) {
        self.run_alerting(Notifier::disabled("live")).await;
    }

    /// [`Replay::run`] with alerts going to `notifier`.
    async fn run_alerting(&self, notifier: Notifier) {
        assert_eq!(self.outcome(notifier).await.unwrap(), Ended::ReplayDone);
    }

    /// How the service over the morning ends.
    async fn outcome(&self, notifier: Notifier) -> Result<Ended, ServiceError> {
        let clock = self.clock.clone();
        let client =
            Client::new(self.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let bridge =
            Bridge::new(self.config.clone(), Arc::new(client), clock, shutdown)?.with_notifier(notifier);
        tokio::time::timeout(Duration::from_secs(60), bridge.run()).await.unwrap()
    }
}

fn row(cid: &str, slot: &str, state: OrderState) -> OrderRow {
    OrderRow {
        client_order_id: cid.into(),
        strategy: "gap_fill".into(),
        slot: slot.into(),
        symbol: cid.split('-').nth(3).unwrap().into(),
        side: OrderSide::Buy,
        qty: Decimal::from(2),
        state,
        broker_id: None,
        filled_qty: Decimal::ZERO,
        filled_notional: Decimal::ZERO,
        detail: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_adopts_closes_and_resolves_then_fails_closed() {
    let r = replay().await;
    let db = r.db();
    // The database believes in a position the broker does not have, and knows nothing of one
    // the broker has; an order was sent but its outcome never recorded.
    db.ensure_sleeve("gap_fill", 0.5, Decimal::from(50_000)).unwrap();
    db.set_position("gap_fill", "GHOST", Decimal::from(5), Decimal::from(500), 0).unwrap();
    r.fake.set_position("SPY", Decimal::from(3), Decimal::from(400));
    // Sent before a crash, outcome never recorded: the broker has it (it fills at the open).
    let client = Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let sent =
        OrderRequest::market("SPY", Decimal::from(2), OrderSide::Buy, "tb-gap_fill-202512301500-SPY-b");
    client.create_order(&sent).await.unwrap();
    let unknown = row("tb-gap_fill-202512301500-SPY-b", "2025-12-30T15:00", OrderState::Unknown);
    // Written yesterday and never sent: too late to send now.
    let stale = row("tb-gap_fill-202512301000-QQQ-b", "2025-12-30T10:00", OrderState::Intent);
    db.add_orders(&[], &[unknown, stale], 0).unwrap();
    drop(db);
    r.run().await;
    let db = r.db();
    let positions = db.positions().unwrap();
    assert!(positions.iter().all(|p| p.symbol != "GHOST"), "closed locally: {positions:?}");
    let spy = positions.iter().find(|p| p.symbol == "SPY" && p.strategy == MANUAL).unwrap();
    assert_eq!(spy.qty, Decimal::from(3));
    assert_eq!(db.state("reconcile").unwrap().as_deref(), Some("ok"));
    let resolved = db.order("tb-gap_fill-202512301500-SPY-b").unwrap().unwrap();
    assert_eq!((resolved.state, resolved.filled_qty), (OrderState::Filled, Decimal::from(2)));
    let held = positions.iter().find(|p| p.symbol == "SPY" && p.strategy == "gap_fill").unwrap();
    assert_eq!(held.qty, Decimal::from(2), "its fill went to the strategy's book");
    let stale = db.order("tb-gap_fill-202512301000-QQQ-b").unwrap().unwrap();
    assert_eq!(stale.state, OrderState::NotSent);
    assert!(r.fake.orders().iter().all(|o| o.symbol != "QQQ"), "the stale intent was never sent");
    assert!(!r.fake.orders().is_empty(), "reconciled, so it traded");

    // Positions cannot be read at all: nothing trades, and the runs say why.
    let r = replay().await;
    for _ in 0..200 {
        r.fake.inject(Route::Positions, Fault::Status(500));
    }
    r.run().await;
    assert!(r.fake.orders().is_empty());
    let db = r.db();
    assert!(
        db.state("reconcile").unwrap().unwrap().contains("GET /v2/positions"),
        "{:?}",
        db.state("reconcile")
    );
    let run = db.run("gap_fill", "2025-12-31T09:32").unwrap().unwrap();
    assert_eq!(run.status, "skipped");
    assert!(run.detail.starts_with("not reconciled with the broker"), "{}", run.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_while_sending_never_double_an_order() {
    let r = replay().await;
    // The first submission is acted on but its answer is lost; the second fails with a 500
    // before the broker acts; the third is throttled with a 429.
    r.fake.inject(Route::CreateOrder, Fault::DropAfter);
    r.fake.inject(Route::CreateOrder, Fault::Status(500));
    r.fake.inject(Route::CreateOrder, Fault::Status(429));
    // Then one answered after the client's 2 s timeout (acted on), and one dropped before it
    // was acted on (looked up, not found, sent again under the same id).
    r.fake.inject(Route::CreateOrder, Fault::Delay(Duration::from_millis(2500)));
    r.fake.inject(Route::CreateOrder, Fault::DropBefore);
    r.fake.set_fill_mode(FillMode::Partial);
    r.run().await;
    assert_eq!(r.fake.duplicate_submissions(), 0);
    let db = r.db();
    let orders = db.orders().unwrap();
    assert!(orders.len() >= 5, "{orders:?}");
    let statuses: Vec<u16> =
        r.fake.seen().iter().filter(|s| s.method == "POST").map(|s| s.status).take(7).collect();
    // Order A: dropped after acting (found by lookup). Order B: 500 (not found: sent again), 429
    // (retried), answered after the timeout (found by lookup). Order C: dropped before acting
    // (not found: sent again).
    assert_eq!(statuses, [0, 500, 429, 0, 0, 200, 200]);
    assert!(orders.iter().all(|o| o.state != OrderState::NotSent), "every order went through: {orders:?}");
    let broker = r.fake.orders();
    assert_eq!(broker.len(), orders.len(), "one broker order per local order");
    for o in &orders {
        let b = broker.iter().find(|b| b.client_order_id == o.client_order_id).expect("at the broker");
        assert_eq!((o.filled_qty, o.qty), (b.filled_qty, b.qty.unwrap()), "{}", o.client_order_id);
        assert!(matches!(o.state, OrderState::Filled | OrderState::Open), "{o:?}");
    }
    // Partial fills were followed to completion before the books were trusted.
    let mut local = std::collections::BTreeMap::<String, Decimal>::new();
    for p in db.positions().unwrap() {
        *local.entry(p.symbol).or_default() += p.qty;
    }
    assert_eq!(local, r.fake.positions());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_are_recorded_and_breakers_latch() {
    let r = replay().await;
    for _ in 0..3 {
        r.fake.inject(Route::CreateOrder, Fault::Status(403));
    }
    r.fake.inject(Route::CreateOrder, Fault::Status(422));
    let mut config = r.config.clone();
    config.risk.max_consecutive_errors = 4;
    let r = Replay { config, ..r };
    r.run().await;
    let db = r.db();
    let rejected: Vec<_> =
        db.orders().unwrap().into_iter().filter(|o| o.state == OrderState::Rejected).collect();
    assert_eq!(rejected.len(), 4);
    assert!(rejected[0].detail.contains("forbidden (403)"), "{}", rejected[0].detail);
    assert!(rejected[3].detail.contains("unprocessable (422)"), "{}", rejected[3].detail);
    let breakers = db.breakers().unwrap();
    assert_eq!(breakers[0].0, "consecutive_errors", "{breakers:?}");
    // Latched: the signals after it are stored, refused with the breaker's reason.
    let refused = db.signals().unwrap().into_iter().filter(|s| s.action == "refused").collect::<Vec<_>>();
    assert!(refused.iter().any(|s| s.detail.starts_with("breaker consecutive_errors")), "{refused:?}");
    assert_eq!(r.fake.orders().len(), 0, "rejected orders never reached the book");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_and_the_daily_loss_breaker_stop_new_orders() {
    let r = replay().await;
    KillSwitch::new(&r.root.path().join("live")).halt("test").unwrap();
    r.run().await;
    assert!(r.fake.orders().is_empty());
    let db = r.db();
    let signals = db.signals().unwrap();
    assert!(signals.iter().any(|s| s.side == "enter" && s.detail == "halted: test"), "signals kept");

    let r = replay().await;
    // The account closed yesterday 5 % higher than it stands now.
    r.fake.set_cash(Decimal::from(100_000), Decimal::from(105_300));
    r.run().await;
    assert!(r.fake.orders().is_empty());
    let breakers = r.db().breakers().unwrap();
    assert_eq!(breakers[0].0, "daily_loss");
    assert!(breakers[0].1.contains("5.03% below last_equity 105300"), "{}", breakers[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_need_settled_cash_and_the_account_is_set_to_cash_only() {
    let r = replay().await;
    // The strategy's books claim more than the account's cash: entries beyond the settled
    // cash are refused with the reason.
    r.db().ensure_sleeve("gap_fill", 0.5, Decimal::from(1_000_000)).unwrap();
    r.fake.set_cash(Decimal::from(3_000), Decimal::from(3_000));
    r.run().await;
    let config = r.fake.configuration();
    assert!(config.no_shorting && config.max_margin_multiplier == "1");
    let signals = r.db().signals().unwrap();
    let refused: Vec<_> =
        signals.iter().filter(|s| s.detail.starts_with("not enough settled cash")).collect();
    assert!(!refused.is_empty(), "{signals:?}");
    assert!(r.fake.cash() >= Decimal::ZERO);
}

#[test]
fn every_promoted_strategy_is_registered_with_its_schedule_or_a_reason() {
    let root = tempfile::tempdir().unwrap();
    let universe = scenario::universe(4);
    let data = scenario::minute_data(&universe);
    let gap = scenario::gap_fill(&data, 0.3);
    let mut stopped = scenario::gap_fill(&data, 0.2);
    stopped.id = "gap_fill_stop".into();
    stopped.rules.exits.stop_loss = Some(0.05);
    let mut trailing = scenario::gap_fill(&data, 0.1);
    trailing.id = "gap_fill_trailing".into();
    trailing.rules.exits.stop_loss = Some(0.05);
    trailing.rules.exits.trailing_stop = Some(0.02);
    let mut off = scenario::gap_fill(&data, 0.1);
    off.id = "gap_fill_off".into();
    scenario::promote(&root.path().join("promoted"), vec![gap, stopped, trailing, off]);
    let mut config = LiveConfig::parse("[strategies.gap_fill_off]\nenabled = false\n").unwrap();
    config.service.promoted = root.path().join("promoted");
    let registered = live_bridge::service::register(&config).unwrap();
    let summary: Vec<_> = registered
        .iter()
        .map(|r| (r.strategy.id.as_str(), r.schedule.at.to_string(), r.disabled.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("gap_fill", "09:31:00".to_string(), None),
            ("gap_fill_stop", "09:31:00".to_string(), None),
            (
                "gap_fill_trailing",
                "09:31:00".to_string(),
                Some("its trailing_stop together with stop_loss cannot rest at Alpaca as one order (an oco takes a fixed stop and a take-profit only)".into())
            ),
            ("gap_fill_off", "09:31:00".to_string(), Some("disabled by the config".into())),
        ]
    );
    assert_eq!(registered[0].schedule.runs(scenario::replay_date()).len(), 389, "every minute to 15:59");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_orders_can_be_canceled_while_halted() {
    let r = replay().await;
    r.fake.set_fill_mode(FillMode::Never);
    let mut config = r.config.clone();
    config.service.fill_timeout_secs = 0.05;
    let r = Replay { config, ..r };
    r.run().await;
    let open = r.fake.orders();
    assert!(!open.is_empty() && open.iter().all(|o| o.filled_qty.is_zero()));
    KillSwitch::new(&r.root.path().join("live")).halt("cancel everything").unwrap();
    let client = Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let db = r.db();
    let lines = live_bridge::service::cancel_open_orders(&client, &db, 1, false).await.unwrap();
    assert_eq!(lines.len(), open.len());
    assert!(lines.iter().all(|l| l.starts_with("canceled tb-gap_fill-")), "{lines:?}");
    assert!(r.fake.orders().iter().all(|o| o.status.as_str() == "canceled"));
    assert!(db.pending_orders().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_roll_over_with_positions_held_overnight() {
    let root = tempfile::tempdir().unwrap();
    let (universe, _, gap) = scenario::promoted_gap_fill(root.path(), 4);
    let (_, momentum) = scenario::daily_momentum(&universe);
    scenario::promote(&root.path().join("promoted"), vec![gap, momentum]);
    let first = NaiveDate::from_ymd_opt(2025, 12, 30).unwrap();
    let start = new_york(first, NaiveTime::from_hms_opt(7, 55, 0).unwrap());
    let clock = Arc::new(SimulatedClock::new(start));
    let fake = FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap();
    scenario::serve(&fake, &universe);
    let text = scenario::config_toml(root.path(), &fake, MORNING).replace(
        "start = \"2025-12-31T07:55:00-05:00\"\nsessions = 1",
        "start = \"2025-12-30T07:55:00-05:00\"\nsessions = 2",
    );
    let config = LiveConfig::parse(&text).unwrap();
    assert_eq!(config.replay.as_ref().unwrap().sessions, 2);
    let client = Client::new(config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let bridge = Bridge::new(config, Arc::new(client), clock.clone(), shutdown).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(120), bridge.run()).await.unwrap().unwrap();
    assert_eq!(ended, Ended::ReplayDone);

    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    let days: Vec<String> = db.daily().unwrap().into_iter().map(|d| d.day).collect();
    assert_eq!(days, ["2025-12-30", "2025-12-31"]);
    let momentum_runs = ["2025-12-30T10:30", "2025-12-31T10:30"]
        .map(|slot| db.run("momentum", slot).unwrap().unwrap().status);
    assert_eq!(momentum_runs, ["done", "done"]);
    let day_one: Vec<_> =
        fake.orders().into_iter().filter(|o| o.client_order_id.contains("-20251230")).collect();
    assert!(!day_one.is_empty(), "the first session trades");
    assert_eq!(fake.duplicate_submissions(), 0);
    // Day two re-enters nothing it already holds, and the books still equal the broker's.
    let ignored = db
        .signals()
        .unwrap()
        .into_iter()
        .filter(|s| s.slot.starts_with("2025-12-31") && s.detail == "already long");
    assert!(ignored.count() > 0, "day two sees the overnight positions");
    let mut local = std::collections::BTreeMap::<String, Decimal>::new();
    for p in db.positions().unwrap() {
        *local.entry(p.symbol).or_default() += p.qty;
    }
    assert_eq!(local, fake.positions());
}

/// The buy orders the broker received, as (symbol, quantity × the signal's sizing price).
fn sent_buys(r: &Replay) -> Vec<(String, Decimal)> {
    let signals = r.db().signals().unwrap();
    r.fake
        .orders()
        .iter()
        .filter(|o| o.side == OrderSide::Buy)
        .map(|o| {
            let s = signals.iter().find(|s| s.client_order_id.as_ref() == Some(&o.client_order_id)).unwrap();
            (o.symbol.clone(), o.qty.unwrap() * Decimal::try_from(s.price).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfilled_buys_reserve_the_settled_cash_they_will_spend() {
    let r = replay().await;
    // The broker's cash only moves on fills, and no order fills: every buy sent stays open. The
    // strategy's books claim more than the account has, so only settled cash binds.
    r.fake.set_fill_mode(FillMode::Never);
    r.fake.set_cash(Decimal::from(3_000), Decimal::from(3_000));
    r.db().ensure_sleeve("gap_fill", 0.5, Decimal::from(10_000)).unwrap();
    let mut config = r.config.clone();
    config.risk.max_position_fraction = 1.0;
    config.service.fill_timeout_secs = 0.05;
    let r = Replay { config, ..r };
    r.run().await;
    let buys = sent_buys(&r);
    let committed: Decimal = buys.iter().map(|b| b.1).sum();
    assert!(!buys.is_empty(), "the first entry fits");
    assert!(committed <= Decimal::from(3_000), "open buys commit {committed} of 3000 settled: {buys:?}");
    let signals = r.db().signals().unwrap();
    let refused: Vec<_> =
        signals.iter().filter(|s| s.detail.starts_with("not enough settled cash")).collect();
    assert!(!refused.is_empty(), "later entries are refused: {signals:?}");
    assert_eq!(r.fake.duplicate_submissions(), 0);
}

/// Stores a planned run at `slot` of `gap_fill` with entries of about 1,000 in the first
/// `n` symbols, signals and buy intents, none sent: a crash right after planning. Returns
/// their client_order_ids.
fn stored_entries(r: &Replay, slot: &str, n: usize) -> Vec<String> {
    let db = r.db();
    db.ensure_sleeve("gap_fill", 0.5, Decimal::from(50_000)).unwrap();
    let bar_ns = live_bridge::schedule::slot_time(slot).unwrap().0 - 60_000_000_000;
    let data = scenario::minute_data(&scenario::universe(4));
    let t = data.timestamps().iter().position(|&t| t == bar_ns).unwrap();
    let compact: String = slot.chars().filter(char::is_ascii_digit).collect();
    let mut signals = Vec::new();
    let mut orders = Vec::new();
    for s in &data.symbols()[..n] {
        let (symbol, price) = (s.meta.symbol.as_str(), s.bars.close()[t]);
        let cid = format!("tb-gap_fill-{compact}-{symbol}-b");
        signals.push(live_bridge::db::SignalRow {
            strategy: "gap_fill".into(),
            slot: slot.into(),
            bar_ns,
            symbol: symbol.into(),
            side: "enter".into(),
            strength: 1.0,
            price,
            fraction: Some(1.0),
            action: "order".into(),
            detail: String::new(),
            client_order_id: Some(cid.clone()),
        });
        let qty = Decimal::from((1_000.0 / price).floor() as i64);
        orders.push(OrderRow { qty, ..row(&cid, slot, OrderState::Intent) });
    }
    let day = &slot[..10];
    db.plan_run(("gap_fill", slot, day), (25_000.0, None), &signals, &[], 0).unwrap();
    db.add_orders(&[], &orders, 0).unwrap();
    orders.into_iter().map(|o| o.client_order_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buy_resumed_after_a_crash_is_rechecked_against_the_cash_rules() {
    let r = replay().await;
    // Before the crash the 09:31 run stored two entries of about 1,000 each and sent neither;
    // the account now has settled cash for the first but not for both.
    let stored = stored_entries(&r, "2025-12-31T09:31", 2);
    let (first, second) = (stored[0].clone(), stored[1].clone());
    r.fake.set_cash(Decimal::from(1_500), Decimal::from(1_500));
    let mut config = r.config.clone();
    config.risk.max_position_fraction = 1.0;
    let r = Replay { config, ..r };
    r.run().await;
    let db = r.db();
    let sent = db.order(&first).unwrap().unwrap();
    assert_eq!(sent.state, OrderState::Filled, "{sent:?}");
    let refused = db.order(&second).unwrap().unwrap();
    assert_eq!(refused.state, OrderState::Rejected, "{refused:?}");
    assert!(refused.detail.starts_with("not enough settled cash"), "{}", refused.detail);
    let signal = db.signals().unwrap().into_iter().find(|s| s.client_order_id.as_ref() == Some(&second));
    let signal = signal.unwrap();
    assert_eq!((signal.action.as_str(), signal.detail.as_str()), ("refused", refused.detail.as_str()));
    assert!(r.fake.orders().iter().all(|o| o.client_order_id != second), "the refused intent was never sent");
    assert!(r.fake.cash() >= Decimal::ZERO);
}

/// A notifier posting every alert as generic JSON to each of `urls`.
fn notifier(urls: &[String]) -> Notifier {
    let channels: String =
        urls.iter().map(|u| format!("[[channels]]\nkind = \"webhook\"\nurl = \"{u}\"\n")).collect();
    let config: AlertsConfig = toml::from_str(&format!("timeout_secs = 1\nqueue = 2\n{channels}")).unwrap();
    Notifier::start("live", &config).unwrap()
}

/// The `(kind, key)` of each alert the receiver got.
fn received(receiver: &Receiver, n: usize) -> Vec<(String, String)> {
    receiver
        .wait_for(n)
        .iter()
        .map(|r| (r.body["kind"].as_str().unwrap().to_string(), r.body["key"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_trips_kill_switch_toggles_and_the_close_are_alerted() {
    let receiver = Receiver::start();
    let r = replay().await;
    // Halted before the start, and the account is 5 % below yesterday's close.
    let switch = KillSwitch::new(&r.root.path().join("live"));
    switch.halt("maintenance").unwrap();
    r.fake.set_cash(Decimal::from(100_000), Decimal::from(105_300));
    let alerts = notifier(&[format!("{}/hook", receiver.base)]);
    r.run_alerting(alerts.clone()).await;
    alerts.flush(Duration::from_secs(5));
    let got = received(&receiver, 3);
    assert_eq!(
        got,
        [
            ("kill_switch".to_string(), "ON".to_string()),
            ("circuit_breaker".into(), "daily_loss".into()),
            ("daily_pnl".into(), "2025-12-31".into()),
        ],
        "{:?}",
        receiver.requests()
    );
    let body = &receiver.requests()[1].body;
    assert!(body["detail"].as_str().unwrap().contains("5.03% below last_equity 105300"), "{body}");
    assert_eq!(body["severity"], "critical");
    let pnl = &receiver.requests()[2].body;
    assert_eq!(
        (pnl["fields"]["equity"].as_f64(), pnl["fields"]["pnl"].as_f64()),
        (Some(100_000.0), Some(-5_300.0))
    );
    assert!(r.fake.orders().is_empty());

    // Resumed while the service was down: the next start reports the switch off, once; the
    // breaker, still latched, is not alerted again.
    switch.resume().unwrap();
    r.run_alerting(alerts.clone()).await;
    alerts.flush(Duration::from_secs(5));
    let got = received(&receiver, 5);
    assert_eq!(got[3], ("kill_switch".to_string(), "OFF".to_string()), "{got:?}");
    assert!(got[3..].iter().all(|(kind, _)| kind != "circuit_breaker"), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_alert_channels_never_block_trading() {
    // The same morning traded without alerts, and with every alert going to an endpoint that
    // never answers and one that refuses connections — while reconciliation fails at start.
    let baseline = replay().await;
    baseline.run().await;
    // A working receiver gets them all the same.
    let r = replay().await;
    // Every attempt of the start-up reconciliation fails; PRE_MARKET's succeeds.
    for _ in 0..5 {
        r.fake.inject(Route::Positions, Fault::Status(500));
    }
    let receiver = Receiver::start();
    let urls = [ops::testing::hanging_endpoint(), ops::testing::refused_endpoint(), receiver.base.clone()];
    let alerts = notifier(&urls);
    r.run_alerting(alerts.clone()).await;
    let ids = |orders: Vec<live_bridge::alpaca::model::Order>| {
        orders.into_iter().map(|o| (o.client_order_id, o.filled_qty)).collect::<Vec<_>>()
    };
    assert!(!baseline.fake.orders().is_empty());
    assert_eq!(ids(r.fake.orders()), ids(baseline.fake.orders()), "the same orders, in the same order");
    let got = received(&receiver, 2);
    assert_eq!(got[0], ("reconciliation".to_string(), "broker".to_string()), "{got:?}");
    assert_eq!(got[1], ("daily_pnl".to_string(), "2025-12-31".to_string()), "{got:?}");
    let stats = alerts.flush(Duration::from_secs(3));
    assert!(stats.failed + stats.dropped >= 2, "the refused channel failed: {stats:?}");
    assert_eq!(stats.sent, 2, "{stats:?}");
}

/// A 4-year synthetic market (SPY, VIX, sector ETFs, 6 stocks) ending on the replay date as a
/// bar store under `root/store`, and a small regime model trained on it, saved as v1 under
/// `root/models`. Returns the store's market inputs.
fn regime_store(root: &std::path::Path) -> MarketInputs {
    use datasets::store::{WriteMode, Writer};
    let config = SynthConfig {
        symbols: 6,
        years: 4,
        seed: 11,
        end: scenario::replay_date(),
        minute_days: 0,
        minute_symbols: None,
        ..SynthConfig::default()
    };
    let universe = Universe::new(&config).unwrap();
    let mut writer = Writer::open(root.join("store")).unwrap();
    for (i, meta) in universe.symbols().iter().enumerate() {
        writer.set_meta(meta.clone());
        writer.write(&meta.symbol, Timeframe::Day1, &universe.daily(i), WriteMode::Append).unwrap();
    }
    writer.commit().unwrap();
    let store = datasets::store::Store::open(root.join("store")).unwrap();
    let inputs = MarketInputs::from_store(&store, &Selection::default()).unwrap();
    let train = TrainConfig {
        forest: ForestParams { trees: 8, ..Default::default() },
        walk: WalkForward { min_train: 504, test_len: 252 },
        min_samples_per_regime: 1,
    };
    let (_, outcome) = regimes::train_standard(&inputs, MarketRegimeRules::default(), &train).unwrap();
    let mut model = outcome.model;
    regimes::persist::save(&root.join("models"), &mut model).unwrap();
    inputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_market_records_the_regime_models_outlook() {
    let r = replay().await;
    let inputs = regime_store(r.root.path());
    let mut config = r.config.clone();
    config.service.store = Some(r.root.path().join("store"));
    config.service.regime_models = r.root.path().join("models");
    let r = Replay { config, ..r };
    r.run().await;
    let model = regimes::persist::load_latest(&r.root.path().join("models")).unwrap().unwrap();
    // The store holds the replayed day's bar too; at 08:00 it must not count.
    let n = inputs.len() - 1;
    let inputs = MarketInputs::new(
        inputs.timestamps()[..n].to_vec(),
        inputs.market()[..n].to_vec(),
        inputs.index().map(|i| i[..n].to_vec()),
        inputs.members().iter().map(|m| m[..n].to_vec()).collect(),
    )
    .unwrap();
    let expected = regimes::outlook(&inputs, &model.card.features.rules, Some(&model)).unwrap();
    let call = expected.model.unwrap();
    let row = r.db().last_regime().unwrap().expect("recorded at PRE_MARKET");
    assert_eq!((row.day.as_str(), row.bar_day.as_str()), ("2025-12-31", "2025-12-30"));
    assert_eq!(row.model_version, 1);
    assert_eq!(row.today.as_deref(), expected.today.map(|r| r.name()));
    assert!(call.tomorrow.is_some(), "the model makes a call on a 4-year history");
    assert_eq!(row.tomorrow.as_deref(), call.tomorrow.map(|r| r.name()));
    let votes: Vec<f64> = serde_json::from_str(row.votes.as_deref().unwrap()).unwrap();
    assert_eq!(votes, call.votes.unwrap());
    let status = live_bridge::status::Status::read(&r.root.path().join("live")).unwrap().to_string();
    assert!(status.contains("regime:      2025-12-31 (close of 2025-12-30): today "), "{status}");
    assert!(!r.fake.orders().is_empty(), "it traded as usual");

    // Without a model: a warning, no row, and the day trades all the same.
    let r = replay().await;
    let mut config = r.config.clone();
    config.service.store = Some(r.root.path().join("store"));
    config.service.regime_models = r.root.path().join("no-models");
    regime_store(r.root.path());
    let r = Replay { config, ..r };
    r.run().await;
    assert_eq!(r.db().last_regime().unwrap(), None);
    assert!(!r.fake.orders().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_market_backfills_the_store_keeps_the_minute_window_and_flags_stale_series() {
    use datasets::store::{Store, WriteMode, Writer};
    use datasets::{Bar, Bars, calendar};
    let r = replay().await;
    let universe = scenario::universe(4);
    let date = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap();
    // The store stopped on 2025-12-10 (daily) and holds one session of 1-minute bars from
    // 2025-11-03: a gap of 57 days, longer than the 10-day window.
    let stop = calendar::daily_bar_timestamp(date(12, 10)).0;
    let shift = (date(12, 30) - date(11, 3)).num_days() * 86_400_000_000_000;
    let session = calendar::session(date(12, 30)).unwrap();
    let mut writer = Writer::open(r.root.path().join("store")).unwrap();
    let mut minute_symbols = Vec::new();
    for (i, meta) in universe.symbols().iter().enumerate() {
        let daily = universe.daily(i);
        let n = daily.timestamps().partition_point(|&t| t <= stop);
        writer.write(&meta.symbol, Timeframe::Day1, &daily.slice(0..n), WriteMode::Append).unwrap();
        if let Some(minute) = universe.minute(i) {
            let old: Vec<Bar> = minute
                .iter()
                .filter(|b| b.ts >= session.open && b.ts < session.close)
                .map(|b| Bar { ts: datasets::Timestamp(b.ts.0 - shift), ..b })
                .collect();
            writer
                .write(&meta.symbol, Timeframe::Min1, &Bars::from_bars(old).unwrap(), WriteMode::Append)
                .unwrap();
            minute_symbols.push((i, meta.symbol.clone()));
        }
    }
    writer.commit().unwrap();
    let receiver = Receiver::start();
    let mut config = r.config.clone();
    config.service.store = Some(r.root.path().join("store"));
    config.service.minute_window_days = 10;
    config.service.refresh_symbols = vec!["NOPE".into()];
    let r = Replay { config, ..r };
    let alerts = notifier(std::slice::from_ref(&receiver.base));
    r.run_alerting(alerts.clone()).await;
    alerts.flush(Duration::from_secs(5));

    let store = Store::open(r.root.path().join("store")).unwrap();
    let last_close = calendar::daily_bar_timestamp(date(12, 30));
    let strategy_symbols: Vec<String> =
        scenario::minute_data(&universe).symbols().iter().map(|s| s.meta.symbol.clone()).collect();
    for (i, meta) in universe.symbols().iter().enumerate() {
        let stored = store.series(&meta.symbol, Timeframe::Day1).unwrap().unwrap().to_bars().unwrap();
        if !strategy_symbols.contains(&meta.symbol) {
            assert_eq!(stored.timestamps().last(), Some(&stop), "{} is not refreshed", meta.symbol);
            continue;
        }
        // Daily: backfilled from the day after the last stored bar through yesterday, exactly
        // the broker's bars.
        let daily = universe.daily(i);
        let n = daily.timestamps().partition_point(|&t| t <= last_close.0);
        assert_eq!(stored.timestamps(), &daily.timestamps()[..n], "{}", meta.symbol);
        assert_eq!(stored.close(), &daily.close()[..n], "{}", meta.symbol);
    }
    for (i, symbol) in &minute_symbols {
        // 1-minute: the old session is gone; the window holds yesterday's session only, and
        // nothing for a symbol no strategy trades.
        if !strategy_symbols.contains(symbol) {
            assert!(store.info(symbol, Timeframe::Min1).is_none(), "{symbol}");
            continue;
        }
        let stored = store.series(symbol, Timeframe::Min1).unwrap().unwrap().to_bars().unwrap();
        let expected: Vec<i64> = universe
            .minute(*i)
            .unwrap()
            .timestamps()
            .iter()
            .copied()
            .filter(|&t| t >= session.open.0 && t < session.close.0)
            .collect();
        assert_eq!(stored.timestamps(), expected.as_slice(), "{symbol}");
    }
    let min1 = store.info(&minute_symbols[0].1, Timeframe::Min1).unwrap();
    assert_eq!(min1.chunks, 1, "the minute timeframe was rewritten: {min1:?}");
    let got = received(&receiver, 2);
    let stale: Vec<_> = got.iter().filter(|(kind, _)| kind == "data_stale").collect();
    assert_eq!(stale, [&("data_stale".to_string(), "NOPE 1Day".to_string())], "{got:?}");
    assert!(!r.fake.orders().is_empty(), "the day trades as usual");
}

/// The replay with gap_fill's default schedule (every minute to 15:59), its clock moved to
/// `hh:mm:ss` New York on the replay date and the close margin set to `margin_secs`.
fn at_the_close(r: Replay, hms: (u32, u32, u32), margin_secs: i64) -> Replay {
    let time = NaiveTime::from_hms_opt(hms.0, hms.1, hms.2).unwrap();
    r.clock.advance_to(new_york(scenario::replay_date(), time));
    let mut config = r.config.clone();
    config.strategies.clear();
    config.service.close_margin_secs = margin_secs;
    // The margin is measured from the run's own instant: no wait for its bars to settle.
    config.service.bar_settle_secs = 0;
    Replay { config, ..r }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_order_is_sent_after_the_close_or_within_the_margin_before_it() {
    // A restart at 16:03 resumes the 15:58 run within its grace period (and plans 15:49–15:59
    // afresh): the market has closed, so nothing is sent; Alpaca would queue it for the open.
    let r = replay().await;
    let stored = stored_entries(&r, "2025-12-31T15:58", 1);
    let r = at_the_close(r, (16, 3, 0), 30);
    r.run().await;
    let intent = r.db().order(&stored[0]).unwrap().unwrap();
    assert_eq!(intent.state, OrderState::NotSent, "{intent:?}");
    assert!(
        intent.detail.contains("the market has closed (NYSE calendar: closed 16:00)"),
        "{}",
        intent.detail
    );
    assert!(r.fake.orders().is_empty(), "{:?}", r.fake.orders());

    // 50 s before the close: inside a 60 s margin it is refused, outside a 30 s one it is sent.
    for (margin, sent) in [(60, false), (30, true)] {
        let r = replay().await;
        let stored = stored_entries(&r, "2025-12-31T15:59", 1);
        let r = at_the_close(r, (15, 59, 10), margin);
        r.run().await;
        let o = r.db().order(&stored[0]).unwrap().unwrap();
        let at_broker = r.fake.orders().iter().any(|x| x.client_order_id == stored[0]);
        assert_eq!((o.state != OrderState::NotSent, at_broker), (sent, sent), "margin {margin}: {o:?}");
        if !sent {
            assert!(o.detail.contains("closes in 50 s"), "{}", o.detail);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closure_only_alpacas_calendar_knows_is_honoured_and_alerted() {
    let receiver = Receiver::start();
    let r = replay().await;
    r.fake.close_session(scenario::replay_date());
    r.run_alerting(notifier(&[format!("{}/hook", receiver.base)])).await;
    assert!(r.fake.orders().is_empty(), "{:?}", r.fake.orders());
    let alerts = received(&receiver, 1);
    assert!(alerts.contains(&("reconciliation".into(), "calendar".into())), "{alerts:?}");
    let bodies: Vec<String> = receiver.wait_for(1).iter().map(|r| r.body.to_string()).collect();
    assert!(
        bodies.iter().any(|b| b.contains("2025-12-31: Alpaca closed, built-in 09:30–16:00")),
        "{bodies:?}"
    );
    let refused: Vec<_> = r.db().signals().unwrap().into_iter().filter(|s| s.action == "refused").collect();
    assert!(
        !refused.is_empty() && refused.iter().all(|s| s.detail.contains("closed today (Alpaca's calendar)"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_db_is_bound_to_one_account_and_one_service() {
    let r = replay().await;
    // A second service on the same data directory cannot start while the first holds it.
    let client =
        || Arc::new(Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap());
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let first = Bridge::new(r.config.clone(), client(), r.clock.clone(), shutdown.clone()).unwrap();
    let Err(err) = Bridge::new(r.config.clone(), client(), r.clock.clone(), shutdown) else {
        panic!("two services on one data directory")
    };
    assert!(matches!(err, ServiceError::Locked(_)), "{err}");
    drop(first);
    r.run().await;
    assert_eq!(r.db().state("bound_account").unwrap().as_deref(), Some("paper fake-account-0001"));
    let orders = r.fake.orders().len();
    // The same data directory against another account (a paper run on the production books,
    // or another key): refused at start, before anything is reconciled or sent.
    r.fake.set_account_id("another-account");
    let err = r.outcome(Notifier::disabled("live")).await.unwrap_err();
    assert!(matches!(err, ServiceError::AccountMismatch(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("bound to the paper fake-account-0001 account")
            && text.contains("paper another-account"),
        "{text}"
    );
    assert_eq!(r.fake.orders().len(), orders);
}

/// Promotes `gap_fill` again with a stop-loss far below (it never triggers): every position
/// gets a resting stop order.
fn with_far_stop(r: &Replay) {
    let mut strategy = scenario::gap_fill(&scenario::minute_data(&scenario::universe(4)), 0.5);
    strategy.rules.exits.stop_loss = Some(0.5);
    scenario::promote(&r.root.path().join("promoted"), vec![strategy]);
}

/// The working stop orders at the broker: symbol → quantity.
fn resting_stops(fake: &FakeAlpaca) -> std::collections::BTreeMap<String, Decimal> {
    let mut out = std::collections::BTreeMap::new();
    for o in fake.orders().into_iter().filter(|o| o.order_type == "stop" && !o.status.is_terminal()) {
        *out.entry(o.symbol).or_default() += o.qty.unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_filling_late_are_protected_while_a_breaker_is_tripped() {
    let r = replay().await;
    with_far_stop(&r);
    // The entries rest unfilled past the fill timeout; at 09:50 five rejections have tripped
    // the breaker, and then the market fills them.
    r.fake.set_fill_mode(FillMode::Never);
    let (fake, db_path) = (Arc::downgrade(&r.fake), r.root.path().join("live/live.db"));
    let at = new_york(scenario::replay_date(), NaiveTime::from_hms_opt(9, 50, 0).unwrap());
    r.clock.at(
        at,
        Box::new(move || {
            Db::open(&db_path).unwrap().trip("consecutive_errors", "5 errors in a row", at.0).unwrap();
            fake.upgrade().unwrap().set_fill_mode(FillMode::Immediate);
        }),
    );
    let mut config = r.config.clone();
    config.service.fill_timeout_secs = 0.1;
    let r = Replay { config, ..r };
    r.run().await;
    let db = r.db();
    assert_eq!(db.breakers().unwrap().len(), 1, "still tripped");
    let held: std::collections::BTreeMap<String, Decimal> =
        db.strategy_positions("gap_fill").unwrap().into_iter().map(|p| (p.symbol, p.qty)).collect();
    assert!(!held.is_empty(), "the entries filled after the timeout");
    assert_eq!(resting_stops(&r.fake), held, "every position has its stop, breaker or not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranded_exit_from_an_earlier_day_expires_and_the_position_is_protected() {
    let r = replay().await;
    with_far_stop(&r);
    let data = scenario::minute_data(&scenario::universe(4));
    let symbol = data.symbols()[0].meta.symbol.clone();
    let price = Decimal::from_f64(data.symbols()[0].bars.close()[0]).unwrap().round_dp(2);
    let db = r.db();
    db.ensure_sleeve("gap_fill", 0.5, Decimal::from(50_000)).unwrap();
    db.set_position("gap_fill", &symbol, Decimal::from(10), price * Decimal::from(10), 0).unwrap();
    r.fake.set_position(&symbol, Decimal::from(10), price);
    // Yesterday's exit, planned and never sent (a crash, then no run of that slot today).
    let cid = format!("tb-gap_fill-202512301500-{symbol}-s");
    let exit = OrderRow {
        side: OrderSide::Sell,
        qty: Decimal::from(10),
        symbol: symbol.clone(),
        ..row(&cid, "2025-12-30T15:00", OrderState::Intent)
    };
    db.add_orders(&[], &[exit], 0).unwrap();
    drop(db);
    r.run().await;
    let expired = r.db().order(&cid).unwrap().unwrap();
    assert_eq!(expired.state, OrderState::NotSent);
    assert!(expired.detail.starts_with("expired: an exit planned on 2025-12-30"), "{}", expired.detail);
    assert_eq!(resting_stops(&r.fake).get(&symbol), Some(&Decimal::from(10)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buy_against_an_open_sell_is_refused_before_alpaca_calls_it_a_wash_trade() {
    let r = replay().await;
    // Every symbol has a sell limit resting at the broker (another strategy's take-profit, or
    // one placed by hand): Alpaca rejects any buy there with 403 code 40310000.
    let client = Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let data = scenario::minute_data(&scenario::universe(4));
    for s in data.symbols() {
        let symbol = s.meta.symbol.as_str();
        r.fake.set_position(symbol, Decimal::ONE, Decimal::from(10));
        let limit = Protection::Limit { limit: Decimal::from(100_000) };
        let request = OrderRequest::protective(symbol, Decimal::ONE, limit, &format!("by-hand-{symbol}"));
        client.create_order(&request).await.unwrap();
    }
    let buy = OrderRequest::market(&data.symbols()[0].meta.symbol, Decimal::ONE, OrderSide::Buy, "probe");
    let url = format!("{}/v2/orders", r.fake.endpoints().trading);
    let answer = reqwest::Client::new().post(url).json(&buy);
    let answer =
        answer.header("APCA-API-KEY-ID", "PK").header("APCA-API-SECRET-KEY", "S").send().await.unwrap();
    assert_eq!(answer.status(), 403);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 40_310_000);
    assert_eq!(body["message"], "potential wash trade detected. use complex orders");
    r.run().await;
    let db = r.db();
    let entries: Vec<_> = db.signals().unwrap().into_iter().filter(|s| s.side == "enter").collect();
    assert!(!entries.is_empty());
    for s in &entries {
        assert_eq!(s.action, "refused", "{s:?}");
        let expected =
            format!("wash trade: 1 open sell order(s) on {} that a buy could cross (by-hand-", s.symbol);
        assert!(s.detail.starts_with(&expected), "{}", s.detail);
    }
    let rejected = r.fake.seen().into_iter().filter(|x| x.status == 403).count();
    assert_eq!(rejected, 1, "only the probe reached the broker's refusal");
    assert!(db.breakers().unwrap().is_empty());
    assert!(db.state("consecutive_errors").unwrap().is_none_or(|n| n == "0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buy_is_checked_at_the_price_it_will_pay_after_a_gap_up() {
    let r = replay().await;
    // Planned at 09:31 on the 09:30 close; the stock then trades 10 % higher from 09:30 on.
    let stored = stored_entries(&r, "2025-12-31T09:31", 1);
    let data = scenario::minute_data(&scenario::universe(4));
    let s = &data.symbols()[0];
    let from = live_bridge::schedule::slot_time("2025-12-31T09:30").unwrap();
    let up = |x: f64| (x * 1.1 * 100.0).round() / 100.0;
    let gapped = s.bars.iter().map(|b| {
        if b.ts < from {
            b
        } else {
            datasets::Bar { open: up(b.open), high: up(b.high), low: up(b.low), close: up(b.close), ..b }
        }
    });
    r.fake.add_bars(&s.meta.symbol, Timeframe::Min1, datasets::Bars::from_bars(gapped).unwrap());
    // Settled cash covers the entry at the signal's price with 5 % to spare, not at the new one.
    let intent = r.db().order(&stored[0]).unwrap().unwrap();
    let at_signal = intent.qty
        * Decimal::from_f64(s.bars.close()[s.bars.timestamps().partition_point(|&t| t < from.0)]).unwrap();
    let cash = (at_signal * Decimal::new(105, 2)).round_dp(2);
    r.fake.set_cash(cash, cash);
    let mut config = r.config.clone();
    config.risk.max_position_fraction = 1.0;
    let r = Replay { config, ..r };
    r.run().await;
    let refused = r.db().order(&stored[0]).unwrap().unwrap();
    assert_eq!(refused.state, OrderState::Rejected, "{refused:?}");
    assert!(refused.detail.starts_with("not enough settled cash"), "{}", refused.detail);
    assert!(r.fake.seen().iter().all(|x| x.status != 403), "the broker never had to refuse a buy");
    assert!(r.fake.cash() >= Decimal::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_keeps_the_protective_stops_unless_asked() {
    let r = replay().await;
    with_far_stop(&r);
    r.run().await;
    let stops = resting_stops(&r.fake);
    assert!(!stops.is_empty(), "the positions rest protected");
    let client = Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let db = r.db();
    let lines = live_bridge::service::cancel_open_orders(&client, &db, 1, false).await.unwrap();
    assert_eq!(lines.len(), stops.len());
    assert!(
        lines.iter().all(|l| l.starts_with("kept tb-gap_fill-") && l.contains("protective")),
        "{lines:?}"
    );
    assert_eq!(resting_stops(&r.fake), stops);
    let lines = live_bridge::service::cancel_open_orders(&client, &db, 1, true).await.unwrap();
    assert!(lines.iter().all(|l| l.starts_with("canceled tb-gap_fill-")), "{lines:?}");
    assert!(resting_stops(&r.fake).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_done_for_the_day_rests_overnight_and_is_never_doubled() {
    let r = replay().await;
    with_far_stop(&r);
    let mut config = r.config.clone();
    config.replay.as_mut().unwrap().sessions = 2;
    let r = Replay { config, ..r };
    r.run().await;
    // The stops placed on the first day went `done_for_day` at its close and work again on the
    // second: the same orders, still open, and no second stop for any position.
    let orders = r.fake.orders();
    let stops: Vec<_> = orders.iter().filter(|o| o.order_type == "stop").collect();
    assert!(!stops.is_empty());
    assert!(stops.iter().all(|o| o.client_order_id.ends_with("-p1")), "no second stop: {stops:#?}");
    assert!(stops.iter().any(|o| o.status.as_str() == "done_for_day"), "{stops:#?}");
    let held: std::collections::BTreeMap<String, Decimal> =
        r.db().strategy_positions("gap_fill").unwrap().into_iter().map(|p| (p.symbol, p.qty)).collect();
    assert_eq!(resting_stops(&r.fake), held);
    let protective = r.db().protective_orders(Some("gap_fill"), None).unwrap();
    let open = protective.iter().filter(|o| o.state == OrderState::Open).count();
    assert_eq!(open, held.len(), "booked open, not canceled: {protective:#?}");
}

/// `r` with its `gap_fill` registered but not running: reconciliation alone.
fn reconcile_only(r: Replay) -> Replay {
    let mut config = r.config.clone();
    config.strategies.get_mut("gap_fill").unwrap().enabled = Some(false);
    Replay { config, ..r }
}

/// The first minute symbol of the replay's universe and its first close, on the cent.
fn first_symbol(i: usize) -> (String, Decimal) {
    let data = scenario::minute_data(&scenario::universe(4));
    let s = &data.symbols()[i];
    (s.meta.symbol.clone(), Decimal::from_f64(s.bars.close()[0]).unwrap().round_dp(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_racing_the_reconciliation_is_booked_as_its_fill_never_corrected() {
    let receiver = Receiver::start();
    let r = reconcile_only(replay().await);
    with_far_stop(&r);
    let ((a, pa), (b, _)) = (first_symbol(0), first_symbol(1));
    let db = r.db();
    db.ensure_sleeve("gap_fill", 0.5, Decimal::from(50_000)).unwrap();
    db.set_position("gap_fill", &a, Decimal::from(10), pa * Decimal::from(10), 0).unwrap();
    r.fake.set_position(&a, Decimal::from(10), pa);
    // `a` rests protected by a stop; an entry in `b` is working (the market is not open yet).
    let client = Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let stop_cid = format!("tb-gap_fill-202512301500-{a}-p1");
    let stop = OrderRequest::protective(
        &a,
        Decimal::from(10),
        Protection::Stop { stop: pa / Decimal::TWO },
        &stop_cid,
    );
    client.create_order(&stop).await.unwrap();
    let stop_row = OrderRow {
        side: OrderSide::Sell,
        qty: Decimal::from(10),
        symbol: a.clone(),
        ..row(&stop_cid, "2025-12-30T15:00+protect", OrderState::Open)
    };
    db.add_protective(&stop_row, &stop, 0).unwrap();
    let buy_cid = format!("tb-gap_fill-202512301500-{b}-b");
    client.create_order(&OrderRequest::market(&b, Decimal::from(3), OrderSide::Buy, &buy_cid)).await.unwrap();
    let buy_row = OrderRow {
        symbol: b.clone(),
        qty: Decimal::from(3),
        ..row(&buy_cid, "2025-12-30T15:00", OrderState::Open)
    };
    db.add_orders(&[], &[buy_row], 0).unwrap();
    drop(db);
    // Both fill after reconciliation looked the orders up and before it reads the positions.
    r.fake.inject(Route::Positions, Fault::FillFirst);
    let alerts = notifier(&[format!("{}/hook", receiver.base)]);
    r.run_alerting(alerts.clone()).await;
    alerts.flush(Duration::from_secs(5));
    let db = r.db();
    let (stop, buy) = (db.order(&stop_cid).unwrap().unwrap(), db.order(&buy_cid).unwrap().unwrap());
    assert_eq!((stop.state, stop.filled_qty), (OrderState::Filled, Decimal::from(10)), "{stop:?}");
    assert_eq!((buy.state, buy.filled_qty), (OrderState::Filled, Decimal::from(3)), "{buy:?}");
    let held: Vec<_> = db.positions().unwrap().into_iter().map(|p| (p.strategy, p.symbol, p.qty)).collect();
    assert_eq!(
        held,
        [("gap_fill".to_string(), b.clone(), Decimal::from(3))],
        "no manual shares, nothing closed by hand"
    );
    let fills: std::collections::BTreeMap<_, _> =
        r.fake.orders().into_iter().map(|o| (o.client_order_id, o.filled_avg_price.unwrap())).collect();
    let cash =
        Decimal::from(50_000) + Decimal::from(10) * fills[&stop_cid] - Decimal::from(3) * fills[&buy_cid];
    assert_eq!(
        db.sleeve_cash("gap_fill").unwrap(),
        Some(cash),
        "the stop's proceeds and the entry's cost, once each"
    );
    let keys: Vec<_> = receiver.requests().iter().map(|x| x.body["key"].to_string()).collect();
    assert!(!keys.iter().any(|k| k.contains("positions")), "a race is no mismatch: {keys:?}");

    // A difference that persists is corrected and alerted.
    let receiver = Receiver::start();
    let r = reconcile_only(replay().await);
    let db = r.db();
    db.ensure_sleeve("gap_fill", 0.5, Decimal::from(50_000)).unwrap();
    db.set_position("gap_fill", "GHOST", Decimal::from(5), Decimal::from(500), 0).unwrap();
    drop(db);
    let alerts = notifier(&[format!("{}/hook", receiver.base)]);
    r.run_alerting(alerts.clone()).await;
    alerts.flush(Duration::from_secs(5));
    let got = received(&receiver, 1);
    assert_eq!(got[0], ("reconciliation".to_string(), "positions".to_string()), "{got:?}");
    let detail = receiver.requests()[0].body["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("closed 5 GHOST of gap_fill locally"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_of_ours_missing_from_live_db_are_recovered_never_adopted_or_resent() {
    let r = replay().await;
    with_far_stop(&r);
    let (a, pa) = first_symbol(0);
    // Filled and protected before live.db was lost (restored from an older backup: empty).
    let client = Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let buy_cid = format!("tb-gap_fill-202512301500-{a}-b");
    client
        .create_order(&OrderRequest::market(&a, Decimal::from(10), OrderSide::Buy, &buy_cid))
        .await
        .unwrap();
    // Another program's order with a look-alike id is not ours.
    let other = OrderRequest::market(&a, Decimal::ONE, OrderSide::Buy, "tb-elsewhere-202512301500-X-b");
    client.create_order(&other).await.unwrap();
    r.fake.fill_now();
    let stop_cid = format!("tb-gap_fill-202512301500-{a}-p1");
    let stop = OrderRequest::protective(
        &a,
        Decimal::from(10),
        Protection::Stop { stop: pa / Decimal::TWO },
        &stop_cid,
    );
    client.create_order(&stop).await.unwrap();
    let before = r.fake.orders().len();
    r.run().await;
    let db = r.db();
    let buy = db.order(&buy_cid).unwrap().unwrap();
    assert_eq!((buy.strategy.as_str(), buy.slot.as_str()), ("gap_fill", "2025-12-30T15:00"));
    assert_eq!((buy.state, buy.filled_qty), (OrderState::Filled, Decimal::from(10)));
    let recovered = db.order(&stop_cid).unwrap().unwrap();
    assert_eq!(recovered.slot, "2025-12-30T15:00+protect");
    assert!(db.protective_request(&stop_cid).unwrap().is_some(), "recovered as the position's protection");
    assert!(db.order("tb-elsewhere-202512301500-X-b").unwrap().is_none());
    let manual: Vec<_> = db.positions().unwrap().into_iter().filter(|p| p.strategy == MANUAL).collect();
    assert_eq!(
        manual.iter().map(|p| p.qty).sum::<Decimal>(),
        Decimal::ONE,
        "only the other program's share: {manual:?}"
    );
    assert_eq!(r.fake.duplicate_submissions(), 0, "nothing of ours was sent twice");
    let orders = r.fake.orders();
    let stops_of_a: Vec<_> =
        orders[before..].iter().filter(|o| o.symbol == a && o.order_type == "stop").collect();
    assert!(
        stops_of_a.is_empty()
            || !orders.iter().any(|o| o.client_order_id == stop_cid && !o.status.is_terminal()),
        "the recovered stop was not doubled: {stops_of_a:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_the_price_already_fell_through_sells_at_the_market_once() {
    let r = replay().await;
    with_far_stop(&r);
    let (a, pa) = first_symbol(0);
    // Entered at 2.2 × today's price: the stop-loss of 50 % lies 10 % above the market.
    let db = r.db();
    db.ensure_sleeve("gap_fill", 0.5, Decimal::from(50_000)).unwrap();
    let cost = pa * Decimal::new(22, 1) * Decimal::from(10);
    db.set_position("gap_fill", &a, Decimal::from(10), cost, 0).unwrap();
    r.fake.set_position(&a, Decimal::from(10), pa);
    drop(db);
    r.run().await;
    let db = r.db();
    let refused = db.order(&format!("tb-gap_fill--{a}-p1")).unwrap().unwrap();
    assert_eq!(refused.state, OrderState::Rejected, "{refused:?}");
    assert!(refused.detail.starts_with("stop already crossed: "), "{}", refused.detail);
    let sale = db.order(&format!("tb-gap_fill--{a}-p2")).unwrap().unwrap();
    assert_eq!((sale.state, sale.filled_qty), (OrderState::Filled, Decimal::from(10)), "{sale:?}");
    assert!(db.protective_request(&sale.client_order_id).unwrap().is_some_and(|r| r.order_type == "market"));
    assert!(db.strategy_positions("gap_fill").unwrap().iter().all(|p| p.symbol != a), "sold");
    let refusals = r.fake.seen().into_iter().filter(|x| x.status == 422).count();
    assert_eq!(refusals, 1, "the crossed stop was not sent again and again");
    assert!(db.breakers().unwrap().is_empty());
    assert!(db.state("consecutive_errors").unwrap().is_none_or(|n| n == "0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_is_booked_at_its_ratio_and_the_signals_see_adjusted_bars() {
    let (a, pa) = first_symbol(0);
    // The same morning twice: holding 20 shares bought at `pa`, and holding 10 bought at
    // 2 × `pa` that a 2-for-1 split with today's ex-date turned into 20 overnight.
    let mut runs = Vec::new();
    for split in [false, true] {
        let receiver = Receiver::start();
        let r = replay().await;
        let db = r.db();
        db.ensure_sleeve("gap_fill", 0.5, Decimal::from(50_000)).unwrap();
        let cost = Decimal::from(20) * pa;
        let local = if split { Decimal::from(10) } else { Decimal::from(20) };
        db.set_position("gap_fill", &a, local, cost, 0).unwrap();
        drop(db);
        r.fake.set_position(&a, local, cost / local);
        if split {
            // Before the ex-date `a` traded at twice today's prices.
            let universe = scenario::universe(4);
            let i = universe.symbols().iter().position(|m| m.symbol == a).unwrap();
            let ex = datasets::calendar::session(scenario::replay_date()).unwrap().open.0;
            let doubled = |bars: datasets::Bars| {
                let raw = bars.iter().map(|b| {
                    let x2 = |x: f64| if b.ts.0 < ex { x * 2.0 } else { x };
                    let volume = if b.ts.0 < ex { b.volume / 2.0 } else { b.volume };
                    datasets::Bar {
                        open: x2(b.open),
                        high: x2(b.high),
                        low: x2(b.low),
                        close: x2(b.close),
                        volume,
                        ..b
                    }
                });
                datasets::Bars::from_bars(raw).unwrap()
            };
            r.fake.add_bars(&a, Timeframe::Day1, doubled(universe.daily(i)));
            r.fake.add_bars(&a, Timeframe::Min1, doubled(universe.minute(i).unwrap()));
            r.fake.split(&a, scenario::replay_date(), Decimal::TWO);
        }
        let alerts = notifier(&[format!("{}/hook", receiver.base)]);
        r.run_alerting(alerts.clone()).await;
        alerts.flush(Duration::from_secs(5));
        let db = r.db();
        let signals: Vec<_> = db
            .signals()
            .unwrap()
            .into_iter()
            .map(|s| (s.slot, s.symbol, s.side, s.price.to_bits()))
            .collect();
        let positions: Vec<_> =
            db.positions().unwrap().into_iter().map(|p| (p.strategy, p.symbol, p.qty, p.cost)).collect();
        let keys: Vec<String> = receiver
            .requests()
            .iter()
            .map(|x| x.body["key"].as_str().unwrap_or_default().to_string())
            .collect();
        let detail = receiver
            .requests()
            .iter()
            .find(|x| x.body["key"] == "split")
            .map(|x| x.body["detail"].to_string());
        runs.push((signals, positions, keys, detail));
    }
    let (plain, split) = (&runs[0], &runs[1]);
    assert!(!plain.0.is_empty());
    assert_eq!(split.0, plain.0, "the strategy saw the same (adjusted) bars");
    assert_eq!(split.1, plain.1, "the books hold what they would have without the split");
    assert!(split.1.iter().all(|p| p.0 != MANUAL), "{:?}", split.1);
    assert!(!plain.2.contains(&"split".to_string()), "{:?}", plain.2);
    let detail = split.3.as_deref().expect("the split is alerted");
    assert!(detail.contains(&format!("{a} split 2-for-1 at the broker: gap_fill 10 → 20")), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ocos_legs_are_orders_of_their_own_at_the_broker_and_cancel_keeps_the_whole_oco() {
    let r = replay().await;
    let (a, pa) = first_symbol(0);
    r.fake.set_position(&a, Decimal::from(10), pa);
    let client = Client::new(r.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let cid = format!("tb-gap_fill-202512301500-{a}-p1");
    let oco = Protection::Oco { stop: pa / Decimal::TWO, limit: pa * Decimal::TWO };
    let request = OrderRequest::protective(&a, Decimal::from(10), oco, &cid);
    client.create_order(&request).await.unwrap();
    let db = r.db();
    let stored = OrderRow {
        side: OrderSide::Sell,
        qty: Decimal::from(10),
        symbol: a.clone(),
        ..row(&cid, "2025-12-30T15:00+protect", OrderState::Open)
    };
    db.add_protective(&stored, &request, 0).unwrap();
    // Listed without `nested=true`, the stop-loss leg is an open order of its own, under an id
    // the broker made up.
    let url = format!("{}/v2/orders?status=open", r.fake.endpoints().trading);
    let listed = reqwest::Client::new().get(url).header("APCA-API-KEY-ID", "PK");
    let listed = listed.header("APCA-API-SECRET-KEY", "S").send().await.unwrap();
    let listed: Vec<serde_json::Value> = listed.json().await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:#?}");
    assert_eq!(
        (listed[0]["client_order_id"].as_str(), listed[0]["legs"].is_null()),
        (Some(cid.as_str()), true)
    );
    assert_eq!((listed[1]["type"].as_str(), listed[1]["status"].as_str()), (Some("stop"), Some("held")));
    assert_ne!(listed[1]["client_order_id"].as_str(), Some(cid.as_str()));
    // `live cancel` sees one protective order and keeps it whole.
    let lines = live_bridge::service::cancel_open_orders(&client, &db, 1, false).await.unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with(&format!("kept {cid}")), "{lines:?}");
    let at_broker = client.order_by_client_id(&cid).await.unwrap().unwrap();
    assert!(!at_broker.status.is_terminal());
    assert!(at_broker.legs.unwrap().iter().all(|l| l.status.as_str() == "held"));
}

/// The morning with far stops; at noon the broker fills every resting stop while `quiet` has
/// made the stream lose or withhold the events, and the bridge then idles 2.5 s of real time
/// before its noon step. Returns the stops that rested before and gap_fill's positions in
/// `live.db` after that idle wait (`None` when the check did not run).
async fn stops_filled_while_idle(r: Replay, quiet: fn(&FakeAlpaca)) -> (usize, Option<usize>) {
    with_far_stop(&r);
    let noon = new_york(scenario::replay_date(), NaiveTime::from_hms_opt(12, 0, 0).unwrap());
    let resting = Arc::new(std::sync::Mutex::new(0));
    let (fake, seen) = (Arc::downgrade(&r.fake), resting.clone());
    r.clock.at(
        noon,
        Box::new(move || {
            let fake = fake.upgrade().unwrap();
            *seen.lock().unwrap() = resting_stops(&fake).len();
            quiet(&fake);
            fake.fill_now();
        }),
    );
    r.clock.pause(noon, Duration::from_millis(2_500));
    let booked = Arc::new(std::sync::Mutex::new(None));
    let (b, path) = (booked.clone(), r.root.path().join("live/live.db"));
    let after = datasets::Timestamp(noon.0 + 60_000_000_000);
    r.clock.at(
        after,
        Box::new(move || {
            let held = Db::open(&path).unwrap().strategy_positions("gap_fill").unwrap();
            *b.lock().unwrap() = Some(held.len());
        }),
    );
    r.run().await;
    let resting = *resting.lock().unwrap();
    let booked = *booked.lock().unwrap();
    (resting, booked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_lost_with_a_dead_stream_are_booked_as_soon_as_it_reconnects() {
    let r = replay().await;
    let mut config = r.config.clone();
    config.alpaca.stream_timeout_secs = 0.5;
    let r = Replay { config, ..r };
    // The connection dies silently just before the stops fill: their events are lost. The
    // stream notices within 0.5 s, reconnects, and the bridge looks the open orders up then,
    // not at the next run (the timer alone, every 60 s, would not come within the wait).
    let (resting, booked) = stops_filled_while_idle(r, FakeAlpaca::stall_stream).await;
    assert!(resting > 0, "positions rested protected");
    assert_eq!(booked, Some(0), "every stop's sale booked while idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_the_stream_never_delivered_are_booked_by_the_open_order_check() {
    let r = replay().await;
    let mut config = r.config.clone();
    config.service.open_check_secs = 1.0;
    let r = Replay { config, ..r };
    // The stream stays connected but never delivers the fills: the timer finds them.
    let (resting, booked) = stops_filled_while_idle(r, |fake| fake.mute_stream(true)).await;
    assert!(resting > 0, "positions rested protected");
    assert_eq!(booked, Some(0), "every stop's sale booked while idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oco_filled_on_both_legs_leaves_the_book_flat_and_stops_trading() {
    let r = replay().await;
    let mut strategy = scenario::gap_fill(&scenario::minute_data(&scenario::universe(4)), 0.5);
    (strategy.rules.exits.stop_loss, strategy.rules.exits.take_profit) = (Some(0.5), Some(1.0));
    scenario::promote(&r.root.path().join("promoted"), vec![strategy]);
    let mut config = r.config.clone();
    config.replay.as_mut().unwrap().sessions = 2;
    let r = Replay { config, ..r };
    // At noon both legs of every oco execute (documented as possible): the broker ends short.
    r.fake.double_fill_ocos(true);
    let noon = new_york(scenario::replay_date(), NaiveTime::from_hms_opt(12, 0, 0).unwrap());
    let fake = Arc::downgrade(&r.fake);
    r.clock.at(noon, Box::new(move || fake.upgrade().unwrap().fill_now()));
    r.run().await;
    let short: Vec<_> = r.fake.positions().into_iter().filter(|(_, q)| *q < Decimal::ZERO).collect();
    assert!(!short.is_empty(), "the broker is short after the double fills");
    let db = r.db();
    let ocos: Vec<_> = db.protective_orders(Some("gap_fill"), None).unwrap();
    assert!(ocos.iter().any(|o| o.filled_qty == o.qty * Decimal::TWO), "{ocos:#?}");
    // The book is flat, never negative, and holds only the proceeds of the shares it sold.
    assert!(db.positions().unwrap().iter().all(|p| p.qty >= Decimal::ZERO), "{:?}", db.positions());
    assert!(db.strategy_positions("gap_fill").unwrap().is_empty());
    let mut expected = Decimal::from(50_000);
    for o in db.orders().unwrap().iter().filter(|o| o.strategy == "gap_fill" && !o.filled_qty.is_zero()) {
        expected += match o.side {
            OrderSide::Buy => -o.filled_notional,
            OrderSide::Sell => o.filled_notional * o.qty.min(o.filled_qty) / o.filled_qty,
        };
    }
    let cash = db.sleeve_cash("gap_fill").unwrap().unwrap();
    assert!((cash - expected).abs() < Decimal::new(1, 2), "cash {cash}, expected {expected}");
    // The next morning's reconciliation finds the short and stops trading.
    let reconcile = db.state("reconcile").unwrap().unwrap_or_default();
    assert!(reconcile.contains("short position"), "{reconcile}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_booked_at_start_up_settles_on_alpacas_date_past_a_bank_holiday() {
    // Friday 9 October 2026, before Columbus Day: the exchange trades on Monday the 12th, the
    // banks do not, so a sale of the Friday settles on Tuesday the 13th (Alpaca's calendar),
    // not on "the next NYSE day".
    let friday = NaiveDate::from_ymd_opt(2026, 10, 9).unwrap();
    let root = tempfile::tempdir().unwrap();
    let synth =
        SynthConfig { symbols: 2, years: 1, seed: 7, end: friday, minute_days: 1, ..SynthConfig::default() };
    let universe = Universe::new(&synth).unwrap();
    let clock = Arc::new(HookedClock::new(new_york(friday, NaiveTime::from_hms_opt(10, 30, 0).unwrap())));
    let fake = Arc::new(FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap());
    scenario::serve(&fake, &universe);
    let symbol = scenario::minute_data(&universe).symbols()[0].meta.symbol.clone();
    fake.set_position(&symbol, Decimal::from(10), Decimal::from(50));
    // A sale sent before a crash fills while the service is down.
    let config = LiveConfig::parse(&scenario::config_toml(root.path(), &fake, "")).unwrap();
    let client = Client::new(config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
    let cid = format!("tb-old-202610091000-{symbol}-s");
    client
        .create_order(&OrderRequest::market(&symbol, Decimal::from(10), OrderSide::Sell, &cid))
        .await
        .unwrap();
    std::fs::create_dir_all(root.path().join("live")).unwrap();
    let db = Db::open(&root.path().join("live/live.db")).unwrap();
    db.ensure_sleeve("old", 0.5, Decimal::from(50_000)).unwrap();
    db.set_position("old", &symbol, Decimal::from(10), Decimal::from(500), 0).unwrap();
    let sale = OrderRow {
        side: OrderSide::Sell,
        qty: Decimal::from(10),
        symbol: symbol.clone(),
        strategy: "old".into(),
        ..row(&cid, "2026-10-09T10:00", OrderState::Open)
    };
    db.add_orders(&[], &[sale], 0).unwrap();
    drop(db);
    let r = Replay { root, fake, config, clock };
    r.run().await;
    let db = r.db();
    assert_eq!(db.order(&cid).unwrap().unwrap().state, OrderState::Filled);
    let amount = db.unsettled("2026-10-09").unwrap();
    assert!(amount > Decimal::ZERO);
    assert_eq!(db.unsettled("2026-10-12").unwrap(), amount, "still unsettled on Columbus Day");
    assert_eq!(db.unsettled("2026-10-13").unwrap(), Decimal::ZERO, "settled on Tuesday");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_strategys_positions_are_sold_or_handed_to_their_named_owner() {
    // Two strategies were demoted while holding shares: `old_exit` has no [handover] entry,
    // `old_kept` names `manual`. gap_fill stays registered (not running), so its symbols are
    // untouched by it.
    let r = reconcile_only(replay().await);
    let mut config = r.config.clone();
    config.handover.insert("old_kept".into(), "manual".into());
    let r = Replay { config, ..r };
    let ((a, pa), (b, pb)) = (first_symbol(0), first_symbol(1));
    let db = r.db();
    for (strategy, symbol, qty, px) in [("old_exit", &a, 10, pa), ("old_kept", &b, 5, pb)] {
        db.ensure_sleeve(strategy, 0.1, Decimal::from(1_000)).unwrap();
        db.set_position(strategy, symbol, Decimal::from(qty), Decimal::from(qty) * px, 0).unwrap();
        r.fake.set_position(symbol, Decimal::from(qty), px);
    }
    drop(db);
    let receiver = Receiver::start();
    let alerts = notifier(&[format!("{}/hook", receiver.base)]);
    r.run_alerting(alerts.clone()).await;
    alerts.flush(Duration::from_secs(5));
    let db = r.db();
    // Sold at market in the session, booked to the demoted strategy; the other is manual now.
    assert!(db.strategy_positions("old_exit").unwrap().is_empty(), "{:?}", db.positions());
    assert!(!r.fake.positions().contains_key(&a), "sold at the broker: {:?}", r.fake.positions());
    let sale = db.symbol_orders("old_exit", &a).unwrap();
    assert_eq!(sale.len(), 1, "one sale: {sale:?}");
    assert_eq!(
        (sale[0].side, sale[0].state, sale[0].filled_qty),
        (OrderSide::Sell, OrderState::Filled, Decimal::from(10))
    );
    assert!(db.strategy_positions("old_kept").unwrap().is_empty());
    let manual = db.strategy_positions(MANUAL).unwrap();
    assert_eq!(
        manual.iter().map(|p| (p.symbol.clone(), p.qty)).collect::<Vec<_>>(),
        [(b.clone(), Decimal::from(5))]
    );
    assert_eq!(r.fake.positions().get(&b), Some(&Decimal::from(5)), "kept at the broker");
    receiver.wait_for(2);
    let details: Vec<String> = receiver
        .requests()
        .iter()
        .map(|q| q.body["detail"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(details.iter().any(|d| d.contains("of demoted strategy old_exit")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("handed over to manual")), "{details:?}");
}
