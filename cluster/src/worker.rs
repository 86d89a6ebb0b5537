//! The worker: pulls one task at a time from the work queue, checks its own store's bars against
//! the task's data hash, evaluates the genomes with the code a local run uses
//! ([`crate::protocol::Work::evaluate`], in parallel over `threads`), replies on the run's
//! subject, and acks.
//!
//! A worker whose store gives other bars than a task's builds a copy of the coordinator's store
//! from the object store ([`crate::data`]) and evaluates on it once its hash matches.
//! A stop request (SIGTERM) lets the task in hand finish, replies, acks and returns. A worker
//! that cannot get the task's bars refuses the task (the coordinator evaluates it) and never
//! evaluates on the wrong bars; a panic in an evaluation is reported and the task nak'd, so
//! JetStream redelivers it until its max-deliver limit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::Context as JetStream;
use async_nats::jetstream::consumer::PullConsumer;
use datasets::store::Store;
use futures_util::StreamExt;
use kernel::strategy::{MarketData, data_hash};
use tokio::sync::watch;

use crate::data::Fetched;
use crate::protocol::{DataRef, Reply, ReplyBody, SymbolsRef, Task, Work, decode, encode, reply_subject};
use crate::{ClusterError, Settings, connect, task_queue};

/// How long one pull request waits for a task before it is renewed (and the stop flag seen).
const PULL_EXPIRES: Duration = Duration::from_secs(5);

/// A worker's configuration.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Server and queue settings.
    pub settings: Settings,
    /// The bar store the tasks' data is loaded from.
    pub store: PathBuf,
    /// Where copies of coordinators' stores are built when `store` gives other bars than a
    /// task's ([`crate::data::fetch`]); `None`: such tasks are refused.
    pub cache: Option<PathBuf>,
    /// Threads evaluating one task's genomes.
    pub threads: usize,
    /// The name replies carry (default: host name and process id).
    pub name: String,
    /// A fault to inject (the fault tests of `tests/cluster_cli.rs`); `None` in service.
    pub fault: Option<Fault>,
}

/// A fault a worker can be told to simulate, for the tests that prove the coordinator copes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Claims its first task, then hangs without answering (until killed).
    Hang,
    /// Every evaluation panics (reported, nak'd, delivered again up to max-deliver).
    Panic,
}

/// What a worker did before it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerTally {
    /// Tasks evaluated and answered.
    pub done: usize,
    /// Of those, discovery's (GP genomes, [`Work::Discover`]); the rest tuned parameter sets.
    pub discovery: usize,
    /// Tasks refused (other bars, unknown strategy).
    pub refused: usize,
    /// Tasks whose evaluation failed.
    pub failed: usize,
    /// Time from receiving a task to its acknowledgement, over the tasks done.
    pub handling: Duration,
    /// Time evaluating, over the tasks done.
    pub evaluating: Duration,
    /// Time loading and hashing bars from the store (once per stage), over the tasks done:
    /// `handling - evaluating - loading` is the worker's share of the messaging cost.
    pub loading: Duration,
    /// Symbol lists fetched from the object store (each once: tasks name them by hash).
    pub symbol_lists: usize,
}

impl std::fmt::Display for WorkerTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (handling, evaluating) = (self.handling.as_secs_f64(), self.evaluating.as_secs_f64());
        let loading = self.loading.as_secs_f64();
        let messaging = handling - evaluating - loading;
        write!(
            f,
            "{} tasks done ({} tune, {} discover), {} refused, {} failed; of {handling:.3} s handling them {evaluating:.3} s evaluating, \
             {loading:.3} s loading bars, {messaging:.3} s messaging ({:.2} % of the evaluation time, {:.2} ms a task); \
             {} symbol list(s) fetched",
            self.done,
            self.done - self.discovery,
            self.discovery,
            self.refused,
            self.failed,
            if evaluating > 0.0 { messaging / evaluating * 100.0 } else { 0.0 },
            if self.done > 0 { messaging * 1e3 / self.done as f64 } else { 0.0 },
            self.symbol_lists
        )
    }
}

