//! The report as one self-contained HTML page: inline CSS and SVG charts, no scripts and nothing
//! fetched, so it opens offline (the Pi may have no network).

use std::fmt::{self, Write as _};

use super::svg::{Series, equity_svg};
use super::{
    DISCOVERY_HEADINGS, DiscoveryReport, FamilyReport, NO_FAMILIES, RANK_HEADINGS, ResearchReport,
    data_sentence, discovery_cells, discovery_sentence, figure_rows, footer_sentence, origin_line,
    passive_lines, rank_cells, regime_sentences, search_line, selection_suffix,
};

/// Line colours of the families, in rank order (cycled).
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#393b79",
];
/// Line colour of the benchmark.
const BENCHMARK_COLOUR: &str = "#9a9a9a";
/// Size of the chart of all families.
const COMBINED_CHART: (u32, u32) = (880, 320);
/// Size of each family's chart.
const FAMILY_CHART: (u32, u32) = (520, 220);

/// The page's style sheet.
const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}\
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
.meta{color:#666}.empty{font-style:italic;color:#666}\
table{border-collapse:collapse;margin:.6em 0}th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:left}\
th{background:#f6f6f6}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
.badge{display:inline-block;padding:.05em .55em;border-radius:.8em;font-size:.85em;font-weight:600;color:#fff}\
.badge.enable{background:#2e7d32}.badge.keep{background:#b26a00}.badge.disable{background:#c62828}.badge.other{background:#616161}\
.family{margin-top:1.4em}.cols{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}\
figure{margin:.6em 0}svg{max-width:100%;height:auto}\
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.2em;font-size:.9em}\
.swatch{display:inline-block;width:1.2em;height:.25em;margin-right:.35em;vertical-align:middle}\
footer{margin-top:2em;padding-top:.6em;border-top:1px solid #ddd;color:#666}";

/// Escapes `&`, `<`, `>`, `"` and `'` so any text is safe in element content and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The report as a single HTML page: the Markdown's content, a badge per verdict, a chart of all
/// families' out-of-sample equity (normalised to 1.0 at the start) with a legend, and per family a
/// chart of its out-of-sample equity against the benchmark.
pub fn to_html(r: &ResearchReport) -> String {
    let mut h = String::new();
    write_page(&mut h, r).expect("writing to a String cannot fail");
    h
}

/// Writes the whole page.
fn write_page(h: &mut String, r: &ResearchReport) -> fmt::Result {
    let title = escape_html(&r.title);
    write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    )?;
    writeln!(h, "<p><strong>{}</strong></p>", escape_html(&origin_line(&r.data)))?;
    writeln!(
        h,
        r#"<p class="meta">Generated {} · research run {}</p>"#,
        escape_html(&r.generated_utc),
        r.run_id
    )?;
    writeln!(h, "<h2>Data</h2>\n<p>{}</p>", escape_html(&data_sentence(&r.data)))?;
    if let Some(m) = &r.regime {
        h.push_str("<h2>Market regime</h2>\n");
        for line in regime_sentences(m) {
            writeln!(h, "<p>{}</p>", escape_html(&line))?;
        }
    }

    h.push_str("<h2>Ranking</h2>\n");
    if r.families.is_empty() {
        writeln!(h, r#"<p class="empty">{NO_FAMILIES}</p>"#)?;
    } else {
        write_ranking(h, &r.families)?;
        write_combined_chart(h, &r.families)?;
        h.push_str("<h2>Families</h2>\n");
        for (i, f) in r.families.iter().enumerate() {
            write_family(h, i, f)?;
        }
    }

    if let Some(d) = &r.discovery {
        write_discovery(h, d)?;
    }

    if !r.skipped.is_empty() {
        h.push_str("<h2>Skipped</h2>\n<ul>\n");
        for (family, reason) in &r.skipped {
            writeln!(h, "<li><strong>{}</strong>: {}</li>", escape_html(family), escape_html(reason))?;
        }
        h.push_str("</ul>\n");
    }
    writeln!(h, "<footer>{}</footer>\n</body>\n</html>", escape_html(&footer_sentence(r)))
}

/// The ranked table; family names link to their sections, verdicts are badges.
fn write_ranking(h: &mut String, families: &[FamilyReport]) -> fmt::Result {
    h.push_str("<table class=\"rank\">\n<thead><tr>");
    for (col, heading) in RANK_HEADINGS.iter().enumerate() {
        write!(h, "<th{}>{}</th>", num_class(col), escape_html(heading))?;
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, f) in families.iter().enumerate() {
        h.push_str("<tr>");
        for (col, cell) in rank_cells(i + 1, f).iter().enumerate() {
            let content = match col {
                1 => format!(r##"<a href="#family-{}">{}</a>"##, i + 1, escape_html(cell)),
                2 => badge(cell),
                3 => format!("<code>{}</code>", escape_html(cell)),
                _ => escape_html(cell),
            };
            write!(h, "<td{}>{content}</td>", num_class(col))?;
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    Ok(())
}

/// The discovery section: its sentence and the hall-of-fame table, genomes as code.
fn write_discovery(h: &mut String, d: &DiscoveryReport) -> fmt::Result {
    writeln!(h, "<h2>Discovery</h2>\n<p>{}</p>", escape_html(&discovery_sentence(d)))?;
    if d.genomes.is_empty() {
        return Ok(());
    }
    h.push_str("<table class=\"rank\">\n<thead><tr>");
    for (col, heading) in DISCOVERY_HEADINGS.iter().enumerate() {
        let class = if col == 0 || (2..7).contains(&col) { r#" class="num""# } else { "" };
        write!(h, "<th{class}>{}</th>", escape_html(heading))?;
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, g) in d.genomes.iter().enumerate() {
        h.push_str("<tr>");
        for (col, cell) in discovery_cells(i + 1, g).iter().enumerate() {
            match col {
                1 => write!(h, "<td><code>{}</code></td>", escape_html(cell))?,
                7 => write!(h, "<td>{}</td>", escape_html(cell))?,
                _ => write!(h, r#"<td class="num">{}</td>"#, escape_html(cell))?,
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    Ok(())
}

/// ` class="num"` for the ranked table's numeric columns (rank and the figures).
fn num_class(col: usize) -> &'static str {
    if col == 0 || col >= 4 { r#" class="num""# } else { "" }
}

/// One chart of every family's normalised out-of-sample equity, with a legend.
fn write_combined_chart(h: &mut String, families: &[FamilyReport]) -> fmt::Result {
    let curves: Vec<Vec<(i64, f64)>> = families.iter().map(|f| normalised(&f.equity)).collect();
    let series: Vec<Series<'_>> = families
        .iter()
        .zip(&curves)
        .enumerate()
        .map(|(i, (f, points))| Series { name: &f.family, points, colour: colour(i) })
        .collect();
    h.push_str("<h2>Out-of-sample equity</h2>\n<figure>\n");
    h.push_str(&equity_svg(&series, COMBINED_CHART.0, COMBINED_CHART.1));
    write_legend(h, &series)?;
    h.push_str("</figure>\n");
    Ok(())
}

/// One family's section: badge, reason, parameters, search statistics, the in-sample vs
/// out-of-sample table and its equity chart against the benchmark.
fn write_family(h: &mut String, i: usize, f: &FamilyReport) -> fmt::Result {
    let n = i + 1;
    writeln!(h, "<section class=\"family\" id=\"family-{n}\">")?;
    writeln!(h, "<h3>{n}. {} {}</h3>", escape_html(&f.family), badge(&f.state))?;
    writeln!(h, "<p>Verdict {}: {}</p>", escape_html(&f.verdict), escape_html(&f.reason))?;
    for line in passive_lines(f) {
        writeln!(h, "<p>{}</p>", escape_html(&line))?;
    }
    writeln!(
        h,
        "<p>Params: <code>{}</code>{}</p>",
        escape_html(&f.params),
        escape_html(&selection_suffix(f))
    )?;
    if !f.notes.is_empty() {
        h.push_str("<ul class=\"notes\">\n");
        for note in &f.notes {
            writeln!(h, "<li>{}</li>", escape_html(note))?;
        }
        h.push_str("</ul>\n");
    }
    writeln!(h, r#"<p class="meta">{}</p>"#, escape_html(&search_line(f)))?;

    h.push_str("<div class=\"cols\">\n<table>\n<thead><tr><th>Figure</th>");
    h.push_str(
        "<th class=\"num\">In-sample</th><th class=\"num\">Out-of-sample</th></tr></thead>\n<tbody>\n",
    );
    for (name, is, oos) in figure_rows(f) {
        writeln!(
            h,
            r#"<tr><td>{name}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            escape_html(&is),
            escape_html(&oos)
        )?;
    }
    h.push_str("</tbody>\n</table>\n<figure>\n");
    let (equity, benchmark) = (normalised(&f.equity), normalised(&f.benchmark));
    let mut series = vec![Series { name: &f.family, points: &equity, colour: colour(i) }];
    if !benchmark.is_empty() {
        series.push(Series { name: "benchmark", points: &benchmark, colour: BENCHMARK_COLOUR });
    }
    h.push_str(&equity_svg(&series, FAMILY_CHART.0, FAMILY_CHART.1));
    write_legend(h, &series)?;
    h.push_str("</figure>\n</div>\n</section>\n");
    Ok(())
}

/// A legend under a chart: a colour swatch and the name of each series.
fn write_legend(h: &mut String, series: &[Series<'_>]) -> fmt::Result {
    h.push_str("<figcaption class=\"legend\">");
    for s in series {
        write!(
            h,
            r#"<span><span class="swatch" style="background:{}"></span>{}</span>"#,
            escape_html(s.colour),
            escape_html(s.name)
        )?;
    }
    h.push_str("</figcaption>\n");
    Ok(())
}

/// The state after the run as a coloured badge: green enabled, red disabled, amber unchanged
/// (the text says which), grey anything else.
fn badge(state: &str) -> String {
    let class = match state.trim().to_ascii_lowercase().as_str() {
        "enabled" => "enable",
        "disabled" => "disable",
        s if s.starts_with("unchanged") => "keep",
        _ => "other",
    };
    format!(r#"<span class="badge {class}">{}</span>"#, escape_html(state))
}

/// The colour of the family at rank index `i`.
fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// `points` divided by the first finite positive value, so the curve starts at 1.0; empty when
/// there is no such value (nothing to normalise by). Non-finite values pass through for the chart
/// to skip.
fn normalised(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let Some(base) = points.iter().map(|p| p.1).find(|v| v.is_finite() && *v > 0.0) else {
        return Vec::new();
    };
    points.iter().map(|&(t, v)| (t, v / base)).collect()
}
