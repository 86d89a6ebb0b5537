//! Ingest tests: shipped samples, every shape, every validation error, round trips.

use proptest::prelude::*;

use super::*;
use crate::bars::Bar;
use crate::time::{NANOS_PER_SEC, Timestamp};

fn sample(name: &str) -> ParsedSeries {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name);
    let mut series = read_file(&path, &ImportOptions::default()).unwrap();
    assert_eq!(series.len(), 1);
    series.pop().unwrap()
}

fn parse(name: &str, text: &str) -> Vec<ParsedSeries> {
    parse_with(name, text, &ImportOptions::default())
}

fn parse_with(name: &str, text: &str, opts: &ImportOptions) -> Vec<ParsedSeries> {
    parse_bytes(name, text.as_bytes(), opts).unwrap_or_else(|e| panic!("{e}"))
}

/// The error message for a file that must fail.
fn error(name: &str, text: &str) -> String {
    parse_bytes(name, text.as_bytes(), &ImportOptions::default()).unwrap_err().to_string()
}

fn stamps(bars: &Bars) -> Vec<String> {
    bars.timestamps().iter().map(|&t| Timestamp(t).to_string()).collect()
}

#[test]
fn goog_sample_is_daily_with_new_york_midnight_stamps() {
    let goog = sample("GOOG.csv");
    assert_eq!(goog.symbol, "GOOG");
    assert_eq!(goog.timeframe, Timeframe::Day1);
    assert_eq!(goog.bars.len(), 2148);
    assert_eq!(goog.bars.bar(0).open, 100.0);
    assert_eq!(goog.bars.close()[0], 100.34);
    assert_eq!(goog.bars.volume()[0], 22_351_900.0);
    assert_eq!(goog.bars.vwap(), None);
    let (first, last) = goog.bars.span().unwrap();
    assert_eq!(first.to_string(), "2004-08-19T04:00:00Z");
    assert_eq!(last.to_string(), "2013-03-01T05:00:00Z");
}

#[test]
fn eurusd_sample_is_hourly_utc() {
    let eurusd = sample("EURUSD.csv");
    assert_eq!(eurusd.symbol, "EURUSD");
    assert_eq!(eurusd.timeframe, Timeframe::Hour1);
    assert_eq!(eurusd.bars.len(), 5000);
    assert_eq!(eurusd.bars.span().unwrap().0.to_string(), "2017-04-19T09:00:00Z");
    assert_eq!(eurusd.bars.high()[0], 1.0722);
}

#[test]
fn btcusd_sample_is_monthly_with_fractional_volume() {
    let btc = sample("BTCUSD.csv");
    assert_eq!(btc.symbol, "BTCUSD");
    assert_eq!(btc.timeframe, Timeframe::Month1);
    assert_eq!(btc.bars.len(), 156);
    assert_eq!(btc.bars.volume()[0], 2012.25343589);
    assert_eq!(btc.bars.span().unwrap().0.to_string(), "2012-01-31T05:00:00Z");
}

#[test]
fn timestamp_shape_in_any_column_order_with_optional_columns() {
    let text = "\
volume,Close,trade_count,timestamp,vwap,open,low,high,Adj Close,notes
100,10.5,3,2021-02-01T14:30:00Z,10.4,10,9.9,10.6,0,x
250.5,10.7,7,2021-02-01T14:31:00Z,10.6,10.5,10.4,10.8,0,y
";
    let series = parse("aapl.csv", text);
    assert_eq!(series.len(), 1);
    let s = &series[0];
    assert_eq!(s.symbol, "AAPL");
    assert_eq!(s.timeframe, Timeframe::Min1);
    let expected = Bar {
        ts: Timestamp(1_612_189_860 * NANOS_PER_SEC),
        open: 10.5,
        high: 10.8,
        low: 10.4,
        close: 10.7,
        volume: 250.5,
        vwap: Some(10.6),
        trade_count: Some(7),
    };
    assert_eq!(s.bars.bar(1), expected);
    assert_eq!(stamps(&s.bars), ["2021-02-01T14:30:00Z", "2021-02-01T14:31:00Z"]);
}

