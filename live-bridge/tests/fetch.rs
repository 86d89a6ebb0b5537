//! `live_bridge::fetch` (what `tradebot data fetch` runs) against the fake Alpaca: paging across
//! page tokens, resuming, a 429 with `Retry-After`, a spent rate limit, a bounded burst, unknown
//! symbols, malformed and empty bodies, a bad bar, a split between two fetches, adjustments and
//! feeds, crypto, and the live refresh beside it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use datasets::store::Store;
use datasets::{Adjustment, AssetClass, Bar, Bars, SeriesSource, Timeframe, Timestamp, calendar};
use live_bridge::alpaca::{Client, ClientConfig, Credentials};
use live_bridge::clock::{Clock, SimulatedClock};
use live_bridge::fake::{DataFault, FakeAlpaca};
use live_bridge::fetch::{FetchReport, FetchRequest, fetch};
use rust_decimal::Decimal;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Daily bars on every NYSE session of 2023-01-03 … 2025-01-31, a gentle deterministic walk
/// different for each `seed`.
fn daily(seed: u64) -> Bars {
    let days = calendar::trading_days(date(2023, 1, 3), date(2025, 1, 31));
    Bars::from_bars(days.iter().enumerate().map(|(i, &d)| {
        let wobble = ((i as u64 * 7919 + seed * 104_729) % 200) as f64 / 100.0;
        let open = 50.0 + seed as f64 * 10.0 + i as f64 * 0.05 + wobble;
        Bar {
            ts: calendar::daily_bar_timestamp(d),
            open,
            high: open + 1.5,
            low: open - 1.5,
            close: open + 0.5,
            volume: 1e6 + i as f64,
            vwap: None,
            trade_count: None,
        }
    }))
    .unwrap()
}

/// The evening of `d` (New York), after its session closed.
fn evening(d: NaiveDate) -> Timestamp {
    Timestamp(calendar::session(d).unwrap().close.0 + 3_600_000_000_000)
}

struct Setup {
    fake: FakeAlpaca,
    clock: Arc<SimulatedClock>,
    client: Client,
    dir: tempfile::TempDir,
}

/// A fake serving AAA, BBB and CCC (daily, 2023-01 … 2025-01) with its clock on the evening of
/// 2024-06-28, and a client paging `page` bars at a time.
async fn setup(page: u32) -> Setup {
    let clock = Arc::new(SimulatedClock::new(evening(date(2024, 6, 28))));
    let fake = FakeAlpaca::start(clock.clone(), Decimal::from(100_000)).await.unwrap();
    for (i, s) in ["AAA", "BBB", "CCC"].iter().enumerate() {
        fake.add_bars(s, Timeframe::Day1, daily(i as u64 + 1));
    }
    let mut config = ClientConfig::new(fake.endpoints());
    config.bar_page_limit = page;
    config.min_backoff = Duration::from_millis(5);
    config.max_backoff = Duration::from_millis(20);
    let client = Client::new(config, Credentials::new("PKTEST", "secret")).unwrap();
    Setup { fake, clock, client, dir: tempfile::tempdir().unwrap() }
}

fn request(symbols: &[&str], now: Timestamp) -> FetchRequest {
    FetchRequest {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeframe: Timeframe::Day1,
        from: calendar::daily_bar_timestamp(date(2023, 1, 1)),
        to: now,
        adjustment: Adjustment::Split,
        feed: Some("iex".into()),
        replace: false,
        symbols_per_request: 100,
        batch_bars: 150,
    }
}

async fn run(s: &Setup, request: &FetchRequest) -> Result<FetchReport, live_bridge::fetch::FetchError> {
    fetch(&s.client, s.dir.path(), request, &mut |_| {}).await
}

/// The stored closes of `symbol`, with their times.
fn stored(dir: &Path, symbol: &str) -> Vec<(i64, f64)> {
    let store = Store::open(dir).unwrap();
    let series = store.series(symbol, Timeframe::Day1).unwrap().unwrap();
    series.timestamps().iter().copied().zip(series.close().iter().copied()).collect()
}

