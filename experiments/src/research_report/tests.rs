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
        ..Figures::missing()
    }
}

fn family(name: &str, verdict: &str, is: Figures, oos: Figures) -> FamilyReport {
    FamilyReport {
        family: name.into(),
        run_id: 7,
        verdict: match verdict {
            "enable" => Verdict::Enable,
            "disable" => Verdict::Disable,
            _ => Verdict::Keep,
        },
        state: match verdict {
            "enable" => State::Enabled,
            "disable" => State::Disabled,
            _ => State::UnchangedDisabled,
        },
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
        in_sample_equity: (0..700)
            .map(|i| {
                (
                    START_NS - (700 - i) * DAY_NS,
                    10_000.0 * (1.0 + 0.1 * (i as f64 / 40.0).sin() + 0.0005 * i as f64),
                )
            })
            .collect(),
        benchmark: (0..1200)
            .map(|i| (START_NS - (700 - i) * DAY_NS, 10_000.0 * (1.0 + 0.0002 * i as f64)))
            .collect(),
        benchmark_name: "SPY buy-and-hold".into(),
        in_sample_trades: TradeStats {
            count: 120,
            win_rate: 0.55,
            avg_win: 0.021,
            avg_loss: -0.0134,
            avg_holding_days: 6.25,
        },
        out_of_sample_trades: TradeStats {
            count: 42,
            win_rate: 0.5,
            avg_win: 0.018,
            avg_loss: -0.012,
            avg_holding_days: 0.25,
        },
        convergence: (0..10)
            .map(|g| GenerationPoint {
                generation: g,
                best: Some(0.5 + 0.05 * f64::from(g)),
                median: Some(0.1 + 0.06 * f64::from(g)),
                diversity: 0.5 - 0.04 * f64::from(g),
            })
            .collect(),
        ga_events: vec![
            GaEvent { generation: 6, kind: "stagnation".into() },
            GaEvent { generation: 6, kind: "injection".into() },
        ],
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
            origin: None,
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
        changes: vec![
            "sma_cross: enabled (was disabled)".into(),
            "breakout: judged for the first time, disabled".into(),
        ],
        combined: curve(500, |i| 1.0 + 0.0004 * i as f64),
        market: Some(Curve {
            name: "SPY buy-and-hold".into(),
            points: curve(500, |i| 300.0 * (1.0 + 0.0002 * i as f64)),
        }),
    }
}

