//! The README's example commands, run: every `tradebot …` line of its `sh` blocks is either run
//! here (in a temporary directory laid out like a checkout, on a small generated store and smaller
//! copies of the shipped experiment files) or skipped with the test that covers it instead. A
//! README command missing from the plan below, or a planned one no longer in the README, fails
//! the test too, so the list cannot drift from the documentation.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// The README and the manual pages moved out of it, in the order the commands were written.
const README: &[&str] = &[
    include_str!("../README.md"),
    include_str!("../docs/cli.md"),
    include_str!("../docs/data.md"),
    include_str!("../docs/kernel.md"),
    include_str!("../docs/regimes.md"),
    include_str!("../docs/research.md"),
    include_str!("../docs/discovery.md"),
    include_str!("../docs/operations.md"),
    include_str!("../docs/live-bridge.md"),
    include_str!("../docs/performance.md"),
    include_str!("../docs/strategy-language.md"),
];
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// How one README command is exercised.
enum Plan {
    /// Run as written, plus these arguments (a hidden `--stop-after` so a resume has a run to
    /// continue); `RUN_ID`-like numbers are replaced by the ids the earlier commands made.
    Run(&'static [&'static str]),
    /// Not run here: the reason names the test (or the missing service) that covers it.
    Skip(&'static str),
}

