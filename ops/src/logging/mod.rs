//! Logging for every service: one daily-rotated file per service, every ERROR event also in
//! the `error_log` table of the operations database, warnings and errors on stderr.
//!
//! A binary calls [`init`] once at start and keeps the returned [`LoggingGuard`] alive until
//! exit (dropping it flushes the file and the error log):
//!
//! ```no_run
//! let options = ops::logging::LogOptions::new("logs").ops_db("data/ops.db");
//! let _guard = ops::logging::init("live", options)?;
//! tracing::error!(component = "broker", order = "abc", "order rejected");
//! # Ok::<(), ops::logging::LogError>(())
//! ```
//!
//! Files: `DIR/SERVICE.YYYY-MM-DD.log` (UTC days), rolled at midnight by tracing-appender;
//! earlier days gzip-compressed and only the last `keep_days` days kept ([`rotate`]). The file
//! gets INFO and above (or what `TRADEBOT_LOG` says, in `EnvFilter` syntax); the error log gets
//! every ERROR whatever the filter.

mod errors;
pub mod rotate;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::Level;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry};

pub use errors::{COMPONENT_FIELD, ErrorLayer, ErrorLogStats};

use crate::alert::Notifier;
use crate::db::{OpsDb, OpsDbError};

/// Default log directory, relative to the working directory.
pub const DEFAULT_DIR: &str = "logs";

/// Days of log files kept (today's included); older ones are deleted.
pub const KEEP_DAYS: u32 = 7;

/// Events with this target go to the file and the error log but not to stderr: the binary
/// prints its final error itself (anyhow's `Error: …`), so logging it there would repeat it.
pub const EXIT_TARGET: &str = "exit";

/// The environment variable holding the file's filter (`EnvFilter` syntax, default `info`).
pub const FILTER_ENV: &str = "TRADEBOT_LOG";

/// How often the maintenance thread compresses and prunes rolled files.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// Logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log directory could not be created or read.
    #[error("log directory: {0}")]
    Dir(#[from] datasets::fsio::FsError),
    /// The rolling file could not be opened.
    #[error("log file in {dir}: {source}")]
    File {
        /// The log directory.
        dir: String,
        /// What tracing-appender said.
        source: tracing_appender::rolling::InitError,
    },
    /// The operations database could not be opened.
    #[error(transparent)]
    Db(#[from] OpsDbError),
    /// A global subscriber was already installed.
    #[error("logging is already initialised: {0}")]
    AlreadySet(#[from] tracing::subscriber::SetGlobalDefaultError),
}

/// Where and how a service logs.
#[derive(Clone)]
pub struct LogOptions {
    /// Directory of the log files.
    pub dir: PathBuf,
    /// The operations database for `error_log`; `None` logs errors to the file only.
    pub ops_db: Option<PathBuf>,
    /// Days of files kept.
    pub keep_days: u32,
    /// Least severe level printed on stderr; `None` prints nothing there.
    pub stderr: Option<Level>,
    /// Sends an `error` alert for every ERROR event (deduplicated per component).
    pub notifier: Option<Notifier>,
}

impl LogOptions {
    /// Files in `dir`, no error log, 7 days kept, warnings and errors on stderr.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LogOptions {
            dir: dir.into(),
            ops_db: None,
            keep_days: KEEP_DAYS,
            stderr: Some(Level::WARN),
            notifier: None,
        }
    }

    /// Also writes ERROR events to `error_log` in the database at `path`.
    pub fn ops_db(mut self, path: impl Into<PathBuf>) -> Self {
        self.ops_db = Some(path.into());
        self
    }

    /// Sends ERROR events to `notifier` as alerts.
    pub fn notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Sets the least severe level shown on stderr (`None`: none).
    pub fn stderr(mut self, level: Option<Level>) -> Self {
        self.stderr = level;
        self
    }
}

