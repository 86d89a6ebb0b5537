//! Inline SVG line charts for the HTML report: labelled axes with round ticks, an optional log
//! scale, a shaded span (the in-sample stage), event markers, filled areas (drawdowns) and,
//! for bars shorter than a day, an x axis that skips the nights and weekends between sessions.
//! Plain SVG and text, nothing fetched; the page's script (when JavaScript is on) reads the
//! `data-x`/`data-v` attributes of each line for hover tooltips.

use std::fmt::{self, Write as _};

use chrono::{DateTime, Datelike, NaiveDate};

use super::escape_html;

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400_000_000_000;
/// Space left of the plot for the y tick labels and the y axis label.
const LEFT: f64 = 64.0;
/// Space right of the plot.
const RIGHT: f64 = 14.0;
/// Space above the plot, for the labels of the shaded span.
const TOP: f64 = 18.0;
/// Space below the plot for the x tick labels and the x axis label.
const BOTTOM: f64 = 44.0;
/// Smallest chart drawn, so the plot area is never empty.
const MIN_SIZE: (u32, u32) = (200, 100);
/// Font size of the tick labels in SVG units.
const FONT: f64 = 14.0;

/// One line on a chart.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Label of the line (its tooltip and its legend entry).
    pub name: &'a str,
    /// `(x, value)` in x order: UTC ns on a time axis, a count on a count axis; non-finite
    /// values are skipped.
    pub points: &'a [(i64, f64)],
    /// CSS colour of the line, e.g. "#0072b2".
    pub colour: &'a str,
    /// Drawn dashed (benchmarks), so lines differ by more than colour.
    pub dashed: bool,
    /// The area between the line and zero is filled (drawdowns).
    pub area: bool,
}

/// What the x values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// UTC nanoseconds, labelled with dates.
    Time,
    /// A count (generations), labelled with integers.
    Count,
}

/// How values are printed on the y axis and in tooltips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YFormat {
    /// A plain number ("1.25").
    Number,
    /// A fraction as a percentage ("-12 %").
    Percent,
}

/// A chart: its size, series, axes and decorations.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// Width in SVG units.
    pub width: u32,
    /// Height in SVG units.
    pub height: u32,
    /// The lines.
    pub series: &'a [Series<'a>],
    /// Label under the x axis.
    pub x_label: &'a str,
    /// Label along the y axis.
    pub y_label: &'a str,
    /// What the x values are.
    pub x_axis: XAxis,
    /// How values print.
    pub y_format: YFormat,
    /// A logarithmic y axis (values must be positive; others are skipped).
    pub log: bool,
    /// A span of x shaded and labelled (the in-sample stage).
    pub shade: Option<(i64, i64, &'a str)>,
    /// A dashed horizontal reference line (1.0 for growth, 0 for a Sharpe ratio).
    pub reference: Option<f64>,
    /// Vertical markers with a one-letter label (GA events).
    pub markers: &'a [(i64, &'a str)],
}

impl<'a> Chart<'a> {
    /// A linear chart of `series` over time, `width` × `height`, with axis labels.
    pub fn new(series: &'a [Series<'a>], width: u32, height: u32, y_label: &'a str) -> Self {
        Chart {
            width,
            height,
            series,
            x_label: "date (UTC)",
            y_label,
            x_axis: XAxis::Time,
            y_format: YFormat::Number,
            log: false,
            shade: None,
            reference: None,
            markers: &[],
        }
    }
}

/// Maps x values to horizontal positions: linear in the value, or — for intraday bars — by the
/// rank of the value among every distinct x of the chart, so the gaps between sessions take no
/// room.
enum XScale {
    /// Linear between the first and the last x.
    Linear { x0: i64, x1: i64 },
    /// By rank among these sorted distinct values.
    Ordinal(Vec<i64>),
}

impl XScale {
    /// The fraction of the plot width at `x`.
    fn frac(&self, x: i64) -> f64 {
        match self {
            XScale::Linear { x0, x1 } => {
                let span = (i128::from(*x1) - i128::from(*x0)) as f64;
                if span > 0.0 { (i128::from(x) - i128::from(*x0)) as f64 / span } else { 0.5 }
            }
            XScale::Ordinal(xs) => {
                if xs.len() < 2 {
                    return 0.5;
                }
                let i = xs.partition_point(|&v| v < x).min(xs.len() - 1);
                i as f64 / (xs.len() - 1) as f64
            }
        }
    }
}

