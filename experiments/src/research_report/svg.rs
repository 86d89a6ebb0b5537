//! Inline SVG line charts of equity curves for the HTML report: plain polylines and text, no
//! scripts and nothing to fetch, so the page renders offline.

use std::fmt::{self, Write as _};

use chrono::DateTime;

use super::{escape_html, ratio};

/// One line on a chart: a name (shown as the line's tooltip), `(UTC ns, value)` points in time
/// order and a CSS colour.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Label of the line.
    pub name: &'a str,
    /// `(UTC ns, value)` in time order; non-finite values are skipped.
    pub points: &'a [(i64, f64)],
    /// CSS colour of the line, e.g. "#1f77b4".
    pub colour: &'a str,
}

/// Space left of the plot for the y labels.
const LEFT: f64 = 56.0;
/// Space right of the plot.
const RIGHT: f64 = 12.0;
/// Space above the plot.
const TOP: f64 = 10.0;
/// Space below the plot for the dates.
const BOTTOM: f64 = 22.0;
/// Smallest chart drawn, so the plot area is never empty.
const MIN_SIZE: (u32, u32) = (160, 80);
/// Closest two y labels may be, in pixels, before the lesser one is dropped.
const LABEL_GAP: f64 = 12.0;

/// The plot area inside the margins and the data range it shows.
struct Frame {
    /// Left edge of the plot in SVG units.
    left: f64,
    /// Right edge.
    right: f64,
    /// Top edge.
    top: f64,
    /// Bottom edge.
    bottom: f64,
    /// Earliest time shown.
    t0: i64,
    /// Latest time shown.
    t1: i64,
    /// Value at the bottom edge.
    lo: f64,
    /// Value at the top edge.
    hi: f64,
}

impl Frame {
    /// Horizontal position of time `t`; the middle when all points share one time.
    fn x(&self, t: i64) -> f64 {
        let span = (i128::from(self.t1) - i128::from(self.t0)) as f64;
        let frac = if span > 0.0 { (i128::from(t) - i128::from(self.t0)) as f64 / span } else { 0.5 };
        self.clamp_x(self.left + frac * (self.right - self.left))
    }

    /// Vertical position of value `v` (larger values higher).
    fn y(&self, v: f64) -> f64 {
        let frac = (v - self.lo) / (self.hi - self.lo);
        let y = self.bottom - frac * (self.bottom - self.top);
        if y.is_finite() { y.clamp(self.top, self.bottom) } else { (self.top + self.bottom) / 2.0 }
    }

    /// `x` kept inside the plot, the middle if not finite.
    fn clamp_x(&self, x: f64) -> f64 {
        if x.is_finite() { x.clamp(self.left, self.right) } else { (self.left + self.right) / 2.0 }
    }
}

