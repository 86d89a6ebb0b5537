//! The notifier against real HTTP endpoints on 127.0.0.1: a receiver that records every
//! request, one that accepts and never answers, and a port nothing listens on.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;
use crate::testing::{Receiver, hanging_endpoint, refused_endpoint};

fn config(toml_text: &str) -> AlertsConfig {
    toml::from_str(toml_text).unwrap()
}

const MIN: i64 = 60_000_000_000;

#[test]
fn payloads_dedup_and_rate_limit_as_received_by_a_local_server() {
    let rx = Receiver::start();
    let cfg = config(&format!(
        r#"
        dedup_window_secs = 900
        max_per_hour = 2
        [[channels]]
        kind = "webhook"
        url = "{0}/hook"
        [[channels]]
        kind = "slack"
        url = "{0}/slack"
        [[channels]]
        kind = "telegram"
        token = "123:abc"
        chat_id = "-100200"
        api = "{0}"
        "#,
        rx.base
    ));
    let notifier = Notifier::start("live", &cfg).unwrap();
    let t0 = 1_700_000_000_000_000_000;
    let trip = || Alert::circuit_breaker("daily_loss", "equity down 3.1 % today").field("loss_pct", 3.1);
    assert_eq!(notifier.notify(trip().at(t0)), Outcome::Queued(3));
    assert_eq!(notifier.notify(trip().at(t0 + MIN)), Outcome::Duplicate);
    assert_eq!(notifier.notify(trip().at(t0 + 2 * MIN)), Outcome::Duplicate);
    assert_eq!(notifier.notify(Alert::error("broker", "HTTP 500").at(t0 + 3 * MIN)), Outcome::Queued(3));
    // Two sent in the last hour: the limit. A warning is held back, a critical alert is not.
    let stale = Alert::data_stale("1Day", "3 sessions behind").at(t0 + 4 * MIN);
    assert_eq!(notifier.notify(stale), Outcome::RateLimited);
    assert_eq!(notifier.notify(Alert::kill_switch(true, "HALT file").at(t0 + 5 * MIN)), Outcome::Queued(3));
    // After the window the breaker alert goes out again, with the copies it suppressed.
    assert_eq!(notifier.notify(trip().at(t0 + 16 * MIN)), Outcome::Queued(3));

    let stats = notifier.flush(Duration::from_secs(10));
    assert_eq!(
        stats,
        NotifierStats { queued: 12, sent: 12, failed: 0, dropped: 0, duplicates: 2, rate_limited: 1 }
    );
    let got = rx.wait_for(12);
    let on = |path: &str| -> Vec<Value> {
        got.iter().filter(|r| r.path == path).map(|r| r.body.clone()).collect()
    };

    // Each channel posts in order (one task per channel).
    let hook = on("/hook");
    assert_eq!(hook.len(), 4);
    assert_eq!(hook[0]["kind"], "circuit_breaker");
    assert_eq!(hook[0]["key"], "daily_loss");
    assert_eq!(hook[0]["severity"], "critical");
    assert_eq!(hook[0]["service"], "live");
    assert_eq!(hook[0]["fields"]["loss_pct"], 3.1);
    assert_eq!(hook[0]["time_ns"], t0);
    assert_eq!(hook[1]["kind"], "error");
    assert_eq!(hook[1]["key"], "broker");
    assert_eq!(hook[2]["kind"], "kill_switch");
    assert_eq!(hook[2]["held_back"], 1);
    assert_eq!(hook[3]["suppressed"], 2);

    let slack = on("/slack");
    assert_eq!(slack.len(), 4);
    assert_eq!(
        slack[0],
        serde_json::json!({"text": "[live] CRITICAL circuit breaker daily_loss tripped: equity down 3.1 % today"})
    );
    assert_eq!(
        slack[2]["text"],
        "[live] CRITICAL kill switch ON: HALT file (1 other alerts held back by the rate limit)"
    );
    assert_eq!(
        slack[3]["text"],
        "[live] CRITICAL circuit breaker daily_loss tripped: equity down 3.1 % today (2 similar suppressed)"
    );

    let telegram = on("/bot123:abc/sendMessage");
    assert_eq!(telegram.len(), 4);
    assert_eq!(telegram[1]["chat_id"], "-100200");
    assert_eq!(telegram[1]["text"], "[live] WARNING error in broker: HTTP 500");
}