/// Every README command (as written, comments removed) and its plan, in README order.
const PLAN: &[(&str, Plan)] = &[
    ("cargo run --release -- research", Plan::Skip("cargo itself; the research job is the next skip")),
    ("cargo test --workspace --profile ci", Plan::Skip("this is the test run")),
    ("tradebot backtest --data sample:GOOG --strategy sma_cross --param fast=10,slow=20", Plan::Run(&[])),
    (
        "tradebot backtest --data datasets/samples/GOOG.csv --strategy sma_cross --json --trades t.csv --equity e.csv",
        Plan::Run(&[]),
    ),
    (
        "tradebot backtest --data data/store --symbol XLK,XLF,XLE,XLV,XLI,XLY,XLP,XLU,XLB,XLRE,XLC --strategy sector_rotation",
        Plan::Run(&[]),
    ),
    ("tradebot sweep experiments/sma_cross_goog.toml", Plan::Run(&[])),
    ("tradebot evolve experiments/mean_reversion_goog_evolve.toml", Plan::Run(&["--stop-after", "2"])),
    ("tradebot evolve --resume 7", Plan::Run(&[])),
    ("tradebot runs list", Plan::Run(&[])),
    ("tradebot runs show 7", Plan::Run(&[])),
    (
        "tradebot research",
        Plan::Skip(
            "builds the 516-symbol default store: cli.rs research_builds_the_default_store_and_runs_the_built_in_nightly",
        ),
    ),
    (
        "tradebot live --config live.toml",
        Plan::Skip("needs Alpaca: live-bridge/tests against the fake Alpaca"),
    ),
    (
        "tradebot live halt --reason \"broker outage\"",
        Plan::Skip(
            "needs a running live service: tests/live_cli.rs halt_from_another_directory_reaches_the_running_service and halt_resume_and_status",
        ),
    ),
    (
        "tradebot live status",
        Plan::Skip(
            "needs a running live service: tests/live_cli.rs halt_from_another_directory_reaches_the_running_service and halt_resume_and_status",
        ),
    ),
    (
        "tradebot live resume",
        Plan::Skip(
            "needs a running live service: tests/live_cli.rs halt_from_another_directory_reaches_the_running_service and halt_resume_and_status",
        ),
    ),
    ("tradebot discover experiments/discover_goog.toml", Plan::Run(&[])),
    ("tradebot candidates list", Plan::Run(&[])),
    ("tradebot promote 3", Plan::Run(&[])),
    ("tradebot regimes --train", Plan::Run(&[])),
    ("tradebot regimes --json", Plan::Run(&[])),
    ("tradebot status", Plan::Run(&[])),
    ("tradebot dashboard", Plan::Skip("a server until SIGTERM: dashboard_cli.rs")),
    ("tradebot db backup --to /mnt/usb/tradebot --keep 7", Plan::Run(&[])),
    ("tradebot db restore backups/2026-11-30/research.db", Plan::Run(&[])),
    // docs/data.md: real market data (needs Alpaca; the fake serves the same in the tests).
    (
        "tradebot data universe --from-assets --exchange NYSE,NASDAQ --min-price 5 --out us.toml",
        Plan::Skip(
            "needs Alpaca: tests/data_fetch_cli.rs a_universe_is_built_from_the_asset_list_by_exchange_and_price",
        ),
    ),
    (
        "tradebot data fetch --universe us.toml --from 2016-01-01",
        Plan::Skip(
            "needs Alpaca: tests/data_fetch_cli.rs (universe file, SIGKILL and resume) and live-bridge/tests/fetch.rs",
        ),
    ),
    (
        "tradebot data fetch --symbols AAPL,MSFT,BTC/USD --timeframe 1Hour --feed sip",
        Plan::Skip(
            "needs Alpaca: live-bridge/tests/fetch.rs crypto_pairs_come_from_the_crypto_endpoint_around_the_clock",
        ),
    ),
    // The discovery section: a second run, stopped and resumed.
    ("tradebot discover experiments/discover_goog.toml", Plan::Run(&["--stop-after", "2"])),
    ("tradebot discover --resume 12", Plan::Run(&[])),
    ("tradebot candidates list", Plan::Run(&[])),
    ("tradebot candidates show 3", Plan::Run(&[])),
    ("tradebot promote 3 --allocation 0.2", Plan::Run(&[])),
    ("tradebot promote --strategy-file strategies/mean_reversion.tbs --data sample:GOOG", Plan::Run(&[])),
    ("tradebot demote 3", Plan::Run(&[])),
    (
        "curl -s -H \"Authorization: Bearer $(cat data/dashboard.token)\" http://127.0.0.1:8080/api/summary",
        Plan::Skip("needs the dashboard running: dashboard_cli.rs"),
    ),
    // docs/strategy-language.md: a strategy file checked, backtested, swept, evolved and promoted.
    ("tradebot check strategies/trend_pullback.tbs", Plan::Run(&[])),
    (
        "tradebot backtest --data sample:GOOG --strategy-file strategies/trend_pullback.tbs --param trend=150,dip=30",
        Plan::Run(&[]),
    ),
    ("tradebot sweep experiments/trend_pullback_goog.toml", Plan::Run(&[])),
    ("tradebot evolve experiments/trend_pullback_goog_evolve.toml", Plan::Run(&[])),
    (
        "tradebot promote --family my_idea --research experiments/my_research.toml",
        Plan::Skip(
            "needs a finished research run of the user's file: strategy_file_cli.rs a_strategy_file_runs_as_a_research_family",
        ),
    ),
];

/// The commands of the README's `sh` blocks: one per line or `;`-separated part, comments removed.
fn readme_commands() -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in README.iter().flat_map(|page| page.lines()) {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = line.split("  #").next().unwrap_or("").split(" # ").next().unwrap_or("");
        out.extend(code.split(" ; ").map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
    }
    out
}

/// Splits a command line into arguments (double quotes group words).
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn copy(from: &str, to: &Path, edit: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(Path::new(ROOT).join(from)).unwrap();
    for (a, b) in edit {
        assert!(text.contains(a), "{from} no longer contains {a}");
        text = text.replace(a, b);
    }
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::write(to, text).unwrap();
}

