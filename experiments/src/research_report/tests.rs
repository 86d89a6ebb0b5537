use super::*;

/// 2021-01-04 00:00 America/New_York (05:00Z) in UTC ns.
const START_NS: i64 = 1_609_736_400 * 1_000_000_000;
/// One day in ns.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// `n` daily points starting at `START_NS` with values from `f(i)`.
fn curve(n: usize, f: impl Fn(usize) -> f64) -> Vec<(i64, f64)> {
    (0..n).map(|i| (START_NS + i as i64 * DAY_NS, f(i))).collect()
}

fn figures(sharpe: f64, cagr: f64, max_drawdown: f64, trades: usize) -> Figures {
    Figures {
        sharpe,
        sortino: sharpe * 1.4,
        cagr,
        total_return: cagr * 3.0,
        max_drawdown,
        trades,
        win_rate: 0.55,
        exposure: 0.625,
        capital_at_work: 0.4,
    }
}

fn family(name: &str, verdict: &str, is: Figures, oos: Figures) -> FamilyReport {
    FamilyReport {
        family: name.into(),
        run_id: 7,
        verdict: verdict.into(),
        state: match verdict {
            "enable" => "enabled",
            "disable" => "disabled",
            _ => "unchanged (disabled)",
        }
        .into(),
        passive: vec![crate::research::Passive {
            name: "equal-weight buy-and-hold of 516 symbols".into(),
            cagr: 0.061,
            excess_return: 0.02,
            information_ratio: 0.35,
            beta: 0.8,
        }],
        reason: format!("{name} reason"),
        params: "fast=12 slow=48".into(),
        selection: "in-sample best".into(),
        in_sample: is,
        out_of_sample: oos,
        deflated_sharpe: Some(0.91),
        pbo: Some(0.12),
        trials: 12_000,
        generations: 40,
        stagnation_events: 3,
        equity: curve(500, |i| 10_000.0 * (1.0 + 0.0004 * i as f64)),
        benchmark: curve(500, |i| 10_000.0 * (1.0 + 0.0002 * i as f64)),
        notes: Vec::new(),
    }
}

/// Three ranked families (one without DSR/PBO and with a gap in its curve, one with non-finite
/// figures), one skipped family.
fn sample() -> ResearchReport {
    let first =
        family("sma_cross", "enable", figures(1.42, 0.15, -0.20, 120), figures(0.97, 0.081, -0.123, 42));
    let mut second =
        family("rsi_reversion", "keep", figures(1.10, 0.09, -0.15, 300), figures(0.55, 0.04, -0.18, 97));
    second.deflated_sharpe = None;
    second.pbo = None;
    second.equity[100].1 = f64::NAN;
    second.equity[200].1 = f64::INFINITY;
    second.benchmark.clear();
    let mut third = family(
        "breakout",
        "disable",
        figures(0.80, 0.05, -0.30, 12),
        figures(f64::NAN, f64::INFINITY, -0.4, 0),
    );
    third.deflated_sharpe = Some(f64::NAN);
    ResearchReport {
        title: "Nightly research 2026-11-25".into(),
        generated_utc: "2026-11-25T03:00:00Z".into(),
        run_id: 42,
        data: DataSummary {
            source: "data/store".into(),
            synthetic: None,
            symbols: 516,
            bars: 1_297_224,
            timeframe: "1Day".into(),
            first: "2014-01-02".into(),
            last: "2023-12-29".into(),
            split: "in-sample 2014-01-02..2020-12-31 (70 %), out-of-sample 2021-01-04..2023-12-29".into(),
            data_hash: "9f2c4e1a0b3d5e7f".into(),
        },
        families: vec![first, second, third],
        skipped: vec![("pairs".into(), "needs at least two symbols".into())],
        elapsed_s: 3725.4,
        evaluations: 1_234_567,
        evals_per_s: 331.4,
        threads: 4,
        regime: None,
        discovery: None,
    }
}

/// The lines of `md` that are rows of the ranked table, in order.
fn ranked_rows(md: &str) -> Vec<&str> {
    md.lines().filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit())).collect()
}