/// A line chart of `series` on a common time axis and value range, `width` × `height` SVG units.
///
/// The value range gets 5 % padding; the y axis is labelled with the minimum, the maximum and a
/// dashed 1.0 line when 1.0 is in range, the x axis with the first and last date (UTC). Each
/// series with at least one finite point becomes one polyline, reduced to at most about one point
/// per horizontal pixel (first, last, and the minimum and maximum of each bucket). A chart with no
/// finite points says "no data". The output never contains NaN or infinity.
pub fn equity_svg(series: &[Series<'_>], width: u32, height: u32) -> String {
    let (width, height) = (width.max(MIN_SIZE.0), height.max(MIN_SIZE.1));
    let mut svg = String::new();
    write_svg(&mut svg, series, f64::from(width), f64::from(height))
        .expect("writing to a String cannot fail");
    svg
}

/// Writes the whole chart into `svg`.
fn write_svg(svg: &mut String, series: &[Series<'_>], w: f64, h: f64) -> fmt::Result {
    let (left, right, top, bottom) = (LEFT, w - RIGHT, TOP, h - BOTTOM);
    let max_points = (right - left) as usize;
    let lines: Vec<(&Series<'_>, Vec<(i64, f64)>)> = series
        .iter()
        .map(|s| {
            let finite: Vec<(i64, f64)> = s.points.iter().copied().filter(|p| p.1.is_finite()).collect();
            (s, decimate(&finite, max_points))
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();

    write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="11" fill="#444">"##
    )?;
    write!(
        svg,
        r##"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#ccc"/>"##,
        right - left,
        bottom - top
    )?;

    let all = || lines.iter().flat_map(|(_, pts)| pts.iter());
    let (Some(t0), Some(t1)) = (all().map(|p| p.0).min(), all().map(|p| p.0).max()) else {
        write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">no data</text></svg>"#,
            (left + right) / 2.0,
            (top + bottom) / 2.0 + 4.0
        )?;
        return Ok(());
    };
    let vmin = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let vmax = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let pad = if vmax > vmin { (vmax - vmin) * 0.05 } else { (vmin.abs() * 0.05).max(0.05) };
    let frame = Frame { left, right, top, bottom, t0, t1, lo: vmin - pad, hi: vmax + pad };

    write_y_labels(svg, &frame, vmin, vmax)?;
    write_x_labels(svg, &frame, h)?;
    for (s, pts) in &lines {
        write_polyline(svg, &frame, s, pts)?;
    }
    svg.push_str("</svg>");
    Ok(())
}

/// The y labels: maximum, minimum and, when in range, a dashed 1.0 line with its label; a label
/// too close to one already drawn is left out (the line still is).
fn write_y_labels(svg: &mut String, f: &Frame, vmin: f64, vmax: f64) -> fmt::Result {
    let label_x = f.left - 4.0;
    let mut drawn: Vec<f64> = Vec::new();
    let mut label = |svg: &mut String, v: f64| -> fmt::Result {
        let y = f.y(v);
        if drawn.iter().all(|d| (d - y).abs() >= LABEL_GAP) {
            drawn.push(y);
            write!(
                svg,
                r#"<text x="{label_x:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                y + 4.0,
                axis_value(v)
            )?;
        }
        Ok(())
    };
    label(svg, vmax)?;
    label(svg, vmin)?;
    if f.lo <= 1.0 && 1.0 <= f.hi {
        let y = f.y(1.0);
        write!(
            svg,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
            f.left, f.right
        )?;
        label(svg, 1.0)?;
    }
    Ok(())
}

/// The first and last date under the plot (one date when they are the same day).
fn write_x_labels(svg: &mut String, f: &Frame, h: f64) -> fmt::Result {
    let y = h - 7.0;
    let (first, last) = (utc_date(f.t0), utc_date(f.t1));
    if first == last {
        let x = (f.left + f.right) / 2.0;
        return write!(svg, r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle">{first}</text>"#);
    }
    write!(svg, r#"<text x="{:.1}" y="{y:.1}" text-anchor="start">{first}</text>"#, f.left)?;
    write!(svg, r#"<text x="{:.1}" y="{y:.1}" text-anchor="end">{last}</text>"#, f.right)
}

/// One series as a polyline with its name as tooltip; a single point is drawn as a dot (a
/// zero-length line with round caps).
fn write_polyline(svg: &mut String, f: &Frame, s: &Series<'_>, pts: &[(i64, f64)]) -> fmt::Result {
    write!(
        svg,
        r#"<polyline fill="none" stroke="{}" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round" points=""#,
        escape_html(s.colour)
    )?;
    let repeat = if pts.len() == 1 { 2 } else { 1 };
    for (i, &(t, v)) in pts.iter().cycle().take(pts.len() * repeat).enumerate() {
        if i > 0 {
            svg.push(' ');
        }
        write!(svg, "{:.1},{:.1}", f.x(t), f.y(v))?;
    }
    write!(svg, r#""><title>{}</title></polyline>"#, escape_html(s.name))
}

/// At most `max_points` (at least 4) of `points`: all of them when they fit, else the first, the
/// last, and in between the minimum and maximum of equal-sized buckets, in their original order.
fn decimate(points: &[(i64, f64)], max_points: usize) -> Vec<(i64, f64)> {
    let max_points = max_points.max(4);
    if points.len() <= max_points {
        return points.to_vec();
    }
    let last = points.len() - 1;
    let inner = &points[1..last];
    let buckets = (max_points - 2) / 2;
    let mut out = Vec::with_capacity(max_points);
    out.push(points[0]);
    for b in 0..buckets {
        let chunk = &inner[b * inner.len() / buckets..(b + 1) * inner.len() / buckets];
        let by_value = |a: &(usize, &(i64, f64)), b: &(usize, &(i64, f64))| a.1.1.total_cmp(&b.1.1);
        let (Some((lo, _)), Some((hi, _))) =
            (chunk.iter().enumerate().min_by(by_value), chunk.iter().enumerate().max_by(by_value))
        else {
            continue;
        };
        out.push(chunk[lo.min(hi)]);
        if lo != hi {
            out.push(chunk[lo.max(hi)]);
        }
    }
    out.push(points[last]);
    out
}

/// An axis value: two decimals, no decimals from 1,000, scientific beyond a million.
fn axis_value(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{v:.2e}")
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        ratio(v)
    }
}

/// `ns` (UTC nanoseconds since the epoch) as `YYYY-MM-DD`.
fn utc_date(ns: i64) -> String {
    DateTime::from_timestamp_nanos(ns).format("%Y-%m-%d").to_string()
}
