//! The report as one self-contained HTML page: inline CSS and SVG charts and nothing fetched, so
//! it opens offline (the Pi may have no network); everything reads without JavaScript, and a
//! short inline script adds hover tooltips to the charts when it runs.

use std::fmt::{self, Write as _};

use super::svg::{Chart, Series, XAxis, YFormat, chart_svg};
use super::{
    DISCOVERY_HEADINGS, DiscoveryReport, FamilyReport, GENOME_WIDTH, GenerationPoint, MONTHS, NO_FAMILIES,
    RANK_HEADINGS, ResearchReport, changes_or_none, combined_sentence, data_sentence, discovery_cells,
    discovery_sentence, family_curve, figure_rows, fixed, footer_sentence, gate_cells, oos_start,
    origin_line, outcome_word, param_pairs, passive_lines, rank_cells, regime_sentences, search_line,
    selection_suffix, sexpr, tear, untested,
};
use crate::research::State;

/// Line colours: the Okabe–Ito palette, distinguishable with the common colour-vision
/// deficiencies (yellow left out: too faint on white).
const PALETTE: [&str; 7] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"];
/// Line colour of the benchmark (also drawn dashed).
const BENCHMARK_COLOUR: &str = "#7a7a7a";
/// Width of every chart in SVG units; the page scales them to the column.
const CHART_W: u32 = 460;

