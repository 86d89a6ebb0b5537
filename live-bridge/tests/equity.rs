//! Intraday equity snapshots over a replayed session against the fake broker: taken on the
//! configured cadence and after the runs that filled, with the account the fake held at each
//! instant (rebuilt here from its fills and bars); a broker failure skips one and trading goes
//! on; old ones are pruned at POST_MARKET.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::NaiveTime;
use datasets::time::{NANOS_PER_DAY, NANOS_PER_MIN};
use datasets::{Timestamp, calendar};
use kernel::strategy::MarketData;
use live_bridge::alpaca::model::OrderSide;
use live_bridge::alpaca::{Client, Credentials};
use live_bridge::config::LiveConfig;
use live_bridge::db::{Db, IntradayEquity, SnapshotSource};
use live_bridge::fake::{FakeAlpaca, Fault, Hook, HookedClock, Route, scenario};
use live_bridge::schedule::new_york;
use live_bridge::service::{Bridge, Ended};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

struct Replay {
    root: tempfile::TempDir,
    fake: Arc<FakeAlpaca>,
    config: LiveConfig,
    clock: Arc<HookedClock>,
    data: MarketData,
}

/// A session of `gap_fill` (4 stocks) entering until 09:45 and holding to the close, with
/// `service` keys added to the config's `[service]`.
async fn replay(service: &str) -> Replay {
    replay_from(scenario::replay_start(), service).await
}

/// [`replay`] with the service starting at `start`.
async fn replay_from(start: Timestamp, service: &str) -> Replay {
    let root = tempfile::tempdir().unwrap();
    let (universe, data, _) = scenario::promoted_gap_fill(root.path(), 4);
    let clock = Arc::new(HookedClock::new(start));
    let fake = Arc::new(FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap());
    scenario::serve(&fake, &universe);
    let text = scenario::config_toml(root.path(), &fake, "[strategies.gap_fill]\nuntil = \"09:45\"\n")
        .replacen("[service]\n", &format!("[service]\n{service}\n"), 1);
    let from = calendar::to_new_york(scenario::replay_start()).to_rfc3339();
    let text = text.replacen(&from, &calendar::to_new_york(start).to_rfc3339(), 1);
    let config = LiveConfig::parse(&text).unwrap();
    Replay { root, fake, config, clock, data }
}

impl Replay {
    fn db(&self) -> Db {
        std::fs::create_dir_all(self.root.path().join("live")).unwrap();
        Db::open(&self.root.path().join("live/live.db")).unwrap()
    }

    /// Injects `n` faults on `route` when the service first waits for `hh:mm` New York.
    fn fail_at(&self, hh: u32, mm: u32, route: Route, n: usize) {
        let fake: Weak<FakeAlpaca> = Arc::downgrade(&self.fake);
        let hook: Hook = Box::new(move || {
            let fake = fake.upgrade().unwrap();
            (0..n).for_each(|_| fake.inject(route, Fault::Status(500)));
        });
        self.clock.at(ny(hh, mm), hook);
    }

    async fn run(&self) {
        let client =
            Client::new(self.config.alpaca.client_config(true), Credentials::new("PK", "S")).unwrap();
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let bridge =
            Bridge::new(self.config.clone(), Arc::new(client), self.clock.clone(), shutdown).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(120), bridge.run()).await.unwrap().unwrap();
        assert_eq!(ended, Ended::ReplayDone);
    }

    /// The price the fake marks `symbol` at, at `t`: the close of the last minute bar completed.
    fn mark(&self, symbol: &str, t: i64) -> Decimal {
        let bars = &self.data.symbols()[self.data.find(symbol).unwrap()].bars;
        let done = bars.timestamps().partition_point(|&b| b + NANOS_PER_MIN <= t);
        Decimal::from_f64(bars.close()[done - 1]).unwrap()
    }

    /// The price a market order for `symbol` fills at, at `t`: the open of the minute bar in
    /// progress.
    fn fill_price(&self, symbol: &str, t: i64) -> Decimal {
        let bars = &self.data.symbols()[self.data.find(symbol).unwrap()].bars;
        let i = bars.timestamps().partition_point(|&b| b <= t) - 1;
        assert!(t < bars.timestamps()[i] + NANOS_PER_MIN, "filled in session");
        Decimal::from_f64(bars.open()[i]).unwrap()
    }

    /// The account as the fake held it at `t`, rebuilt from its fills at the bars' prices:
    /// (equity, cash, long value, unrealised, positions).
    fn account_at(&self, t: i64) -> (Decimal, Decimal, Decimal, Decimal, BTreeMap<String, Decimal>) {
        let mut cash = Decimal::from(100_000);
        let mut held: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for o in self.fake.orders() {
            let Some(at) = o.filled_at.as_deref() else { continue };
            let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
            let at = Timestamp::from_datetime(at.into()).unwrap().0;
            if at > t {
                continue;
            }
            let px = self.fill_price(&o.symbol, at);
            assert_eq!(o.filled_avg_price.unwrap(), px.round_dp(6));
            let entry = held.entry(o.symbol.clone()).or_default();
            match o.side {
                OrderSide::Buy => {
                    entry.0 += o.filled_qty;
                    entry.1 += o.filled_qty * px;
                    cash -= o.filled_qty * px;
                }
                OrderSide::Sell => {
                    entry.1 -= entry.1 / entry.0 * o.filled_qty;
                    entry.0 -= o.filled_qty;
                    cash += o.filled_qty * px;
                }
            }
        }
        held.retain(|_, (q, _)| !q.is_zero());
        let long: Decimal = held.iter().map(|(s, (q, _))| *q * self.mark(s, t)).sum();
        let cost: Decimal = held.values().map(|(_, c)| *c).sum();
        let qty = held.into_iter().map(|(s, (q, _))| (s, q)).collect();
        (cash + long, cash, long, long - cost, qty)
    }

    /// Asserts `p` holds the fake's account at its instant.
    fn assert_matches(&self, p: &IntradayEquity, with_positions: bool) {
        let (equity, cash, long, unrealised, _) = self.account_at(p.ts_ns);
        let at = live_bridge::schedule::slot_name(Timestamp(p.ts_ns));
        assert_eq!((p.equity, p.cash, p.long_value), (equity, cash, long), "{at}");
        assert_eq!(p.last_equity, Decimal::from(100_000), "{at}");
        assert_eq!(p.unrealised, with_positions.then_some(unrealised), "{at}");
    }
}