/// The plot area inside the margins and the data range it shows.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    xs: XScale,
    lo: f64,
    hi: f64,
    log: bool,
}

impl Frame {
    /// Horizontal position of `x`.
    fn x(&self, x: i64) -> f64 {
        let px = self.left + self.xs.frac(x) * (self.right - self.left);
        if px.is_finite() { px.clamp(self.left, self.right) } else { (self.left + self.right) / 2.0 }
    }

    /// Vertical position of value `v` (larger values higher).
    fn y(&self, v: f64) -> f64 {
        let (v, lo, hi) = if self.log { (v.ln(), self.lo.ln(), self.hi.ln()) } else { (v, self.lo, self.hi) };
        let frac = (v - lo) / (hi - lo);
        let y = self.bottom - frac * (self.bottom - self.top);
        if y.is_finite() { y.clamp(self.top, self.bottom) } else { (self.top + self.bottom) / 2.0 }
    }
}

/// The chart as an `<svg>` element. Axes carry round ticks and a label each (`class="axis-label"`);
/// every series with a finite point becomes a polyline reduced to about one point per two
/// horizontal units (keeping each bucket's extremes), with `data-x`/`data-v` for tooltips. A
/// chart with no finite point says "no data". The output never contains NaN or infinity.
pub fn chart_svg(c: &Chart<'_>) -> String {
    let mut svg = String::new();
    write_chart(&mut svg, c).expect("writing to a String cannot fail");
    svg
}

