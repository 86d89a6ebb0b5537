//! Promoted sets on the GOOG sample and a small synthetic universe: round trips, exact
//! reproduction, refusals, versions and crash leftovers.

use std::fs;
use std::path::Path;

use datasets::ingest::{ImportOptions, read_file};
use datasets::{AssetClass, SymbolMeta, Timeframe};
use kernel::sim::TradeRules;
use kernel::strategy::{self, MarketData, Params, Strategy as _, SymbolData};

use crate::{ParamEntry, PromotedDir, PromotedError, PromotedStrategy, StrategySpec};

fn goog() -> MarketData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/samples/GOOG.csv");
    let series = read_file(&path, &ImportOptions::default()).unwrap().remove(0);
    let meta = SymbolMeta::new("GOOG", AssetClass::Equity);
    MarketData::new(series.timeframe, vec![SymbolData { meta, bars: series.bars }]).unwrap()
}

fn sma(id: &str, fast: i64, slow: i64, allocation: f64, data: &MarketData) -> PromotedStrategy {
    let s = strategy::by_name("sma_cross").unwrap();
    let params =
        Params::parse(s.space(), [format!("fast={fast}").as_str(), &format!("slow={slow}")]).unwrap();
    let mut p = PromotedStrategy::builtin(id, s, &params, data, TradeRules::default(), allocation, "test");
    p.record(data, 10_000.0).unwrap();
    p
}

/// An edit of a promoted strategy.
type Edit<'a> = &'a dyn Fn(&mut PromotedStrategy);

/// Each edit of `base` makes its check fail with an error naming `base` and containing the
/// case's text.
fn each_refused(base: &PromotedStrategy, cases: &[(Edit, &str)]) {
    for (edit, expected) in cases {
        let mut p = base.clone();
        edit(&mut p);
        let err = p.check().unwrap_err().to_string();
        let id = format!("strategy `{}`", base.id);
        assert!(err.starts_with(&id) && err.contains(expected), "{err} / {expected}");
    }
}

/// The stored parameter values of a built-in or file strategy.
fn params_of(p: &mut PromotedStrategy) -> &mut std::collections::BTreeMap<String, ParamEntry> {
    match &mut p.spec {
        StrategySpec::Builtin { params, .. } | StrategySpec::File { params, .. } => params,
        StrategySpec::Gp { .. } => panic!("a strategy with parameters"),
    }
}

#[test]
fn a_committed_strategy_loads_back_and_reproduces_its_backtest_exactly() {
    let data = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path().join("promoted"));
    assert_eq!(promoted.current().unwrap(), None);
    let p = sma("goog_sma", 10, 20, 0.5, &data);
    let recorded = p.recorded.clone().unwrap();
    assert_eq!(recorded.bars, 2148);
    assert!(recorded.figures.trades > 0);
    let set = promoted.promote(p.clone(), 7).unwrap();
    assert_eq!((set.version, set.created_ns), (1, 7));

    let loaded = promoted.current().unwrap().unwrap();
    assert_eq!(loaded, set);
    let back = loaded.get("goog_sma").unwrap();
    assert_eq!(back, &p);
    let bt = back.reproduce(&data).unwrap();
    assert_eq!(
        bt.result.equity().last().copied().unwrap().to_bits(),
        recorded.figures.final_equity.to_bits()
    );
    assert_eq!(back.resolve().unwrap().signals(&data).unwrap(), bt.signals);
}

#[test]
fn reproduction_names_the_first_figure_that_differs() {
    let data = goog();
    let mut p = sma("goog_sma", 10, 20, 1.0, &data);
    params_of(&mut p).insert("slow".into(), ParamEntry::Int(30));
    let err = p.reproduce(&data).unwrap_err().to_string();
    assert!(err.contains("does not reproduce") && err.contains("trades: recorded"), "{err}");

    let shorter = data.slice(0..2000);
    let err = sma("goog_sma", 10, 20, 1.0, &data).reproduce(&shorter).unwrap_err().to_string();
    assert!(err.contains("data hash: recorded"), "{err}");
}

