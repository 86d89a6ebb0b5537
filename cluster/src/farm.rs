//! The coordinator's side: each GA batch of new genomes goes out as tasks on the work queue;
//! the coordinator evaluates itself the tasks no worker has taken (from the end of the batch,
//! while the workers take them from the front), so a cluster without workers costs only the
//! messaging and one claim round trip a batch ([`HEAD_START`]); results are keyed by (run,
//! batch, task) and checked against the genomes sent.
//!
//! Faults: a task whose worker went silent (killed, cut off) for longer than the ack wait is
//! taken back (JetStream redelivers it to another worker, or the coordinator evaluates it); a
//! task refused by a worker (other bars in its store) is evaluated by the coordinator; a task
//! that failed on its last allowed delivery scores its genomes invalid with the workers'
//! reason; with the server gone for longer than the reconnect wait, the coordinator evaluates
//! the batch itself. Every path gives the figures a local run gives, or an invalid genome that
//! says why — never other figures.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::connection::State as Connection;
use async_nats::jetstream::Context as JetStream;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::Stream;
use evolve::discovery::{GpEval, GpEvalSpec, GpProblem};
use evolve::ga::{Evaluator, Problem};
use evolve::problem::{StrategyEval, StrategyFarm, StrategyProblem};
use futures_util::{FutureExt, StreamExt};
use gp::Genome;
use kernel::strategy::{MarketData, ParamValue};
use tokio::task::JoinHandle;

use crate::data::{self, Shared};
use crate::protocol::{
    Context, DataRef, Evals, Reply, ReplyBody, TASKS_SUBJECT, Task, Work, decode, encode, reply_subject,
    symbols_of,
};
use crate::{ClusterError, Settings, connect, task_queue};

/// Slack on top of the ack wait before a silent worker's task is taken back.
const GRACE: Duration = Duration::from_secs(1);
/// How often the waiting coordinator looks at the clock.
const TICK: Duration = Duration::from_millis(50);
/// How long the workers have a new batch to themselves: a claim's round trip (well under a
/// millisecond on a quiet network, tens on a loaded machine) before the coordinator starts on
/// the batch's tasks nobody has claimed. Without it, a batch of small tasks could be done here
/// before any worker's claim arrived; a worker's first reply ends it early. A cluster without
/// workers pays it once a batch.
const HEAD_START: Duration = TICK;
/// The first batch of a run, whose cost is not known yet, is cut into this many tasks (when it
/// has that many genomes); later ones into tasks of about [`Settings::task_target`] of work.
const FIRST_TASKS: usize = 8;

/// What the cluster did for a coordinator, summed over its runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Tasks published.
    pub tasks: usize,
    /// Tasks whose results came from workers.
    pub by_workers: usize,
    /// Tasks the coordinator evaluated itself (not taken in time, refused, or the server away).
    pub locally: usize,
    /// Refusals received (a worker whose store holds other bars).
    pub refused: usize,
    /// Tasks that failed on their last delivery: their genomes were scored invalid.
    pub failed: usize,
    /// The workers that answered.
    pub workers: BTreeSet<String>,
    /// Time publishing tasks (until the server confirmed them): the coordinator's share of
    /// the messaging cost.
    pub publishing: Duration,
    /// Bytes of the tasks published.
    pub sent: usize,
    /// Bytes of the replies taken in.
    pub received: usize,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} tasks: {} by {} worker(s), {} by the coordinator; {} refusal(s), {} failed; publishing {:.3} s; \
             {:.1} kB sent, {:.1} kB received",
            self.tasks,
            self.by_workers,
            self.workers.len(),
            self.locally,
            self.refused,
            self.failed,
            self.publishing.as_secs_f64(),
            self.sent as f64 / 1e3,
            self.received as f64 / 1e3
        )
    }
}