#[test]
fn markdown_ranks_rows_in_order_with_in_sample_next_to_out_of_sample() {
    let md = to_markdown(&sample());
    assert!(md.starts_with("# Nightly research 2026-11-25\n"));
    assert!(md.contains(
        "| # | Family | State | Params | IS Sharpe | OOS Sharpe | OOS CAGR | OOS max DD | OOS trades | DSR | PBO |"
    ));
    let rows = ranked_rows(&md);
    assert_eq!(
        rows,
        [
            "| 1 | sma_cross | enabled | fast=12 slow=48 | 1.42 | 0.97 | 8.1 % | -12.3 % | 42 | 0.91 | 0.12 |",
            "| 2 | rsi_reversion | unchanged (disabled) | fast=12 slow=48 | 1.10 | 0.55 | 4.0 % | -18.0 % | 97 | – | – |",
            "| 3 | breakout | disabled | fast=12 slow=48 | 0.80 | – | – | -40.0 % | 0 | – | 0.12 |",
        ]
    );
}

#[test]
fn markdown_has_data_family_sections_skipped_and_footer() {
    let md = to_markdown(&sample());
    assert!(md.contains(
        "Source data/store: 516 symbols, 1,297,224 bars (1Day) from 2014-01-02 to 2023-12-29. \
         Split: in-sample 2014-01-02..2020-12-31 (70 %), out-of-sample 2021-01-04..2023-12-29. \
         Data hash 9f2c4e1a0b3d5e7f."
    ));
    assert!(md.contains("Generated 2026-11-25T03:00:00Z · research run 42"));
    let s1 = md.find("### 1. sma_cross — enabled").expect("first section");
    let s2 = md.find("### 2. rsi_reversion — unchanged (disabled)").expect("second section");
    let s3 = md.find("### 3. breakout — disabled").expect("third section");
    assert!(s1 < s2 && s2 < s3);
    let first = &md[s1..s2];
    assert!(first.contains("Verdict enable: sma_cross reason"));
    assert!(first.contains(
        "Against equal-weight buy-and-hold of 516 symbols (6.1 % a year): excess return 2.0 % a year, \
         information ratio 0.35, beta 0.80."
    ));
    assert!(first.contains("| Capital at work | 40.0 % | 40.0 % |"));
    assert!(
        first.contains("Run 7 · 12,000 trials · 40 generations · 3 stagnation events · DSR 0.91 · PBO 0.12")
    );
    assert!(first.contains("| Figure | In-sample | Out-of-sample |"));
    assert!(first.contains("| Sharpe | 1.42 | 0.97 |"));
    assert!(first.contains("| Sortino | 1.99 | 1.36 |"));
    assert!(first.contains("| CAGR | 15.0 % | 8.1 % |"));
    assert!(first.contains("| Max drawdown | -20.0 % | -12.3 % |"));
    assert!(first.contains("| Trades | 120 | 42 |"));
    assert!(first.contains("| Exposure | 62.5 % | 62.5 % |"));
    assert!(md[s3..].contains("| Total return | 15.0 % | – |"));
    assert!(md.contains("## Skipped\n\n- pairs: needs at least two symbols\n"));
    assert!(md.ends_with("Elapsed 1h 02m 05s · 1,234,567 evaluations · 331 evals/s · 4 threads\n"));
}

#[test]
fn the_first_lines_say_where_the_data_comes_from_and_when_it_is_synthetic() {
    let mut r = sample();
    let md = to_markdown(&r);
    assert!(
        md.contains("# Nightly research 2026-11-25\n\n**Data: imported market data, store data/store.**\n"),
        "{md}"
    );
    r.data.synthetic =
        Some("synthetic universe (seed 42, 500 stocks, 10 years to 2025-12-31, planted effects: all)".into());
    let md = to_markdown(&r);
    assert!(
        md.contains(
            "**Data: SYNTHETIC — synthetic universe (seed 42, 500 stocks, 10 years to 2025-12-31, planted \
             effects: all), store data/store. These verdicts test the research machinery, not real market edges.**"
        ),
        "{md}"
    );
    assert!(to_html(&r).contains("<p><strong>Data: SYNTHETIC — synthetic universe (seed 42"));
}

