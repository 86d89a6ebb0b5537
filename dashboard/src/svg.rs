//! The equity curves — intraday and each session's close — as inline SVG drawn on the server:
//! no script library, no CDN.

use std::fmt::Write as _;

use datasets::{Timestamp, calendar};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::model::{EquityPoint, EquityRange, IntradayCurve};
use crate::page::{escape, ny_time};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
/// Room for the axis labels.
const LEFT: f64 = 78.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
/// Above this many points a curve is drawn without a marker (and tooltip) per point.
const MARKERS_UP_TO: usize = 200;

/// One point of a curve.
struct Vertex {
    /// Across the plot, 0 (left) to 1 (right).
    x: f64,
    /// Equity.
    value: f64,
    /// Its tooltip.
    title: String,
}

/// A line chart: `vertices` over a dashed baseline, with the range and the two ends labelled.
struct Chart<'a> {
    /// The `<svg>` element's id.
    id: &'a str,
    /// Its accessible name.
    label: &'a str,
    /// What it says without points.
    empty: &'a str,
    /// The starting equity: the dashed line, and green above it, red below.
    base: f64,
    vertices: Vec<Vertex>,
    /// Labels under the left and right ends.
    ends: (String, String),
    /// Thin vertical lines (x in 0..=1), e.g. where a session starts.
    dividers: Vec<f64>,
}