/// A coordinator's connection to the cluster; hands out one [`Evaluator`] per run
/// ([`StrategyFarm::for_run`]).
pub struct Farm {
    rt: tokio::runtime::Runtime,
    client: async_nats::Client,
    js: JetStream,
    stream: Stream,
    settings: Settings,
    /// The consumer's actual ack wait and max-deliver (it may predate these settings).
    ack_wait: Duration,
    max_deliver: u64,
    /// Distinguishes this coordinator's runs from another's with the same run ids.
    instance: String,
    /// The manifest of the store shared through the object store ([`Farm::share_store`]).
    manifest: OnceLock<u64>,
    /// The symbol lists put into the object store so far ([`Farm::data_ref`]), by hash.
    symbols: Mutex<HashSet<u64>>,
    tally: Mutex<Tally>,
}

impl Farm {
    /// Connects to the server of `settings` and makes sure the task queue exists.
    pub fn connect(settings: Settings) -> Result<Farm, ClusterError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("nats")
            .enable_all()
            .build()
            .expect("a one-thread tokio runtime starts");
        let (client, js, stream, consumer) = rt.block_on(async {
            let client = connect(&settings, "tradebot coordinator").await?;
            let (js, stream, consumer) = task_queue(&client, &settings).await?;
            Ok::<_, ClusterError>((client, js, stream, consumer))
        })?;
        let config = &consumer.cached_info().config;
        let (ack_wait, max_deliver) = (config.ack_wait, config.max_deliver.max(1) as u64);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let seed = format!("{}:{}", std::process::id(), now.as_nanos());
        let instance = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(seed.as_bytes()));
        let tally = Mutex::new(Tally::default());
        let manifest = OnceLock::new();
        let symbols = Mutex::new(HashSet::new());
        Ok(Farm {
            rt,
            client,
            js,
            stream,
            settings,
            ack_wait,
            max_deliver,
            instance,
            manifest,
            symbols,
            tally,
        })
    }

    /// Puts the store at `dir` (the run's bars) into the object store for the workers that lack
    /// them ([`crate::data::share`]: only the segments the bucket lacks are sent), then prunes
    /// the bucket ([`crate::data::prune`], unless [`Settings::keep`] is `None`); tasks then
    /// name its manifest. On an error the run goes on without it: workers holding the same
    /// store take tasks, the others refuse them.
    pub fn share_store(&self, dir: &Path) -> Result<Shared, String> {
        let shared = self.rt.block_on(async {
            let bucket = data::bucket(&self.js, &self.settings.url).await.map_err(|e| e.to_string())?;
            let mut shared = data::share(&bucket, dir).await?;
            if let Some(keep) = self.settings.keep {
                match data::prune(&bucket, shared.manifest, keep).await {
                    Ok(pruned) => shared.pruned = pruned,
                    Err(e) => tracing::warn!("the data bucket was not pruned: {e}"),
                }
            }
            Ok::<_, String>(shared)
        })?;
        let _ = self.manifest.set(shared.manifest);
        Ok(shared)
    }

    /// The reference tasks carry to `data` (a stage of a run): [`DataRef::of`] with the shared
    /// store's manifest. The stage's symbol list goes into the object store the first time this
    /// farm sees it; a worker fetches it once by its hash. When that fails, only workers that
    /// have the list already take the tasks (the others refuse them, the coordinator evaluates).
    pub fn data_ref(&self, data: &MarketData) -> DataRef {
        let reference = DataRef { manifest: self.manifest.get().copied(), ..DataRef::of(data) };
        if self.symbols.lock().expect("symbols lock").insert(reference.symbols.hash) {
            let symbols = symbols_of(data);
            let put = self.rt.block_on(async {
                let bucket = data::bucket(&self.js, &self.settings.url).await.map_err(|e| e.to_string())?;
                data::put_symbols(&bucket, &symbols).await
            });
            if let Err(e) = put {
                tracing::warn!(
                    "cannot share the list of {} symbols through the object store: {e}",
                    symbols.len()
                );
            }
        }
        reference
    }

    /// Takes task `k` of `batch` off the queue (in the background: its answer is awaited at the
    /// end of the batch), so no worker starts it after this point.
    fn unqueue(&self, batch: &mut Batch<'_>, k: usize) {
        if let Some(seq) = batch.sequences[k].take() {
            let stream = self.stream.clone();
            batch.unqueued.push(self.rt.spawn(async move {
                let _ = tokio::time::timeout(TICK * 10, stream.delete_message(seq)).await;
            }));
        }
    }

    /// What the cluster did so far.
    pub fn tally(&self) -> Tally {
        self.tally.lock().expect("tally lock").clone()
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.settings.url
    }

    /// Waits up to the reconnect wait for the connection to be up.
    async fn connected(&self) -> bool {
        let deadline = Instant::now() + self.settings.reconnect_wait;
        while self.client.connection_state() != Connection::Connected {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(TICK).await;
        }
        true
    }

    /// Publishes `tasks`, returning the reply subscription, each task's stream sequence
    /// (`None`: not published) and the bytes published.
    async fn publish(
        &self,
        subject: String,
        tasks: &[Task],
    ) -> Result<(async_nats::Subscriber, Vec<Option<u64>>, usize), String> {
        if !self.connected().await {
            return Err(format!("no connection for {} s", self.settings.reconnect_wait.as_secs_f64()));
        }
        let subscriber = self.client.subscribe(subject).await.map_err(|e| e.to_string())?;
        let mut acks: Vec<Option<PublishAckFuture>> = Vec::with_capacity(tasks.len());
        let mut sent = 0;
        for task in tasks {
            let payload = encode(task);
            sent += payload.len();
            let message = PublishMessage::build().payload(payload.into()).message_id(task.message_id());
            acks.push(self.js.send_publish(TASKS_SUBJECT, message).await.ok());
        }
        let mut sequences = Vec::with_capacity(tasks.len());
        for ack in acks {
            sequences.push(match ack {
                Some(ack) => ack.await.ok().map(|a| a.sequence),
                None => None,
            });
        }
        Ok((subscriber, sequences, sent))
    }

    /// Evaluates `tasks` on the cluster (and here), `local` evaluating a task in this process.
    fn run_batch(&self, run: &str, tasks: &[Task], local: impl Fn(&Task) -> Evals) -> Vec<Evals> {
        let started = Instant::now();
        let published = self.rt.block_on(self.publish(reply_subject(run), tasks));
        let publishing = started.elapsed();
        let (subscriber, sequences, sent) = match published {
            Ok(published) => published,
            Err(why) => {
                tracing::error!(
                    "NATS server {} unreachable ({why}): evaluating {} task(s) here (same results, only slower)",
                    self.settings.url,
                    tasks.len()
                );
                let mut tally = self.tally.lock().expect("tally lock");
                tally.tasks += tasks.len();
                tally.locally += tasks.len();
                tally.publishing += publishing;
                drop(tally);
                return tasks.iter().map(local).collect();
            }
        };
        let mut batch = Batch::new(tasks, sequences, subscriber);
        while let Some(done) = self.step(&mut batch, &local) {
            if done {
                break;
            }
        }
        // Whatever is still queued (taken back, failed) must not run again.
        for k in 0..tasks.len() {
            if !batch.by_worker[k] {
                self.unqueue(&mut batch, k);
            }
        }
        self.rt.block_on(futures_util::future::join_all(std::mem::take(&mut batch.unqueued)));
        let mut tally = self.tally.lock().expect("tally lock");
        tally.tasks += tasks.len();
        tally.by_workers += batch.by_worker.iter().filter(|&&w| w).count();
        tally.locally += batch.locally;
        tally.refused += batch.refused;
        tally.failed += batch.failed;
        tally.workers.extend(batch.workers.iter().cloned());
        tally.publishing += publishing;
        tally.sent += sent;
        tally.received += batch.received;
        drop(tally);
        batch.results.into_iter().map(|r| r.expect("every task has a result")).collect()
    }

    /// One step of waiting for a batch: replies taken in, silent workers' tasks taken back, one
    /// untaken task evaluated here, or a short wait. `Some(true)` when every task is done.
    fn step(&self, batch: &mut Batch<'_>, local: &impl Fn(&Task) -> Evals) -> Option<bool> {
        while let Some(Some(message)) = self.rt.block_on(async { batch.subscriber.next().now_or_never() }) {
            batch.take(&message.payload, self.max_deliver);
        }
        if batch.results.iter().all(Option::is_some) {
            return Some(true);
        }
        batch.expire(self.ack_wait + GRACE, self.max_deliver);
        let head_start = batch.head_start();
        if let Some(k) = (0..batch.tasks.len()).rev().find(|&k| batch.state[k] == State::Open)
            && head_start.is_zero()
        {
            // Off the queue while it is evaluated here: a worker that took it in the meantime
            // answers a task that is done already, and its answer is dropped.
            self.unqueue(batch, k);
            batch.results[k] = Some(local(&batch.tasks[k]));
            batch.state[k] = State::Done;
            batch.locally += 1;
            return Some(false);
        }
        let wait = if head_start.is_zero() { TICK } else { head_start.min(TICK) };
        let next = self.rt.block_on(async { tokio::time::timeout(wait, batch.subscriber.next()).await });
        if let Ok(Some(message)) = next {
            batch.take(&message.payload, self.max_deliver);
        }
        Some(false)
    }
}