#[test]
fn parameters_must_all_be_given_known_and_in_range() {
    let data = goog();
    let base = sma("goog_sma", 10, 20, 1.0, &data);
    let cases: [(Edit, &str); 5] = [
        (&|p| drop(params_of(p).remove("fast")), "parameter `fast`: missing"),
        (&|p| drop(params_of(p).insert("speed".into(), ParamEntry::Int(3))), "parameter `speed`: unknown"),
        (
            &|p| drop(params_of(p).insert("fast".into(), ParamEntry::Real(1.5))),
            "parameter `fast`: 1.5 is not allowed: expected an integer in 2..=200",
        ),
        (
            &|p| drop(params_of(p).insert("fast".into(), ParamEntry::Int(1))),
            "parameter `fast`: 1 is not allowed",
        ),
        (
            &|p| drop(params_of(p).insert("fast".into(), ParamEntry::Int(30))),
            "fast (30) must be below slow (20)",
        ),
    ];
    each_refused(&base, &cases);
}

#[test]
fn a_strategy_needing_a_short_leg_is_refused() {
    let data = goog();
    let pairs = strategy::by_name("pairs").unwrap();
    let params = Params::defaults(pairs.space());
    let p = PromotedStrategy::builtin("pairs", pairs, &params, &data, TradeRules::default(), 0.5, "test");
    let err = p.check().unwrap_err().to_string();
    assert!(err.contains("needs a short leg"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path());
    assert!(promoted.promote(p, 1).is_err());
    assert_eq!(promoted.versions().unwrap(), Vec::<u64>::new(), "a refused set is not written");
}

#[test]
fn sets_with_bad_ids_allocations_or_fill_timing_are_not_written() {
    let data = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path());
    promoted.promote(sma("a", 10, 20, 0.6, &data), 1).unwrap();
    let over = promoted.promote(sma("b", 5, 50, 0.5, &data), 2).unwrap_err().to_string();
    assert!(over.contains("add up to 1.1"), "{over}");
    let bad_id = promoted.promote(sma("B!", 5, 50, 0.1, &data), 3).unwrap_err().to_string();
    assert!(bad_id.contains("an id is 1–48"), "{bad_id}");
    let mut same_bar = sma("c", 5, 50, 0.1, &data);
    same_bar.rules.fill = kernel::sim::FillTiming::SameBarClose;
    let err = promoted.promote(same_bar, 4).unwrap_err().to_string();
    assert!(err.contains("next open"), "{err}");
    let dup = promoted.commit(vec![sma("a", 10, 20, 0.3, &data), sma("a", 5, 50, 0.3, &data)], "dup", 5);
    assert!(dup.unwrap_err().to_string().contains("appears twice"));
    assert_eq!(promoted.versions().unwrap(), [1]);
}

#[test]
fn promote_demote_and_rollback_each_write_a_new_version() {
    let data = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path());
    promoted.promote(sma("a", 10, 20, 0.4, &data), 1).unwrap();
    promoted.promote(sma("b", 5, 50, 0.4, &data), 2).unwrap();
    let replaced = promoted.promote(sma("a", 12, 40, 0.2, &data), 3).unwrap();
    assert_eq!(replaced.strategies.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(replaced.get("a").unwrap().allocation, 0.2);
    let demoted = promoted.demote("a", 4).unwrap();
    assert_eq!((demoted.version, demoted.strategies.len(), demoted.note.as_str()), (4, 1, "demote a"));
    assert!(matches!(promoted.demote("zzz", 5), Err(PromotedError::NoSuchStrategy(_))));
    let back = promoted.rollback(2, 6).unwrap();
    assert_eq!(back.version, 5);
    assert_eq!(back.strategies, promoted.load(2).unwrap().strategies);
    assert_eq!(promoted.versions().unwrap(), [1, 2, 3, 4, 5]);
    assert_eq!(promoted.current().unwrap().unwrap().version, 5);
}

#[test]
fn an_identical_set_is_not_written_again() {
    let data = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path());
    let first = promoted.promote(sma("a", 10, 20, 0.4, &data), 1).unwrap();
    let again = promoted.promote(sma("a", 10, 20, 0.4, &data), 2).unwrap();
    assert_eq!(again, first, "the current set, as it was");
    assert_eq!(promoted.rollback(1, 3).unwrap().version, 1, "a rollback to the current set");
    assert_eq!(promoted.versions().unwrap(), [1]);
    let other = promoted.promote(sma("a", 10, 20, 0.3, &data), 4).unwrap();
    assert_eq!(other.version, 2, "a changed allocation is a new version");
}

