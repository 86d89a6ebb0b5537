use std::path::{Path, PathBuf};

use kernel::sim::TradeRules;
use kernel::strategy::{self, ParamKind, ParamValue, Params, Strategy};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;

use super::{FileError, FileStrategy, StrategyFile};
use crate::eval::Evaluator;
use crate::genome::Genome;
use crate::sexpr::{MAX_DEPTH, MAX_NODES, MAX_TEXT};
use crate::tests::{change_after, config, market, series};
use crate::vary::GpConfig;

const CROSS: &str = "; a cross with a stop
(param fast int 10 2 50)
(param slow int 40 10 200)   ; the slow average
(param stop float 0.05 0.01 0.2)
(strategy
  (entry (cross-above (sma fast close) (sma slow close)))
  (exit (cross-below (sma fast close) (sma slow close)))
  (stop-loss stop))";

fn parse(text: &str) -> Result<StrategyFile, FileError> {
    StrategyFile::parse("idea.tbs", text)
}

/// The error message of `text` (which must fail), as the user sees it.
fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

/// The repository's `strategies/` directory.
fn strategies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../strategies")
}

#[test]
fn params_are_kernel_specs_and_bind_where_numbers_stand() {
    let f = parse(CROSS).unwrap();
    let names: Vec<&str> = f.params().iter().map(|p| p.name).collect();
    assert_eq!(names, ["fast", "slow", "stop"]);
    assert_eq!(f.params()[0].kind, ParamKind::Integer { min: 2, max: 50 });
    assert_eq!(f.params()[2].default, ParamValue::Real(0.05));
    let literal: Genome = "(strategy (entry (cross-above (sma 10 close) (sma 40 close))) \
        (exit (cross-below (sma 10 close) (sma 40 close))) (stop-loss 0.05))"
        .parse()
        .unwrap();
    assert_eq!(f.defaults(), literal);
    let s = FileStrategy::intern("cross", f.clone());
    let p = Params::parse(s.space(), ["fast=5", "stop=0.1"]).unwrap();
    let bound = f.bind(&p).unwrap();
    assert_eq!(
        bound.to_string(),
        "(strategy (entry (cross-above (sma 5 close) (sma 40 close))) \
         (exit (cross-below (sma 5 close) (sma 40 close))) (size 1) (stop-loss 0.1))"
    );
    assert_eq!(f.text(), CROSS);
    assert_ne!(f.hash(), parse(&CROSS.replace("40 10", "41 10")).unwrap().hash());
    assert!(std::ptr::eq(s, FileStrategy::intern("cross", f)), "the same name and text intern once");
    let err = Params::parse(s.space(), ["fast=60"]).unwrap_err().to_string();
    assert_eq!(err, "parameter `fast` = 60 is invalid: expected an integer in 2..=50");
}

/// A file strategy backtests like its bound genome, under the genome's own stop.
#[test]
fn a_file_strategy_backtests_like_its_genome() {
    let data = market(2, 300, 5);
    let s = FileStrategy::intern("cross", parse(CROSS).unwrap());
    let p = Params::parse(s.space(), ["fast=4", "slow=15", "stop=0.01"]).unwrap();
    let bt = strategy::backtest(s, &p, &data, TradeRules::default(), 10_000.0).unwrap();
    let genome = s.file().bind(&p).unwrap();
    let rules = genome.rules(TradeRules::default());
    assert_eq!(rules.exits.stop_loss, Some(0.01));
    let direct = strategy::backtest_source(&genome, &data, rules, 10_000.0).unwrap();
    assert_eq!(bt.result.equity(), direct.result.equity());
    let unstopped = strategy::backtest_source(&genome, &data, TradeRules::default(), 10_000.0).unwrap();
    assert_ne!(bt.result.equity(), unstopped.result.equity(), "the file's stop-loss applies");
    assert!(bt.metrics.trades > 3, "{} trades", bt.metrics.trades);
    assert_eq!(s.own_exits(&p).unwrap().stop_loss, Some(0.01));
    let without =
        parse(&CROSS.replace("(stop-loss stop)", "").replace("(param stop float 0.05 0.01 0.2)", ""));
    assert!(!without.unwrap().has_own_exits(), "no stop written: the rules' exits apply");
}