/// Where a task stands.
#[derive(Clone, Debug, PartialEq)]
enum State {
    /// Queued and not (or no longer) known to be in a worker's hands: the coordinator may take it.
    Open,
    /// A worker has it (since, JetStream delivery count).
    Claimed(Instant, u64),
    /// It failed on a worker (since, delivery, reason) and waits for its redelivery.
    Failing(Instant, u64, String),
    /// Its results are in.
    Done,
}

/// One batch being waited for.
struct Batch<'t> {
    tasks: &'t [Task],
    hashes: Vec<u64>,
    /// Each task's stream sequence while it may be on the queue (`None`: not published, or
    /// taken off).
    sequences: Vec<Option<u64>>,
    /// The deletions of tasks taken off the queue, awaited together at the end of the batch.
    unqueued: Vec<JoinHandle<()>>,
    subscriber: async_nats::Subscriber,
    state: Vec<State>,
    results: Vec<Option<Evals>>,
    by_worker: Vec<bool>,
    locally: usize,
    refused: usize,
    failed: usize,
    workers: BTreeSet<String>,
    /// Bytes of the replies taken in.
    received: usize,
    /// When the batch was published.
    published: Instant,
    /// Whether a worker has answered one of its tasks (claimed, done, refused or failed).
    answered: bool,
}