fn ny(hh: u32, mm: u32) -> Timestamp {
    new_york(scenario::replay_date(), NaiveTime::from_hms_opt(hh, mm, 0).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_follow_the_cadence_and_the_runs_that_filled_at_the_brokers_figures() {
    let r = replay("equity_snapshot_minutes = 30").await;
    r.run().await;
    let db = r.db();
    let points = db.intraday(0).unwrap();
    let (timer, fills): (Vec<_>, Vec<_>) = points.iter().partition(|p| p.source == SnapshotSource::Timer);
    let session = calendar::session(scenario::replay_date()).unwrap();
    let cadence: Vec<i64> = (0..=13).map(|k| session.open.0 + k * 30 * NANOS_PER_MIN).collect();
    assert_eq!(timer.iter().map(|p| p.ts_ns).collect::<Vec<_>>(), cadence, "09:30, 10:00, … 16:00");
    assert_eq!(*cadence.last().unwrap(), session.close.0);

    // One snapshot after each run whose orders filled, at the instant the run sent them.
    let mut filled_runs: Vec<i64> = r
        .fake
        .orders()
        .iter()
        .filter(|o| !o.filled_qty.is_zero())
        .map(|o| {
            // tb-gap_fill-YYYYMMDDHHMM-SYMBOL-b: the run's New York minute.
            let compact = o.client_order_id.split('-').nth(2).unwrap();
            let local = chrono::NaiveDateTime::parse_from_str(compact, "%Y%m%d%H%M").unwrap();
            // The run reads its bars (and sends) once they settled, `bar_settle_secs` in.
            new_york(local.date(), local.time()).0 + r.config.service.bar_settle_secs * 1_000_000_000
        })
        .collect();
    filled_runs.sort();
    filled_runs.dedup();
    let fill_times: Vec<i64> = fills.iter().map(|p| p.ts_ns).collect();
    assert!(!fill_times.is_empty(), "gap_fill entered in the morning");
    assert_eq!(fill_times, filled_runs, "a snapshot after every run that filled");
    assert!(fill_times.iter().all(|t| (ny(9, 31).0..=ny(9, 45).0).contains(t)));

    // Every figure is the fake's account at that instant; the holdings move with the minute bars.
    for p in &points {
        r.assert_matches(p, true);
    }
    let (at_ten, at_close) = (&timer[1], timer.last().unwrap());
    assert!(at_ten.long_value > Decimal::ZERO && at_ten.long_value != at_close.long_value);
    assert_eq!(timer[0].long_value, Decimal::ZERO, "flat at the open");
    // The close's snapshot is the POST_MARKET account, and the marks are the close's prices.
    let daily = db.daily().unwrap();
    assert_eq!((daily[0].equity, daily[0].cash), (at_close.equity, at_close.cash));
    let (_, _, _, _, held) = r.account_at(session.close.0);
    // A symbol sold in the morning keeps its last mark, from before it was sold.
    let marks = db.broker_marks().unwrap();
    let (fresh, earlier): (Vec<_>, Vec<_>) = marks.iter().partition(|m| m.2 == session.close.0);
    assert_eq!(
        fresh.iter().map(|m| m.0.clone()).collect::<Vec<_>>(),
        held.keys().cloned().collect::<Vec<_>>()
    );
    for (symbol, price, _) in fresh {
        assert_eq!(*price, r.mark(symbol, session.close.0), "{symbol}");
    }
    for (symbol, price, t) in earlier {
        assert!(!held.contains_key(symbol) && *t <= ny(9, 45).0, "{symbol}");
        assert_eq!(*price, r.mark(symbol, *t), "{symbol}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_failure_skips_one_snapshot_and_old_snapshots_are_pruned() {
    let r = replay("equity_snapshot_minutes = 60\nequity_retention_days = 30").await;
    // Five failures exhaust the client's four retries: the 10:30 snapshot cannot read the account,
    // the 11:30 one cannot read the positions.
    r.fail_at(10, 30, Route::Account, 5);
    r.fail_at(11, 30, Route::Positions, 5);
    let db = r.db();
    let old = IntradayEquity {
        ts_ns: ny(9, 30).0 - 31 * NANOS_PER_DAY,
        equity: Decimal::from(99_000),
        last_equity: Decimal::from(99_000),
        cash: Decimal::from(99_000),
        long_value: Decimal::ZERO,
        unrealised: None,
        source: SnapshotSource::Timer,
    };
    let kept = IntradayEquity { ts_ns: ny(9, 30).0 - 29 * NANOS_PER_DAY, ..old.clone() };
    db.write_intraday(&old, &[("OLD".into(), Decimal::ONE)]).unwrap();
    db.write_intraday(&kept, &[]).unwrap();
    drop(db);
    r.run().await;

    let db = r.db();
    let timer: Vec<IntradayEquity> =
        db.intraday(ny(0, 0).0).unwrap().into_iter().filter(|p| p.source == SnapshotSource::Timer).collect();
    let names: Vec<String> = timer
        .iter()
        .map(|p| live_bridge::schedule::slot_name(Timestamp(p.ts_ns))[11..].to_string())
        .collect();
    assert_eq!(names, ["09:30", "11:30", "12:30", "13:30", "14:30", "15:30"], "10:30 skipped");
    for p in &timer {
        r.assert_matches(p, p.ts_ns != ny(11, 30).0);
    }
    assert!(r.fake.orders().len() >= 2, "trading went on");
    assert_eq!(db.daily().unwrap().len(), 1, "and so did POST_MARKET");
    // Pruned at POST_MARKET: older than 30 days from 16:05.
    let all = db.intraday(0).unwrap();
    assert!(all.iter().all(|p| p.ts_ns != old.ts_ns) && all.iter().any(|p| p.ts_ns == kept.ts_ns));
    assert!(db.broker_marks().unwrap().iter().all(|m| m.0 != "OLD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_mid_session_takes_only_the_latest_missed_snapshot() {
    let r = replay_from(ny(11, 2), "equity_snapshot_minutes = 30").await;
    r.run().await;
    let db = r.db();
    let times: Vec<String> = db
        .intraday(0)
        .unwrap()
        .iter()
        .map(|p| live_bridge::schedule::slot_name(Timestamp(p.ts_ns))[11..].to_string())
        .collect();
    // 09:30 to 10:30 were due long ago; 11:00's is taken on starting, at 11:02.
    let expected =
        ["11:02", "11:30", "12:00", "12:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00"];
    assert_eq!(times, expected);
    assert!(r.fake.orders().is_empty(), "every run was missed");
    assert!(db.intraday(0).unwrap().iter().all(|p| p.equity == Decimal::from(100_000)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loss_between_runs_trips_the_daily_loss_breaker_at_the_next_snapshot() {
    // gap_fill's runs end at 09:45; snapshots every 7 minutes fall at 11:08 but no run does.
    let r = replay("equity_snapshot_minutes = 7").await;
    let fake: Weak<FakeAlpaca> = Arc::downgrade(&r.fake);
    let hook: Hook = Box::new(move || {
        // The broker now reports yesterday's close at twice today's equity: a 50 % daily loss.
        let fake = fake.upgrade().unwrap();
        fake.set_cash(fake.cash(), Decimal::from(200_000));
    });
    r.clock.at(ny(11, 5), hook);
    r.run().await;
    let breakers = r.db().breakers().unwrap();
    assert_eq!(breakers.len(), 1, "{breakers:?}");
    let (name, reason, tripped_ns) = &breakers[0];
    assert_eq!(name, "daily_loss");
    assert!(reason.contains("below last_equity 200000"), "{reason}");
    assert_eq!(*tripped_ns, ny(11, 8).0, "at the first snapshot after the loss");
}