/// `seed`'s served closes up to `now` (sessions closed by then).
fn served(seed: u64, now: Timestamp) -> Vec<(i64, f64)> {
    let closed = |b: &Bar| calendar::session(calendar::session_date(b.ts)).is_some_and(|x| x.close <= now);
    daily(seed).iter().filter(closed).map(|b| (b.ts.0, b.close)).collect()
}

#[tokio::test]
async fn pages_across_tokens_then_resumes_from_the_last_stored_bar_without_gap_or_duplicate() {
    let s = setup(97).await;
    let now = s.clock.now();
    let report = run(&s, &request(&["AAA", "BBB", "CCC"], now)).await.unwrap();
    let per_symbol = served(1, now).len();
    assert_eq!(per_symbol, 374, "2023-01-03 … 2024-06-28");
    assert_eq!(report.added[&Timeframe::Day1], 3 * per_symbol as u64);
    // 1,122 bars at 97 a page: 12 pages, each one request; commits at every page past 150 bars.
    assert_eq!(report.requests, 12);
    assert!(report.commits >= 6, "{report:?}");
    for (i, symbol) in ["AAA", "BBB", "CCC"].iter().enumerate() {
        assert_eq!(stored(s.dir.path(), symbol), served(i as u64 + 1, now), "{symbol}");
    }
    let meta = Store::open(s.dir.path()).unwrap().meta("AAA").unwrap().clone();
    let recorded =
        SeriesSource { provider: "alpaca".into(), feed: Some("iex".into()), adjustment: Adjustment::Split };
    assert_eq!(meta.sources[&Timeframe::Day1], recorded);

    // A month later only the new sessions come, each once.
    s.clock.advance_to(evening(date(2024, 7, 31)));
    let later = s.clock.now();
    let report = run(&s, &request(&["AAA", "BBB", "CCC"], later)).await.unwrap();
    assert_eq!(report.added[&Timeframe::Day1], 3 * 22, "the 22 sessions of July 2024");
    assert_eq!(report.requests, 1);
    assert!(report.refetched.is_empty());
    for (i, symbol) in ["AAA", "BBB", "CCC"].iter().enumerate() {
        assert_eq!(stored(s.dir.path(), symbol), served(i as u64 + 1, later), "{symbol}");
    }
    // Nothing new: nothing written.
    let report = run(&s, &request(&["AAA", "BBB", "CCC"], later)).await.unwrap();
    assert!(report.added.is_empty() && report.commits == 0, "{report:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let s = setup(10_000).await;
    s.fake.inject_data(DataFault::RateLimited { retry_after: 1 });
    let started = Instant::now();
    let report = run(&s, &request(&["AAA"], s.clock.now())).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    assert_eq!(report.added[&Timeframe::Day1], 374);
    let statuses: Vec<u16> = s.fake.seen().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
}

#[tokio::test]
async fn a_spent_rate_limit_holds_the_next_request_until_the_reset_instead_of_drawing_a_429() {
    // Pages of 200 bars: AAA's 374 take two requests. Allowed one a minute, every answer says
    // `X-Ratelimit-Remaining: 0` with the reset 1-2 s ahead (the fake's short window).
    let s = setup(200).await;
    s.fake.set_rate_limit(1);
    let mut first_page = None;
    let report = fetch(&s.client, s.dir.path(), &request(&["AAA"], s.clock.now()), &mut |_| {
        first_page.get_or_insert_with(Instant::now);
    })
    .await
    .unwrap();
    let held = first_page.expect("a progress call after the first page").elapsed();
    assert!(held >= Duration::from_millis(950), "the second request waited only {held:?}");
    assert_eq!(report.requests, 2);
    assert_eq!(report.added[&Timeframe::Day1], 374);
    let statuses: Vec<u16> = s.fake.seen().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200], "no request beyond the limit");
}