/// Runs the worker until `stop` turns true (the task in hand is finished first).
pub async fn run(config: WorkerConfig, mut stop: watch::Receiver<bool>) -> Result<WorkerTally, ClusterError> {
    let client = connect(&config.settings, &format!("tradebot worker {}", config.name)).await?;
    let (js, _, consumer) = task_queue(&client, &config.settings).await?;
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .build()
            .expect("the worker's thread pool starts"),
    );
    tracing::info!(
        "worker {} pulling tasks from {} (store {}, {} threads)",
        config.name,
        config.settings.url,
        config.store.display(),
        config.threads
    );
    let mut bars = Bars::default();
    let mut tally = WorkerTally::default();
    while !*stop.borrow() {
        let next = tokio::select! {
            next = next_task(&consumer) => next,
            _ = stop.changed() => None,
        };
        let Some(message) = next else { continue };
        let received = Instant::now();
        let outcome = handle(&client, &js, &config, &pool, &mut bars, &message).await;
        match outcome {
            Handled::Done { evaluating, loading, discovery } => {
                tally.done += 1;
                tally.discovery += usize::from(discovery);
                tally.handling += received.elapsed();
                tally.evaluating += evaluating;
                tally.loading += loading;
            }
            Handled::Refused => tally.refused += 1,
            Handled::Failed => tally.failed += 1,
        }
    }
    tally.symbol_lists = bars.lists.fetched;
    tracing::info!("worker {} stopping: {tally}", config.name);
    let _ = client.flush().await;
    Ok(tally)
}

/// The next task, waiting up to [`PULL_EXPIRES`]; `None` when there was none (or the server is
/// away: the pull is retried after a pause).
async fn next_task(consumer: &PullConsumer) -> Option<async_nats::jetstream::Message> {
    let pulled = consumer.batch().max_messages(1).expires(PULL_EXPIRES).messages().await;
    match pulled {
        Ok(mut batch) => match batch.next().await {
            Some(Ok(message)) => Some(message),
            Some(Err(e)) => {
                tracing::debug!("pull: {e}");
                None
            }
            None => None,
        },
        Err(e) => {
            tracing::warn!("cannot pull tasks ({e}); retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            None
        }
    }
}

/// How one task went.
enum Handled {
    /// Answered, after loading bars and evaluating for these long.
    Done {
        /// Evaluating.
        evaluating: Duration,
        /// Loading the bars (zero when the stage was loaded already).
        loading: Duration,
        /// Whether it was a discovery task.
        discovery: bool,
    },
    Refused,
    Failed,
}

/// Evaluates one task and answers it.
async fn handle(
    client: &async_nats::Client,
    js: &JetStream,
    config: &WorkerConfig,
    pool: &Arc<rayon::ThreadPool>,
    bars: &mut Bars,
    message: &async_nats::jetstream::Message,
) -> Handled {
    let task: Task = match decode("task", &message.payload) {
        Ok(task) => task,
        Err(e) => {
            tracing::error!("{e}: dropped");
            let _ = message.ack_with(AckKind::Term).await;
            return Handled::Refused;
        }
    };
    let delivery = message.info().map_or(1, |i| i.delivered.max(1) as u64);
    let subject = reply_subject(&task.run);
    let reply =
        |body| encode(&Reply { batch: task.batch, index: task.index, worker: config.name.clone(), body });
    let _ = client.publish(subject.clone(), reply(ReplyBody::Claimed { delivery }).into()).await;
    let loading = Instant::now();
    let data = match bars.get(config, js, task.work.data()).await {
        Ok(data) => data,
        Err(reason) => return refuse(client, &task, reason, reply, message).await,
    };
    if config.fault == Some(Fault::Hang) {
        tracing::warn!("fault injected: hanging with task {} of run {}", task.index, task.run);
        std::future::pending::<()>().await;
    }
    let loading = loading.elapsed();
    let started = Instant::now();
    let work = task.work.clone();
    let panic = config.fault == Some(Fault::Panic);
    // Straight onto the evaluation pool (one hand-over each way, no blocking thread between).
    let (done, mut evaluation) = tokio::sync::oneshot::channel();
    pool.spawn(move || {
        let evals = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert!(!panic, "fault injected: the evaluation panics");
            work.evaluate(&data)
        }));
        let _ = done.send(evals);
    });
    // Long tasks tell JetStream and the coordinator that the worker is still on them.
    let mut keepalive = tokio::time::interval(config.settings.ack_wait / 3);
    keepalive.tick().await;
    let evals = loop {
        tokio::select! {
            done = &mut evaluation => break done,
            _ = keepalive.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
                let _ = client.publish(subject.clone(), reply(ReplyBody::Claimed { delivery }).into()).await;
            }
        }
    };
    match evals {
        Ok(Ok(Err(reason))) => refuse(client, &task, reason, reply, message).await,
        Ok(Ok(Ok(evals))) => {
            let evaluating = started.elapsed();
            let eval_ns = evaluating.as_nanos() as u64;
            let body = ReplyBody::Done { genomes: task.genomes_hash(), evals, eval_ns };
            let _ = client.publish(subject, reply(body).into()).await;
            // Not awaiting the server's confirmation (a round trip a task): an ack lost with the
            // connection gets the task delivered again after the ack wait, and the coordinator
            // drops the second answer.
            if let Err(e) = message.ack().await {
                tracing::warn!("ack of a task of run {} not sent: {e}", task.run);
            }
            tracing::debug!(
                "task {}.{}.{}: {} genomes in {:.1} ms",
                task.run,
                task.batch,
                task.index,
                task.work.len(),
                eval_ns as f64 / 1e6
            );
            Handled::Done { evaluating, loading, discovery: matches!(task.work, Work::Discover { .. }) }
        }
        failed => {
            let reason = match failed {
                Ok(Err(panic)) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into()),
                _ => "the evaluation pool dropped the task".into(),
            };
            tracing::error!("task of run {} failed on delivery {delivery}: {reason}", task.run);
            let _ = client.publish(subject, reply(ReplyBody::Failed { delivery, reason }).into()).await;
            let _ = message.ack_with(AckKind::Nak(None)).await;
            Handled::Failed
        }
    }
}