/// The page's style sheet: one centred column, tables that scroll inside it rather than widen
/// it, charts in a grid that becomes one column on a phone.
const CSS: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d1d1d;line-height:1.45;background:#fff}\
main{max-width:1200px;margin:0 auto;padding:1em 1.2em 3em}\
h1{margin:.2em 0;font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.15em}\
h3{margin:1.4em 0 .4em}\
.meta{color:#666}.empty{font-style:italic;color:#666}.origin{font-weight:600}\
.origin.synthetic{background:#fff4e0;border-left:4px solid #e69f00;padding:.4em .7em}\
.scroll{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}th,td{padding:.25em .55em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\
th{background:#f5f5f5;white-space:nowrap}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
code.kv{white-space:nowrap}td.params{min-width:12em}\
.badge{display:inline-block;padding:.05em .55em;border-radius:.8em;font-size:.85em;font-weight:600;color:#fff;white-space:nowrap}\
.badge.enable{background:#00796b}.badge.keep{background:#8d6e00}.badge.disable{background:#b23c17}\
.family{margin-top:1.2em;border-top:3px solid #eee;padding-top:.2em}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr));gap:.6em 1.6em;align-items:start}\
figure{margin:.4em 0;position:relative;min-width:0}figure h4{margin:.2em 0;font-size:.95em}\
svg.chart{width:100%;height:auto;display:block}\
.legend{display:flex;flex-wrap:wrap;gap:.2em 1.1em;font-size:.85em;margin:.1em 0 .2em}\
.swatch{display:inline-block;width:1.4em;height:0;border-top:3px solid;margin-right:.35em;vertical-align:middle}\
.swatch.dashed{border-top-style:dashed}\
.eq .log{display:none}.logtoggle:checked~.log{display:block}.logtoggle:checked~.lin{display:none}\
.eq label{font-size:.85em;color:#444;margin-left:.2em}\
table.months td,table.months th{padding:.2em .35em;font-size:.85em}\
pre.genome{background:#f7f7f7;padding:.6em .8em;overflow-x:auto;font-size:.85em;line-height:1.35}\
.pass{color:#00796b;font-weight:600}.fail{color:#b23c17;font-weight:600}\
details{margin:.4em 0}summary{cursor:pointer;color:#444}\
.tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.95);border:1px solid #999;padding:.25em .45em;font-size:.8em;white-space:pre;display:none;z-index:2}\
footer{margin-top:2em;padding-top:.6em;border-top:1px solid #ddd;color:#666}\
@media (max-width:600px){main{padding:.6em .7em 2em}.badge{white-space:normal}h1{font-size:1.3em}table{font-size:.85em}table.months td,table.months th{padding:.15em .2em;font-size:.75em}}";

/// Hover tooltips (the page reads fine without them): the values of every line of a chart at
/// the pointer's x, from each polyline's `data-x`/`data-v`.
const SCRIPT: &str = "\
document.querySelectorAll('svg.chart').forEach(function(svg){\
var lines=[].slice.call(svg.querySelectorAll('polyline[data-v]')).map(function(p){return{name:p.querySelector('title').textContent,\
x:p.getAttribute('points').split(' ').map(function(q){return +q.split(',')[0]}),k:p.dataset.x.split(' '),v:p.dataset.v.split(' ')}});\
if(!lines.length)return;var unit=svg.dataset.x,pc=svg.dataset.fmt==='pct'?' %':'';\
var tip=document.createElement('div');tip.className='tip';svg.parentNode.appendChild(tip);\
function when(k){k=+k;if(unit==='day')return new Date(k*864e5).toISOString().slice(0,10);\
if(unit==='min')return new Date(k*6e4).toISOString().slice(0,16).replace('T',' ')+' UTC';return 'generation '+k}\
svg.addEventListener('mousemove',function(e){var pt=svg.createSVGPoint();pt.x=e.clientX;pt.y=e.clientY;\
var at=pt.matrixTransform(svg.getScreenCTM().inverse()).x,head='',rows=[];\
lines.forEach(function(l){var b=0;for(var i=1;i<l.x.length;i++){if(Math.abs(l.x[i]-at)<Math.abs(l.x[b]-at))b=i}\
head=head||when(l.k[b]);rows.push(l.name+': '+l.v[b]+pc)});\
tip.textContent=head+'\\n'+rows.join('\\n');tip.style.display='block';\
var box=svg.parentNode.getBoundingClientRect(),x=e.clientX-box.left+12;\
if(x+tip.offsetWidth>box.width)x=Math.max(0,e.clientX-box.left-tip.offsetWidth-12);\
tip.style.left=x+'px';tip.style.top=(e.clientY-box.top+12)+'px'});\
svg.addEventListener('mouseleave',function(){tip.style.display='none'})});";

/// Running text: escaped, with a no-break space before each "%" so a line never starts with one.
fn prose(s: &str) -> String {
    escape_html(s).replace(" %", "\u{a0}%")
}

pub use datasets::html::escape_html;

/// The report as a single HTML tear sheet: the summary with the enabled set's out-of-sample
/// equity against the market, the ranked table, per family its equity (linear or log, in
/// sample shaded) over its drawdown, figures and trade statistics, monthly returns, rolling
/// Sharpe and GA convergence, and discovery's genomes as trees with their gates.
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
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n"
    )?;
    let synthetic = if r.data.synthetic.is_some() { " synthetic" } else { "" };
    writeln!(h, r#"<p class="origin{synthetic}">{}</p>"#, prose(&origin_line(&r.data)))?;
    writeln!(
        h,
        r#"<p class="meta">Generated {} · research run {}</p>"#,
        escape_html(&r.generated_utc),
        r.run_id
    )?;
    write_summary(h, r)?;
    if let Some(m) = &r.regime {
        h.push_str("<h2>Market regime</h2>\n");
        for line in regime_sentences(m) {
            writeln!(h, "<p>{}</p>", prose(&line))?;
        }
    }

    h.push_str("<h2>Ranking</h2>\n");
    if r.families.is_empty() {
        writeln!(h, r#"<p class="empty">{NO_FAMILIES}</p>"#)?;
    } else {
        write_ranking(h, &r.families)?;
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
    writeln!(
        h,
        "<footer>{}</footer>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>",
        escape_html(&footer_sentence(r))
    )
}

/// The summary: data, what changed, and the enabled set's combined out-of-sample equity next
/// to the market's.
fn write_summary(h: &mut String, r: &ResearchReport) -> fmt::Result {
    h.push_str("<h2 id=\"summary\">Summary</h2>\n<div class=\"grid\">\n<div>\n");
    writeln!(h, "<p>{}</p>", prose(&data_sentence(&r.data)))?;
    writeln!(h, "<p><strong>{}</strong></p>", prose(&combined_sentence(r)))?;
    h.push_str("<p>Since the last run:</p>\n<ul>\n");
    for line in changes_or_none(r) {
        writeln!(h, "<li>{}</li>", prose(&line))?;
    }
    h.push_str("</ul>\n</div>\n");
    let market = r.market.as_ref().map(|m| tear::normalised(&m.points)).unwrap_or_default();
    let mut series = Vec::new();
    if !r.combined.is_empty() {
        series.push(line("enabled set (equal weight)", &r.combined, PALETTE[0]));
    }
    if let Some(m) = &r.market {
        series.push(Series { dashed: true, ..line(&m.name, &market, BENCHMARK_COLOUR) });
    }
    if !series.is_empty() {
        let chart = Chart { reference: Some(1.0), ..Chart::new(&series, CHART_W, 260, "growth of 1") };
        write_figure(h, "Out of sample: the enabled set against the market", &series, &chart_svg(&chart))?;
    }
    h.push_str("</div>\n");
    Ok(())
}

/// A solid line.
fn line<'a>(name: &'a str, points: &'a [(i64, f64)], colour: &'a str) -> Series<'a> {
    Series { name, points, colour, dashed: false, area: false }
}

/// A figure: a heading, the legend (above the plot, so it never covers data) and the chart.
fn write_figure(h: &mut String, heading: &str, series: &[Series<'_>], svg: &str) -> fmt::Result {
    writeln!(h, "<figure>\n<h4>{}</h4>", escape_html(heading))?;
    if series.len() > 1 {
        write_legend(h, series)?;
    }
    h.push_str(svg);
    h.push_str("\n</figure>\n");
    Ok(())
}

/// The ranked table; family names link to their sections, verdicts are badges.
fn write_ranking(h: &mut String, families: &[FamilyReport]) -> fmt::Result {
    h.push_str("<div class=\"scroll\"><table class=\"rank\">\n<thead><tr>");
    for (col, heading) in RANK_HEADINGS.iter().enumerate() {
        write!(h, "<th{}>{}</th>", num_class(col), escape_html(heading))?;
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, f) in families.iter().enumerate() {
        h.push_str("<tr>");
        for (col, cell) in rank_cells(i + 1, f).iter().enumerate() {
            let content = match col {
                1 => format!(r##"<a href="#family-{}">{}</a>"##, i + 1, escape_html(cell)),
                2 => badge(f.state),
                3 => params_html(cell),
                _ => escape_html(cell),
            };
            let class = if col == 3 { r#" class="params""# } else { num_class(col) };
            write!(h, "<td{class}>{content}</td>")?;
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
    Ok(())
}

/// Parameters as one `<code>` per `name=value`, so a line breaks only between them.
fn params_html(params: &str) -> String {
    let parts: Vec<String> =
        params.split_whitespace().map(|p| format!(r#"<code class="kv">{}</code>"#, escape_html(p))).collect();
    parts.join(" ")
}

/// The discovery section: its sentence, the hall-of-fame table, then each genome as an
/// indented tree next to its gates (value against threshold, pass or fail).
fn write_discovery(h: &mut String, d: &DiscoveryReport) -> fmt::Result {
    writeln!(h, "<h2 id=\"discovery\">Discovery</h2>\n<p>{}</p>", prose(&discovery_sentence(d)))?;
    if d.genomes.is_empty() {
        return Ok(());
    }
    h.push_str("<div class=\"scroll\"><table class=\"rank\">\n<thead><tr>");
    for (col, heading) in DISCOVERY_HEADINGS.iter().enumerate() {
        let class = if col == 0 || (2..7).contains(&col) { r#" class="num""# } else { "" };
        write!(h, "<th{class}>{}</th>", escape_html(heading))?;
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, g) in d.genomes.iter().enumerate() {
        h.push_str("<tr>");
        for (col, cell) in discovery_cells(i + 1, g).iter().enumerate() {
            match col {
                1 => write!(
                    h,
                    r##"<td><a href="#genome-{}"><code>{}</code></a></td>"##,
                    i + 1,
                    escape_html(cell)
                )?,
                7 => write!(h, "<td>{}</td>", escape_html(cell))?,
                _ => write!(h, r#"<td class="num">{}</td>"#, escape_html(cell))?,
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
    for (i, g) in d.genomes.iter().enumerate() {
        writeln!(
            h,
            "<h3 id=\"genome-{}\">Genome {} — {}</h3>\n<div class=\"grid\">",
            i + 1,
            i + 1,
            escape_html(&outcome_word(g))
        )?;
        writeln!(h, "<pre class=\"genome\">{}</pre>", escape_html(&sexpr::indent(&g.genome, GENOME_WIDTH)))?;
        if g.gates.is_empty() {
            h.push_str("<p class=\"empty\">No gates recorded.</p>\n");
        } else {
            h.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>Gate</th><th class=\"num\">Value</th><th class=\"num\">Threshold</th><th>Result</th></tr></thead>\n<tbody>\n");
            for gate in &g.gates {
                let [name, value, threshold, result] = gate_cells(gate, untested(g));
                let class = match result.as_str() {
                    "pass" => "pass",
                    "FAIL" => "fail",
                    _ => "meta",
                };
                writeln!(
                    h,
                    r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="{class}">{result}</td></tr>"#,
                    escape_html(&name),
                    escape_html(&value),
                    escape_html(&threshold)
                )?;
            }
            h.push_str("</tbody>\n</table></div>\n");
        }
        h.push_str("</div>\n");
    }
    Ok(())
}

/// ` class="num"` for the ranked table's numeric columns (rank and the figures).
fn num_class(col: usize) -> &'static str {
    if col == 0 || col >= 4 { r#" class="num""# } else { "" }
}

/// One family's section: badge, reason, parameters, notes, search statistics; its equity (a
/// linear and a log version, switched by a checkbox that needs no script) over its drawdown
/// next to the in-sample vs out-of-sample table; monthly returns next to the rolling Sharpe
/// ratio; and the GA's convergence.
fn write_family(h: &mut String, i: usize, f: &FamilyReport) -> fmt::Result {
    let n = i + 1;
    writeln!(h, "<section class=\"family\" id=\"family-{n}\">")?;
    writeln!(h, "<h3>{n}. {} {}</h3>", escape_html(&f.family), badge(f.state))?;
    writeln!(h, "<p>Verdict {}: {}</p>", f.verdict, prose(&f.reason))?;
    for line in passive_lines(f) {
        writeln!(h, "<p>{}</p>", prose(&line))?;
    }
    let (pairs, note) = param_pairs(&f.params);
    let selection = escape_html(&selection_suffix(f));
    if pairs.is_empty() {
        writeln!(h, "<p>Params: <code>{}</code>{selection}</p>", escape_html(&f.params))?;
    } else {
        h.push_str("<p>Params: ");
        let list: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("<code>{}={}</code>", escape_html(k), escape_html(v)))
            .collect();
        h.push_str(&list.join(" "));
        if let Some(note) = note {
            write!(h, " {}", escape_html(&note))?;
        }
        h.push_str(&selection);
        h.push_str("</p>\n");
    }
    if !f.notes.is_empty() {
        writeln!(
            h,
            "<details><summary>Validation notes ({})</summary>\n<ul class=\"notes\">",
            f.notes.len()
        )?;
        for note in &f.notes {
            writeln!(h, "<li>{}</li>", prose(note))?;
        }
        h.push_str("</ul>\n</details>\n");
    }
    writeln!(h, r#"<p class="meta">{}</p>"#, escape_html(&search_line(f)))?;

    let curve = family_curve(f);
    let benchmark = aligned_benchmark(f, &curve);
    let shade = match (curve.first(), oos_start(f)) {
        (Some(first), Some(split)) if first.0 < split => Some((first.0, split, "in sample")),
        (Some(first), None) => curve.last().map(|last| (first.0, last.0, "in sample")),
        _ => None,
    };
    h.push_str("<div class=\"grid\">\n<div>\n");
    let colour = PALETTE[i % PALETTE.len()];
    let mut series = vec![line(&f.family, &curve, colour)];
    if !benchmark.is_empty() {
        series.push(Series { dashed: true, ..line(&f.benchmark_name, &benchmark, BENCHMARK_COLOUR) });
    }
    let equity = Chart { shade, reference: Some(1.0), ..Chart::new(&series, CHART_W, 240, "growth of 1") };
    writeln!(h, "<figure class=\"eq\">\n<h4>Equity, in sample then out of sample</h4>")?;
    write_legend(h, &series)?;
    writeln!(
        h,
        "<input type=\"checkbox\" id=\"log-{n}\" class=\"logtoggle\"><label for=\"log-{n}\">log scale</label>"
    )?;
    writeln!(h, "<div class=\"lin\">{}</div>", chart_svg(&equity))?;
    writeln!(h, "<div class=\"log\">{}</div>\n</figure>", chart_svg(&Chart { log: true, ..equity }))?;
    let dd = tear::drawdown(&curve);
    let dd_series = [Series { area: true, ..line("drawdown", &dd, "#b23c17") }];
    let dd_chart =
        Chart { shade, y_format: YFormat::Percent, ..Chart::new(&dd_series, CHART_W, 150, "drawdown") };
    write_figure(h, "Drawdown (underwater)", &dd_series, &chart_svg(&dd_chart))?;
    h.push_str("</div>\n<div>\n");
    h.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>Figure</th>");
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
    h.push_str("</tbody>\n</table></div>\n</div>\n</div>\n");

    h.push_str("<div class=\"grid\">\n");
    write_months(h, f, &curve)?;
    let rolling = tear::rolling_sharpe(&curve);
    if rolling.is_empty() {
        writeln!(
            h,
            "<p class=\"empty\">Rolling Sharpe: the record has fewer than {} daily returns.</p>",
            tear::ROLLING_DAYS
        )?;
    } else {
        let rs = [line("6-month Sharpe", &rolling, colour)];
        let chart =
            Chart { shade, reference: Some(0.0), ..Chart::new(&rs, CHART_W, 200, "Sharpe (annualised)") };
        write_figure(h, "Rolling 6-month Sharpe ratio", &rs, &chart_svg(&chart))?;
    }
    h.push_str("</div>\n");
    write_convergence(h, f)?;
    h.push_str("</section>\n");
    Ok(())
}

/// The benchmark on the family's time axis: normalised to the family's curve at the
/// benchmark's first point, so both start level.
fn aligned_benchmark(f: &FamilyReport, curve: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let bench = tear::normalised(&f.benchmark);
    let Some(&(t0, _)) = bench.first() else { return bench };
    let level = curve.iter().take_while(|p| p.0 <= t0).last().map_or(1.0, |p| p.1);
    bench.into_iter().map(|(t, v)| (t, v * level)).collect()
}

/// The monthly returns as a year × month table, each cell shaded blue (gain) or orange (loss)
/// by its size.
fn write_months(h: &mut String, f: &FamilyReport, curve: &[(i64, f64)]) -> fmt::Result {
    let rows = tear::monthly_returns(curve);
    if rows.is_empty() {
        return Ok(());
    }
    let biggest = rows
        .iter()
        .flat_map(|r| r.months.iter().flatten())
        .fold(0.0f64, |m, x| if x.is_finite() { m.max(x.abs()) } else { m })
        .max(1e-9);
    let from = oos_start(f).map_or(String::new(), |t| format!(", out of sample from {}", super::utc_day(t)));
    writeln!(
        h,
        "<figure>\n<h4>Monthly returns, %{from}</h4>\n<div class=\"scroll\"><table class=\"months\">"
    )?;
    h.push_str("<thead><tr><th>Year</th>");
    for m in MONTHS {
        write!(h, "<th class=\"num\">{m}</th>")?;
    }
    h.push_str("<th class=\"num\">Year</th></tr></thead>\n<tbody>\n");
    for row in rows {
        write!(h, "<tr><td>{}</td>", row.year)?;
        for m in row.months {
            match m {
                Some(x) if x.is_finite() => write!(
                    h,
                    r#"<td class="num" style="background:{}">{}</td>"#,
                    heat(x, biggest),
                    fixed(x * 100.0, 1, "")
                )?,
                _ => h.push_str("<td></td>"),
            }
        }
        let total = row.year_total.map_or(String::new(), |x| fixed(x * 100.0, 1, ""));
        writeln!(h, r#"<td class="num"><strong>{total}</strong></td></tr>"#)?;
    }
    h.push_str("</tbody>\n</table></div>\n</figure>\n");
    Ok(())
}

/// A cell background for return `x` on a scale whose strongest colour is at `biggest`: blue
/// for gains, orange for losses (a colour-blind-safe diverging pair), white at zero.
fn heat(x: f64, biggest: f64) -> String {
    let a = (x.abs() / biggest).clamp(0.0, 1.0) * 0.55;
    let (r, g, b) = if x >= 0.0 { (0, 114, 178) } else { (230, 159, 0) };
    format!("rgba({r},{g},{b},{a:.2})")
}

/// The GA's best and median fitness per generation with its escape events marked, next to
/// the population's diversity.
fn write_convergence(h: &mut String, f: &FamilyReport) -> fmt::Result {
    if f.convergence.is_empty() {
        return Ok(());
    }
    let pick = |get: fn(&GenerationPoint) -> Option<f64>| -> Vec<(i64, f64)> {
        f.convergence.iter().filter_map(|g| get(g).map(|v| (i64::from(g.generation), v))).collect()
    };
    let best = pick(|g| g.best);
    let median = pick(|g| g.median);
    let diversity = pick(|g| Some(g.diversity));
    let markers: Vec<(i64, &str)> = f
        .ga_events
        .iter()
        .map(|e| {
            let letter = match e.kind.as_str() {
                "stagnation" => "S",
                "injection" => "I",
                "restart" => "R",
                _ => "?",
            };
            (i64::from(e.generation), letter)
        })
        .collect();
    let fitness =
        [line("best", &best, PALETTE[0]), Series { dashed: true, ..line("median", &median, PALETTE[1]) }];
    let chart = by_generation(Chart { markers: &markers, ..Chart::new(&fitness, CHART_W, 200, "fitness") });
    h.push_str("<div class=\"grid\">\n");
    let heading = if markers.is_empty() {
        "GA convergence".to_string()
    } else {
        "GA convergence (S stagnation, I injection, R restart)".to_string()
    };
    write_figure(h, &heading, &fitness, &chart_svg(&chart))?;
    let div = [line("diversity", &diversity, PALETTE[2])];
    let chart = by_generation(Chart { markers: &markers, ..Chart::new(&div, CHART_W, 160, "diversity") });
    write_figure(h, "Population diversity", &div, &chart_svg(&chart))?;
    h.push_str("</div>\n");
    Ok(())
}

/// `c` with generations on the x axis.
fn by_generation(c: Chart<'_>) -> Chart<'_> {
    Chart { x_axis: XAxis::Count, x_label: "generation", ..c }
}

/// A legend: a colour swatch (dashed for a dashed line) and the name of each series.
fn write_legend(h: &mut String, series: &[Series<'_>]) -> fmt::Result {
    h.push_str("<div class=\"legend\">");
    for s in series {
        write!(
            h,
            r#"<span><span class="swatch{}" style="border-color:{}"></span>{}</span>"#,
            if s.dashed { " dashed" } else { "" },
            escape_html(s.colour),
            escape_html(s.name)
        )?;
    }
    h.push_str("</div>\n");
    Ok(())
}

/// The state after the run as a coloured badge: green enabled, red disabled, amber after a
/// `keep` (unchanged, or a new family left off; the text says which).
fn badge(state: State) -> String {
    let class = match state {
        State::Enabled => "enable",
        State::Disabled => "disable",
        State::UnchangedEnabled | State::UnchangedDisabled | State::NewDisabled => "keep",
    };
    format!(r#"<span class="badge {class}">{state}</span>"#)
}