#[test]
fn a_crash_between_the_version_file_and_current_overwrites_nothing() {
    let data = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path());
    promoted.promote(sma("a", 10, 20, 0.4, &data), 1).unwrap();
    // A commit that wrote v000002.json and died before replacing CURRENT.
    let orphan = fs::read(dir.path().join("v000001.json")).unwrap();
    let orphan = String::from_utf8(orphan).unwrap().replace("\"version\": 1", "\"version\": 2");
    fs::write(dir.path().join("v000002.json"), &orphan).unwrap();
    assert_eq!(promoted.current().unwrap().unwrap().version, 1, "CURRENT still names the old version");
    let next = promoted.promote(sma("b", 5, 50, 0.4, &data), 2).unwrap();
    assert_eq!(next.version, 3);
    assert_eq!(fs::read_to_string(dir.path().join("v000002.json")).unwrap(), orphan);
}

#[test]
fn damaged_files_are_errors_naming_the_file_and_position() {
    let data = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path());
    promoted.promote(sma("a", 10, 20, 0.4, &data), 1).unwrap();
    let file = dir.path().join("v000001.json");
    let text = fs::read_to_string(&file).unwrap();

    fs::write(&file, text.replace("\"format\": 1", "\"format\": 9")).unwrap();
    let err = promoted.current().unwrap_err().to_string();
    assert!(err.contains("v000001.json: format 9 is not supported"), "{err}");

    fs::write(&file, text.replace("\"allocation\"", "\"alocation\"")).unwrap();
    let err = promoted.current().unwrap_err().to_string();
    assert!(err.contains("v000001.json:") && err.contains("alocation"), "{err}");

    fs::write(dir.path().join("CURRENT"), "7\n").unwrap();
    assert!(matches!(promoted.current(), Err(PromotedError::NoSuchVersion { version: 7, .. })));
}

#[test]
fn a_multi_symbol_strategy_reproduces_on_a_synthetic_universe() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = datasets::synth::SynthConfig { symbols: 8, years: 2, minute_days: 0, ..Default::default() };
    datasets::actions::generate(&store, &config, datasets::actions::OnExisting::Refuse, |_, _| {}).unwrap();
    let opened = datasets::store::Store::open(&store).unwrap();
    let symbols = ["SPY", "TLT", "GLD", "SHY", "VIX"];
    let data = MarketData::from_store(&opened, &symbols, Timeframe::Day1).unwrap();
    let s = strategy::by_name("vix_regime_rotation").unwrap();
    let params = Params::defaults(s.space());
    let mut p = PromotedStrategy::builtin("vix_rot", s, &params, &data, TradeRules::default(), 1.0, "test");
    p.record(&data, 100_000.0).unwrap();
    assert_eq!(p.symbols, symbols);
    let json = serde_json::to_string(&p).unwrap();
    let back: PromotedStrategy = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    back.reproduce(&data).unwrap();
}