/// Writes the whole chart into `svg`.
fn write_chart(svg: &mut String, c: &Chart<'_>) -> fmt::Result {
    let (w, h) = (f64::from(c.width.max(MIN_SIZE.0)), f64::from(c.height.max(MIN_SIZE.1)));
    let (left, right, top, bottom) = (LEFT, w - RIGHT, TOP, h - BOTTOM);
    let max_points = ((right - left) / 2.0) as usize;
    let usable = |v: f64| v.is_finite() && (!c.log || v > 0.0);
    let lines: Vec<(&Series<'_>, Vec<(i64, f64)>)> = c
        .series
        .iter()
        .map(|s| {
            let kept: Vec<(i64, f64)> = s.points.iter().copied().filter(|p| usable(p.1)).collect();
            (s, kept)
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    let intraday = c.x_axis == XAxis::Time && lines.iter().any(|(_, pts)| is_intraday(pts));
    let unit = match (c.x_axis, intraday) {
        (XAxis::Count, _) => "n",
        (XAxis::Time, true) => "min",
        (XAxis::Time, false) => "day",
    };
    write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="{FONT}" fill="#333" role="img" aria-label="{}" data-x="{unit}" data-fmt="{}">"##,
        escape_html(c.y_label),
        match c.y_format {
            YFormat::Number => "n",
            YFormat::Percent => "pct",
        }
    )?;
    write_axis_labels(svg, c, (left, right, top, bottom), h)?;

    let all = || lines.iter().flat_map(|(_, pts)| pts.iter());
    let (Some(x0), Some(x1)) = (all().map(|p| p.0).min(), all().map(|p| p.0).max()) else {
        write!(
            svg,
            r##"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#ccc"/><text x="{:.1}" y="{:.1}" text-anchor="middle">no data</text></svg>"##,
            right - left,
            bottom - top,
            (left + right) / 2.0,
            (top + bottom) / 2.0 + 4.0
        )?;
        return Ok(());
    };
    let mut vmin = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let mut vmax = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if let Some(r) = c.reference.filter(|r| usable(*r)) {
        vmin = vmin.min(r);
        vmax = vmax.max(r);
    }
    if lines.iter().any(|(s, _)| s.area) {
        vmax = vmax.max(0.0);
    }
    // About one tick per 40 units of height.
    let target = (((bottom - top) / 40.0) as usize).clamp(3, 6);
    let ticks = if c.log { log_ticks(vmin, vmax) } else { nice_ticks(vmin, vmax, target) };
    let (lo, hi) = match (ticks.first(), ticks.last()) {
        (Some(&a), Some(&b)) if b > a => (a.min(vmin), b.max(vmax)),
        _ if c.log => (vmin / 1.1, vmax * 1.1),
        _ => (vmin - 0.5, vmax + 0.5),
    };
    let xs = if intraday {
        let mut all_x: Vec<i64> = all().map(|p| p.0).collect();
        all_x.sort_unstable();
        all_x.dedup();
        XScale::Ordinal(all_x)
    } else {
        XScale::Linear { x0, x1 }
    };
    let frame = Frame { left, right, top, bottom, xs, lo, hi, log: c.log };

    if let Some((a, b, label)) = c.shade {
        let (xa, xb) = (frame.x(a.max(x0)), frame.x(b.min(x1)));
        if xb > xa {
            // The span's label above the plot (never over the data), and "out of sample" after it.
            let small = FONT - 2.0;
            write!(
                svg,
                r##"<rect class="shade" x="{xa:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="#eef0f4"/><text x="{:.1}" y="{:.1}" fill="#555" font-size="{small:.0}">{}</text>"##,
                xb - xa,
                bottom - top,
                xa + 2.0,
                top - 4.0,
                escape_html(label)
            )?;
            if right - xb > 60.0 {
                write!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" fill="#555" font-size="{small:.0}">out of sample</text>"##,
                    xb + 3.0,
                    top - 4.0
                )?;
            }
        }
    }
    write_y_ticks(svg, &frame, &ticks, c.y_format)?;
    write_x_ticks(svg, &frame, c.x_axis, intraday, x0, x1)?;
    if let Some(r) = c.reference.filter(|r| usable(*r)) {
        let y = frame.y(r);
        write!(
            svg,
            r##"<line x1="{left:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}" stroke="#777" stroke-dasharray="4 3"/>"##
        )?;
    }
    // Markers at the same x share one line: "S+I".
    let mut markers: Vec<(i64, String)> = Vec::new();
    for &(x, label) in c.markers {
        match markers.last_mut() {
            Some((at, text)) if *at == x => {
                text.push('+');
                text.push_str(label);
            }
            _ => markers.push((x, label.to_string())),
        }
    }
    for (x, label) in markers {
        let px = frame.x(x);
        // Labels right of the line, left of it near the right edge.
        let (tx, anchor) = if px > right - 40.0 { (px - 3.0, "end") } else { (px + 3.0, "start") };
        write!(
            svg,
            r##"<line x1="{px:.1}" y1="{top:.1}" x2="{px:.1}" y2="{bottom:.1}" stroke="#999" stroke-dasharray="3 3"/><text x="{tx:.1}" y="{:.1}" fill="#555" font-size="{:.0}" text-anchor="{anchor}">{}</text>"##,
            top + FONT,
            FONT - 1.0,
            escape_html(&label)
        )?;
    }
    for (s, pts) in &lines {
        write_line(svg, &frame, s, &decimate(pts, max_points), unit, c.y_format)?;
    }
    write!(
        svg,
        r##"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#bbb"/></svg>"##,
        right - left,
        bottom - top
    )
}

/// Whether the points are closer than a day apart (intraday bars), judged by the median gap.
fn is_intraday(pts: &[(i64, f64)]) -> bool {
    let mut gaps: Vec<i64> =
        pts.windows(2).map(|w| w[1].0.saturating_sub(w[0].0)).filter(|g| *g > 0).collect();
    if gaps.is_empty() {
        return false;
    }
    let mid = gaps.len() / 2;
    *gaps.select_nth_unstable(mid).1 < DAY_NS / 2
}

/// The x label under the ticks and the y label rotated along the left edge.
fn write_axis_labels(
    svg: &mut String,
    c: &Chart<'_>,
    (left, right, top, bottom): (f64, f64, f64, f64),
    h: f64,
) -> fmt::Result {
    write!(
        svg,
        r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (left + right) / 2.0,
        h - 4.0,
        escape_html(c.x_label)
    )?;
    let (x, y) = (FONT + 1.0, (top + bottom) / 2.0);
    write!(
        svg,
        r#"<text class="axis-label" x="{x:.1}" y="{y:.1}" text-anchor="middle" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"#,
        escape_html(c.y_label)
    )
}

/// Horizontal grid lines and labels at the y ticks.
fn write_y_ticks(svg: &mut String, f: &Frame, ticks: &[f64], format: YFormat) -> fmt::Result {
    let step = ticks.windows(2).map(|w| (w[1] - w[0]).abs()).fold(f64::INFINITY, f64::min);
    for &v in ticks {
        if v < f.lo || v > f.hi {
            continue;
        }
        let y = f.y(v);
        write!(
            svg,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            f.left,
            f.right,
            f.left - 5.0,
            y + FONT / 3.0,
            tick_label(v, if f.log { v } else { step }, format)
        )?;
    }
    Ok(())
}

/// Vertical ticks and labels: dates on a time axis (years, months or days as the span needs;
/// session dates on an intraday axis), integers on a count axis.
fn write_x_ticks(svg: &mut String, f: &Frame, axis: XAxis, intraday: bool, x0: i64, x1: i64) -> fmt::Result {
    let width = f.right - f.left;
    let max_ticks = ((width / 80.0) as usize).max(2);
    let ticks: Vec<(i64, String)> = match (axis, &f.xs) {
        (XAxis::Count, _) => nice_ticks(x0 as f64, x1 as f64, max_ticks)
            .into_iter()
            .filter(|v| v.fract() == 0.0 && *v >= x0 as f64 && *v <= x1 as f64)
            .map(|v| (v as i64, format!("{v:.0}")))
            .collect(),
        (XAxis::Time, XScale::Ordinal(xs)) if intraday => session_ticks(xs, max_ticks),
        _ => time_ticks(x0, x1, max_ticks),
    };
    let y = f.bottom;
    for (x, label) in ticks {
        let px = f.x(x);
        write!(
            svg,
            r##"<line x1="{px:.1}" y1="{y:.1}" x2="{px:.1}" y2="{:.1}" stroke="#999"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            y + 4.0,
            y + 4.0 + FONT
        )?;
    }
    Ok(())
}

/// Ticks at the first bar of evenly spaced sessions, labelled with the session's date.
fn session_ticks(xs: &[i64], max_ticks: usize) -> Vec<(i64, String)> {
    let starts: Vec<i64> = xs
        .iter()
        .enumerate()
        .filter(|&(i, &x)| i == 0 || x.div_euclid(DAY_NS) != xs[i - 1].div_euclid(DAY_NS))
        .map(|(_, &x)| x)
        .collect();
    let every = starts.len().div_ceil(max_ticks).max(1);
    starts
        .iter()
        .step_by(every)
        .map(|&x| (x, DateTime::from_timestamp_nanos(x).format("%m-%d").to_string()))
        .collect()
}

/// Round date ticks between `x0` and `x1`: whole years, else 1, 2, 3 or 6 months, else days.
fn time_ticks(x0: i64, x1: i64, max_ticks: usize) -> Vec<(i64, String)> {
    let (d0, d1) =
        (DateTime::from_timestamp_nanos(x0).date_naive(), DateTime::from_timestamp_nanos(x1).date_naive());
    let ns = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_nanos_opt().unwrap_or(0));
    let months = (d1.year() - d0.year()) * 12 + d1.month() as i32 - d0.month() as i32;
    if months >= 48 {
        let years = d1.year() - d0.year();
        let step = [1, 2, 5, 10, 20, 50].into_iter().find(|s| years / s < max_ticks as i32).unwrap_or(100);
        return (d0.year() + 1..=d1.year())
            .filter(|y| y % step == 0)
            .filter_map(|y| Some((ns(NaiveDate::from_ymd_opt(y, 1, 1)?)?, y.to_string())))
            .collect();
    }
    if months >= 2 {
        let step = [1, 2, 3, 6, 12].into_iter().find(|s| months / s < max_ticks as i32).unwrap_or(12);
        let mut out = Vec::new();
        let (mut y, mut m) = (d0.year(), d0.month());
        loop {
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let Some(d) = NaiveDate::from_ymd_opt(y, m, 1) else { break };
            if d > d1 {
                break;
            }
            if (m as i32 - 1) % step == 0 {
                let label = if m == 1 { y.to_string() } else { d.format("%b").to_string() };
                out.extend(ns(d).map(|t| (t, label)));
            }
        }
        return out;
    }
    let days = (d1 - d0).num_days().max(1);
    let step = [1, 2, 5, 7, 14].into_iter().find(|s| days / s < max_ticks as i64).unwrap_or(30);
    (0..=days)
        .step_by(step as usize)
        .filter_map(|k| {
            let d = d0 + chrono::Days::new(k as u64);
            Some((ns(d)?, d.format("%m-%d").to_string()))
        })
        .filter(|(t, _)| *t >= x0 && *t <= x1)
        .collect()
}