#[test]
fn markdown_escapes_table_breaking_names() {
    let mut r = sample();
    r.families[0].family = "a|b*c".into();
    let md = to_markdown(&r);
    assert!(ranked_rows(&md)[0].starts_with(r"| 1 | a\|b\*c | enabled |"));
}

#[test]
fn empty_report_says_no_families_ran() {
    let mut r = sample();
    r.families.clear();
    r.skipped.clear();
    let md = to_markdown(&r);
    assert!(md.contains("## Ranking\n\nNo families ran.\n"));
    assert!(ranked_rows(&md).is_empty());
    assert!(!md.contains("## Families") && !md.contains("## Skipped"));
    let html = to_html(&r);
    assert!(html.contains(r#"<p class="empty">No families ran.</p>"#));
    assert!(!html.contains("<svg") && !html.contains("<table"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn numbers_format_with_fixed_decimals_and_dashes() {
    assert_eq!(ratio(1.005_1), "1.01");
    assert_eq!(ratio(-0.001), "0.00");
    assert_eq!(ratio(f64::NEG_INFINITY), "–");
    assert_eq!(pct(-0.1234), "-12.3 %");
    assert_eq!(pct(-0.0001), "0.0 %");
    assert_eq!(pct(f64::NAN), "–");
    assert_eq!(opt_ratio(None), "–");
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(12_345_678), "12,345,678");
    assert_eq!(duration(42.04), "42.0 s");
    assert_eq!(duration(725.0), "12m 05s");
    assert_eq!(duration(10_929.0), "3h 02m 09s");
    assert_eq!(duration(f64::NAN), "–");
}

#[test]
fn regime_section_prints_realised_volatility_as_the_percent_it_is() {
    let mut r = sample();
    r.regime = Some(MarketRegime {
        outlook: Some(regimes::Outlook {
            day_ns: START_NS,
            today: Some(kernel::regime::Regime::Calm),
            index: Some(13.94),
            realised_vol: 9.587,
            model: None,
        }),
        notes: vec!["model v1 trained by this run".into()],
    });
    let md = to_markdown(&r);
    assert!(
        md.contains("At the close of 2021-01-04 the market is calm (index 13.9; realised volatility 9.6 %)."),
        "{md}"
    );
    assert!(md.contains("model v1 trained by this run"));
}

/// A discovery with one genome that passed and one that failed two gates.
fn discovery() -> DiscoveryReport {
    let genome = |candidate: Option<i64>, failed: &[&str]| DiscoveredGenome {
        genome: "(entry (> close (sma close 20)) | exit)".into(),
        in_sample_sharpe: 1.234,
        out_of_sample: candidate.map(|_| (0.91, 17)),
        deflated_sharpe: 0.981,
        max_correlation: None,
        candidate,
        failed: failed.iter().map(|s| s.to_string()).collect(),
    };
    DiscoveryReport {
        run_id: 44,
        trials: 1_891,
        generations: 12,
        genomes: vec![genome(Some(3), &[]), genome(None, &["oos_sharpe", "deflated_sharpe"])],
    }
}

#[test]
fn discovery_section_lists_the_hall_of_fame_with_each_outcome() {
    let mut r = sample();
    assert!(!to_markdown(&r).contains("## Discovery"));
    r.discovery = Some(discovery());
    let md = to_markdown(&r);
    assert!(md.contains(
        "## Discovery\n\nDiscovery run 44 evaluated 1,891 genomes over 12 generations; only the in-sample \
         best of the 2 hall-of-fame genomes was tested out of sample (no selection on the test data); 1 \
         passed the promotion gates (tradebot candidates list shows them)."
    ));
    assert!(md.contains("| # | Genome | IS Sharpe | OOS Sharpe | OOS trades | DSR | Max corr | Outcome |"));
    assert!(
        md.contains(
            "| 1 | (entry (\\> close (sma close 20)) \\| exit) | 1.23 | 0.91 | 17 | 0.98 | – | candidate 3 |"
        ),
        "{md}"
    );
    assert!(md.contains(
        "| 2 | (entry (\\> close (sma close 20)) \\| exit) | 1.23 | – | – | 0.98 | – | failed: oos_sharpe, deflated_sharpe |"
    ));
    let html = to_html(&r);
    assert!(html.contains("<h2>Discovery</h2>"));
    assert!(html.contains("<td><code>(entry (&gt; close (sma close 20)) | exit)</code></td>"), "{html}");
    assert!(html.contains("<td>failed: oos_sharpe, deflated_sharpe</td>"));
}

#[test]
fn html_escapes_names_and_shows_state_badges() {
    let mut r = sample();
    r.families[0].family = r#"ev<&>"il"#.into();
    r.families[2].state = "retire".into();
    let html = to_html(&r);
    assert!(!html.contains(r#"ev<&>"il"#));
    let escaped = "ev&lt;&amp;&gt;&quot;il";
    assert!(html.contains(&format!(r##"<a href="#family-1">{escaped}</a>"##)));
    assert!(html.contains(&format!("<title>{escaped}</title>")), "SVG tooltip escaped");
    assert!(html.contains(&format!("<h3>1. {escaped} ")));
    assert!(html.contains(r#"<span class="badge enable">enabled</span>"#));
    assert!(html.contains(r#"<span class="badge keep">unchanged (disabled)</span>"#));
    assert!(html.contains("<p>Verdict keep: rsi_reversion reason</p>"));
    assert!(html.contains(r#"<span class="badge other">retire</span>"#));
    assert_eq!(escape_html(r#"<a href='x'>&"#), "&lt;a href=&#39;x&#39;&gt;&amp;");
}

#[test]
fn html_is_self_contained_with_all_content_and_charts() {
    let html = to_html(&sample());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("<link"));
    assert_eq!(html.matches("http").count(), html.matches(r#"xmlns="http://www.w3.org/2000/svg""#).count());
    // one combined chart plus one per family
    assert_eq!(html.matches("<svg").count(), 4);
    // combined: three curves; families: 1 + benchmark, 1, 1 + benchmark
    assert_eq!(html.matches("<polyline").count(), 3 + 2 + 1 + 2);
    assert_eq!(html.matches("<title>benchmark</title>").count(), 2);
    let ranking = &html[html.find("<h2>Ranking").unwrap()..html.find("<h2>Out-of-sample").unwrap()];
    let p1 = ranking.find("sma_cross").unwrap();
    let p2 = ranking.find("rsi_reversion").unwrap();
    let p3 = ranking.find("breakout").unwrap();
    assert!(p1 < p2 && p2 < p3);
    assert!(ranking.contains(r#"<td class="num">1.42</td><td class="num">0.97</td>"#));
    assert!(html.contains(
        r#"<tr><td>Max drawdown</td><td class="num">-20.0 %</td><td class="num">-12.3 %</td></tr>"#
    ));
    assert!(html.contains("<li><strong>pairs</strong>: needs at least two symbols</li>"));
    assert!(html.contains("Elapsed 1h 02m 05s · 1,234,567 evaluations · 331 evals/s · 4 threads"));
    let words = html.replace("information ratio", "");
    for bad in ["NaN", "inf"] {
        assert!(!words.contains(bad), "{bad} in HTML");
    }
}

#[test]
fn html_charts_normalise_equity_to_one() {
    let html = to_html(&sample());
    // every chart's curves start at 1.0: the dashed 1.0 reference line is drawn in each
    assert_eq!(html.matches(r#"stroke-dasharray="4 3""#).count(), 4);
    // the first family grows 0.04 % a day over 500 days: normalised max 1.1996
    assert!(html.contains(">1.20</text>"));
    assert!(!html.contains(">10000"), "raw equity values not shown");
}

#[test]
fn report_serialises_to_json() {
    let v = serde_json::to_value(sample()).unwrap();
    assert_eq!(v["run_id"], 42);
    assert_eq!(v["families"][0]["family"], "sma_cross");
    assert_eq!(v["families"][1]["deflated_sharpe"], serde_json::Value::Null);
    assert_eq!(v["families"][0]["out_of_sample"]["trades"], 42);
    assert_eq!(v["families"][0]["equity"].as_array().unwrap().len(), 500);
    assert_eq!(v["skipped"][0], serde_json::json!(["pairs", "needs at least two symbols"]));
    assert_eq!(v["data"]["data_hash"], "9f2c4e1a0b3d5e7f");
}

/// Every number in the `points` attributes of the polylines in `svg`, as `(x, y)` lists.
fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .map(|p| {
            let start = p.find("points=\"").unwrap() + 8;
            let list = &p[start..start + p[start..].find('"').unwrap()];
            list.split(' ')
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// Values of every `name="…"` attribute in `svg` (e.g. all `x` or `y1`).
fn attr(svg: &str, name: &str) -> Vec<f64> {
    let key = format!(" {name}=\"");
    svg.match_indices(&key)
        .map(|(i, _)| {
            let rest = &svg[i + key.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// Asserts there is no NaN or infinity and every coordinate lies in `0..=w` × `0..=h`.
fn assert_well_formed(svg: &str, w: f64, h: f64) {
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(svg.contains(&format!(r#"viewBox="0 0 {w} {h}""#)));
    for bad in ["NaN", "inf"] {
        assert!(!svg.contains(bad), "{bad} in {svg}");
    }
    let xs = ["x", "x1", "x2"].iter().flat_map(|a| attr(svg, a));
    let ys = ["y", "y1", "y2"].iter().flat_map(|a| attr(svg, a));
    let pts: Vec<(f64, f64)> = polylines(svg).into_iter().flatten().collect();
    for x in xs.chain(pts.iter().map(|p| p.0)) {
        assert!((0.0..=w).contains(&x), "x {x} outside 0..{w}");
    }
    for y in ys.chain(pts.iter().map(|p| p.1)) {
        assert!((0.0..=h).contains(&y), "y {y} outside 0..{h}");
    }
}

#[test]
fn svg_draws_one_polyline_per_non_empty_series_and_skips_non_finite() {
    let growing = curve(300, |i| 1.0 + i as f64 / 300.0);
    let gappy = curve(300, |i| match i % 50 {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        _ => 1.0 - i as f64 / 1000.0,
    });
    let all_nan = curve(10, |_| f64::NAN);
    let series = [
        Series { name: "growing", points: &growing, colour: "#1f77b4" },
        Series { name: "empty", points: &[], colour: "#ff7f0e" },
        Series { name: "gappy", points: &gappy, colour: "#2ca02c" },
        Series { name: "all-nan", points: &all_nan, colour: "#d62728" },
    ];
    let svg = equity_svg(&series, 600, 240);
    assert_well_formed(&svg, 600.0, 240.0);
    let lines = polylines(&svg);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].len(), 300);
    assert_eq!(lines[1].len(), 300 - 3 * 6);
    assert!(svg.contains("<title>growing</title>") && svg.contains("<title>gappy</title>"));
    assert!(svg.contains(r##"stroke="#2ca02c""##));
    // y labels: the maximum and the minimum, and the 1.0 line between them
    assert!(svg.contains(">2.00</text>"));
    assert!(svg.contains(">0.70</text>"));
    assert!(svg.contains(">1.00</text>"));
    // x labels: first and last date
    assert!(svg.contains(">2021-01-04</text>"));
    assert!(svg.contains(">2021-10-30</text>"));
    // a common time axis: both end at the plot's right edge; the gappy one starts later
    assert_eq!((lines[0][0].0, lines[0][299].0), (56.0, 588.0));
    assert_eq!(lines[1][lines[1].len() - 1].0, 588.0);
    assert!(lines[1][0].0 > 56.0);
}

#[test]
fn svg_decimates_long_series_keeping_ends_and_extremes() {
    let mut long = curve(10_000, |i| 1.0 + (i as f64 / 300.0).sin() * 0.1);
    long[5_003].1 = 10.0;
    long[7_001].1 = -5.0;
    let svg = equity_svg(&[Series { name: "long", points: &long, colour: "#000" }], 400, 200);
    assert_well_formed(&svg, 400.0, 200.0);
    let line = &polylines(&svg)[0];
    assert!(line.len() <= 400, "{} points", line.len());
    assert!(line.len() >= 100, "{} points: too few to keep the shape", line.len());
    let xs: Vec<f64> = line.iter().map(|p| p.0).collect();
    let min_x = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max_x = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!((xs[0], xs[xs.len() - 1]), (min_x, max_x), "first and last kept");
    assert!(xs.windows(2).all(|w| w[0] <= w[1]), "time order kept");
    let ys: Vec<f64> = line.iter().map(|p| p.1).collect();
    let top = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let bottom = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(top < 20.0, "spike to 10 kept (highest point at y {top})");
    assert!(bottom > 170.0, "dip to -5 kept (lowest point at y {bottom})");
    assert!(svg.contains(">10.00</text>") && svg.contains(">-5.00</text>"));
}

#[test]
fn svg_handles_empty_single_point_and_flat_series() {
    let empty = equity_svg(&[], 300, 150);
    assert_well_formed(&empty, 300.0, 150.0);
    assert!(empty.contains(">no data</text>"));
    assert!(!empty.contains("<polyline"));

    let nan_only = [(START_NS, f64::NAN)];
    let svg = equity_svg(&[Series { name: "x", points: &nan_only, colour: "red" }], 300, 150);
    assert!(svg.contains(">no data</text>") && !svg.contains("<polyline"));

    let single = [(START_NS, 1.25)];
    let svg = equity_svg(&[Series { name: "one", points: &single, colour: "red" }], 300, 150);
    assert_well_formed(&svg, 300.0, 150.0);
    let line = &polylines(&svg)[0];
    assert_eq!(line.len(), 2, "a single point is drawn as a dot");
    assert_eq!(line[0], line[1]);
    assert!(svg.contains(">2021-01-04</text>"));
    assert_eq!(svg.matches("</text>").count(), 2, "one value label and one date");

    let flat = curve(50, |_| 1.0);
    let svg = equity_svg(&[Series { name: "flat", points: &flat, colour: "red" }], 300, 150);
    assert_well_formed(&svg, 300.0, 150.0);
    let line = &polylines(&svg)[0];
    assert!(line.iter().all(|p| p.1 == line[0].1), "flat line stays flat");
    assert!(svg.contains(r#"stroke-dasharray="4 3""#) && svg.contains(">1.00</text>"));
}

#[test]
fn svg_survives_extreme_values_and_tiny_sizes() {
    let wild = [(i64::MIN, -f64::MAX), (0, 0.0), (i64::MAX, f64::MAX)];
    let svg = equity_svg(&[Series { name: "wild", points: &wild, colour: "red" }], 1, 1);
    let (w, h) = (160.0, 80.0);
    assert_well_formed(&svg, w, h);
    assert_eq!(polylines(&svg)[0].len(), 3);
    assert!(svg.contains(">1.80e308</text>"));
}

#[test]
fn validation_notes_are_listed_under_the_params() {
    let mut r = sample();
    r.families[0].notes = vec!["fold 1: IS 1.20 → OOS 0.40".into(), "PBO <judges> parameters".into()];
    let md = to_markdown(&r);
    assert!(
        md.contains(
            "Params: fast=12 slow=48 — in-sample best\n\n- fold 1: IS 1.20 → OOS 0.40\n- PBO \\<judges\\> parameters\n\n"
        ),
        "{md}"
    );
    let html = to_html(&r);
    assert!(html.contains("<ul class=\"notes\">\n<li>fold 1: IS 1.20 → OOS 0.40</li>\n<li>PBO &lt;judges&gt; parameters</li>\n</ul>"), "{html}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["families"][0]["notes"][1], "PBO <judges> parameters");
    assert!(json["families"][1].get("notes").is_none());
}

/// The report says which trial the parameters are: the in-sample best, or the plateau's
/// median when PBO is high.
#[test]
fn the_params_say_which_trial_they_are() {
    let mut r = sample();
    r.families[0].selection = "plateau median (PBO 0.62)".into();
    assert!(to_markdown(&r).contains("Params: fast=12 slow=48 — plateau median (PBO 0.62)\n"));
    assert!(to_html(&r).contains("<p>Params: <code>fast=12 slow=48</code> — plateau median (PBO 0.62)</p>"));
    assert_eq!(serde_json::to_value(&r).unwrap()["families"][0]["selection"], "plateau median (PBO 0.62)");
}
