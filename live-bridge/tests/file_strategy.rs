//! A promoted strategy file runs live like any other strategy: a replayed day through the
//! service against the fake broker sends the orders of the kernel's backtest of the same file
//! on the same bars, share for share, and the file's recorded research backtest reproduces bit
//! for bit from the promoted set the service loaded.

use std::sync::Arc;

use gp::{FileStrategy, StrategyFile};
use kernel::strategy::{Params, Strategy as _};
use live_bridge::clock::SimulatedClock;
use live_bridge::fake::{FakeAlpaca, scenario};
use live_bridge::schedule::new_york;
use promoted::{PromotedDir, PromotedStrategy, StrategySpec};
use rust_decimal::Decimal;

/// Long after an up close, flat after a down close: a rule that trades on most days, so the
/// replayed day has entries to compare.
const TEXT: &str = "; up-day follower (a test strategy file)\n\
(strategy\n  (entry (gt close (lag 1 close)))\n  (exit (lt close (lag 1 close)))\n  (size 1))\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_strategy_file_trades_live_like_its_backtest() {
    let root = tempfile::tempdir().unwrap();
    let universe = scenario::universe(8);
    let (daily, _) = scenario::daily_momentum(&universe);
    let strategy =
        FileStrategy::intern("up_days.tbs", StrategyFile::parse("strategies/up_days.tbs", TEXT).unwrap());
    let params = Params::defaults(strategy.space());
    let mut file =
        PromotedStrategy::file("up_days", strategy, &params, &daily, scenario::rules(), 0.4, "test").unwrap();
    file.record(&daily, 40_000.0).unwrap();
    let dir = root.path().join("promoted");
    scenario::promote(&dir, vec![file.clone()]);

    let clock = Arc::new(SimulatedClock::new(scenario::replay_start()));
    let fake = FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap();
    scenario::serve(&fake, &universe);
    scenario::run_day(&scenario::config(root.path(), &fake), clock).await;

    // What the service ran is the promoted text, unchanged, and it reproduces its research
    // backtest bit for bit.
    let loaded = PromotedDir::new(&dir).current().unwrap().unwrap();
    let live = loaded.get("up_days").unwrap();
    assert!(matches!(&live.spec, StrategySpec::File { text, .. } if text == TEXT));
    live.reproduce(&daily).unwrap();

    // The file's daily rule ran once, at a genome's 10:00, on the previous session's signals:
    // the kernel fills them at the day's open, the bridge at 10:00 — the same quantities.
    let day = scenario::replay_date();
    let ten = new_york(day, chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap()).0;
    let n = daily.len();
    let key = |f: scenario::Fill| (f.symbol, f.side, f.qty);
    let expected: Vec<_> = scenario::kernel_fills(&daily, &file, 40_000.0, n - 2..n)
        .into_iter()
        .map(|f| (ten, key(f)))
        .collect();
    assert!(expected.len() >= 2, "the file should enter: {expected:?}");
    let sent: Vec<_> =
        scenario::broker_fills(&fake, "tb-up_days-").into_iter().map(|f| (f.time, key(f))).collect();
    assert_eq!(sent, expected, "the file's live fills against the kernel's");
}
