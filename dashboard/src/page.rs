//! The HTML page, rendered on the server from a [`Snapshot`]. A tiny inline script swaps in a
//! fresh copy of the content (`/fragment`) every few seconds; without script the page is
//! complete and a reload refreshes it; `data-refreshes` on `<body>` counts the swaps. No external
//! resource of any kind: the Pi may be offline.

use std::fmt::Write as _;

use datasets::Timestamp;
use datasets::calendar::to_new_york;
use rust_decimal::Decimal;

use crate::model::{Checkpoint, EquityRange, Snapshot};
use crate::svg::{equity_svg, intraday_svg};

/// Seconds between refreshes by the page's script.
pub const REFRESH_SECS: u32 = 5;

/// Escapes text for HTML element content and attribute values (the project's one escape).
pub use datasets::html::escape_html as escape;

/// A UTC nanosecond time in New York, to the second.
pub fn ny_time(ns: i64) -> String {
    to_new_york(Timestamp(ns)).format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// Money with two decimals (the JSON keeps the exact figure).
fn money(d: Decimal) -> String {
    format!("{d:.2}")
}

fn signed(d: Decimal) -> String {
    if d > Decimal::ZERO { format!("+{}", money(d)) } else { money(d) }
}

fn class_of(d: Decimal) -> &'static str {
    if d > Decimal::ZERO {
        "up"
    } else if d < Decimal::ZERO {
        "down"
    } else {
        ""
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "—".to_string(), |v| escape(&v.to_string()))
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1rem 2rem;color:#1f2328}\
h1{font-size:1.3rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem}h3{font-size:.95rem;margin:1rem 0 .3rem}\
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}\
.num{text-align:right}.up{color:#1a7f37}.down{color:#cf222e}.bad{color:#fff;background:#cf222e;padding:0 .4rem;border-radius:3px}\
.ok{color:#fff;background:#1a7f37;padding:0 .4rem;border-radius:3px}.note{color:#666;font-size:.9em}\
.cards{display:flex;gap:1.5rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem;min-width:11rem}\
.card b{display:block;font-size:1.25rem}";

/// The whole page.
pub fn page(snap: &Snapshot) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>tradebot — live P&amp;L</title><style>{STYLE}</style></head>
<body><h1>tradebot — live P&amp;L</h1>
<div id="content">{content}</div>
<script>
(function() {{
  var refreshes = 0;
  function refresh() {{
    fetch('/fragment' + location.search, {{credentials: 'same-origin', cache: 'no-store'}})
      .then(function(r) {{ if (!r.ok) throw new Error(r.status); return r.text(); }})
      .then(function(html) {{
        document.getElementById('content').innerHTML = html;
        document.body.setAttribute('data-refreshes', ++refreshes);
      }})
      .catch(function(e) {{ var s = document.getElementById('refresh-state'); if (s) s.textContent = 'refresh failed: ' + e.message; }});
  }}
  setInterval(refresh, {ms});
}})();
</script></body></html>
"#,
        content = fragment(snap),
        ms = REFRESH_SECS * 1000
    )
}

/// The page's content, also served alone for the script's refresh.
pub fn fragment(snap: &Snapshot) -> String {
    let mut h = String::new();
    summary(&mut h, snap);
    equity(&mut h, snap);
    positions(&mut h, snap);
    strategies(&mut h, snap);
    orders(&mut h, snap);
    signals(&mut h, snap);
    errors(&mut h, snap);
    h
}

fn checkpoint_text(c: &Option<Checkpoint>) -> String {
    c.as_ref().map_or_else(
        || "never".to_string(),
        |c| format!("{} ({} {})", ny_time(c.time_ns), escape(&c.phase), escape(&c.detail)),
    )
}

