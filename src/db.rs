//! `tradebot db backup | restore`: verified copies of every database, and putting one back.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use ops::backup;
use ops::disk::human;

/// The data directory whose `*.db` files are backed up.
pub const DEFAULT_DATA: &str = "data";

/// The `db` subcommands.
#[derive(Subcommand)]
pub enum DbCommand {
    /// Copies every database (each `*.db` in the data directory, plus `--db` files) with
    /// SQLite's online backup API while services run, checks each copy, keeps the last N days.
    Backup {
        /// Backup directory; each day's copies go to DIR/YYYY-MM-DD/.
        #[arg(long, env = "TRADEBOT_BACKUPS", default_value = backup::DEFAULT_DIR)]
        to: PathBuf,
        /// Daily copies kept.
        #[arg(long, default_value_t = backup::DEFAULT_KEEP)]
        keep: usize,
        /// Data directory searched for `*.db` (`--data` is the old spelling, kept for one release).
        #[arg(long, alias = "data", env = "TRADEBOT_DATA", default_value = DEFAULT_DATA)]
        data_dir: PathBuf,
        /// A database outside the data directory (repeatable).
        #[arg(long = "db")]
        extra: Vec<PathBuf>,
    },
    /// Restores one copy, refusing while a service holds the database. The current file is
    /// kept as FILE.before-restore.
    Restore {
        /// The copy, e.g. backups/2026-11-30/live.db.
        file: PathBuf,
        /// The database to replace (default: where the copy was taken from, per backup.json).
        #[arg(long)]
        to: Option<PathBuf>,
    },
}

/// Runs a `db` subcommand.
pub fn run(command: DbCommand) -> Result<()> {
    match command {
        DbCommand::Backup { to, keep, data_dir, extra } => {
            let mut databases = if data_dir.is_dir() { backup::discover(&data_dir)? } else { Vec::new() };
            databases.extend(extra);
            let report = backup::backup(&databases, &to, keep, chrono::Utc::now().date_naive())?;
            let mut out = format!("backup {} (integrity check ok for every copy)\n", report.dir.display());
            for c in &report.copies {
                out.push_str(&format!(
                    "  {:<14} {:>10}  from {}\n",
                    c.file,
                    human(c.bytes),
                    c.source.display()
                ));
            }
            for p in &report.pruned {
                out.push_str(&format!("  removed old backup {}\n", p.display()));
            }
            tracing::info!("{}", out.trim_end());
            crate::emit(&out)
        }
        DbCommand::Restore { file, to } => {
            if !file.is_file() {
                let what = if file.exists() { "not a file" } else { "no such file" };
                bail!("{}: {what} (a copy is a file like backups/2026-11-30/live.db)", file.display());
            }
            let target = to.or_else(|| backup::source_of(&file)).with_context(|| {
                format!("{}: no backup.json names its database; say where it goes with --to", file.display())
            })?;
            let report = backup::restore(&file, &target)?;
            let mut out = format!(
                "restored {} from {} (integrity check ok)\n",
                report.target.display(),
                file.display()
            );
            if let Some(prev) = &report.previous {
                out.push_str(&format!("the replaced database is kept as {}\n", prev.display()));
            }
            tracing::info!("{}", out.trim_end());
            crate::emit(&out)
        }
    }
}