#[tokio::test]
async fn a_bounded_burst_paces_the_pages() {
    // 600 a minute, one at once: after the first page, one request every 60 s / 599.
    let s = setup(100).await;
    let mut config = ClientConfig::new(s.fake.endpoints());
    config.bar_page_limit = 100;
    config.requests_per_minute = 600;
    config.burst = Some(1);
    let client = Client::new(config, Credentials::new("PKTEST", "secret")).unwrap();
    let started = Instant::now();
    let report = fetch(&client, s.dir.path(), &request(&["AAA"], s.clock.now()), &mut |_| {}).await.unwrap();
    assert_eq!(report.requests, 4, "374 bars at 100 a page");
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "3 waits of 100 ms, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unknown_symbols_and_empty_answers_are_skipped_with_the_reason() {
    let s = setup(10_000).await;
    let report = run(&s, &request(&["AAA", "NOPE"], s.clock.now())).await.unwrap();
    assert_eq!(report.series.keys().collect::<Vec<_>>(), ["AAA"]);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].symbol, "NOPE");
    assert!(report.skipped[0].reason.contains("no bars from Alpaca"), "{:?}", report.skipped);
    // A range with no session at all: `"bars": {}` for every symbol.
    let mut weekend = request(&["AAA"], s.clock.now());
    weekend.replace = true;
    weekend.from = calendar::daily_bar_timestamp(date(2024, 6, 29));
    let report = run(&s, &weekend).await.unwrap();
    assert!(report.added.is_empty() && report.skipped.len() == 1, "{report:?}");
    assert_eq!(stored(s.dir.path(), "AAA").len(), 374, "the stored series is kept");
}

#[tokio::test]
async fn malformed_or_empty_bodies_or_a_bad_bar_stop_the_fetch_with_a_clear_error_and_leave_the_store_untouched()
 {
    let s = setup(10_000).await;
    run(&s, &request(&["AAA"], s.clock.now())).await.unwrap();
    let manifest = std::fs::read(s.dir.path().join("MANIFEST.json")).unwrap();
    s.clock.advance_to(evening(date(2024, 7, 31)));
    for (fault, says) in [
        (DataFault::Malformed, "EOF while parsing"),
        (DataFault::EmptyBody, "EOF while parsing"),
        (DataFault::BadBar, "field `close`: close 12 is outside [low 9, high 11]"),
    ] {
        s.fake.inject_data(fault);
        let error = run(&s, &request(&["AAA", "BBB"], s.clock.now())).await.unwrap_err().to_string();
        assert!(
            error.starts_with("GET /v2/stocks/bars: unexpected response body: GET /v2/stocks/bars:1:"),
            "{error}"
        );
        assert!(error.contains(says), "{error}");
        assert_eq!(std::fs::read(s.dir.path().join("MANIFEST.json")).unwrap(), manifest, "{fault:?}");
    }
    Store::open(s.dir.path()).unwrap().verify().unwrap();
}

#[tokio::test]
async fn a_split_since_the_last_fetch_is_detected_and_the_series_fetched_again() {
    let s = setup(10_000).await;
    run(&s, &request(&["AAA", "BBB"], s.clock.now())).await.unwrap();
    // AAA splits 2-for-1 on 2024-07-15: split-adjusted, everything before is halved.
    s.fake.split("AAA", date(2024, 7, 15), Decimal::from(2));
    s.clock.advance_to(evening(date(2024, 7, 31)));
    let now = s.clock.now();
    let report = run(&s, &request(&["AAA", "BBB"], now)).await.unwrap();
    assert_eq!(report.refetched, ["AAA"]);
    let ex = calendar::daily_bar_timestamp(date(2024, 7, 15)).0;
    let adjusted: Vec<(i64, f64)> =
        served(1, now).into_iter().map(|(t, c)| (t, if t < ex { c / 2.0 } else { c })).collect();
    assert_eq!(stored(s.dir.path(), "AAA"), adjusted, "the whole history split-adjusted, no 50 % drop");
    assert_eq!(stored(s.dir.path(), "BBB"), served(2, now), "BBB appended as usual");
}