fn summary(h: &mut String, snap: &Snapshot) {
    let s = &snap.summary;
    let _ = write!(
        h,
        r#"<p class="note">as of <span id="as-of">{}</span> · session <span id="session-day">{}</span> · refreshes every {REFRESH_SECS} s <span id="refresh-state"></span></p>"#,
        ny_time(s.as_of_ns),
        opt(&s.session_day)
    );
    let (equity, day) = s.equity.as_ref().map_or(("—".to_string(), String::new()), |p| {
        let when = match s.equity_at_ns {
            Some(t) => format!("at {}", ny_time(t)),
            None => format!("after {}", escape(&p.day)),
        };
        (money(p.equity), when)
    });
    let change = s
        .equity_change
        .map_or(String::new(), |c| format!(r#" <span class="{}">{}</span>"#, class_of(c), signed(c)));
    let _ = write!(
        h,
        r#"<div class="cards"><div class="card">Account equity <b id="equity-value">{equity}</b>{day}{change}</div>
<div class="card">Unrealised P&amp;L <b id="unrealised-total" class="{}">{}</b>positions at their last price</div>
<div class="card">Books: cash <b>{}</b>positions {}</div>"#,
        class_of(s.unrealised),
        signed(s.unrealised),
        money(s.book_cash),
        money(s.market_value)
    );
    let (switch_class, switch_text) = if s.kill_switch.on {
        ("bad", format!("ON — {}", opt(&s.kill_switch.reason)))
    } else {
        ("ok", "off".to_string())
    };
    let _ = write!(
        h,
        r#"<div class="card">Kill switch <b><span id="kill-switch" class="{switch_class}">{switch_text}</span></b></div>"#
    );
    let breakers = if s.breakers.is_empty() {
        r#"<span id="breakers" class="ok">none tripped</span>"#.to_string()
    } else {
        let list: Vec<String> = s
            .breakers
            .iter()
            .map(|b| format!("{} ({}, {})", escape(&b.name), escape(&b.reason), ny_time(b.tripped_ns)))
            .collect();
        format!(r#"<span id="breakers" class="bad">TRIPPED: {}</span>"#, list.join("; "))
    };
    let _ = write!(h, r#"<div class="card">Circuit breakers <b>{breakers}</b></div></div>"#);
    let running = if s.live_service_pids.is_empty() {
        "not running (no process holds live.db)".to_string()
    } else {
        format!(
            "running (pid {})",
            s.live_service_pids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        )
    };
    let trading = if s.trading { r#"<span class="ok">yes</span>"# } else { r#"<span class="bad">no</span>"# };
    let _ = write!(
        h,
        r#"<table id="service"><tr><th>Live service</th><td id="live-service">{running}</td></tr>
<tr><th>New orders allowed</th><td>{trading}</td></tr>
<tr><th>Reconciliation</th><td>{}</td></tr>
<tr><th>Last data refresh</th><td id="last-refresh">{}</td></tr>
<tr><th>Last checkpoint</th><td>{}</td></tr>
<tr><th>Errors, last 24 h</th><td>{}</td></tr></table>"#,
        s.reconcile.as_deref().map_or("never run".to_string(), escape),
        checkpoint_text(&s.last_data_refresh),
        checkpoint_text(&s.last_checkpoint),
        s.errors_24h
    );
    for note in &s.notes {
        let _ = write!(h, r#"<p class="note">{}</p>"#, escape(note));
    }
}

fn equity(h: &mut String, snap: &Snapshot) {
    let intraday = &snap.equity.intraday;
    let toggle: Vec<String> = [(EquityRange::Session, "session"), (EquityRange::All, "all kept")]
        .iter()
        .map(|&(range, text)| {
            if range == intraday.range {
                format!(r#"<b>{text}</b>"#)
            } else {
                format!(r#"<a href="?range={}">{text}</a>"#, range.as_str())
            }
        })
        .collect();
    let shown = match (&intraday.session, intraday.range) {
        (Some(day), EquityRange::Session) => format!("session {}", escape(day)),
        _ => "every snapshot kept".to_string(),
    };
    let _ = write!(
        h,
        r#"<h2>Equity</h2><p class="note" id="equity-range">intraday: {} · {shown}, {} points</p>{}"#,
        toggle.join(" · "),
        intraday.points.len(),
        intraday_svg(intraday)
    );
    if let Some(p) = intraday.points.last() {
        let u = p
            .unrealised
            .map_or("—".to_string(), |u| format!(r#"<span class="{}">{}</span>"#, class_of(u), signed(u)));
        let _ = write!(
            h,
            r#"<p id="equity-last">at {}: equity <b>{}</b> · cash {} · long {} · unrealised {u}</p>"#,
            ny_time(p.time_ns),
            money(p.equity),
            money(p.cash),
            money(p.long_value)
        );
    }
    let _ = write!(
        h,
        r#"<p class="note" id="intraday-source">{}</p><h3>Session closes</h3>{}<p class="note" id="equity-source">{}</p>"#,
        escape(&intraday.source),
        equity_svg(&snap.equity.points),
        escape(&snap.equity.source)
    );
}

fn positions(h: &mut String, snap: &Snapshot) {
    h.push_str(
        r#"<h2>Positions</h2><table id="positions"><tr><th>Strategy</th><th>Symbol</th><th class="num">Qty</th><th class="num">Avg cost</th><th class="num">Last price</th><th>Price seen</th><th class="num">Value</th><th class="num">Unrealised</th><th class="num">%</th></tr>"#,
    );
    for p in &snap.positions {
        let u = p.unrealised.unwrap_or_default();
        let seen = p.mark.as_ref().map_or("no price seen".to_string(), |m| {
            format!("{} ({})", ny_time(m.time_ns), escape(&m.source))
        });
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="symbol">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{seen}</td><td class="num">{}</td><td class="num {c}">{}</td><td class="num {c}">{}</td></tr>"#,
            escape(&p.strategy),
            escape(&p.symbol),
            p.qty,
            opt(&p.avg_cost.map(money)),
            opt(&p.mark.as_ref().map(|m| money(m.price))),
            opt(&p.market_value.map(money)),
            opt(&p.unrealised.map(signed)),
            opt(&p.unrealised_pct.map(signed)),
            c = class_of(u),
        );
    }
    if snap.positions.is_empty() {
        h.push_str(r#"<tr><td colspan="9">no positions</td></tr>"#);
    }
    h.push_str("</table>");
}

fn strategies(h: &mut String, snap: &Snapshot) {
    h.push_str(
        r#"<h2>Strategies</h2><table id="strategies"><tr><th>Strategy</th><th class="num">Allocation</th><th class="num">Cash</th><th class="num">Positions</th><th class="num">Value</th><th class="num">Unrealised</th><th>Last run</th><th>Session's runs</th></tr>"#,
    );
    for s in &snap.strategies {
        let last = s.last_run.as_ref().map_or("—".to_string(), |r| {
            let detail = if r.detail.is_empty() { String::new() } else { format!(": {}", escape(&r.detail)) };
            format!("{} {}{detail}", escape(&r.slot), escape(&r.status))
        });
        let runs: Vec<String> = s.runs_today.iter().map(|(k, n)| format!("{n} {}", escape(k))).collect();
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num {}">{}</td><td>{last}</td><td>{}</td></tr>"#,
            escape(&s.strategy),
            opt(&s.allocation),
            opt(&s.cash.map(money)),
            s.positions,
            money(s.market_value),
            class_of(s.unrealised),
            signed(s.unrealised),
            runs.join(", ")
        );
    }
    if snap.strategies.is_empty() {
        h.push_str(r#"<tr><td colspan="8">no strategy has run</td></tr>"#);
    }
    h.push_str("</table>");
}

fn orders(h: &mut String, snap: &Snapshot) {
    h.push_str(
        r#"<h2>Orders</h2><table id="orders"><tr><th>Created</th><th>Strategy</th><th>Symbol</th><th>Side</th><th class="num">Qty</th><th>State</th><th class="num">Filled</th><th class="num">Avg price</th><th>Detail</th></tr>"#,
    );
    for o in snap.orders.iter().rev() {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
            ny_time(o.created_ns),
            escape(&o.strategy),
            escape(&o.symbol),
            escape(&o.side),
            o.qty,
            escape(&o.state),
            o.filled_qty,
            opt(&o.avg_fill_price.map(money)),
            escape(&o.detail)
        );
    }
    if snap.orders.is_empty() {
        h.push_str(r#"<tr><td colspan="9">no orders this session</td></tr>"#);
    }
    h.push_str("</table>");
}

fn signals(h: &mut String, snap: &Snapshot) {
    h.push_str(
        r#"<h2>Signals</h2><table id="signals"><tr><th>Bar</th><th>Strategy</th><th>Symbol</th><th>Side</th><th class="num">Price</th><th>Action</th><th>Detail</th></tr>"#,
    );
    for s in snap.signals.iter().rev() {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{:.2}</td><td>{}</td><td>{}</td></tr>"#,
            ny_time(s.bar_ns),
            escape(&s.strategy),
            escape(&s.symbol),
            escape(&s.side),
            s.price,
            escape(&s.action),
            escape(&s.detail)
        );
    }
    if snap.signals.is_empty() {
        h.push_str(r#"<tr><td colspan="7">no signals this session</td></tr>"#);
    }
    let _ = write!(
        h,
        r#"</table><p class="note">{} gap candidates stored this session (not listed).</p>"#,
        snap.summary.gap_candidates
    );
}

fn errors(h: &mut String, snap: &Snapshot) {
    h.push_str(
        r#"<h2>Recent errors</h2><table id="errors"><tr><th>Time</th><th>Service</th><th>Component</th><th>Message</th></tr>"#,
    );
    for e in &snap.errors {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            ny_time(e.time_ns),
            escape(&e.service),
            escape(&e.component),
            escape(&e.message)
        );
    }
    if snap.errors.is_empty() {
        h.push_str(r#"<tr><td colspan="4">no errors logged</td></tr>"#);
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_formats_new_york_time() {
        assert_eq!(escape(r#"<b a="x">&'"#), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
        // 2025-12-31 14:30 UTC is 09:30 EST.
        assert_eq!(ny_time(1_767_191_400_000_000_000), "2025-12-31 09:30:00 EST");
    }
}