#[test]
fn long_csv_with_interleaved_symbols_splits_per_symbol_in_order_of_appearance() {
    let mut text = String::from("symbol,timestamp,open,high,low,close,volume\n");
    // Symbols interleave; each is in time order on its own, not across the file.
    for day in 1..=20 {
        for (symbol, base) in [("MSFT", 200.0), ("AAPL", 100.0), ("SPY", 300.0)] {
            if symbol == "SPY" && day % 2 == 0 {
                continue;
            }
            let close = base + f64::from(day);
            let row = format!("{symbol},2021-03-{day:02},{close},{close},{close},{close},{day}\n");
            text.push_str(&row);
        }
    }
    let series = parse("universe.csv", &text);
    let names: Vec<&str> = series.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(names, ["MSFT", "AAPL", "SPY"]);
    let lens: Vec<usize> = series.iter().map(|s| s.bars.len()).collect();
    assert_eq!(lens, [20, 20, 10]);
    assert!(series.iter().all(|s| s.timeframe == Timeframe::Day1));
    assert_eq!(series[1].bars.close()[19], 120.0);
    assert_eq!(stamps(&series[2].bars)[1], "2021-03-03T05:00:00Z");
    // A symbol going back in time is caught on its own line, naming the field.
    text.push_str("AAPL,2021-03-05,1,1,1,1,1\n");
    let err = error("universe.csv", &text);
    assert_eq!(
        err,
        "universe.csv:52: field `timestamp`: timestamp 2021-03-05T05:00:00Z is not after \
         the previous bar's 2021-03-20T04:00:00Z"
    );
}

const ALPACA_SINGLE: &str = r#"{
  "bars": [
    {"t": "2021-02-01T05:00:00Z", "o": 133.75, "h": 135.38, "l": 130.93, "c": 134.14,
     "v": 106239823, "n": 937195, "vw": 133.553, "extra": [1, {"x": 2}]},
    {"t": "2021-02-02T05:00:00Z", "o": 135.73, "h": 136.31, "l": 134.61, "c": 134.99,
     "v": 83305400, "n": 689534, "vw": 135.421}
  ],
  "symbol": "AAPL",
  "next_page_token": null
}"#;

#[test]
fn alpaca_single_symbol_json() {
    let series = parse("page1.json", ALPACA_SINGLE);
    assert_eq!(series.len(), 1);
    let s = &series[0];
    assert_eq!(s.symbol, "AAPL");
    assert_eq!(s.timeframe, Timeframe::Day1);
    assert_eq!(stamps(&s.bars), ["2021-02-01T05:00:00Z", "2021-02-02T05:00:00Z"]);
    assert_eq!(s.bars.close(), &[134.14, 134.99]);
    assert_eq!(s.bars.volume()[0], 106_239_823.0);
    assert_eq!(s.bars.vwap(), Some(&[133.553, 135.421][..]));
    assert_eq!(s.bars.trade_count(), Some(&[937_195, 689_534][..]));
}

#[test]
fn alpaca_multi_symbol_json_keeps_document_order() {
    let text = r#"{"bars":{
"MSFT":[{"t":"2021-02-01T14:30:00Z","o":240,"h":241,"l":239,"c":240.5,"v":1000},
        {"t":"2021-02-01T14:45:00Z","o":240.5,"h":242,"l":240,"c":241,"v":900.5}],
"AAPL":[{"t":"2021-02-01T14:30:00Z","o":133,"h":134,"l":132,"c":133.5,"v":5000},
        {"t":"2021-02-01T14:45:00Z","o":133.5,"h":134,"l":133,"c":133.2,"v":4000}],
"EMPTY":[]
},"next_page_token":"abc"}"#;
    let series = parse("multi.json", text);
    let names: Vec<&str> = series.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(names, ["MSFT", "AAPL"]);
    assert_eq!(series[0].timeframe, Timeframe::Min15);
    assert_eq!(series[0].bars.volume(), &[1000.0, 900.5]);
    assert_eq!(series[1].bars.close(), &[133.5, 133.2]);
    // Line numbers point at the offending bar object even in the multi-symbol form.
    let bad = text.replace(r#""c":133.2"#, r#""c":135"#);
    assert_eq!(
        error("multi.json", &bad),
        "multi.json:5: field `close`: close 135 is outside [low 133, high 134]"
    );
}