fn run(cwd: &Path, args: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tradebot"))
        .current_dir(cwd)
        .args(args)
        .env_remove("TRADEBOT_DB")
        .env_remove("TRADEBOT_STORE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the README's `tradebot {}` failed:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The id after `--resume ` in a `continue with:` hint.
fn resume_id(stdout: &str) -> String {
    let (_, rest) = stdout.split_once("--resume ").unwrap_or_else(|| panic!("no resume hint: {stdout}"));
    rest.split_whitespace().next().unwrap().to_string()
}

#[test]
fn every_readme_command_is_planned_and_the_runnable_ones_work() {
    let documented = readme_commands();
    let planned: Vec<&str> = PLAN.iter().map(|(c, _)| *c).collect();
    assert_eq!(documented, planned, "the README's commands changed: update PLAN in tests/readme_cli.rs");

    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    // A checkout's layout: the shipped files the commands name, the discovery search smaller
    // and its gates open so the candidate commands have a candidate.
    copy("datasets/samples/GOOG.csv", &cwd.join("datasets/samples/GOOG.csv"), &[]);
    copy("experiments/sma_cross_goog.toml", &cwd.join("experiments/sma_cross_goog.toml"), &[]);
    copy(
        "experiments/mean_reversion_goog_evolve.toml",
        &cwd.join("experiments/mean_reversion_goog_evolve.toml"),
        &[("population = 32", "population = 12"), ("generations = 20", "generations = 4")],
    );
    copy(
        "experiments/discover_goog.toml",
        &cwd.join("experiments/discover_goog.toml"),
        &[
            ("population = 120", "population = 40"),
            ("generations = 25", "generations = 6"),
            ("min_oos_sharpe = 0.5", "min_oos_sharpe = -100"),
            ("min_dsr = 0.9", "min_dsr = 0"),
            ("min_oos_trades = 10", "min_oos_trades = 1"),
            ("max_drawdown = 0.35", "max_drawdown = 1\nbenchmark = \"absolute\""),
        ],
    );
    copy("live.example.toml", &cwd.join("live.toml"), &[]);
    copy("strategies/trend_pullback.tbs", &cwd.join("strategies/trend_pullback.tbs"), &[]);
    copy("experiments/trend_pullback_goog.toml", &cwd.join("experiments/trend_pullback_goog.toml"), &[]);
    copy(
        "experiments/trend_pullback_goog_evolve.toml",
        &cwd.join("experiments/trend_pullback_goog_evolve.toml"),
        &[("population = 24", "population = 10"), ("generations = 10", "generations = 3")],
    );
    copy("strategies/mean_reversion.tbs", &cwd.join("strategies/mean_reversion.tbs"), &[]);
    run(cwd, &words("data generate --symbols 20 --years 2 --seed 1"));

    // README ids (`--resume 7`, `promote 3`) stand for the ids the earlier commands made.
    let mut ids: HashMap<&str, String> = HashMap::new();
    let today = chrono::Utc::now().date_naive().to_string();
    for (command, plan) in PLAN {
        let extra = match plan {
            Plan::Run(extra) => extra,
            Plan::Skip(covered_by) => {
                assert!(!covered_by.is_empty(), "{command}: say what covers it");
                continue;
            }
        };
        let mut args = words(command.strip_prefix("tradebot ").unwrap());
        let key = |args: &[String]| args.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
        match key(&args).as_str() {
            "evolve --resume" | "runs show" => args[2] = ids["evolve"].clone(),
            "discover --resume" => args[2] = ids["discover"].clone(),
            "promote 3" | "demote 3" | "candidates show" => {
                let id = args.iter_mut().skip(1).find(|a| *a == "3").unwrap();
                *id = ids["candidate"].clone();
            }
            "db backup" => args[3] = "usb".into(),
            "db restore" => args[2] = format!("usb/{today}/research.db"),
            _ => {}
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let stdout = run(cwd, &args);
        match args[0].as_str() {
            "evolve" | "discover" if stdout.contains("--resume") => {
                ids.insert(if args[0] == "evolve" { "evolve" } else { "discover" }, resume_id(&stdout));
            }
            "candidates" if args[1] == "list" && !ids.contains_key("candidate") => {
                let listed = run(cwd, &words("candidates list --json"));
                let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
                ids.insert("candidate", listed[0]["id"].to_string());
            }
            _ => {}
        }
    }
    assert!(
        cwd.join("results/sma_cross_goog.csv").exists(),
        "the sweep's [output] csv, relative to its file"
    );
    assert!(cwd.join("data/promoted/CURRENT").exists());
}