impl<'t> Batch<'t> {
    fn new(tasks: &'t [Task], sequences: Vec<Option<u64>>, subscriber: async_nats::Subscriber) -> Self {
        let n = tasks.len();
        Batch {
            tasks,
            hashes: tasks.iter().map(Task::genomes_hash).collect(),
            sequences,
            unqueued: Vec::new(),
            subscriber,
            state: vec![State::Open; n],
            results: vec![None; n],
            by_worker: vec![false; n],
            locally: 0,
            refused: 0,
            failed: 0,
            workers: BTreeSet::new(),
            received: 0,
            published: Instant::now(),
            answered: false,
        }
    }

    /// What is left of the workers' [`HEAD_START`] on this batch: zero once it has passed or
    /// a worker has answered (the workers are there and pulling).
    fn head_start(&self) -> Duration {
        if self.answered { Duration::ZERO } else { HEAD_START.saturating_sub(self.published.elapsed()) }
    }

    /// Takes in one reply (stale, foreign or garbled ones are logged and dropped).
    fn take(&mut self, payload: &[u8], max_deliver: u64) {
        self.received += payload.len();
        let reply: Reply = match decode("reply", payload) {
            Ok(reply) => reply,
            Err(e) => return tracing::warn!("{e}"),
        };
        let k = reply.index as usize;
        let current = self.tasks.first().is_some_and(|t| t.batch == reply.batch);
        if !current || k >= self.tasks.len() || self.state[k] == State::Done {
            return;
        }
        self.answered = true;
        let task = &self.tasks[k];
        match reply.body {
            ReplyBody::Claimed { delivery } => self.state[k] = State::Claimed(Instant::now(), delivery),
            ReplyBody::Done { genomes, evals, .. } => {
                if genomes != self.hashes[k] || !evals.fit(&task.work) {
                    return tracing::warn!(
                        "{}: a result for batch {} task {k} that does not match the task sent: dropped",
                        reply.worker,
                        reply.batch
                    );
                }
                self.results[k] = Some(evals);
                self.state[k] = State::Done;
                self.by_worker[k] = true;
                self.workers.insert(reply.worker);
            }
            ReplyBody::Refused { reason } => {
                tracing::warn!(
                    "worker {} refused a task of generation {}: {reason}",
                    reply.worker,
                    task.generation
                );
                self.refused += 1;
                self.state[k] = State::Open;
            }
            ReplyBody::Failed { delivery, reason } => {
                tracing::warn!(
                    "worker {}: task {k} of generation {} failed (delivery {delivery} of {max_deliver}): {reason}",
                    reply.worker,
                    task.generation
                );
                self.state[k] = State::Failing(Instant::now(), delivery, reason);
                if delivery >= max_deliver {
                    self.fail(k, max_deliver);
                }
            }
        }
    }

