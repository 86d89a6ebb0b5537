//! `tradebot live`: the live-bridge service, and its kill switch and status.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use datasets::Timestamp;
use live_bridge::alpaca::{Client, Credentials};
use live_bridge::clock::{Clock, SimulatedClock, SystemClock};
use live_bridge::config::{LiveConfig, Mode};
use live_bridge::db::Db;
use live_bridge::lock::ServiceLock;
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
    /// Stop all new orders now (writes the HALT file; cancels and protective stops stay
    /// allowed) and wait for the running service to confirm it sees it.
    Halt {
        /// Why, shown by `status` and in the log.
        #[arg(long, default_value = "manual halt")]
        reason: String,
        /// How long to wait for the running service's confirmation, seconds.
        #[arg(long, default_value_t = 15.0)]
        wait: f64,
    },
    /// Remove the HALT file and reset every tripped circuit breaker.
    Resume,
    /// Cancel every open order at the broker (allowed while halted); the positions' protective
    /// stops are kept unless `--include-protective`. On the real-money account (`mode =
    /// "live"`, which needs `allow_live = true`) it also needs `--yes`.
    Cancel {
        /// Cancel the protective orders too, leaving the positions unprotected.
        #[arg(long)]
        include_protective: bool,
        /// Confirm cancelling on the real-money account.
        #[arg(long)]
        yes: bool,
    },
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
            let outcome = serve(config, &args.config, args.paper, service.notifier().clone());
            service.finish(&outcome);
            outcome
        }
        Some(LiveCommand::Halt { reason, wait }) => halt(&data_dir, &args.config, &reason, wait),
        Some(LiveCommand::Resume) => resume(&existing_db(&data_dir, &args.config)?),
        Some(LiveCommand::Cancel { include_protective, yes }) => {
            cancel(config, &args.config, args.paper, include_protective, yes)
        }
        Some(LiveCommand::Status { json }) => {
            existing_db(&data_dir, &args.config)?;
            let status = Status::read(&data_dir)?;
            if json {
                crate::emit(&serde_json::to_string_pretty(&status)?)
            } else {
                crate::emit(&status.to_string())
            }
        }
    }
}

/// `live.db` of `data_dir`, which must exist: the commands that read or reset the service's
/// state never create a database where the service is not.
fn existing_db(data_dir: &Path, config: &Path) -> Result<PathBuf> {
    let db = data_dir.join("live.db");
    if !db.is_file() {
        bail!(
            "{} does not exist: no live service has run with data_dir {} (from {})",
            db.display(),
            data_dir.display(),
            config.display()
        );
    }
    Ok(db)
}

/// Writes the kill switch where the service of `config` looks, then waits for that service
/// (the holder of its data directory's lock) to confirm it, or says none is running.
fn halt(data_dir: &Path, config: &Path, reason: &str, wait: f64) -> Result<()> {
    if !data_dir.is_dir() {
        bail!(
            "data directory {} (data_dir of {}) does not exist: no live service uses it; nothing halted",
            data_dir.display(),
            config.display()
        );
    }
    let switch = KillSwitch::new(data_dir);
    switch.halt(reason).with_context(|| format!("writing {}", switch.path().display()))?;
    let path = switch.path().display();
    let Some(pids) = ServiceLock::running(data_dir) else {
        return crate::emit(&format!(
            "halted: {reason} ({path}); no live service is running on {}: it starts halted",
            data_dir.display()
        ));
    };
    let who = match pids.as_slice() {
        [] => "the running service".to_string(),
        p => format!(
            "the running service (pid {})",
            p.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(wait.max(0.0));
    while std::time::Instant::now() < deadline {
        if switch.acknowledged() {
            return crate::emit(&format!("halted: {reason} ({path}); {who} confirmed it"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "{path} written, but {who} has not confirmed the halt within {wait} s: check `tradebot live status` and its log"
    )
}

fn resume(db_path: &Path) -> Result<()> {
    let data_dir = db_path.parent().unwrap_or(Path::new("."));
    let was_halted = KillSwitch::new(data_dir).resume()?;
    let db = Db::open(db_path)?;
    let breakers = db.breakers()?;
    db.reset_breakers()?;
    let mut out = String::from(if was_halted { "kill switch removed\n" } else { "kill switch was off\n" });
    for (name, reason, _) in breakers {
        out.push_str(&format!("breaker {name} reset (was: {reason})\n"));
    }
    crate::emit(&out)
}

/// The client of the account `config` trades, after the paper/live checks.
fn checked_client(config: &mut LiveConfig, path: &Path, paper: bool) -> Result<Client> {
    let credentials = Credentials::load(config.alpaca.key_file.as_deref())?;
    let mode = config
        .checked_mode(paper, credentials.key_id())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    config.alpaca.mode = Some(mode);
    Ok(Client::new(config.alpaca.client_config(mode == Mode::Paper), credentials)?)
}

fn cancel(
    mut config: LiveConfig,
    path: &Path,
    paper: bool,
    include_protective: bool,
    yes: bool,
) -> Result<()> {
    let client = checked_client(&mut config, path, paper)?;
    if config.alpaca.mode == Some(Mode::Live) && !yes {
        bail!(
            "{}: mode = \"live\": this cancels orders on the real-money account; add --yes to confirm",
            path.display()
        );
    }
    let db = Db::open(&existing_db(&config.service.data_dir, path)?)?;
    let now = SystemClock.now().0;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let lines =
        runtime.block_on(live_bridge::service::cancel_open_orders(&client, &db, now, include_protective))?;
    crate::emit(&if lines.is_empty() { "no open orders".to_string() } else { lines.join("\n") })
}

fn serve(mut config: LiveConfig, path: &Path, paper: bool, notifier: Notifier) -> Result<()> {
    let client = checked_client(&mut config, path, paper)?;
    std::fs::create_dir_all(&config.service.data_dir)?;
    // Held for the process's lifetime: `tradebot db restore` refuses while the service runs.
    let _lock = DbLock::shared(&config.service.data_dir.join("live.db"))?;
    let grace = Duration::from_secs_f64(config.service.shutdown_grace_secs.max(0.0));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let client = Arc::new(client);
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