/// Refuses task `task` (the coordinator evaluates it) for `reason`; `reply` encodes a reply to it.
async fn refuse(
    client: &async_nats::Client,
    task: &Task,
    reason: String,
    reply: impl Fn(ReplyBody) -> Vec<u8>,
    message: &async_nats::jetstream::Message,
) -> Handled {
    tracing::error!("refusing a task of run {}: {reason}", task.run);
    let _ = client.publish(reply_subject(&task.run), reply(ReplyBody::Refused { reason }).into()).await;
    let _ = message.ack_with(AckKind::Term).await;
    Handled::Refused
}

/// The bars of the latest data hash a task named, and why earlier ones were refused.
#[derive(Default)]
struct Bars {
    loaded: Option<(u64, Arc<MarketData>)>,
    refused: HashMap<u64, String>,
    lists: SymbolLists,
}

/// The symbol lists tasks named, by hash: each fetched once from the object store and checked.
#[derive(Default)]
struct SymbolLists {
    known: HashMap<u64, Arc<Vec<String>>>,
    /// Lists fetched so far.
    fetched: usize,
}

impl SymbolLists {
    /// Lists kept at most (a new universe a night for months would otherwise pile up).
    const KEPT: usize = 16;

    /// The list `reference` names: the one kept, or else the bytes `fetch` gives, checked
    /// against the reference's hash ([`SymbolsRef::check`]).
    async fn get<F: Future<Output = Result<Vec<u8>, String>>>(
        &mut self,
        reference: SymbolsRef,
        fetch: impl FnOnce() -> F,
    ) -> Result<Arc<Vec<String>>, String> {
        if let Some(list) = self.known.get(&reference.hash) {
            return Ok(Arc::clone(list));
        }
        let list = Arc::new(reference.check(&fetch().await?)?);
        self.fetched += 1;
        if self.known.len() >= Self::KEPT {
            self.known.clear();
        }
        self.known.insert(reference.hash, Arc::clone(&list));
        Ok(list)
    }
}

impl Bars {
    /// The stage `data` refers to, from the worker's store or else a copy of the coordinator's
    /// ([`crate::data::fetch`]), checked against its hash; why not otherwise.
    async fn get(
        &mut self,
        config: &WorkerConfig,
        js: &JetStream,
        data: &DataRef,
    ) -> Result<Arc<MarketData>, String> {
        if let Some((hash, bars)) = &self.loaded
            && *hash == data.hash
        {
            return Ok(Arc::clone(bars));
        }
        if let Some(reason) = self.refused.get(&data.hash) {
            return Err(reason.clone());
        }
        let url = &config.settings.url;
        let symbols = self
            .lists
            .get(data.symbols, || async {
                let bucket = crate::data::bucket(js, url).await.map_err(|e| e.to_string())?;
                crate::data::symbol_list(&bucket, data.symbols.hash).await
            })
            .await
            .map_err(|e| format!("the task's symbol list: {e}"))?;
        let loaded = match (load(&config.store, data, &symbols), &config.cache, data.manifest) {
            (Ok(bars), ..) => Ok(bars),
            (Err(own), Some(cache), Some(manifest)) => fetched(config, js, cache, manifest, data, &symbols)
                .await
                .map_err(|e| format!("{own}; the coordinator's store: {e}")),
            (Err(own), ..) => {
                // Nothing to fetch: the same task data will be refused without a reload.
                self.refused.insert(data.hash, own.clone());
                Err(own)
            }
        };
        let bars = Arc::new(loaded?);
        self.loaded = Some((data.hash, Arc::clone(&bars)));
        Ok(bars)
    }
}