/// One series: its filled area (when asked) and its polyline, with tooltip data.
fn write_line(
    svg: &mut String,
    f: &Frame,
    s: &Series<'_>,
    pts: &[(i64, f64)],
    unit: &str,
    format: YFormat,
) -> fmt::Result {
    let colour = escape_html(s.colour);
    let coords: Vec<(f64, f64)> = pts.iter().map(|&(x, v)| (f.x(x), f.y(v))).collect();
    if s.area && coords.len() > 1 {
        let base = f.y(0.0);
        svg.push_str(r#"<polygon stroke="none" fill-opacity="0.25" fill=""#);
        svg.push_str(&colour);
        svg.push_str(r#"" points=""#);
        write!(svg, "{:.1},{base:.1}", coords[0].0)?;
        for (x, y) in &coords {
            write!(svg, " {x:.1},{y:.1}")?;
        }
        write!(svg, r#" {:.1},{base:.1}"/>"#, coords[coords.len() - 1].0)?;
    }
    write!(
        svg,
        r#"<polyline fill="none" stroke="{colour}" stroke-width="1.6" stroke-linejoin="round"{} points=""#,
        if s.dashed { r#" stroke-dasharray="5 3""# } else { "" }
    )?;
    let repeat = if coords.len() == 1 { 2 } else { 1 };
    for (i, (x, y)) in coords.iter().cycle().take(coords.len() * repeat).enumerate() {
        if i > 0 {
            svg.push(' ');
        }
        write!(svg, "{x:.1},{y:.1}")?;
    }
    svg.push_str(r#"" data-x=""#);
    for (i, &(x, _)) in pts.iter().enumerate() {
        if i > 0 {
            svg.push(' ');
        }
        let k = match unit {
            "day" => x.div_euclid(DAY_NS),
            "min" => x.div_euclid(60_000_000_000),
            _ => x,
        };
        write!(svg, "{k}")?;
    }
    svg.push_str(r#"" data-v=""#);
    for (i, &(_, v)) in pts.iter().enumerate() {
        if i > 0 {
            svg.push(' ');
        }
        svg.push_str(&significant(if format == YFormat::Percent { v * 100.0 } else { v }));
    }
    write!(svg, r#""><title>{}</title></polyline>"#, escape_html(s.name))
}

/// `v` with four significant digits, compact ("1.234", "-12.35", "0.0001234").
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A tick label for `v` on an axis whose ticks are `step` apart: as few decimals as the step
/// needs.
fn tick_label(v: f64, step: f64, format: YFormat) -> String {
    let (v, step) = if format == YFormat::Percent { (v * 100.0, step * 100.0) } else { (v, step) };
    let decimals =
        if step.is_finite() && step > 0.0 { (-step.log10().floor()).clamp(0.0, 6.0) as usize } else { 2 };
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    let s = if v.abs() >= 1e6 { format!("{v:.1e}") } else { format!("{v:.decimals$}") };
    let s = s
        .strip_prefix('-')
        .filter(|r| r.chars().all(|c| c == '0' || c == '.'))
        .map_or(s.clone(), str::to_string);
    if format == YFormat::Percent { format!("{s} %") } else { s }
}

/// Round ticks (steps of 1, 2 or 5 × 10ᵏ) covering `lo..=hi`, about `target` of them.
fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    let (lo, hi) =
        if hi > lo { (lo, hi) } else { (lo - lo.abs().max(1.0) * 0.1, hi + hi.abs().max(1.0) * 0.1) };
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    if !(step.is_finite() && step > 0.0) {
        return Vec::new();
    }
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    if last - first > 50.0 {
        return Vec::new();
    }
    (0..=(last - first) as i64).map(|k| (first + k as f64) * step).collect()
}

/// Ticks for a log axis over `lo..=hi` (both positive): 1, 2, 5 × 10ᵏ when the range spans more
/// than a factor of three, else round linear ticks.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi.is_finite()) {
        return Vec::new();
    }
    if hi / lo < 3.0 {
        return nice_ticks(lo, hi, 5).into_iter().filter(|v| *v > 0.0).collect();
    }
    let mut out = Vec::new();
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for k in k0..=k1 {
        for m in [1.0, 2.0, 5.0] {
            out.push(m * 10f64.powi(k));
        }
    }
    let first = out.iter().rposition(|v| *v <= lo).unwrap_or(0);
    let last = out.iter().position(|v| *v >= hi).unwrap_or(out.len() - 1);
    out[first..=last].to_vec()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let close = |got: Vec<f64>, want: &[f64]| {
            assert_eq!(got.len(), want.len(), "{got:?}");
            assert!(got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{got:?}");
        };
        close(nice_ticks(0.93, 1.41, 5), &[0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]);
        close(nice_ticks(-0.27, 0.0, 5), &[-0.3, -0.2, -0.1, 0.0]);
        assert_eq!(log_ticks(0.8, 7.0), [0.5, 1.0, 2.0, 5.0, 10.0]);
        assert_eq!(tick_label(-0.1, 0.1, YFormat::Percent), "-10 %");
        assert_eq!(tick_label(1.25, 0.05, YFormat::Number), "1.25");
        assert_eq!(tick_label(-0.0, 0.5, YFormat::Number), "0.0");
        assert_eq!(significant(1234.5678), "1235");
        assert_eq!(significant(0.012345), "0.01235");
        assert_eq!(significant(-2.5), "-2.5");
    }

    #[test]
    fn time_ticks_pick_years_months_or_days() {
        let ns = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_nanos_opt()
                .unwrap()
        };
        let years: Vec<String> =
            time_ticks(ns(2014, 1, 2), ns(2023, 12, 29), 8).into_iter().map(|t| t.1).collect();
        assert_eq!(years, ["2016", "2018", "2020", "2022"]);
        let months: Vec<String> =
            time_ticks(ns(2021, 1, 4), ns(2021, 12, 30), 8).into_iter().map(|t| t.1).collect();
        assert_eq!(months, ["Mar", "May", "Jul", "Sep", "Nov"]);
        let days: Vec<String> =
            time_ticks(ns(2021, 1, 4), ns(2021, 1, 20), 6).into_iter().map(|t| t.1).collect();
        assert_eq!(days, ["01-04", "01-09", "01-14", "01-19"]);
    }

    #[test]
    fn intraday_axes_skip_the_gaps_between_sessions() {
        // Two sessions of three minute bars a day apart: ordinal positions, evenly spaced.
        let min = 60_000_000_000;
        let day0 = 1_609_770_600 * 1_000_000_000; // 2021-01-04 14:30 UTC
        let pts: Vec<(i64, f64)> = [0, 1, 2]
            .iter()
            .map(|&k| (day0 + k * min, 1.0 + k as f64))
            .chain([0, 1, 2].iter().map(|&k| (day0 + DAY_NS + k * min, 2.0 + k as f64)))
            .collect();
        let series = [Series { name: "x", points: &pts, colour: "#000", dashed: false, area: false }];
        let svg = chart_svg(&Chart::new(&series, 400, 200, "equity"));
        let start = svg.find("points=\"").unwrap() + 8;
        let xs: Vec<f64> = svg[start..start + svg[start..].find('"').unwrap()]
            .split(' ')
            .map(|p| p.split_once(',').unwrap().0.parse().unwrap())
            .collect();
        let gaps: Vec<f64> = xs.windows(2).map(|w| ((w[1] - w[0]) * 10.0).round() / 10.0).collect();
        assert!(gaps.iter().all(|g| (g - gaps[0]).abs() < 0.2), "{gaps:?}: the night takes no room");
        assert!(svg.contains(">01-04</text>") && svg.contains(">01-05</text>"), "{svg}");
        assert!(svg.contains(r#"data-x="min""#));
    }
}
