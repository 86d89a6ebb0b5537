//! Scale-out over NATS JetStream: a run's GA evaluations farmed out to `tradebot worker`
//! processes on other machines, with results bit-identical to a local run.
//!
//! - [`protocol`]: the tasks (a batch of genomes — parameter sets of a strategy, or GP genomes of
//!   a discovery — with what their evaluation depends on and a reference to the bars with their
//!   hash) and the replies (claimed, done, refused, failed);
//! - [`farm`]: the coordinator's side, an [`evolve::ga::Evaluator`] (of research, evolve, sweep
//!   and discover runs) that publishes each batch of new genomes as tasks on the `TRADEBOT_TASKS` work queue, evaluates itself what no worker
//!   has taken, and collects the results keyed by (run, batch, task);
//! - [`data`]: the bars by content hash: the coordinator's store segments in the JetStream object
//!   store, fetched by a worker that lacks them and checked against the manifest's hashes;
//! - [`worker`]: the long-running worker: pulls a task, checks the bars of its own store against
//!   the task's data hash (refusing on a mismatch), evaluates with the same code as a local run
//!   ([`evolve::problem::StrategyEval::of`]), replies and acks.
//!
//! Where it sits: datasets → kernel → evolve → **cluster** → the `tradebot` binary (which hands a
//! [`farm::Farm`] to experiments' research and evolution runs). `docs/scale-out.md` has the
//! set-up, the fault behaviour and the measurements.
//!
//! A task goes over the wire as postcard, and its message id is what JetStream de-duplicates by:
//!
//! ```
//! use cluster::protocol::{Context, DataRef, SymbolsRef, Task, Work, decode, encode};
//! use kernel::sim::TradeRules;
//! use kernel::strategy::ParamValue;
//!
//! let data = DataRef {
//!     timeframe: datasets::Timeframe::Day1,
//!     symbols: SymbolsRef::of(&["SPY".into()]),
//!     first_ns: 0,
//!     last_ns: 1,
//!     hash: 0x1234,
//!     manifest: None,
//! };
//! let context = Context { strategy: "sma_cross".into(), rules: TradeRules::default(), cash: 1e4, data };
//! let task = Task {
//!     run: "c0ffee-7".into(),
//!     generation: 0,
//!     batch: 0,
//!     index: 2,
//!     work: Work::Tune { context, genomes: vec![vec![ParamValue::Int(10), ParamValue::Int(50)]] },
//! };
//! let back: Task = decode("task", &encode(&task)).unwrap();
//! assert_eq!(back, task);
//! assert_eq!(task.message_id(), "c0ffee-7.0.2");
//! ```

pub mod data;
pub mod farm;
pub mod protocol;
pub mod worker;

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Context as JetStream};

use crate::protocol::{CONSUMER, TASKS_STREAM, TASKS_SUBJECT};

/// How long connecting to the server may take before it is an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings shared by the coordinator and the workers (`[cluster]` in a research file,
/// `--nats*` flags).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The NATS server, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// JetStream's ack wait: a task taken by a worker that neither answers nor acks within it
    /// is delivered again (to another worker), or evaluated by the coordinator. Set when the
    /// consumer is created (by whichever process comes first).
    pub ack_wait: Duration,
    /// JetStream's max-deliver limit: a task that failed on this many deliveries scores its
    /// genomes invalid, with the workers' reason.
    pub max_deliver: i64,
    /// How long the coordinator waits for a lost server to come back before it evaluates a
    /// batch itself (the results are the same, only slower).
    pub reconnect_wait: Duration,
    /// The work one task should carry: genomes are batched until a task costs about this much.
    pub task_target: Duration,
    /// How long the data bucket keeps segments, manifests and symbol lists that no store
    /// shared since names ([`data::prune`], run when a coordinator shares its store);
    /// `None`: never pruned.
    pub keep: Option<Duration>,
}

impl Settings {
    /// The defaults for the server at `url`: 30 s ack wait, 3 deliveries, 10 s reconnect wait,
    /// 50 ms tasks, a week's retention in the data bucket.
    pub fn new(url: &str) -> Settings {
        Settings {
            url: url.to_string(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 3,
            reconnect_wait: Duration::from_secs(10),
            task_target: Duration::from_millis(50),
            keep: Some(Duration::from_secs(7 * 24 * 3600)),
        }
    }
}

/// What went wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The server could not be reached.
    #[error(
        "cannot connect to the NATS server at {url}: {message} (is `nats-server -js` running there? docs/scale-out.md)"
    )]
    Connect {
        /// The server.
        url: String,
        /// The client's error.
        message: String,
    },
    /// A JetStream request failed (the server runs without `-js`, or refused a configuration).
    #[error("NATS server at {url}: {what}: {message}")]
    JetStream {
        /// The server.
        url: String,
        /// What was being done.
        what: &'static str,
        /// The client's error.
        message: String,
    },
    /// The worker's bar store could not be opened.
    #[error("worker store {dir}: {message}")]
    Store {
        /// The store directory.
        dir: String,
        /// The store's error.
        message: String,
    },
}

/// Connects to `settings.url` as `name` (shown by `nats server report connections`).
pub async fn connect(settings: &Settings, name: &str) -> Result<async_nats::Client, ClusterError> {
    let options = async_nats::ConnectOptions::new().name(name).connection_timeout(CONNECT_TIMEOUT);
    let error = |e: &dyn std::fmt::Display| ClusterError::Connect {
        url: settings.url.clone(),
        message: e.to_string(),
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect(settings.url.as_str())).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(error(&e)),
        Err(_) => Err(error(&format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
    }
}

/// The task stream and its workers' consumer, created when missing (an existing consumer keeps
/// the ack wait and max-deliver it was created with; its actual values are returned).
pub async fn task_queue(
    client: &async_nats::Client,
    settings: &Settings,
) -> Result<(JetStream, stream::Stream, PullConsumer), ClusterError> {
    let js = jetstream::new(client.clone());
    let error = |what: &'static str, e: &dyn std::fmt::Display| ClusterError::JetStream {
        url: settings.url.clone(),
        what,
        message: e.to_string(),
    };
    let stream = js
        .get_or_create_stream(stream::Config {
            name: TASKS_STREAM.to_string(),
            subjects: vec![TASKS_SUBJECT.to_string()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            // Tasks of a coordinator that died are dropped after an hour.
            max_age: Duration::from_secs(3600),
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| error("creating the task stream (is JetStream on? `nats-server -js`)", &e))?;
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            CONSUMER,
            pull::Config {
                durable_name: Some(CONSUMER.to_string()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver: settings.max_deliver,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| error("creating the workers' consumer", &e))?;
    Ok((js, stream, consumer))
}