/// The stage `data` refers to, from a copy of the coordinator's store (manifest `manifest`)
/// built in `cache` with the segments the worker's store lacks fetched from the object store.
async fn fetched(
    config: &WorkerConfig,
    js: &JetStream,
    cache: &Path,
    manifest: u64,
    data: &DataRef,
    symbols: &[String],
) -> Result<MarketData, String> {
    let bucket = crate::data::bucket(js, &config.settings.url).await.map_err(|e| e.to_string())?;
    let (dir, fetched) = crate::data::fetch(&bucket, cache, &config.store, manifest, data.timeframe).await?;
    if fetched != Fetched::default() {
        tracing::info!(
            "built a copy of the coordinator's store in {}: {} segment(s) fetched ({:.1} MB), {} copied from {}",
            dir.display(),
            fetched.fetched,
            fetched.bytes as f64 / 1e6,
            fetched.copied,
            config.store.display()
        );
    }
    load(&dir, data, symbols)
}

/// Loads the stage `data` refers to (its `symbols`) from the store at `dir` and checks its hash.
fn load(dir: &Path, data: &DataRef, symbols: &[String]) -> Result<MarketData, String> {
    let what = format!(
        "{} symbol(s) at {} from {} to {} (data hash {:016x})",
        symbols.len(),
        data.timeframe,
        data.first_ns,
        data.last_ns,
        data.hash
    );
    let store = Store::open(dir).map_err(|e| format!("cannot open the store {}: {e}", dir.display()))?;
    let symbols: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let all = MarketData::from_store(&store, &symbols, data.timeframe)
        .map_err(|e| format!("the store {} cannot give {what}: {e}", dir.display()))?;
    let ts = all.timestamps();
    let first = ts.partition_point(|&t| t < data.first_ns);
    let end = ts.partition_point(|&t| t <= data.last_ns);
    let stage = all.slice(first..end.max(first));
    let hash = data_hash(&stage);
    if hash != data.hash || stage.is_empty() {
        return Err(format!(
            "the store {} holds other bars than the task's {what}: they hash to {hash:016x} ({} bars); \
             this worker evaluates nothing on them (import the same data, or point --store at a copy)",
            dir.display(),
            stage.len()
        ));
    }
    Ok(stage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A worker fetches a symbol list once however many tasks (and stages) name it, and refuses
    /// bytes that are not the list the task's hash names, keeping nothing of them.
    #[test]
    fn a_symbol_list_is_fetched_once_and_refused_when_its_hash_differs() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let list: Vec<String> = vec!["SPY".into(), "QQQ".into()];
        let reference = SymbolsRef::of(&list);
        let fetches = Cell::new(0);
        let fetch = |bytes: Vec<u8>| {
            fetches.set(fetches.get() + 1);
            async move { Ok(bytes) }
        };
        let mut lists = SymbolLists::default();
        rt.block_on(async {
            for _ in 0..3 {
                let got = lists.get(reference, || fetch(SymbolsRef::bytes(&list))).await.unwrap();
                assert_eq!(*got, list);
            }
            assert_eq!((fetches.get(), lists.fetched), (1, 1));

            let other = SymbolsRef::of(&list[..1]);
            let error = lists.get(other, || fetch(SymbolsRef::bytes(&list))).await.unwrap_err();
            assert!(error.contains("hashes to") && error.contains("not used"), "{error}");
            assert!(!lists.known.contains_key(&other.hash));
            assert_eq!((fetches.get(), lists.fetched), (2, 1));
            let unreachable = lists.get(other, || async { Err("no bucket".to_string()) }).await;
            assert_eq!(unreachable.unwrap_err(), "no bucket");
        });
    }
}