#[tokio::test]
async fn another_adjustment_or_feed_replaces_a_series_only_when_asked() {
    let s = setup(10_000).await;
    let now = s.clock.now();
    run(&s, &request(&["AAA"], now)).await.unwrap();
    let mut raw = request(&["AAA"], now);
    raw.adjustment = Adjustment::Raw;
    let report = run(&s, &raw).await.unwrap();
    assert!(report.added.is_empty());
    assert_eq!(
        report.skipped[0].reason,
        "stored 1Day bars are alpaca iex, split-adjusted; fetching raw would mix adjustments (pass --replace to \
         replace the series)"
    );
    // Another feed: the consolidated tape's volumes are not IEX's.
    let mut sip = request(&["AAA"], now);
    sip.feed = Some("sip".into());
    let report = run(&s, &sip).await.unwrap();
    assert_eq!(
        report.skipped[0].reason,
        "stored 1Day bars are alpaca iex, split-adjusted; fetching the sip feed would mix feeds, whose volumes \
         differ (pass --replace to replace the series)"
    );
    raw.replace = true;
    let report = run(&s, &raw).await.unwrap();
    assert_eq!(report.added[&Timeframe::Day1], 374);
    let store = Store::open(s.dir.path()).unwrap();
    assert_eq!(store.meta("AAA").unwrap().sources[&Timeframe::Day1].adjustment, Adjustment::Raw);
    assert_eq!(store.info("AAA", Timeframe::Day1).unwrap().rows, 374, "replaced, not appended");
}

#[tokio::test]
async fn crypto_pairs_come_from_the_crypto_endpoint_around_the_clock() {
    let s = setup(50).await;
    let start = calendar::daily_bar_timestamp(date(2024, 6, 1)).0 + 3_600_000_000_000 * 4;
    let bars = Bars::from_bars((0..28).map(|i| Bar {
        ts: Timestamp(start + i * 86_400_000_000_000),
        open: 60_000.0 + i as f64,
        high: 61_000.0,
        low: 59_000.0,
        close: 60_500.0,
        volume: 12.5,
        vwap: None,
        trade_count: None,
    }))
    .unwrap();
    s.fake.add_crypto_bars("BTC/USD", Timeframe::Day1, bars);
    // Up to the middle of the 11th day: its bar has begun but not ended, and is not stored.
    let midday = Timestamp(start + 21 * 43_200_000_000_000);
    let report = run(&s, &request(&["BTC/USD"], midday)).await.unwrap();
    assert_eq!(report.series["BTC/USD"], 10, "the bars that ended by `to`");
    let report = run(&s, &request(&["BTC/USD", "AAA"], s.clock.now())).await.unwrap();
    assert_eq!(report.series["BTC/USD"], 17, "the 11th day's bar whole, and the rest");
    assert!(s.fake.seen().iter().any(|r| r.path == "/v1beta3/crypto/us/bars"));
    let store = Store::open(s.dir.path()).unwrap();
    let btc = store.series("BTC/USD", Timeframe::Day1).unwrap().unwrap();
    assert_eq!(btc.timestamps().len(), 27, "every day, weekends too, up to the last complete one");
    assert_eq!(btc.timestamps()[10], start + 10 * 86_400_000_000_000, "no day missing");
    let meta = store.meta("BTC/USD").unwrap();
    assert_eq!(meta.asset_class, AssetClass::Crypto);
    assert_eq!(
        meta.sources[&Timeframe::Day1],
        SeriesSource { provider: "alpaca".into(), feed: None, adjustment: Adjustment::Raw }
    );
}