/// Every error names the file, line and column and says what was expected.
#[test]
fn errors_name_file_line_column_and_suggest() {
    let head = "(param fast int 10 2 50)\n";
    let cases: &[(&str, &str)] = &[
        (
            "(strategy (entry (gt close (smaa fast close))) (exit true))",
            "idea.tbs:2:29: unknown numeric operator `smaa`; did you mean `sma`?",
        ),
        (
            "(strategy (entry (gt close (sma fsat close))) (exit true))",
            "idea.tbs:2:33: expected a finite number for the window of `sma`, found `fsat`; did you mean `fast`?",
        ),
        (
            "(strategy (entry (gt close fsat)) (exit (lt close fast)))",
            "idea.tbs:2:28: unknown numeric terminal `fsat`; did you mean `fast`?",
        ),
        (
            "(strategy (entry (crossabove close fast)) (exit true))",
            "idea.tbs:2:19: `crossabove` is not a boolean operator; did you mean `cross-above`?",
        ),
        (
            "(strategy (entyr (gt close fast)) (exit true))",
            "idea.tbs:2:12: unknown part `entyr` (entry, exit, size, stop-loss, take-profit, time-stop); did you mean `entry`?",
        ),
        (
            "(strategy (entry (gt close fast)) (exit true) (time-stop fast) (size fast))",
            "idea.tbs:2:70: param `fast` ranges over 2..=50 but size takes [0.05, 1]: narrow its bounds",
        ),
        ("(strategy (entry (gt close fast)))", "idea.tbs:2:34: the strategy has no `(exit …)`"),
        (
            "(parm x int 1 1 2)",
            "idea.tbs:2:2: expected `(param …)` or `(strategy …)`, found `(parm`; did you mean `param`?",
        ),
        (
            "(strategy (entry (gt close 1)) (exit true))",
            "idea.tbs:1:8: param `fast` is declared but never used",
        ),
        ("(param fast int 3 1 9)", "idea.tbs:2:8: param `fast` is declared twice"),
        (
            "(strategy (entry (gt close fast)) (exit true)) (param x int 1 1 2)",
            "idea.tbs:2:48: text after the end of the strategy",
        ),
        ("", "idea.tbs:2:1: the file has no `(strategy …)` form"),
    ];
    for (body, expected) in cases {
        assert_eq!(&error(&format!("{head}{body}")), expected, "{body}");
    }
    let declarations: &[(&str, &str)] = &[
        (
            "(param w float 10 2 50)",
            "idea.tbs:1:1: param `w` is a float but the window of `sma` takes a whole number: declare it `int`",
        ),
        (
            "(param w int 10 2 500)",
            "idea.tbs:2:33: param `w` ranges over 2..=500 but the window of `sma` takes 1..=250: narrow its bounds",
        ),
        (
            "(param w int 10 20 50)",
            "idea.tbs:1:14: the default is outside the bounds: parameter `w` = 10 is invalid: expected an integer in 20..=50",
        ),
        ("(param w int 10 50 20)", "idea.tbs:1:17: param `w`: min 50 is above max 20"),
        (
            "(param w int 1.5 1 9)",
            "idea.tbs:1:14: the default of int param `w` must be a whole number, found `1.5`",
        ),
        (
            "(param w integer 1 1 9)",
            "idea.tbs:1:10: unknown parameter type `integer`: expected `int` or `float`",
        ),
        (
            "(param close int 1 1 9)",
            "idea.tbs:1:8: `close` is a name of the language: call the parameter otherwise",
        ),
        (
            "(param sma int 1 1 9)",
            "idea.tbs:1:8: `sma` is a name of the language: call the parameter otherwise",
        ),
        ("(param w int 5 1 9 12)", "idea.tbs:1:20: param `w` takes NAME TYPE DEFAULT MIN MAX: expected `)`"),
        ("(param w int 5 1", "idea.tbs:2:1: expected the max of param `w`, found `(`"),
    ];
    for (decl, expected) in declarations {
        let text = format!("{decl}\n(strategy (entry (gt close (sma w close))) (exit true))");
        let got = error(&text);
        // A type mismatch is found where the param is used, at 2:33.
        if decl.contains("float") {
            assert!(got.starts_with("idea.tbs:2:33: param `w` is a float"), "{got}");
        } else {
            assert_eq!(&got, expected, "{decl}");
        }
    }
}

