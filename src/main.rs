//! `tradebot`: the command-line front end. Parses arguments and calls the library crates.

mod alert;
mod backtest;
mod bench;
mod check;
mod dashboard;
mod data;
mod data_fetch;
mod db;
mod discover;
mod evolve;
mod live;
mod progress;
mod regimes;
mod research;
mod resume;
mod runs;
mod service;
mod status;
mod sweep;
mod worker;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Research-first algorithmic trading: bar store, backtests, evolution, live bridge.
#[derive(Parser)]
#[command(name = "tradebot", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    ops: service::OpsArgs,
}

#[derive(Subcommand)]
enum Command {
    /// The nightly research job: evolve every enabled family, validate out of sample, report.
    Research(research::ResearchArgs),
    /// Evolve one strategy's parameters from an experiment file (or resume a stopped run).
    Evolve(evolve::EvolveArgs),
    /// Discover new strategies by genetic programming from a discovery file (or resume a run).
    Discover(discover::DiscoverArgs),
    /// The discovered strategies that passed their promotion gates.
    Candidates {
        #[command(subcommand)]
        command: discover::CandidatesCommand,
    },
    /// Add a candidate or a strategy file to the promoted set the live bridge runs (a new version
    /// of the set).
    Promote(discover::PromoteArgs),
    /// Remove a promoted candidate from the promoted set (a new version of the set).
    Demote(discover::DemoteArgs),
    /// The GA runs recorded in the research database.
    Runs {
        #[command(subcommand)]
        command: runs::RunsCommand,
    },
    /// Backtest one strategy with one parameter set.
    Backtest(backtest::BacktestArgs),
    /// Benchmarks of the research itself: `bench truth` scores its verdicts on null and
    /// planted synthetic universes.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// List the built-in strategies with their parameter spaces.
    Strategies,
    /// Type-check a strategy file (`.tbs`): its params and its rule, simplified.
    Check(check::CheckArgs),
    /// Grid or random sweep over a strategy's parameter space, from an experiment file.
    Sweep {
        /// Experiment file, e.g. experiments/sma_cross_goog.toml.
        config: PathBuf,
        /// Research database (SQLite) the results are recorded in.
        #[arg(long, env = "TRADEBOT_DB", default_value = "data/research.db")]
        db: PathBuf,
        /// Worker threads (default: all cores). Results are identical for any count.
        #[arg(long)]
        threads: Option<usize>,
        /// Print the ranked results as JSON on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        cluster: worker::NatsArgs,
    },
    /// The live-bridge service (Alpaca, paper or real), its kill switch and status.
    Live(live::LiveArgs),
    /// Market regimes: today's, the history, and the learned next-day model's scores.
    Regimes(regimes::RegimesArgs),
    /// Import, generate, inspect and export market data.
    Data {
        #[command(subcommand)]
        command: data::DataCommand,
    },
    /// Back up every database (verified) or restore one.
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
    /// The health of everything: last research run, data freshness, disk, memory, errors, live service.
    Status(status::StatusArgs),
    /// Send one alert through the configured channels (a test, or systemd's OnFailure=).
    Alert(alert::AlertArgs),
    /// The live P&L dashboard: a token-protected web page on 127.0.0.1 (read-only).
    Dashboard(dashboard::DashboardArgs),
    /// Evaluate GA tasks for coordinators on other machines, from a NATS JetStream work queue
    /// (`research --nats`; docs/scale-out.md).
    Worker(worker::WorkerArgs),
}

impl Command {
    /// The service name a long-running command logs under (its log file, error-log rows and
    /// alerts), and whether it runs the periodic health check; `None` for quick commands.
    fn service(&self) -> Option<(&'static str, bool)> {
        match self {
            Command::Research(_) => Some(("research", true)),
            Command::Evolve(_) => Some(("evolve", true)),
            Command::Discover(_) => Some(("discover", true)),
            Command::Worker(_) => Some(("worker", true)),
            Command::Db { .. } => Some(("backup", false)),
            _ => None,
        }
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// A user error as the terminal shows it: the message and its causes, never a backtrace (even
/// with `RUST_BACKTRACE=1`: backtraces are for panics). A cause whose text a message above
/// already contains (an OS error a library quoted) is not repeated.
fn error_report(e: &anyhow::Error) -> String {
    let mut out = format!("Error: {e}");
    let mut shown = e.to_string();
    let causes: Vec<String> =
        e.chain().skip(1).map(|c| c.to_string()).filter(|c| !shown_already(&mut shown, c)).collect();
    if !causes.is_empty() {
        out.push_str("\n\nCaused by:");
        for c in &causes {
            out.push_str("\n    ");
            out.push_str(c);
        }
    }
    out
}

/// Whether `cause` is already part of `shown` (the messages printed so far); adds it when not.
fn shown_already(shown: &mut String, cause: &str) -> bool {
    if shown.contains(cause) {
        return true;
    }
    shown.push('\n');
    shown.push_str(cause);
    false
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    let service = cli.command.service().map(|(name, health)| service::Service::start(name, &cli.ops, health));
    let outcome = match cli.command {
        Command::Research(args) => research::run(args),
        Command::Evolve(args) => evolve::run(args),
        Command::Discover(args) => discover::run(args),
        Command::Candidates { command } => discover::candidates(command),
        Command::Promote(args) => discover::promote(args),
        Command::Demote(args) => discover::demote(args),
        Command::Runs { command } => runs::run(command),
        Command::Data { command } => data::run(command),
        Command::Live(args) => live::run(args, &cli.ops),
        Command::Backtest(args) => backtest::run(args),
        Command::Bench { command } => bench::run(command),
        Command::Regimes(args) => regimes::run(args),
        Command::Strategies => strategies(),
        Command::Check(args) => check::run(args),
        Command::Sweep { config, db, threads, json, cluster } => {
            sweep::run(&config, &db, threads, json, &cluster)
        }
        Command::Db { command } => db::run(command),
        Command::Status(args) => status::run(args, &cli.ops),
        Command::Alert(args) => alert::run(args, &cli.ops),
        Command::Dashboard(args) => dashboard::run(args, &cli.ops),
        Command::Worker(args) => worker::run(args),
    };
    let outcome = match outcome {
        // The reader went away (`tradebot data info | head`): that is not a failure.
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    };
    if let Some(service) = service {
        service.finish(&outcome);
    }
    outcome
}

/// Writes command output to stdout in one go; a closed pipe surfaces as an error that
/// `main` treats as success.
pub fn emit(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

/// Prints every strategy with its description and parameter space.
fn strategies() -> Result<()> {
    use std::fmt::Write as _;
    let mut out = String::new();
    for s in kernel::strategy::registry() {
        writeln!(out, "{:<26} {}", s.name(), s.description())?;
        write_specs(&mut out, s.space().specs())?;
    }
    emit(&out)
}

/// One indented line per parameter: name, domain, default.
pub fn write_specs(out: &mut String, specs: &[kernel::strategy::ParamSpec]) -> std::fmt::Result {
    use std::fmt::Write as _;
    for spec in specs {
        writeln!(out, "    {:<22} {}, default {}", spec.name, spec.kind, spec.show(spec.default))?;
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