#[test]
fn one_parser_reads_data_api_pages_with_their_token_latest_bars_and_crypto_pairs() {
    let page = parse_alpaca_page(
        "GET /v2/stocks/bars",
        br#"{"bars":{
"MSFT":[{"t":"2021-02-01T14:30:00Z","o":240,"h":241,"l":239,"c":240.5,"v":1000,"n":12,"vw":240.2}],
"BTC/USD":[{"t":"2021-02-06T00:00:00Z","o":39000,"h":39500,"l":38000,"c":39100,"v":0.5,"n":3,"vw":39050}]
},"next_page_token":"TVNGVHwyMDIx"}"#,
    )
    .unwrap();
    assert_eq!(page.next_page_token.as_deref(), Some("TVNGVHwyMDIx"));
    let names: Vec<_> = page.series.iter().map(|(s, b)| (s.clone().unwrap(), b.len())).collect();
    assert_eq!(names, [("MSFT".to_string(), 1), ("BTC/USD".to_string(), 1)]);
    assert_eq!(page.series[1].1.trade_count(), Some(&[3][..]));
    // The latest-bars form: one bar object per symbol; the last page's token is null or "".
    let latest = parse_alpaca_page(
        "latest",
        br#"{"bars":{"SPY":{"t":"2021-02-01T14:30:00Z","o":1,"h":2,"l":0.5,"c":1.5,"v":10}},"next_page_token":""}"#,
    )
    .unwrap();
    assert_eq!(latest.series[0].1.close(), &[1.5]);
    assert_eq!(latest.next_page_token, None);
    // A page cut off, and an empty body: the request and the position are named.
    let cut =
        parse_alpaca_page("GET /v2/stocks/bars", br#"{"bars":{"AAPL":[{"t":"2024-01-02T05:00:00Z","o":1"#);
    assert_eq!(cut.unwrap_err().to_string(), "GET /v2/stocks/bars:1:50: EOF while parsing an object");
    let empty = parse_alpaca_page("GET /v2/stocks/bars", b"").unwrap_err().to_string();
    assert_eq!(empty, "GET /v2/stocks/bars:1:0: EOF while parsing a value");
}

#[test]
fn bare_json_list_takes_the_file_stem_and_caller_options_win() {
    let text = r#"[{"t":1612155600,"o":1,"h":1,"l":1,"c":1,"v":0}]"#;
    let opts = ImportOptions { timeframe: Some(Timeframe::Day1), ..Default::default() };
    let series = parse_with("spy.json", text, &opts);
    assert_eq!(series[0].symbol, "SPY");
    assert_eq!(stamps(&series[0].bars), ["2021-02-01T05:00:00Z"]);
    let opts = ImportOptions { symbol: Some("QQQ".into()), ..opts };
    assert_eq!(parse_with("page1.json", ALPACA_SINGLE, &opts)[0].symbol, "QQQ");
    assert_eq!(parse_with("spy.json", text, &opts)[0].symbol, "QQQ");
}

#[test]
fn naive_times_with_a_zone_equal_explicit_offsets() {
    let naive = "timestamp,open,high,low,close,volume\n\
                 2021-03-12 09:30:00,1,1,1,1,1\n2021-03-15 09:30:00,1,1,1,1,1\n";
    let explicit = "timestamp,open,high,low,close,volume\n\
                    2021-03-12T09:30:00-05:00,1,1,1,1,1\n2021-03-15T13:30:00Z,1,1,1,1,1\n";
    let opts = ImportOptions {
        tz: Some(chrono_tz::America::New_York),
        timeframe: Some(Timeframe::Day1),
        ..Default::default()
    };
    let zoned = parse_with("X.csv", naive, &opts);
    // An explicit offset ignores the zone option.
    assert_eq!(zoned, parse_with("X.csv", explicit, &opts));
    assert_eq!(stamps(&zoned[0].bars), ["2021-03-12T14:30:00Z", "2021-03-15T13:30:00Z"]);
    let utc = parse_with("X.csv", naive, &ImportOptions { tz: None, ..opts });
    assert_eq!(stamps(&utc[0].bars), ["2021-03-12T09:30:00Z", "2021-03-15T09:30:00Z"]);
}

#[test]
fn session_dates_across_dst_are_new_york_midnight() {
    let text = ",Open,High,Low,Close,Volume\n2021-01-15,1,1,1,1,1\n2021-07-15,1,1,1,1,1\n";
    let opts = ImportOptions { timeframe: Some(Timeframe::Day1), ..Default::default() };
    let series = parse_with("X.csv", text, &opts);
    assert_eq!(stamps(&series[0].bars), ["2021-01-15T05:00:00Z", "2021-07-15T04:00:00Z"]);
}