/// The lines of `md` that are rows of the ranked table, in order.
fn ranked_rows(md: &str) -> Vec<&str> {
    let end = md.find("## Families").unwrap_or(md.len());
    md[..end]
        .lines()
        .filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
        .collect()
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
        md.contains(
            "# Nightly research 2026-11-25\n\n**Data: imported market data, read from data/store/.**\n"
        ),
        "{md}"
    );
    // Fetched data says where from, in the same first line.
    r.data.origin = Some(
        "alpaca iex, split-adjusted; universe us (2 of its 3 symbols: AAA, BBB; not in the store: CCC)"
            .into(),
    );
    let md = to_markdown(&r);
    assert!(
        md.contains(&format!(
            "**Data: market data from alpaca iex, split-adjusted; universe us (2 of its 3 symbols: AAA, BBB; not in \
             the store: CCC); {} symbols, bars 2014-01-02 to 2023-12-29, read from data/store/.**\n",
            r.data.symbols
        )),
        "{md}"
    );
    assert_eq!(md.matches("Data: ").count(), 1, "one data line");
    r.data.origin = None;
    r.data.synthetic =
        Some("synthetic universe (seed 42, 500 stocks, 10 years to 2025-12-31, planted effects: all)".into());
    let md = to_markdown(&r);
    assert!(
        md.contains(
            "**Data: SYNTHETIC — synthetic universe (seed 42, 500 stocks, 10 years to 2025-12-31, planted \
             effects: all), read from data/store/. These verdicts test the research machinery, not real market edges.**"
        ),
        "{md}"
    );
    assert!(
        to_html(&r).contains(r#"<p class="origin synthetic">Data: SYNTHETIC — synthetic universe (seed 42"#)
    );
    // A store directory named `store` reads as a directory, not "store store.".
    r.data.source = "store".into();
    assert!(to_markdown(&r).contains("all), read from store/. These verdicts"));
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
    r.combined.clear();
    r.market = None;
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
        gates: [("oos_sharpe", 0.91, 0.5), ("deflated_sharpe", 0.981, 0.95), ("oos_trades", 17.0, 10.0)]
            .iter()
            .map(|&(gate, value, threshold)| {
                let passed = !failed.contains(&gate);
                GateOutcome {
                    gate: gate.into(),
                    value: if passed { value } else { threshold * 0.5 },
                    threshold,
                    passed,
                }
            })
            .collect(),
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
    assert!(html.contains(r#"<h2 id="discovery">Discovery</h2>"#));
    assert!(
        html.contains(
            r##"<td><a href="#genome-1"><code>(entry (&gt; close (sma close 20)) | exit)</code></a></td>"##
        ),
        "{html}"
    );
    assert!(html.contains(r#"<tr><td>deflated_sharpe</td><td class="num">0.47</td><td class="num">0.95</td><td class="fail">FAIL</td></tr>"#));
    assert!(md.contains("### Genome 2 — failed: oos_sharpe, deflated_sharpe\n\n```\n(entry (> close (sma close 20)) | exit)\n```\n\n| Gate | Value | Threshold | Result |"), "{md}");
    assert!(html.contains("<td>failed: oos_sharpe, deflated_sharpe</td>"));
}

#[test]
fn html_escapes_names_and_shows_state_badges() {
    let mut r = sample();
    r.families[0].family = r#"ev<&>"il"#.into();
    let html = to_html(&r);
    assert!(!html.contains(r#"ev<&>"il"#));
    let escaped = "ev&lt;&amp;&gt;&quot;il";
    assert!(html.contains(&format!(r##"<a href="#family-1">{escaped}</a>"##)));
    assert!(html.contains(&format!("<title>{escaped}</title>")), "SVG tooltip escaped");
    assert!(html.contains(&format!("<h3>1. {escaped} ")));
    assert!(html.contains(r#"<span class="badge enable">enabled</span>"#));
    assert!(html.contains(r#"<span class="badge keep">unchanged (disabled)</span>"#));
    assert!(html.contains("<p>Verdict keep: rsi_reversion reason</p>"));
    assert_eq!(escape_html(r#"<a href='x'>&"#), "&lt;a href=&#39;x&#39;&gt;&amp;");
}

#[test]
fn a_new_family_left_off_by_keep_reads_as_disabled_and_new_everywhere() {
    let mut r = sample();
    r.families[1].state = State::NewDisabled;
    let state = "disabled (new; keep = not enough evidence)";
    let md = to_markdown(&r);
    assert!(md.contains(&format!("| 2 | rsi_reversion | {state} | fast=12 slow=48 |")), "{md}");
    assert!(md.contains(&format!("### 2. rsi_reversion — {state}")), "{md}");
    assert!(!md.contains("unchanged"), "{md}");
    let html = to_html(&r);
    assert!(html.contains(&format!(r#"<span class="badge keep">{state}</span>"#)));
    assert!(!html.contains("unchanged"));
}

#[test]
fn html_is_self_contained_with_all_content_and_charts() {
    let html = to_html(&sample());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    assert_eq!(html.matches("<script").count(), 1, "one inline script (tooltips), nothing loaded");
    assert!(!html.contains("<script src") && !html.contains("<link"));
    assert_eq!(html.matches("http").count(), html.matches(r#"xmlns="http://www.w3.org/2000/svg""#).count());
    // summary 1; per family equity linear + log, drawdown, rolling Sharpe, fitness, diversity
    assert_eq!(html.matches("<svg").count(), 1 + 3 * 6);
    assert_eq!(
        html.matches(r#"class="axis-label""#).count(),
        2 * (1 + 3 * 6),
        "every chart labels both axes"
    );
    let ranking = &html[html.find("<h2>Ranking").unwrap()..html.find("<h2>Families").unwrap()];
    let p1 = ranking.find("sma_cross").unwrap();
    let p2 = ranking.find("rsi_reversion").unwrap();
    let p3 = ranking.find("breakout").unwrap();
    assert!(p1 < p2 && p2 < p3);
    assert!(ranking.contains(r#"<td class="num">1.42</td><td class="num">0.97</td>"#));
    assert!(html.contains(
        r#"<tr><td>Max drawdown</td><td class="num">-20.0 %</td><td class="num">-12.3 %</td></tr>"#
    ));
    assert!(
        html.contains(
            r#"<tr><td>Holding period</td><td class="num">6.2 d</td><td class="num">6.0 h</td></tr>"#
        )
    );
    assert!(html.contains("<li><strong>pairs</strong>: needs at least two symbols</li>"));
    assert!(html.contains("Elapsed 1h 02m 05s · 1,234,567 evaluations · 331 evals/s · 4 threads"));
    assert!(
        html.contains(r#"<input type="checkbox" id="log-1" class="logtoggle">"#),
        "log scale without script"
    );
    assert!(html.contains("<li>sma_cross: enabled (was disabled)</li>"));
    assert!(html.contains("(6.1\u{a0}% a year)"), "no line starts with a % sign in running text");
    assert!(html.contains("<h4>Monthly returns, %, out of sample from 2021-01-04</h4>"));
    let words = html.replace("information ratio", "");
    for bad in ["NaN", "inf"] {
        assert!(!words.contains(bad), "{bad} in HTML");
    }
}

#[test]
fn html_equity_charts_shade_the_in_sample_stage_and_mark_ga_events() {
    let html = to_html(&sample());
    // the equity (linear and log), drawdown and rolling Sharpe charts of each family
    assert_eq!(html.matches(r#"<rect class="shade""#).count(), 3 * 4);
    assert!(html.contains(">in sample</text>"));
    // stagnation and injection at generation 6 share a marker, in the fitness and diversity charts
    assert_eq!(html.matches(">S+I</text>").count(), 3 * 2);
    assert!(html.contains("GA convergence (S stagnation, I injection, R restart)"));
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
    assert_eq!(svg.matches(r#"class="axis-label""#).count(), 2, "both axes labelled");
}

/// A solid series.
fn series<'a>(name: &'a str, points: &'a [(i64, f64)]) -> Series<'a> {
    Series { name, points, colour: "#0072b2", dashed: false, area: false }
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
    let lines = [
        series("growing", &growing),
        series("empty", &[]),
        series("gappy", &gappy),
        series("all-nan", &all_nan),
    ];
    let svg = chart_svg(&Chart { reference: Some(1.0), ..Chart::new(&lines, 700, 240, "growth of 1") });
    assert_well_formed(&svg, 700.0, 240.0);
    let drawn = polylines(&svg);
    assert_eq!(drawn.len(), 2);
    assert_eq!(drawn[0].len(), 300);
    assert_eq!(drawn[1].len(), 300 - 3 * 6);
    assert!(svg.contains("<title>growing</title>") && svg.contains("<title>gappy</title>"));
    // round y ticks from 0.6 to 2.0, the dashed 1.0 reference, month ticks and both axis labels
    assert!(svg.contains(">0.5</text>") && svg.contains(">2.0</text>"), "{svg}");
    assert!(svg.contains(r#"stroke-dasharray="4 3""#));
    assert!(svg.contains(">Mar</text>") && svg.contains(">Sep</text>"), "{svg}");
    assert!(svg.contains(">date (UTC)</text>") && svg.contains(">growth of 1</text>"));
    // a common time axis: both end at the plot's right edge; the gappy one starts later
    let right = 700.0 - 14.0;
    assert_eq!((drawn[0][0].0, drawn[0][299].0), (64.0, right));
    assert_eq!(drawn[1][drawn[1].len() - 1].0, right);
    assert!(drawn[1][0].0 > 64.0);
    // tooltip data: one day number and one value per point
    let data_v = svg.split("data-v=\"").nth(1).unwrap();
    assert_eq!(data_v[..data_v.find('"').unwrap()].split(' ').count(), 300);
}

#[test]
fn svg_decimates_long_series_keeping_ends_and_extremes() {
    let mut long = curve(10_000, |i| 1.0 + (i as f64 / 300.0).sin() * 0.1);
    long[5_003].1 = 10.0;
    long[7_001].1 = -5.0;
    let lines = [series("long", &long)];
    let svg = chart_svg(&Chart::new(&lines, 400, 200, "value"));
    assert_well_formed(&svg, 400.0, 200.0);
    let line = &polylines(&svg)[0];
    assert!(line.len() <= 200, "{} points", line.len());
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
    assert!(bottom > 140.0, "dip to -5 kept (lowest point at y {bottom})");
    assert!(svg.contains(">10</text>") && svg.contains(">-5</text>"), "{svg}");
}

#[test]
fn svg_handles_empty_single_point_flat_and_log_series() {
    let empty = chart_svg(&Chart::new(&[], 300, 150, "value"));
    assert_well_formed(&empty, 300.0, 150.0);
    assert!(empty.contains(">no data</text>"));
    assert!(!empty.contains("<polyline"));

    let nan_only = [(START_NS, f64::NAN)];
    let svg = chart_svg(&Chart::new(&[series("x", &nan_only)], 300, 150, "value"));
    assert!(svg.contains(">no data</text>") && !svg.contains("<polyline"));

    let single = [(START_NS, 1.25)];
    let svg = chart_svg(&Chart::new(&[series("one", &single)], 300, 150, "value"));
    assert_well_formed(&svg, 300.0, 150.0);
    let line = &polylines(&svg)[0];
    assert_eq!(line.len(), 2, "a single point is drawn as a dot");
    assert_eq!(line[0], line[1]);

    let flat = curve(50, |_| 1.0);
    let svg =
        chart_svg(&Chart { reference: Some(1.0), ..Chart::new(&[series("flat", &flat)], 300, 150, "value") });
    assert_well_formed(&svg, 300.0, 150.0);
    let line = &polylines(&svg)[0];
    assert!(line.iter().all(|p| p.1 == line[0].1), "flat line stays flat");

    // log scale: ticks at 1, 2, 5, 10; a non-positive value is skipped
    let growth = curve(100, |i| if i == 3 { -1.0 } else { 0.9 * 1.03f64.powi(i as i32) });
    let svg = chart_svg(&Chart { log: true, ..Chart::new(&[series("g", &growth)], 400, 200, "growth of 1") });
    assert_well_formed(&svg, 400.0, 200.0);
    assert_eq!(polylines(&svg)[0].len(), 99);
    for tick in [">1</text>", ">2</text>", ">5</text>", ">10</text>"] {
        assert!(svg.contains(tick), "{tick} in {svg}");
    }
    // log spacing: 1→2 and 5→10 are the same height
    let y = |label: &str| {
        let at = svg.find(&format!(">{label}</text>")).unwrap();
        let before = &svg[..at];
        let y_at = before.rfind(" y=\"").unwrap() + 4;
        before[y_at..y_at + before[y_at..].find('"').unwrap()].parse::<f64>().unwrap()
    };
    assert!(((y("1") - y("2")) - (y("5") - y("10"))).abs() < 0.2);
}

#[test]
fn svg_drawdowns_fill_down_from_zero_in_percent() {
    let eq = curve(200, |i| 1.0 + 0.2 * (i as f64 / 20.0).sin());
    let dd = tear::drawdown(&eq);
    let lines = [Series { area: true, ..series("drawdown", &dd) }];
    let svg = chart_svg(&Chart { y_format: YFormat::Percent, ..Chart::new(&lines, 400, 160, "drawdown") });
    assert_well_formed(&svg, 400.0, 160.0);
    assert!(
        svg.contains("<polygon") && svg.contains(">0 %</text>") && svg.contains(">-20 %</text>"),
        "{svg}"
    );
    assert!(svg.contains(r#"data-fmt="pct""#));
}

#[test]
fn svg_survives_extreme_values_and_tiny_sizes() {
    let wild = [(i64::MIN, -f64::MAX), (0, 0.0), (i64::MAX, f64::MAX)];
    let svg = chart_svg(&Chart::new(&[series("wild", &wild)], 1, 1, "value"));
    assert_well_formed(&svg, 200.0, 100.0);
    assert_eq!(polylines(&svg)[0].len(), 3);
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

/// The Markdown of the sample report, byte for byte: `experiments/testdata/report.md`. After a
/// deliberate change, regenerate it with `UPDATE_GOLDEN=1 cargo test -p experiments golden`
/// and read the diff.
#[test]
fn markdown_matches_the_golden_file() {
    let mut r = sample();
    r.discovery = Some(discovery());
    let md = to_markdown(&r);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/report.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &md).unwrap();
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if md != golden {
        let line = md.lines().zip(golden.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "the Markdown differs from {} at line {}:\n  got:  {:?}\n  want: {:?}\n(UPDATE_GOLDEN=1 rewrites it)",
            path.display(),
            line + 1,
            md.lines().nth(line),
            golden.lines().nth(line)
        );
    }
}

#[test]
fn parameters_print_at_three_significant_digits() {
    assert_eq!(trim_number("3.3497"), "3.35");
    assert_eq!(trim_number("79.3427"), "79.3");
    assert_eq!(trim_number("0.0500"), "0.05");
    assert_eq!(trim_number("-1.0501"), "-1.05");
    assert_eq!(trim_number("0.0000"), "0");
    assert_eq!(trim_number("12"), "12");
    assert_eq!(trim_number("zscore"), "zscore");
    let (pairs, note) =
        param_pairs("entry_z=3.3497 window=35 (refit on the final window 2020-01-02..2022-12-30)");
    assert_eq!(
        pairs,
        [("entry_z".to_string(), "3.35".to_string()), ("window".to_string(), "35".to_string())]
    );
    assert_eq!(note.as_deref(), Some("(refit on the final window 2020-01-02..2022-12-30)"));
    assert_eq!(
        params_short("entry_z=3.3497 window=35 (refit on the final window x..y)"),
        "entry_z=3.35 window=35 (refit)"
    );
}

/// A genome that is not the in-sample best is not tested out of sample: its out-of-sample gates
/// say so instead of failing.
#[test]
fn untested_genomes_say_so_instead_of_failing_out_of_sample_gates() {
    let mut d = discovery();
    d.genomes[1].failed = vec!["selection".into(), "oos_sharpe".into()];
    d.genomes[1]
        .gates
        .insert(0, GateOutcome { gate: "selection".into(), value: 0.0, threshold: 1.0, passed: false });
    let mut r = sample();
    r.discovery = Some(d);
    let md = to_markdown(&r);
    assert!(md.contains("### Genome 2 — not tested out of sample (not the in-sample best)"), "{md}");
    assert!(md.contains("| selection | 0 | 1 | FAIL |\n| oos_sharpe | – | 0.50 | not tested |"), "{md}");
}

/// The report says which trial the parameters are: the in-sample best, or the plateau's
/// median when PBO is high.
#[test]
fn the_params_say_which_trial_they_are() {
    let mut r = sample();
    r.families[0].selection = "plateau median (PBO 0.62)".into();
    assert!(to_markdown(&r).contains("Params: fast=12 slow=48 — plateau median (PBO 0.62)\n"));
    assert!(
        to_html(&r)
            .contains("<p>Params: <code>fast=12</code> <code>slow=48</code> — plateau median (PBO 0.62)</p>")
    );
    assert_eq!(serde_json::to_value(&r).unwrap()["families"][0]["selection"], "plateau median (PBO 0.62)");
}
