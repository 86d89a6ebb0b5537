//! `tradebot data fetch` and `tradebot data universe` as processes against the fake Alpaca:
//! a fetch killed with SIGKILL mid-way resumes with no gap and no duplicate, missing keys are
//! named, a universe is built from the asset list.

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use datasets::store::Store;
use datasets::{Bar, Bars, Timeframe, Timestamp, calendar};
use live_bridge::clock::SimulatedClock;
use live_bridge::fake::{FakeAlpaca, FakeAsset, Route};
use rust_decimal::Decimal;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tradebot");
const SYMBOLS: [&str; 4] = ["AAA", "BBB", "CCC", "DDD"];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Daily bars on every NYSE session of 2022 … 2024 for symbol number `k`.
fn daily(k: usize) -> Bars {
    let days = calendar::trading_days(date(2022, 1, 3), date(2024, 12, 31));
    Bars::from_bars(days.iter().enumerate().map(|(i, &d)| {
        let open = 20.0 + 5.0 * k as f64 + (i % 37) as f64 * 0.1;
        Bar {
            ts: calendar::daily_bar_timestamp(d),
            open,
            high: open + 1.0,
            low: open - 1.0,
            close: open + 0.25,
            volume: 5e5,
            vwap: None,
            trade_count: None,
        }
    }))
    .unwrap()
}

/// A fake on the evening of 2024-12-31 serving [`SYMBOLS`] and listing assets on three
/// exchanges, one of them delisted.
async fn fake() -> FakeAlpaca {
    let close = calendar::session(date(2024, 12, 31)).unwrap().close;
    let clock = Arc::new(SimulatedClock::new(Timestamp(close.0 + 3_600_000_000_000)));
    let fake = FakeAlpaca::start(clock, Decimal::from(100_000)).await.unwrap();
    for (k, s) in SYMBOLS.iter().enumerate() {
        fake.add_bars(s, Timeframe::Day1, daily(k));
    }
    for (symbol, exchange, active) in
        [("AAA", "NYSE", true), ("BBB", "NASDAQ", true), ("CCC", "ARCA", true), ("DDD", "NYSE", false)]
    {
        fake.add_asset(FakeAsset { symbol: symbol.into(), exchange: exchange.into(), active });
    }
    fake
}