#[test]
fn crlf_trailing_blank_lines_bom_and_quotes_read_the_same() {
    let plain = "Date,Open,High,Low,Close,Volume\n2021-01-04,1,2,0.5,1.5,10\n2021-01-05,1.5,2,1,2,20\n";
    let expected = parse("X.csv", plain);
    let crlf = plain.replace('\n', "\r\n");
    assert_eq!(parse("X.csv", &crlf), expected);
    assert_eq!(parse("X.csv", &format!("{plain}\n\n  \n")), expected);
    assert_eq!(parse("X.csv", &format!("\u{feff}{crlf}\r\n\r\n")), expected);
    let quoted = plain.replace("2021-01-04", "\"2021-01-04\"").replace(",1,2,", ", 1 , 2 ,");
    assert_eq!(parse("X.csv", &quoted), expected);
    // Line numbers still count the BOM line and CRLF endings as an editor does.
    let bad = format!("\u{feff}{}", crlf.replace("1.5,2,1,2,20", "1.5,2,1,2,-20"));
    assert_eq!(error("X.csv", &bad), "X.csv:3: field `volume`: volume -20 is negative");
}

#[test]
fn every_bar_invariant_error_names_file_line_and_field() {
    let header = "timestamp,open,high,low,close,volume\n";
    let good = "2021-02-01,10,11,9,10,5\n";
    let cases = [
        ("2021-02-02,10,9.5,10.1,10,5", "field `high`: high 9.5 is below low 10.1"),
        ("2021-02-02,12,11,9,10,5", "field `open`: open 12 is outside [low 9, high 11]"),
        ("2021-02-02,10,11,9,8.5,5", "field `close`: close 8.5 is outside [low 9, high 11]"),
        ("2021-02-02,10,11,9,10,-1", "field `volume`: volume -1 is negative"),
        ("2021-02-02,10,11,9,NaN,5", "field `close`: not a finite number"),
        ("2021-02-02,10,inf,9,10,5", "field `high`: not a finite number"),
        ("2021-02-02,10,11,0,10,5", "field `low`: low 0 is not a positive price"),
        ("2021-02-01,10,11,9,10,5", "field `timestamp`: duplicate timestamp 2021-02-01T05:00:00Z"),
        (
            "2021-01-29,10,11,9,10,5",
            "field `timestamp`: timestamp 2021-01-29T05:00:00Z is not after the previous bar's \
             2021-02-01T05:00:00Z",
        ),
        ("2021-02-02,10,abc,9,10,5", "field `high`: cannot parse `abc` as a number"),
        ("2021-02-02,10,11,9,10,", "field `volume`: cannot parse `` as a number"),
        ("2021-13-02,10,11,9,10,5", "field `timestamp`: `2021-13-02` is not a valid calendar date"),
        ("02/02/2021,10,11,9,10,5", "field `timestamp`: `02/02/2021` is not a date, a date-time"),
        ("2021-02-02,10,11,9,10", "row has 5 fields but the header has 6"),
    ];
    for (row, message) in cases {
        let text = format!("{header}{good}\n{row}\n{good}");
        let err = error("GOOG.csv", &text);
        assert!(err.starts_with(&format!("GOOG.csv:4: {message}")), "{err}\n  wanted: {message}");
    }
}

