//! End to end: events through the real subscriber reach the log file and the error log.

use std::time::Duration;

use serde_json::Value;

use super::*;

fn log_text(dir: &Path, service: &str) -> String {
    let today = chrono::Utc::now().format("%Y-%m-%d");
    std::fs::read_to_string(dir.join(format!("{service}.{today}.log"))).unwrap()
}

#[test]
fn error_events_reach_the_file_and_the_error_log_table() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let db_path = dir.path().join("data/ops.db");
    let Logging { subscriber, guard } =
        build("research", LogOptions::new(&logs).ops_db(&db_path).stderr(None)).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("research run started");
        tracing::warn!("store is 3 sessions behind");
        tracing::error!(symbol = "SPY", bars = 42u64, ratio = 0.5, "import failed: high below low");
        let span = tracing::info_span!("family", component = "research.family", name = "sma_cross");
        span.in_scope(|| tracing::error!(generation = 3, "evaluation panicked"));
        tracing::error!(component = "broker", "order rejected");
    });
    // The subscriber (and with it the layer's sender) is gone: the guard drains the rest.
    drop(guard);

    let text = log_text(&logs, "research");
    assert!(text.contains("INFO") && text.contains("research run started"), "{text}");
    assert!(text.contains("WARN") && text.contains("store is 3 sessions behind"));
    assert!(
        text.contains("ERROR")
            && text.contains("import failed: high below low")
            && text.contains("symbol=\"SPY\"")
    );

    let db = OpsDb::open(&db_path).unwrap();
    let mut rows = db.recent_errors(10).unwrap();
    rows.reverse();
    assert_eq!(rows.len(), 3, "only ERROR events: {rows:?}");
    assert!(rows.iter().all(|r| r.service == "research"));

    // No component given: the event's target (module path) is the component.
    assert_eq!(rows[0].component, "ops::logging::tests");
    assert_eq!(rows[0].message, "import failed: high below low");
    let context: Value = serde_json::from_str(&rows[0].context).unwrap();
    assert_eq!(context, serde_json::json!({"symbol": "SPY", "bars": 42, "ratio": 0.5}));
    let age = crate::now_ns() - rows[0].time_ns;
    assert!((0..60_000_000_000).contains(&age), "time is UTC now in ns: {age}");

    // The component of the enclosing span, and the span path in the context.
    assert_eq!(rows[1].component, "research.family");
    assert_eq!(rows[1].message, "evaluation panicked");
    let context: Value = serde_json::from_str(&rows[1].context).unwrap();
    assert_eq!(context, serde_json::json!({"generation": 3, "spans": ["family"]}));

    // A `component` field on the event wins.
    assert_eq!(rows[2].component, "broker");
    assert_eq!(rows[2].context, "{}");
}

#[test]
fn error_events_raise_an_error_alert_per_component() {
    let dir = tempfile::tempdir().unwrap();
    let notifier = crate::alert::Notifier::disabled("live");
    let options =
        LogOptions::new(dir.path()).ops_db(dir.path().join("ops.db")).stderr(None).notifier(notifier.clone());
    let Logging { subscriber, guard } = build("live", options).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!(component = "broker", "HTTP 500");
        tracing::error!(component = "broker", "HTTP 500 again");
        tracing::error!(component = "stream", "disconnected");
    });
    drop(guard);
    let s = notifier.stats();
    assert_eq!((s.duplicates, s.rate_limited), (1, 0), "{s:?}");
}

#[test]
fn a_locked_database_never_blocks_the_caller_and_losses_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("ops.db");
    let Logging { subscriber, guard } =
        build("research", LogOptions::new(dir.path()).ops_db(&db_path).stderr(None)).unwrap();
    // Another process holds the write lock far longer than anyone should wait for it.
    let holder = rusqlite::Connection::open(&db_path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        for k in 0..3000 {
            tracing::error!(k, "burst");
        }
    });
    // 3000 events against a busy timeout of 5 s per batch: logging them only queued.
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    let stats = guard.error_log_stats();
    assert!(stats.dropped > 0, "the queue holds 1024: {stats:?}");
    holder.execute_batch("COMMIT").unwrap();
    let stats = guard.errors.as_ref().unwrap().drain(Duration::from_secs(30));
    assert_eq!(stats.written + stats.failed + stats.dropped, 3000, "{stats:?}");
    let stored = OpsDb::open(&db_path).unwrap().errors_since(0).unwrap();
    assert_eq!(stored, stats.written);
}
