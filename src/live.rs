//! `tradebot live`: the live-bridge service, and its kill switch and status.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use datasets::Timestamp;
use live_bridge::alpaca::{Client, Credentials};
use live_bridge::clock::{Clock, SimulatedClock, SystemClock};
use live_bridge::config::LiveConfig;
use live_bridge::db::Db;
use live_bridge::safety::KillSwitch;
use live_bridge::service::{Bridge, Ended};
use live_bridge::status::Status;
use ops::alert::Notifier;
use ops::config::OpsConfig;
use ops::lock::DbLock;
use ops::logging::LogOptions;
use tracing::Level;

use crate::service::{OpsArgs, Service};

/// `tradebot live [--config FILE] [--paper] [halt | resume | status]`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LiveArgs {
    #[command(subcommand)]
    command: Option<LiveCommand>,
    /// The live config (see live.example.toml).
    #[arg(long, global = true, default_value = "live.toml")]
    config: PathBuf,
    /// Trade the paper account (Alpaca's paper endpoints).
    #[arg(long, global = true)]
    paper: bool,
}

/// The kill switch and status.
#[derive(Subcommand)]
enum LiveCommand {
    /// Stop all new orders now (writes the HALT file; cancels stay allowed).
    Halt {
        /// Why, shown by `status` and in the log.
        #[arg(long, default_value = "manual halt")]
        reason: String,
    },
    /// Remove the HALT file and reset every tripped circuit breaker.
    Resume,
    /// Cancel every open order at the broker (allowed while halted).
    Cancel,
    /// Kill switch, breakers, reconciliation, checkpoint, books and pending orders.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `tradebot live`.
pub fn run(args: LiveArgs, ops_args: &OpsArgs) -> Result<()> {
    let config = LiveConfig::load(&args.config)?;
    let data_dir = config.service.data_dir.clone();
    match args.command {
        None => {
            let ops_config = match &config.ops {
                Some(section) => section.resolve()?,
                None => OpsConfig::load(&ops_args.ops_config)?,
            };
            // The log on stderr stays what it was (INFO, or the level in RUST_LOG); the file
            // and the error log are the operations crate's.
            let level = std::env::var("RUST_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(Level::INFO);
            let options = LogOptions::new(&ops_args.log_dir).stderr(Some(level));
            let service = Service::start_with("live", ops_args, &ops_config, true, options);
            let outcome = serve(config, args.paper, service.notifier().clone());
            service.finish(&outcome);
            outcome
        }
        Some(LiveCommand::Halt { reason }) => {
            let switch = KillSwitch::new(&data_dir);
            switch.halt(&reason).with_context(|| format!("writing {}", switch.path().display()))?;
            crate::emit(&format!("halted: {reason} ({})", switch.path().display()))
        }
        Some(LiveCommand::Resume) => resume(&data_dir),
        Some(LiveCommand::Cancel) => cancel(config, args.paper),
        Some(LiveCommand::Status { json }) => {
            let status = Status::read(&data_dir)?;
            if json {
                crate::emit(&serde_json::to_string_pretty(&status)?)
            } else {
                crate::emit(&status.to_string())
            }
        }
    }
}

fn resume(data_dir: &Path) -> Result<()> {
    let was_halted = KillSwitch::new(data_dir).resume()?;
    std::fs::create_dir_all(data_dir)?;
    let db = Db::open(&data_dir.join("live.db"))?;
    let breakers = db.breakers()?;
    db.reset_breakers()?;
    let mut out = String::from(if was_halted { "kill switch removed\n" } else { "kill switch was off\n" });
    for (name, reason, _) in breakers {
        out.push_str(&format!("breaker {name} reset (was: {reason})\n"));
    }
    crate::emit(&out)
}

fn cancel(config: LiveConfig, paper: bool) -> Result<()> {
    let credentials = Credentials::load(config.alpaca.key_file.as_deref())?;
    let client = Client::new(config.alpaca.client_config(paper), credentials)?;
    std::fs::create_dir_all(&config.service.data_dir)?;
    let db = Db::open(&config.service.data_dir.join("live.db"))?;
    let now = SystemClock.now().0;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let lines = runtime.block_on(live_bridge::service::cancel_open_orders(&client, &db, now))?;
    crate::emit(&if lines.is_empty() { "no open orders".to_string() } else { lines.join("\n") })
}

fn serve(config: LiveConfig, paper: bool, notifier: Notifier) -> Result<()> {
    if !paper && !config.alpaca.allow_live {
        bail!("refusing to trade real money: pass --paper, or set `allow_live = true` under [alpaca]");
    }
    std::fs::create_dir_all(&config.service.data_dir)?;
    // Held for the process's lifetime: `tradebot db restore` refuses while the service runs.
    let _lock = DbLock::shared(&config.service.data_dir.join("live.db"))?;
    let credentials = Credentials::load(config.alpaca.key_file.as_deref())?;
    let grace = Duration::from_secs_f64(config.service.shutdown_grace_secs.max(0.0));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let client = Arc::new(Client::new(config.alpaca.client_config(paper), credentials)?);
        let clock: Arc<dyn Clock> = match &config.replay {
            Some(replay) => {
                let start = chrono::DateTime::parse_from_rfc3339(&replay.start).context("replay.start")?;
                let start = Timestamp::from_datetime(start.with_timezone(&chrono::Utc)).context("replay.start")?;
                Arc::new(SimulatedClock::new(start))
            }
            None => Arc::new(SystemClock),
        };
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let mut signalled = shutdown.clone();
        tokio::spawn(async move {
            let name = wait_for_signal().await;
            tracing::warn!("{name}: stopping new entries, finishing the request in flight");
            let _ = stop.send(true);
        });
        let bridge = Bridge::new(config, client, clock, shutdown)?.with_notifier(notifier);
        let deadline = async move {
            let _ = signalled.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            ended = bridge.run() => match ended? {
                Ended::Shutdown => tracing::info!("stopped cleanly"),
                Ended::ReplayDone => tracing::info!("replay finished"),
            },
            _ = deadline => tracing::warn!("shutdown grace of {grace:?} exceeded: exiting (every committed step is in the database)"),
        }
        Ok(())
    })
}

/// Waits for SIGTERM or SIGINT; returns its name.
pub(crate) async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
