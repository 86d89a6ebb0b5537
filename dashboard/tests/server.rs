//! The dashboard server on an ephemeral loopback port over databases written by the live
//! bridge's and `ops`' own APIs: the token, the JSON endpoints, the page, and read-only access.

mod common;

use std::time::{Duration, Instant};

use common::{client, start};
use dashboard::fixture::{self, TOKEN, files, populate};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::Value;

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

async fn get_json(addr: std::net::SocketAddr, path: &str) -> Value {
    let r = client().get(format!("http://{addr}{path}")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_every_route_is_401_and_the_token_works_three_ways() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(populate(dir.path())).await;
    let c = client();
    for path in ["/", "/fragment", "/api/summary", "/api/snapshot", "/api/positions", "/api/errors"] {
        let r = c.get(format!("http://{addr}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path} without a token");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let body = r.text().await.unwrap();
        assert!(!body.contains("GAPX") && body.contains("401"), "{body}");
        for bad in ["wrong-token-0123456789abcdef", &TOKEN[..TOKEN.len() - 1], ""] {
            let r = c.get(format!("http://{addr}{path}")).bearer_auth(bad).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path} with {bad:?}");
            let r = c.get(format!("http://{addr}{path}?token={bad}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}?token={bad}");
        }
        let r = c.get(format!("http://{addr}{path}")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path} with the bearer token");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert!(r.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    }
    // ?token= on the page: a cookie, and a redirect that takes the token out of the address bar.
    let r = c.get(format!("http://{addr}/?token={TOKEN}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    // The cookie holds a value derived from the token, never the token itself.
    let session = dashboard::Token::new(TOKEN).unwrap().session();
    assert!(cookie.starts_with(&format!("tradebot_dashboard={session};")), "{cookie}");
    assert!(!cookie.contains(TOKEN), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap();
    let r =
        c.get(format!("http://{addr}/")).header("cookie", format!("other=1; {pair}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("GAPX"));
    // A wrong cookie, the raw token as the cookie, and the cookie's value as a token: all 401.
    for (cookie, bearer) in
        [("tradebot_dashboard=nope-nope-nope-nope", None), (&*format!("tradebot_dashboard={TOKEN}"), None)]
            .into_iter()
            .chain([("x=1", Some(session.as_str()))])
    {
        let mut request = c.get(format!("http://{addr}/fragment")).header("cookie", cookie);
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "{cookie} {bearer:?}");
    }
    // ?token= on an endpoint answers directly, also setting the cookie.
    let r = c.get(format!("http://{addr}/api/summary?token={TOKEN}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("set-cookie"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_endpoints_report_the_session_books_and_safety_state() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(populate(dir.path())).await;

    let s = get_json(addr, "/api/summary").await;
    assert_eq!(s["session_day"], "2025-12-31");
    assert_eq!(dec(&s["equity"]["equity"]), "100250.50".parse().unwrap());
    assert_eq!(s["equity"]["day"], "2025-12-31");
    assert_eq!(dec(&s["equity_change"]), "250.50".parse().unwrap());
    assert!(s["equity_at_ns"].is_null(), "the session's close, not an intraday snapshot");
    assert_eq!(dec(&s["unrealised"]), Decimal::from(15 + 25), "GAPX +15, AAPL +25 at the broker's price");
    assert_eq!(dec(&s["book_cash"]), Decimal::from(49_745 + 36_200), "50,000 − 255 and 40,000 − 3,800");
    assert_eq!(dec(&s["market_value"]), Decimal::from(270 + 500 + 3_825), "MANL unpriced: at cost");
    assert_eq!(s["kill_switch"]["on"], true);
    assert_eq!(s["kill_switch"]["reason"], "halted: broker outage");
    assert_eq!(s["breakers"][0]["name"], "daily_loss");
    assert_eq!(s["reconcile"], "ok");
    assert_eq!(s["trading"], false);
    assert_eq!(s["last_data_refresh"]["phase"], "data");
    assert_eq!(s["last_checkpoint"]["phase"], "submit");
    assert_eq!(s["gap_candidates"], 1);
    assert_eq!(s["errors_24h"], 1);
    assert_eq!(s["live_service_pids"], Value::Array(vec![]));

    let e = get_json(addr, "/api/equity").await;
    let days: Vec<&str> =
        e["points"].as_array().unwrap().iter().map(|p| p["day"].as_str().unwrap()).collect();
    assert_eq!(days, ["2025-12-30", "2025-12-31"]);
    assert!(e["source"].as_str().unwrap().contains("portfolio_daily"));
    assert_eq!(e["intraday"]["points"].as_array().unwrap().len(), 80, "the session's, by default");

    let p = get_json(addr, "/api/positions").await;
    let p = p.as_array().unwrap();
    let keys: Vec<(&str, &str)> =
        p.iter().map(|p| (p["strategy"].as_str().unwrap(), p["symbol"].as_str().unwrap())).collect();
    assert_eq!(keys, [("gap_fill", "GAPX"), ("manual", "MANL"), ("momentum", "AAPL")]);
    // GAPX: bought 10 at 25.50, last seen at the 10:15 signal bar's close of 27.00.
    assert_eq!(dec(&p[0]["avg_cost"]), "25.5".parse().unwrap());
    assert_eq!(dec(&p[0]["mark"]["price"]), Decimal::from(27));
    assert_eq!(p[0]["mark"]["source"], "signal bar close");
    assert_eq!(dec(&p[0]["unrealised"]), Decimal::from(15));
    assert_eq!(dec(&p[0]["unrealised_pct"]), "5.88".parse().unwrap());
    assert!(p[1]["mark"].is_null() && p[1]["unrealised"].is_null(), "no price was seen for MANL");
    // AAPL: the broker's price at the 15:55 snapshot is newer than the fill at 190 (and the
    // signal at 189); GAPX's broker price at 09:40 is older than the 10:15 run's bar.
    assert_eq!(
        (dec(&p[2]["mark"]["price"]), p[2]["mark"]["source"].as_str()),
        ("191.25".parse().unwrap(), Some("broker"))
    );
    assert_eq!(p[2]["mark"]["time_ns"], fixture::OPEN_NS + 385 * fixture::MIN);
    assert_eq!(dec(&p[2]["unrealised"]), Decimal::from(25));

    let o = get_json(addr, "/api/orders").await;
    let ids: Vec<(&str, &str)> = o
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["client_order_id"].as_str().unwrap(), o["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [("gf-gapx", "filled"), ("gf-open", "intent")],
        "the day before's filled order is not today's"
    );
    assert_eq!(dec(&o[0]["avg_fill_price"]), "25.5".parse().unwrap());

    let sig = get_json(addr, "/api/signals").await;
    let sig: Vec<(&str, &str)> = sig
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["symbol"].as_str().unwrap(), s["action"].as_str().unwrap()))
        .collect();
    assert_eq!(sig, [("GAPX", "order"), ("GAPX", "ignored"), ("OPEN", "order")]);

    let st = get_json(addr, "/api/strategies").await;
    let st = st.as_array().unwrap();
    assert_eq!(
        st.iter().map(|s| s["strategy"].as_str().unwrap()).collect::<Vec<_>>(),
        ["gap_fill", "manual", "momentum"]
    );
    assert_eq!(dec(&st[0]["cash"]), Decimal::from(49_745));
    assert_eq!(st[0]["last_run"]["slot"], "2025-12-31T10:15");
    assert_eq!(st[0]["last_run"]["status"], "planned");
    assert_eq!(st[0]["runs_today"], serde_json::json!({"done": 1, "planned": 1}));
    assert_eq!(st[2]["last_run"]["status"], "done");
    assert_eq!(dec(&st[2]["unrealised"]), Decimal::from(25));
    assert_eq!(st[2]["runs_today"], serde_json::json!({}));

    let err = get_json(addr, "/api/errors").await;
    let messages: Vec<&str> =
        err.as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["order rejected: insufficient <buying> power", "stale error from two days ago"]);

    let all = get_json(addr, "/api/snapshot").await;
    for key in ["summary", "equity", "positions", "orders", "signals", "strategies", "errors"] {
        assert!(!all[key].is_null(), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_equity_positions_safety_state_and_escaped_errors() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(populate(dir.path())).await;
    let html = get_text(addr, "/").await.1;
    for needle in [
        r#"<b id="equity-value">100250.50</b>"#,
        r#"<b id="unrealised-total" class="up">+40.00</b>"#,
        r#"<span id="kill-switch" class="bad">ON — halted: broker outage</span>"#,
        r#"<span id="breakers" class="bad">TRIPPED: daily_loss"#,
        r#"<td class="symbol">GAPX</td>"#,
        r#"<svg id="equity-intraday""#,
        r#"<svg id="equity-daily""#,
        "<polyline",
        r#"intraday: <b>session</b> · <a href="?range=all">all kept</a> · session 2025-12-31, 80 points"#,
        "at 2025-12-31 16:00:00 EST: equity <b>100250.50</b> · cash 50000.00 · long 50250.50",
        "2025-12-31 16:00:00 EST equity 100250.50 (timer)",
        "2025-12-31 09:32:00 EST equity 99990.10 (fills)",
        "191.25",
        "order rejected: insufficient &lt;buying&gt; power",
        "1 gap candidates stored",
        "2025-12-31 10:15:00 EST (data gap_fill 2025-12-31T10:15)",
        "fetch('/fragment'",
    ] {
        assert!(html.contains(needle), "the page lacks {needle:?}");
    }
    // Nothing is loaded from anywhere else.
    for external in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "external resource: {external}");
    }
    let fragment = get_text(addr, "/fragment").await.1;
    assert!(fragment.contains(r#"id="equity-value""#) && !fragment.contains("<html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_databases_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let sources = dashboard::Sources { live_dir: dir.path().join("live"), ops_db: dir.path().join("ops.db") };
    let addr = start(sources).await;
    let s = get_json(addr, "/api/summary").await;
    let notes = s["notes"].to_string();
    assert!(notes.contains("no live database") && notes.contains("no operations database"), "{notes}");
    assert_eq!(s["kill_switch"]["on"], false);
    assert!(s["equity"].is_null());
    let html = get_text(addr, "/").await.1;
    assert!(
        html.contains("no intraday equity snapshot yet")
            && html.contains("no daily equity snapshot yet")
            && html.contains(r#"<span id="kill-switch" class="ok">off</span>"#)
    );
    assert!(!dir.path().join("live").exists() && !dir.path().join("ops.db").exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_change_no_file_and_never_wait_for_the_live_services_writes() {
    let dir = tempfile::tempdir().unwrap();
    let sources = populate(dir.path());
    let live_dir = sources.live_dir.clone();
    let before = (files(&live_dir), files(dir.path()));
    let addr = start(sources).await;
    for _ in 0..3 {
        get_json(addr, "/api/snapshot").await;
    }
    // SQLite may create the empty WAL index files next to a database a reader opens when no
    // writer has them open; the databases themselves stay byte for byte and time for time.
    assert_eq!((files(&live_dir), files(dir.path())), before, "reading wrote nothing");

    // The live service opens its database (WAL) and holds a write transaction open: the
    // dashboard still answers at once, with the last committed state.
    let writer = rusqlite::Connection::open(live_dir.join("live.db")).unwrap();
    writer.execute_batch("PRAGMA journal_mode=WAL; BEGIN IMMEDIATE;").unwrap();
    writer
        .execute("INSERT INTO checkpoints (time_ns, phase, detail) VALUES (1, 'plan', 'uncommitted')", [])
        .unwrap();
    let t = Instant::now();
    let s = get_json(addr, "/api/summary").await;
    assert!(t.elapsed() < Duration::from_secs(1), "the read waited {:?}", t.elapsed());
    assert_eq!(s["last_checkpoint"]["phase"], "submit");
    writer.execute_batch("COMMIT").unwrap();
    let s = get_json(addr, "/api/summary").await;
    assert_eq!(s["last_checkpoint"]["detail"], "uncommitted");
}

/// The vertices of the polyline of the `<svg id="ID">` in `html`.
fn vertices(html: &str, id: &str) -> Vec<(f64, f64)> {
    let svg = html.split(&format!(r#"<svg id="{id}""#)).nth(1).unwrap().split("</svg>").next().unwrap();
    let points = svg.split(r#"points=""#).nth(1).unwrap().split('"').next().unwrap();
    points
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

async fn get_text(addr: std::net::SocketAddr, path: &str) -> (StatusCode, String) {
    let r = client().get(format!("http://{addr}{path}")).bearer_auth(TOKEN).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intraday_equity_is_served_for_the_session_or_every_snapshot_kept() {
    let dir = tempfile::tempdir().unwrap();
    let sources = populate(dir.path());
    let live_db = sources.live_db();
    let addr = start(sources).await;
    let written = fixture::intraday_points();

    // The session of the newest snapshot: its 80 points, on its clock.
    let e = get_json(addr, "/api/equity").await;
    let i = &e["intraday"];
    assert_eq!((i["range"].as_str(), i["session"].as_str()), (Some("session"), Some("2025-12-31")));
    let points = i["points"].as_array().unwrap();
    assert_eq!(points.len(), 80);
    let times: Vec<i64> = points.iter().map(|p| p["time_ns"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = written.iter().skip(3).map(|p| p.ts_ns).collect();
    assert_eq!(times, expected, "oldest first");
    assert_eq!(times[0], fixture::OPEN_NS);
    assert_eq!(
        (points[1]["source"].as_str(), dec(&points[1]["equity"])),
        (Some("fills"), "99990.10".parse().unwrap())
    );
    let last = &points[79];
    assert_eq!(dec(&last["equity"]), "100250.50".parse().unwrap());
    assert_eq!(
        (dec(&last["cash"]), dec(&last["long_value"])),
        ("50000".parse().unwrap(), "50250.50".parse().unwrap())
    );
    assert_eq!(
        (dec(&last["last_equity"]), dec(&last["unrealised"])),
        (Decimal::from(100_000), "250.50".parse().unwrap())
    );
    let (_, html) = get_text(addr, "/").await;
    let v = vertices(&html, "equity-intraday");
    assert_eq!(v.len(), 80);
    assert_eq!((v[0].0, v[79].0), (78.0, 708.0), "09:30 at the left edge, 16:00 at the right");
    assert_eq!(v[1].0, 81.2, "09:32 on the session's clock: 78 + 630 × 2/390, to 0.1");
    assert!(v[0].1 > v[79].1, "100,250.50 at the close is above 99,880 at the open");
    assert_eq!(vertices(&html, "equity-daily").len(), 2);

    // Every snapshot kept: both sessions, evenly spaced, a divider where the second starts.
    let e = get_json(addr, "/api/equity?range=all").await;
    assert_eq!(e["intraday"]["range"], "all");
    assert!(e["intraday"]["session"].is_null());
    assert_eq!(e["intraday"]["points"].as_array().unwrap().len(), 83);
    let (_, html) = get_text(addr, "/?range=all").await;
    assert!(html.contains(
        r#"intraday: <a href="?range=session">session</a> · <b>all kept</b> · every snapshot kept, 83 points"#
    ));
    assert_eq!(vertices(&html, "equity-intraday").len(), 83);
    assert_eq!(html.matches(r#"class="divider""#).count(), 1);
    let (_, fragment) = get_text(addr, "/fragment?range=all").await;
    assert!(fragment.contains("83 points") && !fragment.contains("<html"));
    let all = get_json(addr, "/api/snapshot?range=all").await;
    assert_eq!(all["equity"]["intraday"]["points"].as_array().unwrap().len(), 83);
    for path in ["/api/equity?range=week", "/?range=", "/fragment?range=ALL"] {
        let (status, body) = get_text(addr, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(body.contains("expected range=session or range=all"), "{body}");
    }

    // A new session's first snapshot, before its close: the headline equity, with its time, and
    // the session shown.
    let next_open = fixture::OPEN_NS + 2 * 24 * 60 * fixture::MIN + 5 * fixture::MIN;
    let db = live_bridge::db::Db::open(&live_db).unwrap();
    let p = live_bridge::db::IntradayEquity {
        ts_ns: next_open,
        equity: "100300.25".parse().unwrap(),
        ..written[80].clone()
    };
    db.write_intraday(&p, &[]).unwrap();
    let s = get_json(addr, "/api/summary").await;
    assert_eq!(
        (s["equity"]["day"].as_str(), s["equity_at_ns"].as_i64()),
        (Some("2026-01-02"), Some(next_open))
    );
    assert_eq!(dec(&s["equity"]["equity"]), "100300.25".parse().unwrap());
    let e = get_json(addr, "/api/equity").await;
    assert_eq!(e["intraday"]["session"], "2026-01-02");
    assert_eq!(e["intraday"]["points"].as_array().unwrap().len(), 1);
    let (_, html) = get_text(addr, "/").await;
    assert!(html.contains(r#"<b id="equity-value">100300.25</b>at 2026-01-02 09:35:00 EST"#), "headline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_database_without_intraday_tables_still_serves_the_books() {
    let dir = tempfile::tempdir().unwrap();
    let sources = populate(dir.path());
    // As written by a live service built before intraday equity.
    let conn = rusqlite::Connection::open(sources.live_db()).unwrap();
    conn.execute_batch("DROP TABLE equity_intraday; DROP TABLE broker_marks;").unwrap();
    drop(conn);
    let addr = start(sources).await;
    let e = get_json(addr, "/api/equity").await;
    assert!(e["intraday"]["points"].as_array().unwrap().is_empty());
    assert!(e["intraday"]["source"].as_str().unwrap().contains("predates"), "{e}");
    assert_eq!(e["points"].as_array().unwrap().len(), 2);
    let p = get_json(addr, "/api/positions").await;
    assert_eq!(
        (dec(&p[2]["mark"]["price"]), p[2]["mark"]["source"].as_str()),
        (Decimal::from(190), Some("fill"))
    );
    let (status, html) = get_text(addr, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("no intraday equity snapshot yet")
            && html.contains(r#"<b id="equity-value">100250.50</b>"#)
    );
}
