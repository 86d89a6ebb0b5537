//! The equity curve as an inline SVG drawn on the server: no script library, no CDN.

use std::fmt::Write as _;

use rust_decimal::prelude::ToPrimitive;

use crate::model::EquityPoint;
use crate::page::escape;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
/// Room for the axis labels.
const LEFT: f64 = 78.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// The curve of `points` (oldest first), with the starting equity as a dashed baseline and the
/// range and first/last days labelled. Empty input gives a figure that says so.
pub fn equity_svg(points: &[EquityPoint]) -> String {
    let mut svg = format!(
        r##"<svg id="equity-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" style="max-width:900px" role="img" aria-label="equity curve">"##
    );
    let values: Vec<f64> = points.iter().map(|p| p.equity.to_f64().unwrap_or(0.0)).collect();
    let Some(first) = points.first() else {
        svg.push_str(
            r##"<text x="360" y="110" text-anchor="middle" fill="#888">no equity snapshot yet</text></svg>"##,
        );
        return svg;
    };
    let base = first.last_equity.to_f64().filter(|b| *b > 0.0).unwrap_or(values[0]);
    let (lo, hi) = values.iter().fold((base, base), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 1e-4).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        LEFT + if values.len() > 1 { plot_w * i as f64 / (values.len() - 1) as f64 } else { plot_w }
    };
    let y = |v: f64| TOP + plot_h * (hi - v) / (hi - lo);
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/><line x1="{LEFT}" x2="{}" y1="{by:.1}" y2="{by:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
        WIDTH - RIGHT,
        by = y(base)
    );
    for (v, anchor_y) in [(hi - pad, y(hi - pad) + 4.0), (lo + pad, y(lo + pad) + 4.0)] {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{anchor_y:.1}" text-anchor="end" font-size="11">{v:.2}</text>"##,
            LEFT - 6.0
        );
    }
    let last = points.len() - 1;
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
        HEIGHT - 8.0,
        escape(&first.day),
        WIDTH - RIGHT,
        HEIGHT - 8.0,
        escape(&points[last].day)
    );
    let up = values[last] >= base;
    let colour = if up { "#1a7f37" } else { "#cf222e" };
    let path: Vec<String> =
        values.iter().enumerate().map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v))).collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"##,
        path.join(" ")
    );
    for (i, (&v, p)) in values.iter().zip(points).enumerate() {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{} equity {}</title></circle>"##,
            x(i),
            y(v),
            escape(&p.day),
            p.equity
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
        assert!(equity_svg(&[]).contains("no equity snapshot yet"));
    }
}