/// Keeps logging alive: dropping it flushes the file, writes every queued error-log record and
/// stops the maintenance thread.
pub struct LoggingGuard {
    // Field order is drop order: the file flushes first.
    _file: WorkerGuard,
    errors: Option<errors::ErrorWriter>,
    maintenance: Option<(Sender<()>, JoinHandle<()>)>,
}

impl LoggingGuard {
    /// The error log's counters (all zero without an operations database).
    pub fn error_log_stats(&self) -> ErrorLogStats {
        self.errors.as_ref().map(errors::ErrorWriter::stats).unwrap_or_default()
    }
}

impl Drop for LoggingGuard {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.maintenance.take() {
            drop(stop);
            let _ = thread.join();
        }
        // The global subscriber (holding the error layer's sender) lives for the whole process,
        // so the writer cannot be joined here; give it a moment to drain what is queued.
        if let Some(w) = &self.errors {
            w.drain(Duration::from_secs(2));
        }
    }
}

/// A subscriber ready to install, and the guard that must outlive its use.
pub struct Logging {
    /// The subscriber: file, error-log and stderr layers on a registry.
    pub subscriber: Box<dyn tracing::Subscriber + Send + Sync>,
    /// Flushes on drop.
    pub guard: LoggingGuard,
}

/// Builds `service`'s subscriber without installing it (tests use it with
/// `tracing::subscriber::with_default`; [`init`] installs it for the process).
pub fn build(service: &str, options: LogOptions) -> Result<Logging, LogError> {
    let dir = options.dir.clone();
    std::fs::create_dir_all(&dir).map_err(datasets::fsio::FsError::at(&dir))?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix(service)
        .filename_suffix("log")
        .build(&dir)
        .map_err(|source| LogError::File { dir: dir.display().to_string(), source })?;
    let (file_writer, file_guard) = tracing_appender::non_blocking(appender);
    let file_filter = EnvFilter::try_from_env(FILTER_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let file =
        tracing_subscriber::fmt::layer().with_writer(file_writer).with_ansi(false).with_filter(file_filter);

    let stderr = options.stderr.map(|level| {
        let targets = Targets::new().with_default(level).with_target(EXIT_TARGET, LevelFilter::OFF);
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .without_time()
            .with_target(false)
            .with_filter(targets)
    });

    let (error_layer, error_writer) = match &options.ops_db {
        Some(path) => {
            let db = OpsDb::open(path)?;
            let (layer, writer) = errors::error_layer(service, db, options.notifier.clone());
            // Every span (for their `component` fields), only ERROR events.
            let filter = filter_fn(|m| m.is_span() || *m.level() == Level::ERROR);
            (Some(layer.with_filter(filter)), Some(writer))
        }
        None => (None, None),
    };

    retention_pass(&dir, service, options.keep_days);
    let maintenance = spawn_maintenance(dir, service.to_string(), options.keep_days);
    let subscriber = Registry::default().with(file).with(stderr).with(error_layer);
    Ok(Logging {
        subscriber: Box::new(subscriber),
        guard: LoggingGuard { _file: file_guard, errors: error_writer, maintenance: Some(maintenance) },
    })
}

/// Builds `service`'s subscriber and installs it as the process's global default.
pub fn init(service: &str, options: LogOptions) -> Result<LoggingGuard, LogError> {
    let Logging { subscriber, guard } = build(service, options)?;
    tracing::subscriber::set_global_default(subscriber)?;
    Ok(guard)
}

/// Runs one retention pass, reporting (not failing on) trouble.
fn retention_pass(dir: &Path, service: &str, keep_days: u32) {
    let today = chrono::Utc::now().date_naive();
    if let Err(e) = rotate::apply(dir, service, keep_days, today) {
        tracing::warn!("log retention in {}: {e}", dir.display());
    }
}

fn spawn_maintenance(dir: PathBuf, service: String, keep_days: u32) -> (Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("log-retention".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(MAINTENANCE_EVERY) {
                retention_pass(&dir, &service, keep_days);
            }
        })
        .expect("spawning the log retention thread");
    (stop, thread)
}

#[cfg(test)]
mod tests;