    /// Scores task `k`'s genomes invalid with the reason of its last failure.
    fn fail(&mut self, k: usize, max_deliver: u64) {
        let State::Failing(_, delivery, reason) = &self.state[k] else { return };
        let why = format!(
            "evaluation failed on the cluster's workers ({delivery} of {max_deliver} allowed deliveries): {reason}"
        );
        self.results[k] = Some(Evals::failed(&self.tasks[k].work, why));
        self.state[k] = State::Done;
        self.failed += 1;
    }

    /// Takes back the tasks whose worker has been silent for `patience`: open again when
    /// claimed (JetStream redelivers it, or the coordinator takes it), failed for good when
    /// its last failure was not followed by a redelivery.
    fn expire(&mut self, patience: Duration, max_deliver: u64) {
        for k in 0..self.tasks.len() {
            match &self.state[k] {
                State::Claimed(since, _) if since.elapsed() > patience => self.state[k] = State::Open,
                State::Failing(since, ..) if since.elapsed() > patience => self.fail(k, max_deliver),
                _ => {}
            }
        }
    }
}

/// One run's evaluator: cuts each batch into tasks of about [`Settings::task_target`] of work.
/// `C` is what every task of the run shares (built once, from the run's problem).
struct RunFarm<'f, C> {
    farm: &'f Farm,
    run: String,
    batches: AtomicU32,
    /// Measured evaluation time of a genome on one thread (ns; 0 before the first measurement).
    per_genome_ns: AtomicU64,
    context: OnceLock<C>,
}

impl<'f, C> RunFarm<'f, C> {
    fn new(farm: &'f Farm, run: String) -> Self {
        RunFarm {
            farm,
            run,
            batches: AtomicU32::new(0),
            per_genome_ns: AtomicU64::new(0),
            context: OnceLock::new(),
        }
    }

    /// Genomes per task for a batch of `n`: about [`Settings::task_target`] of work each, so the
    /// messaging stays a small share of it, but at least two tasks (one for a worker while the
    /// coordinator evaluates the other).
    fn task_size(&self, n: usize) -> usize {
        match self.per_genome_ns.load(Ordering::Relaxed) {
            0 => n.div_ceil(FIRST_TASKS).max(1),
            ns => {
                let most = n.div_ceil(2).max(1) as u64;
                (self.farm.settings.task_target.as_nanos() as u64).div_ceil(ns).clamp(1, most) as usize
            }
        }
    }

