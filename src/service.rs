//! What a long-running command sets up around its work: its log file and the error log, the
//! alert notifier and the periodic health check (crate `ops`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ops::alert::Notifier;
use ops::config::OpsConfig;
use ops::health::HealthMonitor;
use ops::logging::{self, LogOptions, LoggingGuard};

/// Where operations data goes; flags shared by every command.
#[derive(Args, Clone)]
pub struct OpsArgs {
    /// Log directory: one file per service and UTC day, 7 days kept, older ones gzipped.
    #[arg(long, global = true, env = "TRADEBOT_LOG_DIR", default_value = logging::DEFAULT_DIR)]
    pub log_dir: PathBuf,
    /// Operations database: the error log and health samples of every service.
    #[arg(long, global = true, env = "TRADEBOT_OPS_DB", default_value = ops::db::DEFAULT_PATH)]
    pub ops_db: PathBuf,
    /// Operations config: alert channels and health thresholds (missing file: no alerts).
    #[arg(long, global = true, env = "TRADEBOT_OPS_CONFIG", default_value = ops::config::DEFAULT_PATH)]
    pub ops_config: PathBuf,
}

/// A running service's operations; [`Service::finish`] records the outcome and flushes.
pub struct Service {
    name: &'static str,
    notifier: Notifier,
    // Dropped in this order: the health thread stops, then logging flushes.
    _health: Option<HealthMonitor>,
    _logging: Option<LoggingGuard>,
}

impl Service {
    /// Starts logging (and, with `health`, the periodic check) for service `name`. Trouble
    /// here never stops the command: it is reported on stderr and the command runs without it.
    pub fn start(name: &'static str, args: &OpsArgs, health: bool) -> Service {
        let config = OpsConfig::load(&args.ops_config).unwrap_or_else(|e| {
            eprintln!("warning: {e}; running without alerts");
            OpsConfig::default()
        });
        Service::start_with(name, args, &config, health, LogOptions::new(&args.log_dir))
    }

    /// [`Service::start`] with the operations config given and log options to start from
    /// (the live service reads its config from `live.toml` and shows INFO on stderr).
    pub fn start_with(
        name: &'static str,
        args: &OpsArgs,
        config: &OpsConfig,
        health: bool,
        options: LogOptions,
    ) -> Service {
        let notifier = Notifier::start(name, &config.alerts).unwrap_or_else(|e| {
            eprintln!("warning: {e}; running without alerts");
            Notifier::disabled(name)
        });
        let options = options.notifier(notifier.clone());
        let logging = logging::init(name, options.clone().ops_db(&args.ops_db))
            .or_else(|e| {
                eprintln!("warning: {e}; errors go to the log file only");
                logging::init(name, options)
            })
            .map_err(|e| eprintln!("warning: {e}; running without a log file"))
            .ok();
        tracing::info!(pid = std::process::id(), version = env!("CARGO_PKG_VERSION"), "{name} started");
        let health =
            health.then(|| HealthMonitor::spawn(name, &args.ops_db, notifier.clone(), config.health.clone()));
        Service { name, notifier, _health: health, _logging: logging }
    }

    /// The service's alert notifier.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Logs the command's outcome (an error goes to the file and the error log; anyhow prints
    /// it on stderr) and gives queued alerts a few seconds to go out.
    pub fn finish(self, outcome: &anyhow::Result<()>) {
        match outcome {
            Ok(()) => tracing::info!("{} finished", self.name),
            Err(e) => tracing::error!(target: logging::EXIT_TARGET, component = self.name, "{e:#}"),
        }
        self.notifier.flush(Duration::from_secs(5));
    }
}

/// Prints `line` on stderr as before and also writes it to the log file.
pub fn note(line: &str) {
    eprintln!("{line}");
    tracing::info!("{line}");
}