/// A GP strategy: committed, loaded back from disk and run by the kernel, it reproduces its
/// recorded backtest bit for bit, on one symbol and on a two-symbol portfolio with a VIX-like
/// index feeding the regime terminal; exits that disagree with the genome are refused.
#[test]
fn a_promoted_gp_strategy_reproduces_its_backtest_exactly() {
    let text = "(strategy (entry (and (gt close (sma 20 close)) (not (gt regime 2)))) (exit (cross-below close (ema 10 close))) (size 0.5) (stop-loss 0.08) (time-stop 30))";
    let genome: gp::Genome = text.parse().unwrap();
    let goog = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path().join("promoted"));
    let mut one = PromotedStrategy::gp("gp_goog", &genome, &goog, TradeRules::default(), 0.5, "candidate 1");
    assert_eq!(one.rules.exits.stop_loss, Some(0.08));
    assert_eq!(one.rules.exits.max_bars, Some(30));
    one.record(&goog, 10_000.0).unwrap();
    assert!(one.recorded.as_ref().unwrap().figures.trades > 5);
    promoted.promote(one.clone(), 1).unwrap();
    let back = promoted.current().unwrap().unwrap();
    let loaded = back.get("gp_goog").unwrap();
    assert_eq!(loaded, &one);
    loaded.check().unwrap();
    let bt = loaded.reproduce(&goog).unwrap();
    assert_eq!(loaded.check().unwrap().signals(&goog).unwrap(), bt.signals);

    // Two symbols (a sleeve) plus an index: the GP trades the two, reads the index.
    let bars = goog.symbols()[0].bars.clone();
    let scaled = datasets::Bars::from_bars(bars.iter().map(|mut b| {
        b.open *= 0.5;
        b.high *= 0.5;
        b.low *= 0.5;
        b.close *= 0.5;
        b
    }))
    .unwrap();
    let vix = datasets::Bars::from_bars(bars.iter().map(|mut b| {
        let level = 10.0 + (b.close % 30.0);
        (b.open, b.high, b.low, b.close) = (level, level, level, level);
        b
    }))
    .unwrap();
    let universe = MarketData::new(
        Timeframe::Day1,
        vec![
            SymbolData { meta: SymbolMeta::new("GOOG", AssetClass::Equity), bars },
            SymbolData { meta: SymbolMeta::new("HALF", AssetClass::Equity), bars: scaled },
            SymbolData { meta: SymbolMeta::new("VIX", AssetClass::Index), bars: vix },
        ],
    )
    .unwrap();
    let mut two =
        PromotedStrategy::gp("gp_pair", &genome, &universe, TradeRules::default(), 0.5, "candidate 2");
    two.record(&universe, 10_000.0).unwrap();
    promoted.promote(two.clone(), 2).unwrap();
    let loaded = promoted.current().unwrap().unwrap();
    let bt = loaded.get("gp_pair").unwrap().reproduce(&universe).unwrap();
    assert_eq!(bt.signals.legs.len(), 2, "the index is read, not traded");

    let mut wrong = one.clone();
    wrong.rules.exits.stop_loss = None;
    let err = wrong.check().unwrap_err().to_string();
    assert!(err.contains("differ from the genome"), "{err}");
    let mut garbled = one;
    garbled.spec = StrategySpec::Gp { genome: "(strategy (entry (gt close)) (exit true))".into() };
    let err = garbled.check().unwrap_err().to_string();
    assert!(err.contains("genome: line 1, column 27"), "{err}");
}

/// The strategy `strategies/<name>.tbs` as the research and the command line load it.
fn shipped_file(name: &str) -> (&'static gp::FileStrategy, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../strategies/{name}.tbs"));
    let text = fs::read_to_string(&path).unwrap();
    let file = gp::StrategyFile::parse(&format!("strategies/{name}.tbs"), &text).unwrap();
    (gp::FileStrategy::intern(&format!("{name}.tbs"), file), text)
}

/// A strategy file: promoted with its text verbatim (comments too), the text's hash and its
/// params' values, committed, loaded back and run by the kernel, it reproduces its recorded
/// backtest bit for bit; a text edited after promotion is refused by its hash, naming the
/// file; stored values that are out of bounds, missing or unknown are refused by name.
#[test]
fn a_promoted_strategy_file_reproduces_its_backtest_and_its_hash_guards_the_text() {
    let (file, text) = shipped_file("mean_reversion");
    let goog = goog();
    let dir = tempfile::tempdir().unwrap();
    let promoted = PromotedDir::new(dir.path().join("promoted"));
    let given = ["window=30", "entry_z=1.5"];
    let params = Params::parse(file.space(), given).unwrap();
    let mut p = PromotedStrategy::file(
        "goog_mr_file",
        file,
        &params,
        &goog,
        TradeRules::default(),
        0.5,
        "strategy file",
    )
    .unwrap();
    p.record(&goog, 10_000.0).unwrap();
    let recorded = p.recorded.clone().unwrap();
    assert!(recorded.figures.trades >= 5, "{recorded:?}");
    // The file's trades are the built-in family's at the same params (gp/tests/strategy_files.rs).
    let family = strategy::by_name("mean_reversion").unwrap();
    let builtin = PromotedStrategy::builtin(
        "mr",
        family,
        &Params::parse(family.space(), given).unwrap(),
        &goog,
        TradeRules::default(),
        0.5,
        "t",
    )
    .backtest(&goog, 10_000.0)
    .unwrap();
    assert_eq!(crate::Hash64::of_f64s(builtin.result.equity()), recorded.equity_hash);

    promoted.promote(p.clone(), 1).unwrap();
    let json = fs::read_to_string(dir.path().join("promoted/v000001.json")).unwrap();
    assert!(
        json.contains("\"kind\": \"file\"")
            && json.contains("; mean_reversion, written in the strategy language")
            && json.contains("\"window\": 30")
            && json.contains("\"exit_z\": 0.0"),
        "{json}"
    );
    let loaded = promoted.current().unwrap().unwrap();
    let back = loaded.get("goog_mr_file").unwrap();
    assert_eq!(back, &p);
    let StrategySpec::File { text: stored, hash, params: values, .. } = &back.spec else {
        panic!("a file strategy")
    };
    assert_eq!((stored, *hash), (&text, crate::Hash64::of_text(&text)));
    assert_eq!(values.len(), file.space().specs().len());
    let bt = back.check().unwrap().backtest(&goog, back.rules, 10_000.0).unwrap();
    assert_eq!(back.reproduce(&goog).unwrap().result, bt.result);

    let mut edited = p.clone();
    let StrategySpec::File { text, .. } = &mut edited.spec else { unreachable!() };
    *text = text.replace("(param window int 20 5 200)", "(param window int 20 5 100)");
    let err = edited.check().unwrap_err().to_string();
    assert!(
        err.starts_with(
            "strategy `goog_mr_file`: the text of strategy file strategies/mean_reversion.tbs hashes to"
        ),
        "{err}"
    );
    let cases: [(Edit, &str); 3] = [
        (&|p| drop(params_of(p).insert("window".into(), ParamEntry::Int(500))), "parameter `window`: 500"),
        (&|p| drop(params_of(p).remove("exit_z")), "parameter `exit_z`: missing"),
        (
            &|p| drop(params_of(p).insert("positions".into(), ParamEntry::Int(5))),
            "parameter `positions`: unknown (parameters: window, entry_z, exit_z, rsi_period, rsi_oversold)",
        ),
    ];
    each_refused(&p, &cases);
}