fn tradebot(dir: &Path, fake: &FakeAlpaca, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    let endpoints = fake.endpoints();
    command
        .args(args)
        .args(["--data-url", &endpoints.data, "--trading-url", &endpoints.trading])
        .current_dir(dir)
        .env_remove("TRADEBOT_STORE")
        .env("APCA_API_KEY_ID", "PKTEST")
        .env("APCA_API_SECRET_KEY", "secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn succeeds(dir: &Path, fake: &FakeAlpaca, args: &[&str]) -> String {
    let out: Output = tradebot(dir, fake, args).output().await.unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(out.status.success(), "tradebot {args:?}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

const FETCH: [&str; 11] = [
    "data",
    "fetch",
    "--symbols",
    "AAA,BBB,CCC,DDD",
    "--from",
    "2022-01-01",
    "--page-limit",
    "100",
    "--batch-bars",
    "200",
    "--symbols-per-request=2",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_killed_with_sigkill_resumes_with_no_gap_and_no_duplicate() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    // Killed while its 9th page request is answered: pages 1-8 of the first two symbols were
    // received and committed (AAA whole, BBB in part).
    fake.hang_at(Some((Route::Bars, 9)));
    let mut child = tradebot(dir.path(), &fake, &FETCH).spawn().unwrap();
    let started = Instant::now();
    while !fake.is_hanging() {
        assert!(child.try_wait().unwrap().is_none(), "the fetch ended before the kill");
        assert!(started.elapsed() < Duration::from_secs(30), "the fetch never reached its 9th request");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().await.unwrap();
    let store = Store::open(dir.path().join("data/store")).unwrap();
    store.verify().unwrap();
    let partial: usize =
        SYMBOLS.iter().filter_map(|s| store.info(s, Timeframe::Day1)).map(|i| i.rows as usize).sum();
    // Pages of 100 bars, a commit at every 200: the 8 pages answered are stored, nothing else.
    assert_eq!(partial, 800, "bars stored before the kill");
    drop(store);

    fake.hang_at(None);
    let summary = succeeds(dir.path(), &fake, &FETCH).await;
    let store = Store::open(dir.path().join("data/store")).unwrap();
    store.verify().unwrap();
    for (k, symbol) in SYMBOLS.iter().enumerate() {
        let series = store.series(symbol, Timeframe::Day1).unwrap().unwrap();
        let expected = daily(k);
        assert_eq!(&series.timestamps()[..], expected.timestamps(), "{symbol}: every session once");
        assert_eq!(&series.close()[..], expected.close(), "{symbol}");
    }
    let total = 4 * daily(0).len();
    assert!(summary.contains(&format!("added {} 1Day bars", total - partial)), "{summary}");
}

#[tokio::test]
async fn missing_keys_are_named_and_a_universe_file_drives_the_fetch() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let mut no_keys = tradebot(dir.path(), &fake, &["data", "fetch", "--symbols", "AAA"]);
    no_keys
        .env_remove("APCA_API_KEY_ID")
        .env_remove("APCA_API_SECRET_KEY")
        .env_remove("TRADEBOT_ALPACA_KEY_FILE");
    let out = no_keys.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("APCA_API_KEY_ID") && stderr.contains("APCA_API_SECRET_KEY"), "{stderr}");

    std::fs::write(dir.path().join("two.txt"), "# two names\nBBB\nZZZZ\n").unwrap();
    let summary =
        succeeds(dir.path(), &fake, &["data", "fetch", "--universe", "two.txt", "--from", "2024-12-01"])
            .await;
    assert!(summary.contains("skipped ZZZZ: no bars from Alpaca in the range"), "{summary}");
    assert!(summary.contains("added 21 1Day bars to 1 series"), "{summary}");
}

#[tokio::test]
async fn a_universe_is_built_from_the_asset_list_by_exchange_and_price() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let all = succeeds(dir.path(), &fake, &["data", "universe", "--from-assets", "--include-inactive"]).await;
    assert!(all.contains(r#"symbols = ["AAA", "BBB", "CCC", "DDD"]"#), "{all}");
    let out = tradebot(
        dir.path(),
        &fake,
        &[
            "data",
            "universe",
            "--from-assets",
            "--exchange",
            "NYSE,NASDAQ",
            "--min-price",
            "25",
            "--out",
            "big.toml",
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // AAA closes near 21-24 and is left out; DDD is delisted; CCC trades on ARCA.
    let written = std::fs::read_to_string(dir.path().join("big.toml")).unwrap();
    assert_eq!(written, "name = \"big\"\nsymbols = [\"BBB\"]\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("survivorship bias"));
}

#[tokio::test]
async fn research_runs_on_a_fetched_universe_and_says_which_data() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    succeeds(dir.path(), &fake, &["data", "fetch", "--symbols", "AAA,BBB,CCC", "--from", "2022-01-01"]).await;
    // DDD from 2023 only, as a name listed later: it takes part from its first bar (point in time).
    succeeds(dir.path(), &fake, &["data", "fetch", "--symbols", "DDD", "--from", "2023-01-01"]).await;
    let info =
        std::process::Command::new(BIN).args(["data", "info"]).current_dir(dir.path()).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let aaa = info.lines().find(|l| l.starts_with("AAA ")).unwrap();
    assert!(aaa.ends_with("  alpaca iex, split-adjusted"), "data info shows each series' source:\n{info}");
    std::fs::write(dir.path().join("five.txt"), "AAA\nBBB\nCCC\nDDD\nNOTFETCHED\n").unwrap();
    std::fs::write(
        dir.path().join("r.toml"),
        "[research]\nname = \"real\"\nreference = \"AAA\"\nuniverse = \"five.txt\"\n[families.sma_cross]\n\
         [evolve]\npopulation = 8\ngenerations = 2\nseed = 1\n[validation]\nin_sample = 0.7\npbo_blocks = 4\n\
         [fitness]\nmin_trades = 1\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["research", "r.toml", "--store", "data/store", "--db", "r.db", "--json", "--threads", "1"])
        .current_dir(dir.path())
        .env_remove("TRADEBOT_STORE")
        .env_remove("TRADEBOT_DB")
        .env_remove("TRADEBOT_REGIME_MODELS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["data"]["symbols"], 4, "the universe's symbols the store holds");
    assert_eq!(report["data"]["first"], "2022-01-03");
    assert_eq!(report["data"]["last"], "2024-12-31");
    assert_eq!(
        report["data"]["origin"],
        "alpaca iex, split-adjusted; universe five (4 of its 5 symbols: AAA, BBB, CCC, DDD; not in the store: NOTFETCHED)"
    );
    let md = std::fs::read_to_string(dir.path().join("results/real.md")).unwrap();
    assert!(
        md.contains("**Data: market data from alpaca iex, split-adjusted; universe five (4 of its 5 symbols"),
        "{md}"
    );
}

/// AAA's stored closes.
fn closes(dir: &Path) -> Vec<f64> {
    let store = Store::open(dir.join("data/store")).unwrap();
    store.series("AAA", Timeframe::Day1).unwrap().unwrap().close().to_vec()
}

#[tokio::test]
async fn a_split_since_the_last_fetch_warns_and_replaces_and_another_adjustment_needs_replace() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let december = ["data", "fetch", "--symbols", "AAA,BBB", "--from", "2024-12-01"];
    succeeds(dir.path(), &fake, &[&december[..], &["--to", "2024-12-30"]].concat()).await;
    let traded: Vec<f64> = daily(0).close().iter().rev().take(21).rev().copied().collect();
    assert_eq!(closes(dir.path()), traded[..20], "the 20 sessions to 2024-12-30");

    // AAA splits 4-for-1 on 2024-12-31: its split-adjusted December is a quarter of what is stored.
    fake.split("AAA", date(2024, 12, 31), Decimal::from(4));
    let summary = succeeds(dir.path(), &fake, &december).await;
    assert!(
        summary.contains(
            "warning: AAA 1Day: the stored history differed from Alpaca's (a split or dividend since the last \
             fetch); the series was fetched again and replaced\n"
        ),
        "{summary}"
    );
    assert!(summary.contains("added 22 1Day bars to 2 series"), "AAA's 21 again, BBB's new one: {summary}");
    let adjusted: Vec<f64> =
        traded.iter().enumerate().map(|(i, c)| if i < 20 { c / 4.0 } else { *c }).collect();
    assert_eq!(closes(dir.path()), adjusted, "no 75 % crash on the ex-date");

    // The prices as traded are another adjustment: skipped, unless replaced.
    let raw = [&december[..], &["--adjustment", "raw"]].concat();
    let summary = succeeds(dir.path(), &fake, &raw).await;
    assert!(
        summary.contains(
            "skipped AAA: stored 1Day bars are alpaca iex, split-adjusted; fetching raw would mix adjustments (pass \
             --replace to replace the series)\n"
        ),
        "{summary}"
    );
    assert_eq!(closes(dir.path()), adjusted, "untouched");
    let summary = succeeds(dir.path(), &fake, &[&raw[..], &["--replace"]].concat()).await;
    assert!(summary.contains("added 42 1Day bars to 2 series"), "{summary}");
    assert_eq!(closes(dir.path()), traded, "replaced by the prices as traded");
    let info =
        std::process::Command::new(BIN).args(["data", "info"]).current_dir(dir.path()).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.lines().any(|l| l.starts_with("AAA ") && l.ends_with("  alpaca iex, unadjusted")), "{info}");
}