#[tokio::test]
async fn minute_bars_of_the_extended_hours_are_left_out() {
    let s = setup(500).await;
    // Alpaca's minute bars run 04:00-20:00 New York: 960 a day, 390 of them in the session.
    const MIN: i64 = 60_000_000_000;
    let days = [date(2024, 6, 26), date(2024, 6, 27)];
    let bars = Bars::from_bars(days.iter().flat_map(|&d| {
        let four = calendar::daily_bar_timestamp(d).0 + 240 * MIN;
        (0..960).map(move |i| Bar {
            ts: Timestamp(four + i * MIN),
            open: 100.0,
            high: 101.0,
            low: 99.0,
            close: 100.5,
            volume: 10.0,
            vwap: None,
            trade_count: None,
        })
    }))
    .unwrap();
    s.fake.add_bars("AAA", Timeframe::Min1, bars);
    let mut minutes = request(&["AAA"], s.clock.now());
    minutes.timeframe = Timeframe::Min1;
    minutes.from = calendar::daily_bar_timestamp(days[0]);
    let report = run(&s, &minutes).await.unwrap();
    assert_eq!(report.added[&Timeframe::Min1], 2 * 390);
    assert_eq!(report.outside_session, 2 * 570);
    let store = Store::open(s.dir.path()).unwrap();
    let series = store.series("AAA", Timeframe::Min1).unwrap().unwrap();
    let sessions = days.map(|d| calendar::session(d).unwrap());
    assert_eq!(series.timestamps()[0], sessions[0].open.0, "the first bar is the opening one");
    assert_eq!(series.timestamps()[390], sessions[1].open.0);
    assert_eq!(*series.timestamps().last().unwrap(), sessions[1].close.0 - MIN);

    // The live refresh stores the same bars.
    use live_bridge::refresh::{RefreshPlan, refresh_store};
    let other = tempfile::tempdir().unwrap();
    let plan = RefreshPlan {
        symbols: [(Timeframe::Min1, vec!["AAA".to_string()])].into(),
        daily_days: 30,
        minute_window_days: 5,
    };
    refresh_store(&s.client, other.path(), &plan, s.clock.now()).await.unwrap();
    let refreshed = Store::open(other.path()).unwrap();
    let refreshed = refreshed.series("AAA", Timeframe::Min1).unwrap().unwrap();
    assert_eq!(refreshed.timestamps(), series.timestamps());
}

#[tokio::test]
async fn the_live_refresh_replaces_a_series_split_since_it_was_stored_instead_of_appending() {
    use live_bridge::refresh::{RefreshPlan, refresh_store};
    let s = setup(10_000).await;
    let plan = RefreshPlan {
        symbols: [(Timeframe::Day1, vec!["AAA".to_string(), "BBB".to_string()])].into(),
        daily_days: 400,
        minute_window_days: 5,
    };
    let first = refresh_store(&s.client, s.dir.path(), &plan, s.clock.now()).await.unwrap();
    assert!(first.replaced.is_empty());
    // The series it started are recorded as Alpaca's split-adjusted bars: `data fetch` resumes them.
    let meta = Store::open(s.dir.path()).unwrap().meta("AAA").unwrap().clone();
    assert_eq!(meta.sources[&Timeframe::Day1].adjustment, Adjustment::Split);
    s.fake.split("AAA", date(2024, 7, 15), Decimal::from(2));
    s.clock.advance_to(evening(date(2024, 7, 31)));
    let now = s.clock.now();
    let report = refresh_store(&s.client, s.dir.path(), &plan, now).await.unwrap();
    assert_eq!(report.replaced, ["AAA 1Day"]);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let stored = stored(s.dir.path(), "AAA");
    let ex = calendar::daily_bar_timestamp(date(2024, 7, 15)).0;
    let expected: Vec<(i64, f64)> = served(1, now)
        .into_iter()
        .filter(|&(t, _)| t >= stored[0].0)
        .map(|(t, c)| (t, if t < ex { c / 2.0 } else { c }))
        .collect();
    assert_eq!(stored, expected, "split-adjusted throughout: no 50 % drop on the ex-date");
    assert_eq!(self::stored(s.dir.path(), "BBB").last(), served(2, now).last(), "BBB appended");
}

