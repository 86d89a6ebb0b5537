//! Test data (cargo feature `fixture`): a live data directory and an operations database
//! written through the live bridge's and `ops`' own database APIs, with known figures, for the
//! dashboard's tests and the headless-browser test of the binary. Panics on any failure.

use std::path::{Path, PathBuf};

use crate::Sources;
use live_bridge::alpaca::model::OrderSide;
use live_bridge::db::{DailySnapshot, Db, IntradayEquity, OrderRow, OrderState, SignalRow, SnapshotSource};
use live_bridge::safety::KillSwitch;
use ops::db::{ErrorRecord, OpsDb};
use rust_decimal::Decimal;

/// The token the test servers accept.
pub const TOKEN: &str = "test-token-0123456789abcdef";
/// 2025-12-31 14:30 UTC (09:30 New York), in ns.
pub const OPEN_NS: i64 = 1_767_191_400_000_000_000;
/// One minute in ns.
pub const MIN: i64 = 60_000_000_000;

fn d(v: &str) -> Decimal {
    v.parse().unwrap()
}

fn signal(strategy: &str, slot: &str, bar_ns: i64, symbol: &str, price: f64, action: &str) -> SignalRow {
    SignalRow {
        strategy: strategy.into(),
        slot: slot.into(),
        bar_ns,
        symbol: symbol.into(),
        side: "enter".into(),
        strength: 0.8,
        price,
        fraction: Some(0.5),
        action: action.into(),
        detail: String::new(),
        client_order_id: None,
    }
}

fn buy(id: &str, strategy: &str, slot: &str, symbol: &str, qty: i64) -> OrderRow {
    OrderRow {
        client_order_id: id.into(),
        strategy: strategy.into(),
        slot: slot.into(),
        symbol: symbol.into(),
        side: OrderSide::Buy,
        qty: Decimal::from(qty),
        state: OrderState::Intent,
        broker_id: None,
        filled_qty: Decimal::ZERO,
        filled_notional: Decimal::ZERO,
        detail: String::new(),
    }
}

/// Writes a session of 2025-12-31 into `root/live/live.db` and `root/ops.db`:
/// - sleeves `gap_fill` (0.5, 50,000) and `momentum` (0.4, 40,000);
/// - the day before, `momentum` bought 20 AAPL at 190 (filled);
/// - at 09:31 `gap_fill` bought 10 GAPX at 25.50 (filled); a later run at 10:15 saw GAPX close at
///   27.00 (signal ignored: already long) — so GAPX is up 15.00; a gap candidate for ZZZZ;
/// - a pending order (intent) for 3 OPEN from the 10:15 run; an adopted `manual` position of 5
///   MANL that no price was ever seen for;
/// - daily snapshots: 2025-12-30 equity 100,000 (prev 99,500), 2025-12-31 100,250.50;
/// - intraday snapshots ([`intraday_points`]): 3 on 2025-12-30, and on 2025-12-31 one every 5
///   minutes from 09:30 to 16:00 (ending at 100,250.50) plus one after the 09:32 fill; the
///   broker's marks GAPX 26.80 at 09:40 (older than the 10:15 run's 27.00) and AAPL 191.25 at
///   15:55 (newer than its fill at 190: +25.00);
/// - checkpoints `pre_market` (08:00), `data` (10:15) and `submit` (10:16); reconcile `ok`;
///   breaker `daily_loss` tripped; the kill switch on with reason `broker outage`;
/// - two errors in `ops.db`, one of them two days old.
pub fn populate(root: &Path) -> Sources {
    let live = root.join("live");
    std::fs::create_dir_all(&live).unwrap();
    let db = Db::open(&live.join("live.db")).unwrap();
    db.ensure_sleeve("gap_fill", 0.5, d("50000")).unwrap();
    db.ensure_sleeve("momentum", 0.4, d("40000")).unwrap();
    let day_before = OPEN_NS - 24 * 60 * MIN;
    let old_slot = "2025-12-30T10:30";
    db.plan_run(
        ("momentum", old_slot, "2025-12-30"),
        (20_000.0, Some(5)),
        &[signal("momentum", old_slot, day_before - 1_440 * MIN, "AAPL", 189.0, "order")],
        &[],
        day_before,
    )
    .unwrap();
    db.add_orders(&[], &[buy("mom-aapl", "momentum", old_slot, "AAPL", 20)], day_before).unwrap();
    let fill = |id: &str, qty: i64, price: &str, t: i64| {
        let dates = ("2025-12-31", "2026-01-02");
        let broker = format!("b-{id}");
        db.apply_fill(
            id,
            (&broker, "filled"),
            OrderState::Filled,
            Decimal::from(qty),
            Some(d(price)),
            dates,
            t,
        )
        .unwrap();
    };
    fill("mom-aapl", 20, "190", day_before + MIN);
    db.set_run_status("momentum", old_slot, "done", "1 entry", day_before + 2 * MIN).unwrap();

    db.checkpoint(OPEN_NS - 90 * MIN, "pre_market", "2025-12-31").unwrap();
    db.set_state("reconcile", "ok").unwrap();
    let slot1 = "2025-12-31T09:31";
    db.plan_run(
        ("gap_fill", slot1, "2025-12-31"),
        (25_000.0, None),
        &[
            signal("gap_fill", slot1, OPEN_NS, "GAPX", 25.40, "order"),
            signal("gap_fill", slot1, OPEN_NS, "ZZZZ", 12.0, "candidate"),
        ],
        &[],
        OPEN_NS + MIN,
    )
    .unwrap();
    db.add_orders(&[], &[buy("gf-gapx", "gap_fill", slot1, "GAPX", 10)], OPEN_NS + MIN).unwrap();
    fill("gf-gapx", 10, "25.50", OPEN_NS + 2 * MIN);
    db.set_run_status("gap_fill", slot1, "done", "1 entry", OPEN_NS + 2 * MIN).unwrap();

    let slot2 = "2025-12-31T10:15";
    db.checkpoint(OPEN_NS + 45 * MIN, "data", "gap_fill 2025-12-31T10:15").unwrap();
    let mut later = signal("gap_fill", slot2, OPEN_NS + 44 * MIN, "GAPX", 27.0, "ignored");
    later.detail = "already long".into();
    db.plan_run(
        ("gap_fill", slot2, "2025-12-31"),
        (25_000.0, None),
        &[later, signal("gap_fill", slot2, OPEN_NS + 44 * MIN, "OPEN", 40.0, "order")],
        &[],
        OPEN_NS + 45 * MIN,
    )
    .unwrap();
    db.add_orders(&[], &[buy("gf-open", "gap_fill", slot2, "OPEN", 3)], OPEN_NS + 45 * MIN).unwrap();
    db.checkpoint(OPEN_NS + 46 * MIN, "submit", "gf-open").unwrap();
    db.set_position("manual", "MANL", Decimal::from(5), d("500"), OPEN_NS - 90 * MIN).unwrap();

    let snapshot = |day: &str, equity: &str, last: &str| DailySnapshot {
        day: day.into(),
        equity: d(equity),
        last_equity: d(last),
        cash: d("50000"),
        settled_cash: d("50000"),
        long_market_value: d("50000"),
        positions: 2,
        orders: 1,
        signals: 1,
        detail: "[]".into(),
    };
    db.write_daily(&snapshot("2025-12-30", "100000", "99500")).unwrap();
    db.write_daily(&snapshot("2025-12-31", "100250.50", "100000")).unwrap();
    for p in intraday_points() {
        let marks: Vec<(String, Decimal)> = match p.ts_ns {
            t if t == OPEN_NS + 10 * MIN => vec![("GAPX".into(), d("26.80"))],
            t if t == OPEN_NS + 385 * MIN => vec![("AAPL".into(), d("191.25"))],
            _ => Vec::new(),
        };
        db.write_intraday(&p, &marks).unwrap();
    }
    db.trip("daily_loss", "equity 96000 is 4.00% below last_equity 100000 (limit 3.00%)", OPEN_NS + 50 * MIN)
        .unwrap();
    KillSwitch::new(&live).halt("broker outage").unwrap();

    let ops_db = root.join("ops.db");
    let mut ops = OpsDb::open(&ops_db).unwrap();
    let now = ops::now_ns();
    let error = |time_ns, message: &str| ErrorRecord {
        time_ns,
        service: "live".into(),
        component: "broker".into(),
        message: message.into(),
        context: "{}".into(),
    };
    ops.insert_errors(&[
        error(now - 2 * 24 * 3_600 * 1_000_000_000, "stale error from two days ago"),
        error(now - 60 * 1_000_000_000, "order rejected: insufficient <buying> power"),
    ])
    .unwrap();
    Sources { live_dir: live, ops_db }
}