    /// Evaluates one batch of `genomes` on the cluster: `context` makes the run's shared part
    /// (once), `work` a task's work of it and a chunk of genomes, `local` evaluates a chunk in
    /// this process. The evaluations come back in the genomes' order, one [`Evals`] per task.
    fn farm_out<G: Sync>(
        &self,
        generation: u32,
        genomes: &[&G],
        context: impl FnOnce() -> C,
        work: impl Fn(&C, &[&G]) -> Work,
        local: impl Fn(&[&G]) -> Evals,
    ) -> Vec<Evals> {
        if genomes.is_empty() {
            return Vec::new();
        }
        let context = self.context.get_or_init(context);
        let batch = self.batches.fetch_add(1, Ordering::Relaxed);
        let chunks: Vec<&[&G]> = genomes.chunks(self.task_size(genomes.len())).collect();
        let tasks: Vec<Task> = chunks
            .iter()
            .enumerate()
            .map(|(index, chunk)| Task {
                run: self.run.clone(),
                generation,
                batch,
                index: index as u32,
                work: work(context, chunk),
            })
            .collect();
        // The work of one genome on one thread, measured on the tasks evaluated here: the next
        // batch's task size.
        let threads = rayon::current_num_threads().max(1) as u64;
        let local = |task: &Task| {
            let chunk = chunks[task.index as usize];
            let started = Instant::now();
            let evals = local(chunk);
            let ns =
                (started.elapsed().as_nanos() as u64).saturating_mul(threads) / chunk.len().max(1) as u64;
            self.per_genome_ns.store(ns.max(1), Ordering::Relaxed);
            evals
        };
        self.farm.run_batch(&self.run, &tasks, local)
    }
}

impl<'d> Evaluator<StrategyProblem<'d>> for RunFarm<'_, Context> {
    fn evaluate(
        &self,
        problem: &StrategyProblem<'d>,
        generation: u32,
        genomes: &[&Vec<ParamValue>],
    ) -> Vec<StrategyEval> {
        let context = || Context {
            strategy: problem.strategy.name().to_string(),
            rules: problem.rules,
            cash: problem.cash,
            data: self.farm.data_ref(problem.data),
        };
        let work = |context: &Context, chunk: &[&Vec<ParamValue>]| Work::Tune {
            context: context.clone(),
            genomes: chunk.iter().map(|g| g.to_vec()).collect(),
        };
        let local = |chunk: &[&Vec<ParamValue>]| Evals::Tune(problem.evaluate_batch(chunk));
        let results = self.farm_out(generation, genomes, context, work, local);
        results.into_iter().flat_map(Evals::into_tune).collect()
    }
}

impl<'d> Evaluator<GpProblem<'d>> for RunFarm<'_, (DataRef, GpEvalSpec)> {
    fn evaluate(&self, problem: &GpProblem<'d>, generation: u32, genomes: &[&Genome]) -> Vec<GpEval> {
        let context = || {
            let data = self.farm.data_ref(problem.data());
            (data, problem.eval_spec())
        };
        let work = |(data, spec): &(DataRef, GpEvalSpec), chunk: &[&Genome]| Work::Discover {
            data: data.clone(),
            spec: spec.clone(),
            genomes: chunk.iter().map(|g| g.to_bytes()).collect(),
        };
        let local = |chunk: &[&Genome]| Evals::Discover(problem.figures_batch(chunk));
        let results = self.farm_out(generation, genomes, context, work, local);
        // The lineage lives here, where the genomes were bred.
        problem.with_lineage(genomes, results.into_iter().flat_map(Evals::into_discover).collect())
    }
}

impl StrategyFarm for Farm {
    fn for_run(&self, run: i64) -> Box<dyn for<'d> Evaluator<StrategyProblem<'d>> + '_> {
        Box::new(RunFarm::<Context>::new(self, format!("{}-{run}", self.instance)))
    }

    fn for_discovery(&self, run: i64) -> Box<dyn for<'d> Evaluator<GpProblem<'d>> + '_> {
        Box::new(RunFarm::<(DataRef, GpEvalSpec)>::new(self, format!("{}-{run}", self.instance)))
    }
}