/// A promoted strategy as a build before the one figures type wrote it: its record's trades,
/// final equity, Sharpe and max drawdown beside the bars, not in `figures`.
const OLD_RECORD: &str = r#"{"id":"goog_sma","spec":{"kind":"builtin","strategy":"sma_cross","params":{"fast":10,"slow":20}},
"timeframe":"1Day","symbols":["GOOG"],"allocation":1.0,"rules":{"fill":"next_open","costs":{"commission":
{"per_share":0.0,"per_order":0.0,"rate":0.0},"slippage":"none"},"sizing":"all_in","sizing_price":"fill_price",
"quantity":"whole","exits":{"stop_loss":null,"take_profit":null,"trailing_stop":null,"max_bars":null},
"close_at_end":true},"recorded":{"cash":10000.0,"data_hash":"36f489a09ff58799","first_ns":1092888000000000000,
"last_ns":1362114000000000000,"bars":2148,"trades":47,"final_equity":75645.99000000002,
"sharpe":1.1751417473410168,"max_drawdown":-0.18935266400869877,"equity_hash":"ce201cf67c537beb"},"source":"test"}"#;

#[test]
fn a_record_written_before_the_one_figures_type_loads_and_reproduces() {
    let data = goog();
    let old: PromotedStrategy = serde_json::from_str(OLD_RECORD).unwrap();
    let recorded = old.recorded.as_ref().unwrap();
    let f = &recorded.figures;
    assert_eq!(
        (f.trades, f.final_equity, f.sharpe, f.max_drawdown),
        (47, 75_645.990_000_000_02, 1.175_141_747_341_016_8, -0.189_352_664_008_698_77)
    );
    assert!(f.cagr.is_nan() && f.sortino.is_nan() && f.capital_at_work.is_nan(), "not recorded then");
    old.reproduce(&data).unwrap();
    // Recorded again, it is written in today's shape, with every figure.
    let new = sma("goog_sma", 10, 20, 1.0, &data);
    assert_eq!(new.recorded.as_ref().unwrap().figures.sharpe.to_bits(), f.sharpe.to_bits());
    let text = serde_json::to_string(&new).unwrap();
    assert!(
        text.contains(r#""bars":2148,"figures":{"trades":47,"#) && text.contains(r#""capital_at_work":null"#),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<PromotedStrategy>(&text).unwrap(), new);
    // Both spellings at once, or neither, are refused.
    let both = OLD_RECORD.replace(r#""bars":2148,"#, r#""bars":2148,"figures":{"trades":47},"#);
    let err = serde_json::from_str::<PromotedStrategy>(&both).unwrap_err().to_string();
    assert!(err.contains("keep only `figures`"), "{err}");
    let neither = OLD_RECORD.replace(r#""trades":47,"#, "");
    let err = serde_json::from_str::<PromotedStrategy>(&neither).unwrap_err().to_string();
    assert!(err.contains("missing field `figures`"), "{err}");
}