/// Hostile input is refused with a clear error before any tree is built: never a stack
/// overflow, never an allocation failure.
#[test]
fn hostile_files_are_refused() {
    // Deep nesting: 100,000 nested `not`s, then 100,000 nested `abs`.
    let deep =
        format!("(strategy (entry {}true{}) (exit true))", "(not ".repeat(100_000), ")".repeat(100_000));
    let err = error(&deep);
    assert!(err.contains(&format!("parentheses nest deeper than {MAX_DEPTH} levels")), "{err}");
    let deep_num = format!(
        "(strategy (entry (gt close {}1{})) (exit true))",
        "(abs ".repeat(100_000),
        ")".repeat(100_000)
    );
    let err = error(&deep_num);
    assert!(err.contains("nest deeper"), "{err}");
    assert!(deep.parse::<Genome>().unwrap_err().message.contains("nest deeper"), "the genome parser too");
    // A million nodes: refused by size; 100,000 shallow nodes within the size limit: by count.
    let million =
        format!("(strategy (entry (and {})) (exit true))", "(or (gt close 1) (lt close 2)) ".repeat(150_000));
    assert!(error(&million).contains("above the limit of 1048576"));
    let wide =
        format!("(strategy (entry (and {})) (exit true))", "(or (gt close 1) (lt close 2)) ".repeat(15_000));
    assert!(wide.len() < MAX_TEXT, "under the text limit: the node limit refuses it");
    let err = error(&wide);
    assert!(err.contains(&format!("more than {MAX_NODES} names, numbers and forms")), "{err}");
    // Huge text.
    let huge = format!("(strategy (entry true) (exit true)) ;{}", "é".repeat(MAX_TEXT));
    assert!(error(&huge).contains("above the limit of 1048576"), "a multi-byte character at the limit too");
    // Huge windows and genes, literal or through a parameter's bounds.
    let cases = [
        "(strategy (entry (gt close (sma 1000000000 close))) (exit true))",
        "(strategy (entry (gt close (lag 1e300 close))) (exit true))",
        "(strategy (entry (gt close (sma 1e999 close))) (exit true))",
        "(param w int 10 1 9223372036854775807)\n(strategy (entry (gt close (sma w close))) (exit true))",
        "(param w int 10 1 99999999999999999999)\n(strategy (entry (gt close (sma w close))) (exit true))",
        "(strategy (entry true) (exit true) (time-stop 1e12))",
        "(param c float 1 -1e308 1e308)\n(strategy (entry (gt close (mul c 1e308))) (exit true) (size c))",
    ];
    for text in cases {
        let err = error(text);
        assert!(err.starts_with("idea.tbs:"), "{text}: {err}");
    }
    // Many parameters.
    let many: String = (0..=super::MAX_PARAMS).map(|k| format!("(param p{k} int 1 1 2)\n")).collect();
    assert!(error(&format!("{many}(strategy (entry true) (exit true))")).contains("more than 64 params"));
}

/// The random genomes of the look-ahead property: any shape the GP can make, at depths up to
/// its limit, with every operator, the regime and cross-sectional rank.
fn random_file(seed: u64) -> String {
    let gp = GpConfig { max_depth: 8, init_max_depth: 8, max_nodes: 200, ..config() };
    let genome = gp.random(&mut Pcg64::seed_from_u64(seed));
    format!("; generated\n{genome:#}\n")
}