/// The intraday equity snapshots [`populate`] writes, oldest first: 2025-12-30 at 09:30, 12:45
/// and 16:00 (99,500 → 100,000); 2025-12-31 every 5 minutes from 09:30 (100,000) to 16:00
/// (100,250.50) along a wobbling line, dipping below the previous close early, and one `fills`
/// snapshot at 09:32 — 83 in all, 80 of them on 2025-12-31.
pub fn intraday_points() -> Vec<IntradayEquity> {
    let point = |ts_ns, equity: Decimal, last: &str, source| IntradayEquity {
        ts_ns,
        equity,
        last_equity: d(last),
        cash: d("50000"),
        long_value: equity - d("50000"),
        unrealised: Some(equity - d("100000")),
        source,
    };
    let day_before = OPEN_NS - 24 * 60 * MIN;
    let mut out: Vec<IntradayEquity> = [(0, "99500"), (195, "99800"), (390, "100000")]
        .into_iter()
        .map(|(m, e)| point(day_before + m * MIN, d(e), "99500", SnapshotSource::Timer))
        .collect();
    for k in 0..=78_i64 {
        let trend = Decimal::new(25_050 * k / 78, 2);
        let wobble = if k == 78 { 0 } else { ((k * 37) % 11 - 5) * 12 - if k < 20 { 60 } else { 0 } };
        let equity = d("100000") + trend + Decimal::from(wobble);
        out.push(point(OPEN_NS + 5 * k * MIN, equity, "100000", SnapshotSource::Timer));
        if k == 0 {
            out.push(point(OPEN_NS + 2 * MIN, d("99990.10"), "100000", SnapshotSource::Fills));
        }
    }
    out
}

/// Writes [`TOKEN`] to `path` with mode 600, as `--token-file` expects it.
pub fn write_token(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).unwrap();
    std::io::Write::write_all(&mut file, TOKEN.as_bytes()).unwrap();
}

/// The database files of `dir` (not SQLite's `-wal`/`-shm` companions) with their contents and
/// modification times, and the total size of the `-wal` files (what a reader could have written).
pub fn files(dir: &Path) -> (Vec<(PathBuf, Vec<u8>, std::time::SystemTime)>, u64) {
    let mut out = Vec::new();
    let mut wal = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with("-wal") {
            wal += std::fs::metadata(&path).unwrap().len();
        } else if path.is_file() && !name.ends_with("-shm") {
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            out.push((path.clone(), std::fs::read(&path).unwrap(), modified));
        }
    }
    out.sort();
    (out, wal)
}