#[test]
fn a_hanging_or_dead_endpoint_never_blocks_the_caller_or_the_other_channels() {
    let rx = Receiver::start();
    let cfg = config(&format!(
        r#"
        max_per_hour = 0
        timeout_secs = 1
        queue = 16
        [[channels]]
        kind = "webhook"
        url = "{}/hang"
        [[channels]]
        kind = "webhook"
        url = "{}/refused"
        [[channels]]
        kind = "slack"
        url = "{}/ok"
        "#,
        hanging_endpoint(),
        refused_endpoint(),
        rx.base
    ));
    let notifier = Notifier::start("research", &cfg).unwrap();
    let started = Instant::now();
    for k in 0..10 {
        assert_eq!(notifier.notify(Alert::error(&format!("component{k}"), "boom")), Outcome::Queued(3));
    }
    // One request to the hanging endpoint alone takes the 1 s timeout; ten calls blocking on
    // it would take ten. The calls only queue.
    assert!(started.elapsed() < Duration::from_millis(500), "notify blocked: {:?}", started.elapsed());
    // The healthy channel delivers everything while the hanging one is still stuck on its first.
    assert_eq!(rx.wait_for(10).len(), 10);
    let stats = notifier.stats();
    assert!(stats.sent >= 10, "{stats:?}");
    assert!(stats.sent + stats.failed < 30, "the hanging channel cannot have finished: {stats:?}");
    // The refused endpoint fails fast; its failures are counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    while notifier.stats().failed < 10 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(notifier.stats().failed >= 10, "{:?}", notifier.stats());
    let failure = notifier.last_failure().unwrap();
    assert!(failure.starts_with("alert to webhook: error sending request"), "{failure}");
    assert!(!failure.contains("127.0.0.1"), "no URL (it may hold a token): {failure}");
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_waiting() {
    let cfg = config(&format!(
        "max_per_hour = 0\ntimeout_secs = 5\nqueue = 1\n[[channels]]\nkind = \"webhook\"\nurl = \"{}/hang\"",
        hanging_endpoint()
    ));
    let notifier = Notifier::start("live", &cfg).unwrap();
    for k in 0..6 {
        notifier.notify(Alert::reconciliation(&format!("order-{k}"), "broker has no such order"));
    }
    // At most one in flight and one queued.
    let s = notifier.stats();
    assert_eq!(s.queued, 6);
    assert!(s.dropped >= 4, "{s:?}");
}

#[test]
fn daily_pnl_and_memory_alerts_carry_their_figures() {
    let pnl = Alert::daily_pnl(&DailyPnl {
        day: "2026-11-30".into(),
        equity: 10_250.0,
        pnl: 250.0,
        fills: 3,
        positions: 2,
    });
    assert_eq!(pnl.key, "2026-11-30");
    assert_eq!(pnl.severity, Severity::Info);
    assert_eq!(pnl.detail, "equity 10250.00, P&L +250.00 (+2.50 %), 3 fills, 2 positions");
    assert_eq!(pnl.fields["pnl_pct"], 2.5);
    let mem = Alert::memory_pressure("memory", 86.4, "MemAvailable 0.5 of 3.8 GiB");
    assert_eq!(mem.title, "memory at 86 %");
    assert_eq!(mem.fields["pct"], 86.4);
    // Without channels nothing is sent, but the gate still applies.
    let quiet = Notifier::disabled("research");
    assert_eq!(quiet.notify(mem.clone()), Outcome::Queued(0));
    assert_eq!(quiet.notify(mem), Outcome::Duplicate);
}