/// Signals up to `t0` on `data` and on `data` with every bar after `t0` changed are equal.
fn assert_no_look_ahead(genome: &Genome, data: &kernel::strategy::MarketData, t0: usize, seed: u64) {
    let future = change_after(data, t0, seed);
    let (a, b) = (Evaluator::new(data).unwrap(), Evaluator::new(&future).unwrap());
    for (x, y) in series(&a, genome).iter().zip(&series(&b, genome)) {
        assert_eq!(x[..=t0], y[..=t0], "t0 {t0}: {genome}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// No look-ahead over random generated expressions read as files: changing every bar
    /// after `t` leaves every signal up to `t` unchanged.
    #[test]
    fn random_files_never_read_the_future(seed in any::<u64>(), t0 in 0usize..199) {
        let text = random_file(seed);
        let file = StrategyFile::parse("random.tbs", &text).unwrap();
        let genome = file.defaults();
        prop_assert_eq!(genome.to_string(), text.parse::<Genome>().unwrap().to_string());
        assert_no_look_ahead(&genome, &market(3, 200, seed % 1000), t0, seed);
    }
}

/// Every file in `strategies/` parses, and no look-ahead at its defaults and at its bounds'
/// corners, on several cut points.
#[test]
fn every_shipped_strategy_file_parses_and_never_reads_the_future() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(strategies_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == super::EXTENSION || e == "sexp"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "strategies/ holds the example files");
    let data = market(3, 400, 17);
    for path in &files {
        let s = FileStrategy::load(path).unwrap_or_else(|e| panic!("{e}"));
        let corners = [
            Params::defaults(s.space()),
            Params::from_values(
                s.space(),
                s.space().specs().iter().map(|p| low_or_high(p.kind, false)).collect(),
            )
            .unwrap(),
            Params::from_values(
                s.space(),
                s.space().specs().iter().map(|p| low_or_high(p.kind, true)).collect(),
            )
            .unwrap(),
        ];
        for (k, params) in corners.iter().enumerate() {
            let genome = s.file().bind(params).unwrap();
            for t0 in [30, 251, 398] {
                assert_no_look_ahead(&genome, &data, t0, k as u64 + t0 as u64);
            }
        }
    }
}

fn low_or_high(kind: ParamKind, high: bool) -> ParamValue {
    match kind {
        ParamKind::Integer { min, max } => ParamValue::Int(if high { max } else { min }),
        ParamKind::Real { min, max } => ParamValue::Real(if high { max } else { min }),
        ParamKind::Choice(_) => ParamValue::Choice(0),
    }
}

/// The documentation's operator table is the parser's: every operator appears with its shape;
/// the worked example is `strategies/trend_pullback.tbs`, verbatim, and its error messages are
/// the parser's.
#[test]
fn the_language_page_matches_the_code() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/strategy-language.md"))
            .unwrap();
    let gives =
        |row: &str| row.split('|').nth(2).map(str::trim).is_some_and(|g| g == "number" || g == "boolean");
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("| `(") && gives(l)).collect();
    for op in crate::sexpr::operators() {
        let row = format!("| `{}` | {} |", op.shape, op.gives);
        assert!(rows.iter().any(|r| r.starts_with(&row)), "docs/strategy-language.md lacks the row {row}");
    }
    assert_eq!(rows.len(), crate::sexpr::operators().len(), "a row for every operator, no other");
    let example = std::fs::read_to_string(strategies_dir().join("trend_pullback.tbs")).unwrap();
    assert!(
        page.contains(&format!("```lisp\n{example}```")),
        "the worked example is strategies/trend_pullback.tbs"
    );
    // The page's error messages are the parser's, for the edits it names.
    let edits = [
        ("(sma trend close)", "(smaa trend close)"),
        ("(stop-loss stop)", "(stop-los stop)"),
        ("(rsi 3 close) dip)", "(rsi 3 close) 30)"),
        ("(param trend int 100 20 250)", "(param trend int 100 20 500)"),
        ("(param trend int 100 20 250)", "(param trend float 100 20 250)"),
    ];
    for (from, to) in edits {
        assert!(example.contains(from), "{from}");
        let err = StrategyFile::parse("my_idea.tbs", &example.replace(from, to)).unwrap_err().to_string();
        assert!(page.contains(&format!("\n{err}\n")), "docs/strategy-language.md lacks the error {err}");
    }
}