fn money(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Evenly spaced x of point `i` of `n` (a single point at the right end).
fn spaced(i: usize, n: usize) -> f64 {
    if n > 1 { i as f64 / (n - 1) as f64 } else { 1.0 }
}

/// The daily curve of `points` (oldest first): one point per session's close, evenly spaced,
/// the first day's previous close as the baseline.
pub fn equity_svg(points: &[EquityPoint]) -> String {
    let n = points.len();
    let vertices = points
        .iter()
        .enumerate()
        .map(|(i, p)| Vertex {
            x: spaced(i, n),
            value: money(p.equity),
            title: format!("{} equity {}", p.day, p.equity),
        })
        .collect();
    let first = points.first();
    draw(&Chart {
        id: "equity-daily",
        label: "equity after each session",
        empty: "no daily equity snapshot yet",
        base: first.map_or(0.0, |p| money(p.last_equity)),
        vertices,
        ends: (
            first.map_or(String::new(), |p| p.day.clone()),
            points.last().map_or(String::new(), |p| p.day.clone()),
        ),
        dividers: Vec::new(),
    })
}

/// The intraday curve: for one session on its clock (open at the left, close at the right, so
/// the line grows through the day), for every snapshot kept evenly spaced with a divider where
/// each session starts. The baseline is the previous close's equity.
pub fn intraday_svg(curve: &IntradayCurve) -> String {
    let points = &curve.points;
    let session = curve
        .session
        .as_deref()
        .and_then(|d| d.parse().ok())
        .and_then(calendar::session)
        .filter(|_| curve.range == EquityRange::Session);
    let day = |t: i64| calendar::session_date(Timestamp(t));
    let x_of = |i: usize, t: i64| match &session {
        Some(s) => ((t - s.open.0) as f64 / (s.close.0 - s.open.0) as f64).clamp(0.0, 1.0),
        None => spaced(i, points.len()),
    };
    let vertices = points
        .iter()
        .enumerate()
        .map(|(i, p)| Vertex {
            x: x_of(i, p.time_ns),
            value: money(p.equity),
            title: format!("{} equity {} ({})", ny_time(p.time_ns), p.equity, p.source),
        })
        .collect();
    let hhmm = |t: Timestamp| calendar::to_new_york(t).format("%H:%M").to_string();
    let ends = match (&session, points.first(), points.last()) {
        (Some(s), _, _) => (format!("{} {}", s.date, hhmm(s.open)), hhmm(s.close)),
        (None, Some(a), Some(b)) => {
            (ny_time(a.time_ns)[..16].to_string(), ny_time(b.time_ns)[..16].to_string())
        }
        _ => (String::new(), String::new()),
    };
    let dividers = match session {
        Some(_) => Vec::new(),
        None => (1..points.len())
            .filter(|&i| day(points[i].time_ns) != day(points[i - 1].time_ns))
            .map(|i| spaced(i, points.len()))
            .collect(),
    };
    draw(&Chart {
        id: "equity-intraday",
        label: "intraday equity",
        empty: "no intraday equity snapshot yet",
        base: points.first().map_or(0.0, |p| money(p.last_equity)),
        vertices,
        ends,
        dividers,
    })
}

fn draw(c: &Chart<'_>) -> String {
    let mut svg = format!(
        r##"<svg id="{}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" style="max-width:900px" role="img" aria-label="{}">"##,
        c.id, c.label
    );
    let Some(first) = c.vertices.first() else {
        let _ = write!(
            svg,
            r##"<text x="360" y="110" text-anchor="middle" fill="#888">{}</text></svg>"##,
            c.empty
        );
        return svg;
    };
    let base = if c.base > 0.0 { c.base } else { first.value };
    let (lo, hi) = c.vertices.iter().fold((base, base), |(lo, hi), v| (lo.min(v.value), hi.max(v.value)));
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 1e-4).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |f: f64| LEFT + plot_w * f;
    let y = |v: f64| TOP + plot_h * (hi - v) / (hi - lo);
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/><line x1="{LEFT}" x2="{}" y1="{by:.1}" y2="{by:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
        WIDTH - RIGHT,
        by = y(base)
    );
    for &d in &c.dividers {
        let _ = write!(
            svg,
            r##"<line class="divider" x1="{dx:.1}" x2="{dx:.1}" y1="{TOP}" y2="{}" stroke="#e4e4e4"/>"##,
            TOP + plot_h,
            dx = x(d)
        );
    }
    for (v, anchor_y) in [(hi - pad, y(hi - pad) + 4.0), (lo + pad, y(lo + pad) + 4.0)] {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{anchor_y:.1}" text-anchor="end" font-size="11">{v:.2}</text>"##,
            LEFT - 6.0
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
        HEIGHT - 8.0,
        escape(&c.ends.0),
        WIDTH - RIGHT,
        HEIGHT - 8.0,
        escape(&c.ends.1)
    );
    let last = &c.vertices[c.vertices.len() - 1];
    let colour = if last.value >= base { "#1a7f37" } else { "#cf222e" };
    let path: Vec<String> = c.vertices.iter().map(|v| format!("{:.1},{:.1}", x(v.x), y(v.value))).collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"##,
        path.join(" ")
    );
    let marked = if c.vertices.len() <= MARKERS_UP_TO { &c.vertices[..] } else { std::slice::from_ref(last) };
    for v in marked {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"##,
            x(v.x),
            y(v.value),
            escape(&v.title)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    fn point(day: &str, equity: i64, last: i64) -> EquityPoint {
        EquityPoint { day: day.into(), equity: Decimal::from(equity), last_equity: Decimal::from(last) }
    }

    #[test]
    fn draws_one_vertex_per_point_scaled_into_the_plot() {
        let svg = equity_svg(&[point("2025-12-30", 100_500, 100_000), point("2025-12-31", 99_000, 100_500)]);
        let points = svg.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        let vertices: Vec<(f64, f64)> = points
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(vertices.len(), 2);
        assert_eq!(vertices[0].0, LEFT);
        assert_eq!(vertices[1].0, WIDTH - RIGHT);
        // Higher equity is higher on the page (smaller y), and both lie inside the plot.
        assert!(vertices[0].1 < vertices[1].1);
        assert!(vertices.iter().all(|&(_, y)| y > TOP && y < HEIGHT - BOTTOM));
        assert!(svg.contains("#cf222e"), "ended below the starting equity: red");
        assert!(svg.contains("2025-12-30 equity 100500") && svg.contains(">2025-12-31<"));
        assert!(equity_svg(&[]).contains("no daily equity snapshot yet"));
    }
}