#[tokio::test]
async fn the_live_refresh_records_the_series_it_replaces_and_leaves_other_adjustments_alone() {
    use datasets::store::{WriteMode, Writer};
    use live_bridge::refresh::{RefreshPlan, refresh_store};
    let s = setup(10_000).await;
    let now = s.clock.now();
    // AAA fetched unadjusted; CCC imported (no recorded source).
    let mut raw = request(&["AAA"], now);
    raw.adjustment = Adjustment::Raw;
    run(&s, &raw).await.unwrap();
    let closed = |b: &Bar| calendar::session(calendar::session_date(b.ts)).is_some_and(|x| x.close <= now);
    let mut writer = Writer::open(s.dir.path()).unwrap();
    let imported = Bars::from_bars(daily(3).iter().filter(closed)).unwrap();
    writer.write("CCC", Timeframe::Day1, &imported, WriteMode::Append).unwrap();
    writer.commit().unwrap();

    s.fake.split("CCC", date(2024, 7, 15), Decimal::from(2));
    s.clock.advance_to(evening(date(2024, 7, 31)));
    let plan = RefreshPlan {
        symbols: [(Timeframe::Day1, vec!["AAA".to_string(), "CCC".to_string()])].into(),
        daily_days: 400,
        minute_window_days: 5,
    };
    let report = refresh_store(&s.client, s.dir.path(), &plan, s.clock.now()).await.unwrap();
    assert_eq!(
        report.refused,
        [
            "AAA 1Day: stored bars are alpaca iex, unadjusted; the refresh fetches alpaca, split-adjusted ones \
             and does not mix them (extend the series with `tradebot data fetch --adjustment raw --feed iex`)"
        ]
    );
    assert_eq!(report.replaced, ["CCC 1Day"]);
    let store = Store::open(s.dir.path()).unwrap();
    assert_eq!(store.info("AAA", Timeframe::Day1).unwrap().rows, 374, "AAA untouched");
    assert_eq!(store.meta("AAA").unwrap().sources[&Timeframe::Day1].adjustment, Adjustment::Raw);
    let ccc = store.meta("CCC").unwrap().sources.get(&Timeframe::Day1).cloned();
    let split = SeriesSource { provider: "alpaca".into(), feed: None, adjustment: Adjustment::Split };
    assert_eq!(ccc, Some(split), "the replaced series is now the broker's split-adjusted bars");
}

#[tokio::test]
async fn data_fetch_resumes_a_series_the_live_refresh_started_on_the_same_feed() {
    use live_bridge::refresh::{RefreshPlan, refresh_store};
    let s = setup(10_000).await;
    let mut config = ClientConfig::new(s.fake.endpoints());
    config.feed = Some("iex".into());
    let live = Client::new(config, Credentials::new("PKTEST", "secret")).unwrap();
    let plan = RefreshPlan {
        symbols: [(Timeframe::Day1, vec!["AAA".to_string()])].into(),
        daily_days: 30,
        minute_window_days: 5,
    };
    refresh_store(&live, s.dir.path(), &plan, s.clock.now()).await.unwrap();
    let first = |dir: &Path| Store::open(dir).unwrap().info("AAA", Timeframe::Day1).unwrap().first;
    let started = first(s.dir.path());
    s.clock.advance_to(evening(date(2024, 7, 31)));
    let report = run(&s, &request(&["AAA"], s.clock.now())).await.unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.added[&Timeframe::Day1], 22, "July 2024, after the refresh's bars");
    assert_eq!(first(s.dir.path()), started, "appended, not replaced");
}