#[test]
fn header_and_file_level_errors() {
    assert_eq!(
        error("x.csv", "\n\ntimestamp,open,high,low,close\n2021-02-01,1,1,1,1\n"),
        "x.csv:3: missing required column `volume`"
    );
    assert_eq!(
        error("x.csv", "Date,Timestamp,Open,High,Low,Close,Volume\n"),
        "x.csv:1: column `timestamp` appears more than once in the header"
    );
    assert_eq!(error("x.csv", ""), "x.csv: no bars");
    assert_eq!(error("x.csv", "\u{feff}\r\n  \r\n"), "x.csv: no bars");
    assert_eq!(error("x.csv", ",Open,High,Low,Close,Volume\n\n"), "x.csv: no bars");
    assert_eq!(error("x.json", r#"{"bars":null,"next_page_token":null}"#), "x.json: no bars");
    assert_eq!(error("x.json", r#"{"bars":{}}"#), "x.json: no bars");
    let bytes = b"timestamp,open,high,low,close,volume\n2021-02-01,1,1,1,1,\xff\n";
    let err = parse_bytes("x.csv", bytes, &ImportOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "x.csv:2: not valid UTF-8 text");
    let text =
        "symbol,timestamp,open,high,low,close,volume\nA,2021-02-01,1,1,1,1,1\nB,2021-02-01,1,1,1,1,1\n";
    let opts = ImportOptions { symbol: Some("C".into()), timeframe: Some(Timeframe::Day1), tz: None };
    let err = parse_bytes("x.csv", text.as_bytes(), &opts).unwrap_err();
    assert_eq!(err.to_string(), "x.csv: holds 2 symbols, so the symbol option `C` cannot name it");
    let text = "symbol,timestamp,open,high,low,close,volume\n,2021-02-01,1,1,1,1,1\n";
    assert_eq!(error("x.csv", text), "x.csv:2: symbol \"\": a symbol cannot be empty");
    let err = parse_bytes(
        "",
        b"t,o,h,l,c,v\n2021-02-01,1,1,1,1,1\n",
        &ImportOptions { symbol: None, ..opts.clone() },
    )
    .unwrap_err();
    assert!(matches!(err, IngestError::NoSymbol { .. }), "{err}");
    let missing = read_file(Path::new("/nonexistent/AAPL.csv"), &opts).unwrap_err();
    assert!(missing.to_string().starts_with("/nonexistent/AAPL.csv: "), "{missing}");
}

#[test]
fn timeframe_is_inferred_or_an_error() {
    let two_hourly = "timestamp,open,high,low,close,volume\n\
                      2021-02-01T10:00:00Z,1,1,1,1,1\n2021-02-01T12:00:00Z,1,1,1,1,1\n";
    assert_eq!(
        error("x.csv", two_hourly),
        "x.csv: unknown timeframe: median bar spacing 2 hours matches none of 1Min, 5Min, 15Min, \
         1Hour, 1Day, 1Week, 1Month; pass the timeframe explicitly"
    );
    let single = "timestamp,open,high,low,close,volume\n2021-02-01T10:00:00Z,1,1,1,1,1\n";
    assert_eq!(
        error("x.csv", single),
        "x.csv: cannot infer the timeframe from a single bar; pass the timeframe explicitly"
    );
    // A caller's timeframe string goes through the same error type.
    let from_name = |name: &str| -> Result<Timeframe, IngestError> { Ok(name.parse::<Timeframe>()?) };
    assert_eq!(from_name("1week").unwrap(), Timeframe::Week1);
    let err = from_name("2Hour").unwrap_err();
    assert!(matches!(err, IngestError::UnknownTimeframe(_)));
    assert!(err.to_string().starts_with("unknown timeframe `2Hour`"), "{err}");
}

#[test]
fn json_errors_name_the_bar_line_and_field() {
    let missing = ALPACA_SINGLE.replace(r#""o": 135.73, "#, "");
    assert_eq!(error("a.json", &missing), "a.json:5: field `open`: missing key `o`");
    let bad_number = ALPACA_SINGLE.replace("\"v\": 83305400", "\"v\": \"many\"");
    assert_eq!(error("a.json", &bad_number), "a.json:5: field `volume`: cannot parse `\"many\"` as a number");
    let bad_count = ALPACA_SINGLE.replace("937195", "-3");
    assert_eq!(
        error("a.json", &bad_count),
        "a.json:3: field `trade_count`: cannot parse `-3` as a non-negative integer"
    );
    let bad_time = ALPACA_SINGLE.replace("2021-02-02T05", "2021-02-30T05");
    assert_eq!(
        error("a.json", &bad_time),
        "a.json:5: field `timestamp`: `2021-02-30T05:00:00Z` is not a valid calendar date, time of day or \
         UTC offset"
    );
    let no_vwap = ALPACA_SINGLE.replace(r#", "vw": 135.421"#, "");
    assert_eq!(error("a.json", &no_vwap), "a.json:5: field `vwap`: must be given on every bar or on none");
    let syntax = ALPACA_SINGLE.replace("134.99,", "134.99,,");
    assert_eq!(error("a.json", &syntax), "a.json:5:86: key must be a string");
    let not_bar = r#"{"bars": [1]}"#;
    assert!(error("a.json", not_bar).starts_with("a.json:1:"), "{}", error("a.json", not_bar));
    assert_eq!(
        error("a.json", r#"{"bars": 5}"#),
        "a.json:1:0: `bars` must be a list, an object of lists, or null"
    );
    assert_eq!(error("a.json", r#"{"symbol": "X"}"#), "a.json:1:15: missing field `bars`");
}

#[test]
fn trade_counts_accept_integral_floats_only() {
    let text = "timestamp,open,high,low,close,volume,trades\n2021-02-01,1,1,1,1,1,12.0\n";
    let opts = ImportOptions { timeframe: Some(Timeframe::Day1), ..Default::default() };
    assert_eq!(parse_with("x.csv", text, &opts)[0].bars.trade_count(), Some(&[12u64][..]));
    let err = parse_bytes("x.csv", text.replace("12.0", "12.5").as_bytes(), &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.csv:2: field `trade_count`: cannot parse `12.5` as a non-negative integer"
    );
}

/// A valid random series: sorted positive prices give low ≤ open, close ≤ high.
fn arb_bars() -> impl Strategy<Value = Bars> {
    let price = prop_oneof![1e-4f64..1e6, proptest::num::f64::POSITIVE | proptest::num::f64::NORMAL];
    let row = (
        1i64..10 * NANOS_PER_SEC * 86_400,
        proptest::array::uniform4(price),
        0f64..1e12,
        0.0f64..1e4,
        any::<u64>(),
    );
    (proptest::collection::vec(row, 1..40), any::<bool>(), any::<bool>(), -3_000_000_000i64..6_000_000_000)
        .prop_map(|(rows, with_vwap, with_count, start_secs)| {
            let mut ts = start_secs * NANOS_PER_SEC;
            let bars = rows.into_iter().map(|(gap, mut p, volume, vwap, count)| {
                ts += gap;
                p.sort_by(f64::total_cmp);
                Bar {
                    ts: Timestamp(ts),
                    open: p[1],
                    high: p[3],
                    low: p[0],
                    close: p[2],
                    volume,
                    vwap: with_vwap.then_some(vwap),
                    trade_count: with_count.then_some(count),
                }
            });
            Bars::from_bars(bars).unwrap()
        })
}

proptest! {
    #[test]
    fn csv_write_then_read_gives_identical_bars(bars in arb_bars()) {
        let mut out = Vec::new();
        write_csv(&mut out, &bars).unwrap();
        let opts = ImportOptions { timeframe: Some(Timeframe::Min1), ..Default::default() };
        let series = parse_bytes("RT.csv", &out, &opts).unwrap();
        prop_assert_eq!(series.len(), 1);
        prop_assert_eq!(&series[0].bars, &bars);
    }
}

/// Synthetic `timestamp,open,high,low,close,volume` minute bars, as the benchmark input.
fn minute_csv(rows: usize) -> Vec<u8> {
    let start = 1_600_000_000 * NANOS_PER_SEC;
    let bars = (0..rows).map(|i| {
        let p = 100.0 + (i % 1000) as f64 * 0.01;
        Bar {
            ts: Timestamp(start + i as i64 * 60 * NANOS_PER_SEC),
            open: p,
            high: p + 0.25,
            low: p - 0.25,
            close: p + 0.125,
            volume: (i % 5000) as f64,
            vwap: None,
            trade_count: None,
        }
    });
    let mut out = Vec::new();
    write_csv(&mut out, &Bars::from_bars(bars).unwrap()).unwrap();
    out
}

/// Throughput check, run with `cargo test -p datasets --release --lib ingest -- --ignored --nocapture`.
#[test]
#[ignore = "throughput measurement; run in release"]
fn csv_throughput() {
    let rows = 2_000_000;
    let data = minute_csv(rows);
    let opts = ImportOptions::default();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let series = parse_bytes("BENCH.csv", &data, &opts).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(series[0].bars.len(), rows);
    }
    println!(
        "{rows} rows, {} MB: best {best:.3} s = {:.2} M rows/s",
        data.len() / 1_000_000,
        rows as f64 / best / 1e6
    );
}

#[test]
fn a_csv_cut_short_in_its_last_row_is_refused_naming_the_line() {
    let whole = "timestamp,open,high,low,close,volume\n\
                 2021-01-04,1,2,0.5,1.5,2336500\n2021-01-05,1.5,2,1,2,2336500\n";
    assert_eq!(parse("X.csv", whole)[0].bars.volume(), &[2336500.0, 2336500.0]);
    let cut = &whole[..whole.len() - 4]; // "…,2336" : a plausible but wrong volume
    assert_eq!(
        error("X.csv", cut),
        "X.csv:3: the file ends in the middle of this row (no newline after it), so it looks truncated \
         and its last value may be cut short; if the row is complete, end the file with a newline"
    );
    // CRLF files, trailing blank lines and a row that ends in a closing quote end cleanly.
    assert_eq!(parse("X.csv", &whole.replace('\n', "\r\n"))[0].bars.len(), 2);
    assert_eq!(parse("X.csv", &format!("{whole}\n  "))[0].bars.len(), 2);
    let quoted = format!("{whole}2021-01-06,2,2,1,2,\"2336500\"");
    assert_eq!(parse("X.csv", &quoted)[0].bars.volume(), &[2336500.0; 3]);
}

#[test]
fn an_overlong_line_is_refused_before_it_is_split() {
    let commas = ",".repeat(4 * MAX_LINE_BYTES);
    let text = format!("timestamp,open,high,low,close,volume\n2021-01-04,1,2,0.5,1.5,1\n{commas}\n");
    let started = std::time::Instant::now();
    let err = parse_bytes("X.csv", text.as_bytes(), &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, IngestError::LineTooLong { line: 3, bytes: 262_144, max: 65_536, .. }), "{err}");
    assert_eq!(err.to_string(), "X.csv:3: line is 262144 bytes long; a bar row is at most 65536 bytes");
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    let header = format!("timestamp,open,high,low,close,volume,{commas}\n");
    assert!(matches!(error_of("X.csv", &header), IngestError::LineTooLong { line: 1, .. }));
}

fn error_of(name: &str, text: &str) -> IngestError {
    parse_bytes(name, text.as_bytes(), &ImportOptions::default()).unwrap_err()
}

#[test]
fn one_symbol_validator_for_every_entry_point() {
    let bar = r#"{"t":"2021-02-01T05:00:00Z","o":1,"h":1,"l":1,"c":1,"v":0}"#;
    let day = ImportOptions { timeframe: Some(Timeframe::Day1), ..Default::default() };
    let csv_row =
        |sym: &str| format!("timestamp,open,high,low,close,volume,symbol\n2021-01-04,1,1,1,1,1,{sym}\n");
    let huge = "S".repeat(100_000);
    let cases: Vec<(&str, String, ImportOptions, &str)> = vec![
        (
            "x.json",
            format!(r#"{{"bars":[{bar}],"symbol":""}}"#),
            day.clone(),
            "x.json: symbol \"\": a symbol cannot be empty",
        ),
        (
            "x.json",
            format!(r#"{{"bars":[{bar}],"symbol":"{huge}"}}"#),
            day.clone(),
            "a symbol is at most 32 bytes, this one is 100000",
        ),
        ("x.json", format!(r#"{{"bars":{{"":[{bar}]}}}}"#), day.clone(), "a symbol cannot be empty"),
        ("x.json", format!(r#"{{"bars":{{"a,b":[{bar}]}}}}"#), day.clone(), "',' is not allowed in a symbol"),
        (
            "x.json",
            format!(r#"{{"bars":[{bar}],"symbol":"A\u0007"}}"#),
            day.clone(),
            "'\\u{7}' is not allowed",
        ),
        ("x.csv", csv_row("A\u{1}B"), day.clone(), "x.csv:2: symbol \"A\\u{1}B\": '\\u{1}' is not allowed"),
        ("x.csv", csv_row("\"\""), day.clone(), "x.csv:2: symbol \"\": a symbol cannot be empty"),
        (
            "x.csv",
            csv_row("A").replace(",symbol", "").replace(",A", ""),
            ImportOptions { symbol: Some(String::new()), ..day.clone() },
            "a symbol cannot be empty",
        ),
        (
            "my data.csv",
            csv_row("A").replace(",symbol", "").replace(",A", ""),
            day.clone(),
            "symbol \"MY DATA\": ' ' is not allowed",
        ),
    ];
    for (name, text, opts, expected) in cases {
        let err = parse_bytes(name, text.as_bytes(), &opts).unwrap_err();
        assert!(matches!(err, IngestError::InvalidSymbol { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(expected), "{name}: {msg}");
        assert!(msg.len() < 300, "a long symbol is shortened in the message: {msg}");
    }
}
