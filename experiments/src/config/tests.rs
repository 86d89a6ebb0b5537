//! Config parsing: good files and errors that name the key and the line.

use std::path::Path;

use kernel::strategy::ParamValue;

use super::*;

const GOOD: &str = r#"[experiment]
name = "t"
strategy = "sma_cross"
[data]
sample = "GOOG"
[params]
fast = { min = 2, max = 10, step = 4 }
slow = { values = [20, 30] }
"#;

fn parse(text: &str) -> Result<Experiment, ConfigError> {
    Experiment::parse(text, "t.toml", Path::new("/base"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn a_good_file_gives_axes_defaults_and_rules() {
    let e = parse(GOOD).unwrap();
    assert_eq!(e.strategy.name(), "sma_cross");
    assert_eq!(e.axes[0], Axis::Values(vec![ParamValue::Int(2), ParamValue::Int(6), ParamValue::Int(10)]));
    assert_eq!(e.axes[1], Axis::Values(vec![ParamValue::Int(20), ParamValue::Int(30)]));
    assert_eq!((e.mode, e.rank_by, e.cash, e.output.top), (Mode::Grid, Metric::Sharpe, 10_000.0, 20));
    assert!(matches!(e.data, DataSource::Sample(s) if s.symbol == "GOOG"));
    assert_eq!(e.rules, TradeRules::default());

    let mr = "[experiment]\nname = \"m\"\nstrategy = \"mean_reversion\"\n[data]\nfile = \"x.csv\"\n\
              [sweep]\nmode = \"random\"\nsamples = 5\nseed = 7\nrank_by = \"sortino\"\n\
              [params]\nentry_z = { min = 1, max = 2.5 }\n[account]\ncommission_rate = 0.001\nslippage_bps = 2\n";
    let e = parse(mr).unwrap();
    assert!(matches!(&e.data, DataSource::File(p) if p == Path::new("/base/x.csv")));
    assert_eq!(e.mode, Mode::Random { samples: 5, seed: 7 });
    assert_eq!(e.axes[0], Axis::Values(vec![ParamValue::Int(20)]), "window keeps its default");
    assert_eq!(e.axes[1], Axis::Interval { min: 1.0, max: 2.5 });
    assert_eq!(e.rules.costs.commission.rate, 0.001);
    assert_eq!(e.rules.costs.slippage, Slippage::Bps(2.0));
}

#[test]
fn real_grid_steps_reach_max_without_drift() {
    let text = "[experiment]\nname = \"m\"\nstrategy = \"mean_reversion\"\n[data]\nsample = \"GOOG\"\n\
                [params]\nentry_z = { min = 0.5, max = 1.1, step = 0.1 }\n";
    let Axis::Values(v) = &parse(text).unwrap().axes[1] else { panic!("a list") };
    assert_eq!(v.len(), 7);
    assert_eq!(v[6], ParamValue::Real(1.1));
    assert_eq!(v[3], ParamValue::Real(0.5 + 3.0 * 0.1));
}

#[test]
fn unknown_keys_name_the_key_and_line() {
    let text = GOOD.replace("[params]", "[params]\nbogus_key = { values = [1] }");
    assert_eq!(
        err(&text),
        "t.toml:7: key `params.bogus_key`: unknown parameter `bogus_key` (parameters: fast, slow)"
    );
    let text = GOOD.replace("name = \"t\"", "name = \"t\"\ncolour = \"red\"");
    assert_eq!(
        err(&text),
        "t.toml:3: key `experiment.colour`: unknown field `colour`, expected one of `name`, `strategy`, `strategy_file`"
    );
    let text = GOOD.replace("step = 4", "stride = 4");
    assert!(
        err(&text).starts_with("t.toml:7: key `params.fast.stride`: unknown field `stride`"),
        "{}",
        err(&text)
    );
}

#[test]
fn wrong_types_name_the_key_and_line() {
    let text = GOOD.replace("max = 10", "max = \"ten\"");
    assert_eq!(
        err(&text),
        "t.toml:7: key `params.fast.max`: \"ten\" is not allowed for `fast`: expected an integer in 2..=200"
    );
    let text = GOOD.replace("{ values = [20, 30] }", "20");
    assert_eq!(
        err(&text),
        "t.toml:8: key `params.slow`: invalid type: integer `20`, expected a range table such as { min = 2, max = 10 } or { values = [...] }"
    );
    let text = GOOD.replace("[params]", "[account]\ncash = \"lots\"\n[params]");
    assert_eq!(err(&text), "t.toml:7: key `account.cash`: invalid type: string \"lots\", expected f64");
    let text = GOOD.replace("[params]", "[sweep]\nrank_by = \"luck\"\n[params]");
    assert!(
        err(&text).starts_with("t.toml:7: key `sweep.rank_by`: unknown variant `luck`"),
        "{}",
        err(&text)
    );
}

#[test]
fn out_of_space_ranges_name_the_parameter_and_the_allowed_range() {
    let text = GOOD.replace("slow = { values = [20, 30] }", "slow = { min = 2, max = 200 }");
    assert_eq!(
        err(&text),
        "t.toml:8: key `params.slow.min`: 2 is not allowed for `slow`: expected an integer in 3..=400"
    );
    let text = GOOD.replace("max = 10", "max = 1");
    assert_eq!(
        err(&text),
        "t.toml:7: key `params.fast.max`: 1 is not allowed for `fast`: expected an integer in 2..=200"
    );
    let text = GOOD.replace("min = 2, max = 10", "min = 10, max = 5");
    assert_eq!(err(&text), "t.toml:7: key `params.fast.max`: 5 is below min 10");
}

#[test]
fn unknown_strategy_sample_and_bad_account_are_named() {
    let text = GOOD.replace("\"sma_cross\"", "\"sma_crossover\"");
    assert!(err(&text).starts_with("t.toml:3: key `experiment.strategy`: unknown strategy `sma_crossover` (strategies: sma_cross, mean_reversion"));
    let text = GOOD.replace("\"GOOG\"", "\"AAPL\"");
    assert_eq!(
        err(&text),
        "t.toml:5: key `data.sample`: unknown sample `AAPL` (samples: GOOG, EURUSD, BTCUSD)"
    );
    let text = GOOD.replace("[params]", "[account]\ncommission_rate = 1.5\n[params]");
    assert_eq!(err(&text), "t.toml:7: key `account.commission_rate`: 1.5 must be in [0, 1)");
    let text = GOOD.replace("sample = \"GOOG\"", "sample = \"GOOG\"\nfile = \"a.csv\"");
    assert!(err(&text).contains("key `data`: give exactly one of `sample`, `file` or `store` (found 2)"));
    let text = GOOD.replace("[params]", "[sweep]\nmode = \"random\"\n[params]");
    assert!(err(&text).contains("key `sweep.samples`: random mode needs `samples`"));
    let grid_real = "[experiment]\nname = \"m\"\nstrategy = \"mean_reversion\"\n[data]\nsample = \"GOOG\"\n\
                     [params]\nentry_z = { min = 1, max = 2 }\n";
    assert_eq!(
        err(grid_real),
        "t.toml:7: key `params.entry_z.step`: a grid over a real parameter needs `step` (or `values`)"
    );
}

#[test]
fn syntax_errors_give_the_line() {
    assert_eq!(
        err("[experiment]\nname = \"t\"\nstrategy = \n"),
        "t.toml:3: string values must be quoted, expected literal string"
    );
}

const EVOLVE: &str = r#"[experiment]
name = "e"
strategy = "mean_reversion"
[data]
sample = "GOOG"
[evolve]
population = 16
generations = 5
[evolve.stagnation]
patience = 3
[fitness]
objective = "calmar"
min_trades = 4
[validation]
in_sample = 0.6
pbo_blocks = 8
[params]
window = { min = 5, max = 60 }
rsi_period = { values = [7, 14, 21] }
exit_z = { values = [0.0] }
entry_z = { min = 1, max = 2.5 }
"#;

#[test]
fn an_evolution_gives_genes_ga_fitness_and_validation() {
    use evolve::genes::Gene;
    use evolve::stats::Objective;
    let e = parse(EVOLVE).unwrap();
    let evo = e.evolution.expect("an [evolve] section");
    assert_eq!((evo.ga.population, evo.ga.generations, evo.ga.stagnation.patience), (16, 5, 3));
    assert_eq!(evo.ga.tournament_size, 3, "unset fields keep their defaults");
    assert_eq!((evo.fitness.objective, evo.fitness.min_trades), (Objective::Calmar, 4));
    assert_eq!((evo.validation.in_sample, evo.validation.pbo_blocks), (0.6, Some(8)));
    assert_eq!(evo.validation.walk_forward, None);
    let genes = evo.genes.genes();
    let space = e.strategy.space();
    let gene = |name: &str| &genes[space.index_of(name).unwrap()];
    assert_eq!(gene("window"), &Gene::Int { min: 5, max: 60 }, "a step-1 range is an integer gene");
    assert_eq!(gene("entry_z"), &Gene::Real { min: 1.0, max: 2.5 }, "a real range needs no step");
    let listed = [7, 14, 21].map(ParamValue::Int).to_vec();
    assert_eq!(gene("rsi_period"), &Gene::Listed(listed));
    assert_eq!(gene("exit_z"), &Gene::Fixed(ParamValue::Real(0.0)));
    let kernel::strategy::ParamKind::Real { min, max } =
        space.specs()[space.index_of("rsi_oversold").unwrap()].kind
    else {
        panic!("rsi_oversold is real")
    };
    assert_eq!(gene("rsi_oversold"), &Gene::Real { min, max }, "an omitted parameter spans its whole domain");
    assert!(parse(GOOD).unwrap().evolution.is_none(), "a sweep file has no evolution");
}

#[test]
fn bad_evolution_settings_name_the_key_and_line() {
    let with = |from: &str, to: &str| err(&EVOLVE.replace(from, to));
    assert_eq!(
        with("population = 16", "population = 1"),
        "t.toml:7: key `evolve.population`: must be in 2..=100000 (got 1)"
    );
    assert!(
        with("population = 16", "popsize = 16")
            .starts_with("t.toml:7: key `evolve.popsize`: unknown field `popsize`")
    );
    assert!(with("patience = 3", "patience = 0").starts_with("t.toml:10: key `evolve.stagnation.patience`"));
    assert!(
        with("\"calmar\"", "\"luck\"")
            .starts_with("t.toml:12: key `fitness.objective`: unknown variant `luck`")
    );
    assert!(
        with("min_trades = 4", "max_drawdown = 1.5").starts_with("t.toml:13: key `fitness.max_drawdown`")
    );
    assert!(with("in_sample = 0.6", "in_sample = 1.5").starts_with("t.toml:15: key `validation.in_sample`"));
    assert!(with("pbo_blocks = 8", "pbo_blocks = 7").contains("key `validation.pbo_blocks`: 7 blocks"));
    let wf = with("pbo_blocks = 8", "walk_forward = { folds = 1 }");
    assert!(wf.starts_with("t.toml:16: key `validation.walk_forward`: 1 folds"), "{wf}");
    let wf = with("pbo_blocks = 8", "walk_forward = { folds = 5, test_fraction = 0.25 }");
    assert!(wf.contains("leave no bars to train on"), "{wf}");
    let orphan = EVOLVE
        .replace("[evolve]\npopulation = 16\ngenerations = 5\n[evolve.stagnation]\npatience = 3\n", "")
        .replace("entry_z = { min = 1, max = 2.5 }\n", "");
    assert!(err(&orphan).contains("need an `[evolve]` section"), "{}", err(&orphan));
}

#[test]
fn walk_forward_settings_parse() {
    use evolve::stats::{TestLen, WalkForwardMode};
    let text = EVOLVE
        .replace("pbo_blocks = 8", "walk_forward = { folds = 4, mode = \"anchored\", test_fraction = 0.15 }");
    let both = err(&text);
    assert!(
        both.starts_with("t.toml:15: key `validation.in_sample`: `in_sample` is a holdout split"),
        "{both}"
    );
    let text = text.replace("in_sample = 0.6\n", "");
    let wf = parse(&text).unwrap().evolution.unwrap().validation.walk_forward.unwrap();
    assert_eq!((wf.folds, wf.mode, wf.test), (4, WalkForwardMode::Anchored, TestLen::Fraction(0.15)));
}

/// Issue 16: sizes are refused from the file, before anything of that size is allocated.
#[test]
fn sizes_past_the_limits_are_refused_with_their_size() {
    let grid = |params: &str| {
        format!(
            "[experiment]\nname = \"g\"\nstrategy = \"mean_reversion\"\n[data]\nsample = \"GOOG\"\n[params]\n{params}"
        )
    };
    // A step of 1e-9 used to abort with an allocation failure.
    let e = err(&grid("entry_z = { min = 1, max = 2.5, step = 1e-9 }\n"));
    assert!(
        e.starts_with(
            "t.toml:7: key `params.entry_z`: this range has 1500000001 values, above the limit of 1000000"
        ),
        "{e}"
    );
    // Every axis fits, the product does not: the size and its factors are named.
    let wide = "window = { min = 5, max = 200 }\nentry_z = { min = 0.5, max = 3, step = 0.01 }\n\
                exit_z = { min = 0, max = 1, step = 0.01 }\n";
    let e = err(&grid(wide));
    assert!(
        e.contains("key `sweep`: the grid has 4968796 combinations (196 × 251 × 101 × 1 × 1 × 1)"),
        "{e}"
    );
    let raised = grid(wide).replace("[params]", "[sweep]\nmax_combinations = 5000000\n[params]");
    assert!(parse(&raised).is_ok(), "the limit is configurable");
    let random = |samples: &str| {
        grid("").replace("[params]", &format!("[sweep]\nmode = \"random\"\nsamples = {samples}\n[params]"))
    };
    let e = err(&random("9223372036854775807"));
    assert!(e.contains("key `sweep.samples`: 9223372036854775807 must be from 1 to 1000000"), "{e}");
    assert!(parse(&random("1000000")).is_ok());
    let e = err(&EVOLVE.replace("population = 16", "population = 9223372036854775807"));
    assert!(e.contains("key `evolve.population`: must be in 2..=100000 (got 9223372036854775807)"), "{e}");
    let e = err(&EVOLVE.replace("generations = 5", "generations = 4294967295"));
    assert!(e.contains("key `evolve.generations`: must be in 1..=1000000"), "{e}");
}

#[test]
fn every_path_in_a_file_is_relative_to_the_file() {
    let text = format!("{GOOD}[output]\ncsv = \"../results/t.csv\"\njson = \"/abs/t.json\"\n");
    let e = Experiment::parse(&text, "t.toml", Path::new("repo/experiments")).unwrap();
    assert_eq!(
        e.output.csv.as_deref(),
        Some(Path::new("repo/results/t.csv")),
        "like [data], not the working directory"
    );
    assert_eq!(e.output.json.as_deref(), Some(Path::new("/abs/t.json")));
    let file = GOOD.replace("sample = \"GOOG\"", "file = \"./bars/x.csv\"");
    let e = Experiment::parse(&file, "t.toml", Path::new("repo/experiments")).unwrap();
    assert!(matches!(&e.data, DataSource::File(p) if p == Path::new("repo/experiments/bars/x.csv")));
    assert_eq!(resolve(Path::new(""), "../x"), Path::new("../x"), "nothing to pop: kept");
    assert_eq!(resolve(Path::new("a"), ".."), Path::new("."));

    let research = "[research]\nname = \"n\"\nreport = \"../results/n\"\n[families.sma_cross]\n\
                    [discover]\ncandidates = \"../cands\"\n";
    let r = crate::research::Research::parse(research, "n.toml", Path::new("repo/experiments")).unwrap();
    assert_eq!(r.report.as_deref(), Some(Path::new("repo/results/n")));
    let d = r.discover.as_ref().unwrap();
    assert_eq!(d.settings.candidates, Path::new("repo/cands"));
    assert_eq!(
        d.settings.promoted,
        Path::new("data/promoted"),
        "a default is the CLI's, in the working directory"
    );
}
