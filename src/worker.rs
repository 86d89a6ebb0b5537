//! `tradebot worker`: evaluates tasks from a NATS JetStream work queue for coordinators on
//! other machines (`tradebot research|evolve|discover|sweep --nats`), and the `--nats` flags
//! those share (docs/scale-out.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use cluster::Settings;
use cluster::farm::Farm;
use cluster::worker::{self, Fault, WorkerConfig};

use crate::data;
use crate::service::note;

/// The cluster flags of a coordinator (`research`, `evolve`, `discover`, `sweep`).
#[derive(Args, Clone, Default)]
pub struct NatsArgs {
    /// Farm the evaluations (a GA's generations, a sweep's backtests) out to the `tradebot
    /// worker`s of this NATS server (`nats://host:4222`, JetStream on); the results are
    /// identical to a local run's.
    #[arg(long, env = "TRADEBOT_NATS")]
    pub nats: Option<String>,
    /// Days the cluster's data bucket keeps the segments, manifests and symbol lists that no
    /// run has shared since (pruned when this run shares its store; 0: never) [default: 7].
    #[arg(long, value_name = "DAYS")]
    pub keep_days: Option<u32>,
    #[command(flatten)]
    pub queue: QueueArgs,
}

/// The task queue's settings (used when this process creates the queue).
#[derive(Args, Clone, Default)]
pub struct QueueArgs {
    /// Seconds a worker may hold a task without answering before it goes to another worker
    /// (or back to the coordinator) [default: 30].
    #[arg(long, value_name = "SECS")]
    pub ack_wait: Option<u64>,
    /// Deliveries of a failing task before its genomes are scored invalid [default: 3].
    #[arg(long, value_name = "N")]
    pub max_deliver: Option<u32>,
    /// Seconds the coordinator waits for a lost NATS server before it evaluates a batch
    /// itself [default: 10].
    #[arg(long, value_name = "SECS")]
    pub reconnect_wait: Option<u64>,
}

impl QueueArgs {
    /// The settings for `url`: these flags over `file` (a research file's `[cluster]`) over the
    /// defaults.
    pub fn settings(&self, url: &str, file: Option<&experiments::research::Cluster>) -> Settings {
        let mut settings = Settings::new(url);
        if let Some(s) = self.ack_wait.or(file.and_then(|f| f.ack_wait_s)) {
            settings.ack_wait = Duration::from_secs(s.max(1));
        }
        if let Some(n) = self.max_deliver.or(file.and_then(|f| f.max_deliver)) {
            settings.max_deliver = i64::from(n.max(1));
        }
        if let Some(s) = self.reconnect_wait.or(file.and_then(|f| f.reconnect_wait_s)) {
            settings.reconnect_wait = Duration::from_secs(s);
        }
        settings
    }
}

/// Connects the farm a coordinator's `--nats` (or its file's `[cluster] nats`) asks for, and
/// shares the run's bar `store` (when it comes from one) with the workers that lack it.
pub fn farm(
    args: &NatsArgs,
    file: Option<&experiments::research::Cluster>,
    store: Option<&Path>,
) -> Result<Option<Farm>> {
    let Some(url) = args.nats.as_deref().or(file.map(|f| f.nats.as_str())) else { return Ok(None) };
    let mut settings = args.queue.settings(url, file);
    if let Some(days) = args.keep_days.or(file.and_then(|f| f.keep_days)) {
        settings.keep = (days > 0).then(|| Duration::from_secs(u64::from(days) * 24 * 3600));
    }
    let farm = Farm::connect(settings)?;
    note(&format!("farming the evaluations out to the workers of {url}"));
    if let Some(store) = store {
        match farm.share_store(store) {
            Ok(shared) => {
                note(&format!("store {} shared through the object store: {shared}", store.display()))
            }
            Err(e) => tracing::warn!(
                "cannot share the store {} through the object store ({e}): only workers holding the same bars take tasks",
                store.display()
            ),
        }
    }
    Ok(Some(farm))
}

/// The farm of a coordinator whose bars come from `source` (shared with the workers when it
/// is a store), with its file's `[cluster]` section when it has one.
pub fn farm_for(
    args: &NatsArgs,
    file: Option<&experiments::research::Cluster>,
    source: &experiments::DataSource,
) -> Result<Option<Farm>> {
    let store = match source {
        experiments::DataSource::Store { dir, .. } => Some(dir.as_path()),
        _ => None,
    };
    farm(args, file, store)
}

/// Prints what the cluster did.
pub fn report(farm: Option<&Farm>) {
    if let Some(farm) = farm {
        note(&format!("cluster {}: {}", farm.url(), farm.tally()));
    }
}

/// Arguments of `tradebot worker`.
#[derive(Args)]
pub struct WorkerArgs {
    /// The NATS server (JetStream on) the coordinators publish tasks to.
    #[arg(long, env = "TRADEBOT_NATS")]
    nats: String,
    /// Bar store the tasks' data is read from; it must hold the coordinator's bars (checked by
    /// their hash on every task).
    #[arg(long, env = "TRADEBOT_STORE", default_value = data::DEFAULT_STORE)]
    store: PathBuf,
    /// Where a copy of a coordinator's store is built, from the object store, when `--store`
    /// gives other bars than a task's (only the segments it lacks are fetched).
    #[arg(long, value_name = "DIR", default_value = "data/worker-cache")]
    cache: PathBuf,
    /// Never fetch bars: refuse the tasks whose bars `--store` does not hold.
    #[arg(long)]
    no_fetch: bool,
    /// Threads evaluating a task (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// The name this worker's replies carry (default: host name and process id).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    queue: QueueArgs,
    /// Fault injection for the cluster's fault tests: `hang` (claims a task, never answers) or
    /// `panic` (every evaluation panics).
    #[arg(long, hide = true, value_parser = ["hang", "panic"])]
    fault: Option<String>,
}

/// Runs the worker until SIGTERM or Ctrl-C: the task in hand is finished, then it exits 0.
pub fn run(args: WorkerArgs) -> Result<()> {
    let threads = match args.threads {
        Some(n) => experiments::config::limits::check_threads(n)?,
        None => rayon::current_num_threads(),
    };
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let name = args.name.unwrap_or_else(|| {
        format!("{}:{}", if host.is_empty() { "worker" } else { &host }, std::process::id())
    });
    let fault = args.fault.as_deref().map(|f| if f == "hang" { Fault::Hang } else { Fault::Panic });
    let config = WorkerConfig {
        settings: args.queue.settings(&args.nats, None),
        store: args.store,
        cache: (!args.no_fetch).then_some(args.cache),
        threads,
        name,
        fault,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let tally = rt.block_on(async {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM can be watched");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            tracing::info!("stop requested: finishing the task in hand");
            let _ = stop.send(true);
        });
        worker::run(config, stopped).await
    })?;
    note(&format!("worker stopped: {tally}"));
    Ok(())
}
