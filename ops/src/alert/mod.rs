//! Alerts: what happened ([`Alert`]), which go out ([`gate`]), and the [`Notifier`] that posts
//! them to webhook channels without ever blocking its caller.
//!
//! `Notifier::notify` decides synchronously (dedup, rate limit: a mutex and a hash map) and
//! hands the message to each channel's bounded queue with `try_send`; one background thread
//! runs a small tokio runtime with one task per channel, each request with a timeout. So a
//! dead or slow endpoint delays only its own channel, a full queue drops (and counts) the
//! message, and trading code calling `notify` never waits on the network.
//!
//! ```no_run
//! use ops::alert::{Alert, AlertsConfig, Notifier};
//! let config: AlertsConfig = toml::from_str(r#"
//!     [[channels]]
//!     kind = "slack"
//!     url = "env:TRADEBOT_SLACK_WEBHOOK"
//! "#)?;
//! let notifier = Notifier::start("live", &config)?;
//! notifier.notify(Alert::circuit_breaker("daily_loss", "equity down 3.1 % today"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod channel;
pub mod gate;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

pub use channel::{Channel, ChannelConfig, MissingEnv};
pub use gate::{Decision, Gate};

use crate::now_ns;

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A circuit breaker of the live service tripped.
    CircuitBreaker,
    /// The kill switch was turned on or off.
    KillSwitch,
    /// Local and broker state disagree.
    Reconciliation,
    /// An ERROR-level event was logged.
    Error,
    /// Market data is older than it should be.
    DataStale,
    /// Memory use or pressure above the threshold.
    MemoryPressure,
    /// The end-of-day profit and loss summary.
    DailyPnl,
}

impl AlertKind {
    /// The name used in payloads and the config.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::CircuitBreaker => "circuit_breaker",
            AlertKind::KillSwitch => "kill_switch",
            AlertKind::Reconciliation => "reconciliation",
            AlertKind::Error => "error",
            AlertKind::DataStale => "data_stale",
            AlertKind::MemoryPressure => "memory_pressure",
            AlertKind::DailyPnl => "daily_pnl",
        }
    }
}

/// How urgent an alert is; critical ones bypass the rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record (the daily summary).
    Info,
    /// Needs a look.
    Warning,
    /// Trading is affected.
    Critical,
}

impl Severity {
    /// Upper-case label used in message text.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// One alert: kind and key (the dedup identity), severity, a title, a detail line and
/// structured fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// What it is about.
    pub kind: AlertKind,
    /// Which one of its kind (a breaker's name, a component, a timeframe, a day).
    pub key: String,
    /// How urgent.
    pub severity: Severity,
    /// A short headline.
    pub title: String,
    /// One line of detail.
    pub detail: String,
    /// Structured figures, posted as-is by the generic webhook.
    pub fields: BTreeMap<String, Value>,
    /// When it happened (UTC epoch ns); the clock for dedup and rate limiting.
    pub time_ns: i64,
}

/// The figures of the daily profit-and-loss summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyPnl {
    /// The trading day, `YYYY-MM-DD` (America/New_York session date).
    pub day: String,
    /// Account equity at the close.
    pub equity: f64,
    /// Change against the previous close.
    pub pnl: f64,
    /// Orders filled today.
    pub fills: u64,
    /// Open positions at the close.
    pub positions: u64,
}

impl Alert {
    /// An alert of `kind`/`key` stamped now.
    pub fn new(kind: AlertKind, key: &str, severity: Severity, title: String, detail: &str) -> Self {
        Alert {
            kind,
            key: key.to_string(),
            severity,
            title,
            detail: detail.to_string(),
            fields: BTreeMap::new(),
            time_ns: now_ns(),
        }
    }

    /// The same alert stamped at `time_ns` instead.
    pub fn at(mut self, time_ns: i64) -> Self {
        self.time_ns = time_ns;
        self
    }

    /// Adds a structured field.
    pub fn field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_string(), value.into());
        self
    }

    /// Circuit breaker `breaker` tripped because of `reason`.
    pub fn circuit_breaker(breaker: &str, reason: &str) -> Self {
        Alert::new(
            AlertKind::CircuitBreaker,
            breaker,
            Severity::Critical,
            format!("circuit breaker {breaker} tripped"),
            reason,
        )
    }

    /// The kill switch went on (trading halted) or off.
    pub fn kill_switch(on: bool, reason: &str) -> Self {
        let (state, severity) = if on { ("ON", Severity::Critical) } else { ("OFF", Severity::Warning) };
        Alert::new(AlertKind::KillSwitch, state, severity, format!("kill switch {state}"), reason)
    }

    /// Reconciliation with the broker failed for `what` (an order id, a symbol, `positions`).
    pub fn reconciliation(what: &str, detail: &str) -> Self {
        Alert::new(
            AlertKind::Reconciliation,
            what,
            Severity::Critical,
            format!("reconciliation failed: {what}"),
            detail,
        )
    }

    /// An ERROR event in `component` (deduplicated per component).
    pub fn error(component: &str, message: &str) -> Self {
        Alert::new(AlertKind::Error, component, Severity::Warning, format!("error in {component}"), message)
    }

    /// Data of `what` (a timeframe, or `symbol timeframe`) is stale.
    pub fn data_stale(what: &str, detail: &str) -> Self {
        Alert::new(AlertKind::DataStale, what, Severity::Warning, format!("stale data: {what}"), detail)
    }

    /// `what` (e.g. `memory`, `swap`, `cgroup`) is at `pct` percent.
    pub fn memory_pressure(what: &str, pct: f64, detail: &str) -> Self {
        Alert::new(
            AlertKind::MemoryPressure,
            what,
            Severity::Warning,
            format!("{what} at {pct:.0} %"),
            detail,
        )
        .field("pct", pct)
    }

    /// The end-of-day summary.
    pub fn daily_pnl(p: &DailyPnl) -> Self {
        let pct = if p.equity - p.pnl != 0.0 { p.pnl / (p.equity - p.pnl) * 100.0 } else { 0.0 };
        let detail = format!(
            "equity {:.2}, P&L {:+.2} ({pct:+.2} %), {} fills, {} positions",
            p.equity, p.pnl, p.fills, p.positions
        );
        Alert::new(AlertKind::DailyPnl, &p.day, Severity::Info, format!("daily P&L {}", p.day), &detail)
            .field("equity", p.equity)
            .field("pnl", p.pnl)
            .field("pnl_pct", pct)
            .field("fills", p.fills)
            .field("positions", p.positions)
    }
}

/// An alert on its way out, with the counts the gate attached.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The service that raised it.
    pub service: String,
    /// The alert.
    pub alert: Alert,
    /// Copies of the same kind and key suppressed since it last went out.
    pub suppressed: u32,
    /// Alerts held back by the rate limit since the previous message.
    pub held_back: u32,
}

impl Message {
    /// One line of text: `[service] SEVERITY title: detail (notes)`.
    pub fn text(&self) -> String {
        let a = &self.alert;
        let mut text = format!("[{}] {} {}: {}", self.service, a.severity.as_str(), a.title, a.detail);
        if self.suppressed > 0 {
            text.push_str(&format!(" ({} similar suppressed)", self.suppressed));
        }
        if self.held_back > 0 {
            text.push_str(&format!(" ({} other alerts held back by the rate limit)", self.held_back));
        }
        text
    }
}

/// The `[alerts]` section of the operations config.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Same kind and key within this many seconds is sent once.
    pub dedup_window_secs: u64,
    /// At most this many non-critical alerts an hour (0: unlimited).
    pub max_per_hour: u32,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// Messages waiting per channel before new ones are dropped.
    pub queue: usize,
    /// Where alerts go; none means alerts are only counted.
    pub channels: Vec<ChannelConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            dedup_window_secs: 900,
            max_per_hour: 20,
            timeout_secs: 10,
            queue: 64,
            channels: Vec::new(),
        }
    }
}

/// Why an alert did or did not go out (returned by [`Notifier::notify`], mostly for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to this many channel queues (some may have been full).
    Queued(usize),
    /// Suppressed as a duplicate.
    Duplicate,
    /// Held back by the rate limit.
    RateLimited,
}

/// Counters of a notifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifierStats {
    /// Messages handed to channel queues (one per channel).
    pub queued: u64,
    /// Messages a channel's endpoint accepted (2xx).
    pub sent: u64,
    /// Messages that failed (error status, refused connection, timeout).
    pub failed: u64,
    /// Messages dropped because a channel's queue was full.
    pub dropped: u64,
    /// Alerts suppressed as duplicates.
    pub duplicates: u64,
    /// Alerts held back by the rate limit.
    pub rate_limited: u64,
}

#[derive(Default)]
struct Counters {
    /// The latest delivery failure, `channel: reason`.
    last_failure: Mutex<Option<String>>,
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    duplicates: AtomicU64,
    rate_limited: AtomicU64,
}

struct Inner {
    service: String,
    gate: Mutex<Gate>,
    queues: Vec<mpsc::Sender<Arc<Message>>>,
    counters: Arc<Counters>,
}

/// Sends alerts to the configured channels from a background thread. Cheap to clone; the
/// thread ends when the last clone is dropped (after sending what is queued).
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

/// The notifier could not start.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    /// A channel's `env:` variable is missing.
    #[error(transparent)]
    Env(#[from] MissingEnv),
    /// The HTTP client or the runtime could not be built.
    #[error("alert notifier: {0}")]
    Start(String),
}

impl Notifier {
    /// Starts the sender thread for `config`'s channels; `service` prefixes every message.
    pub fn start(service: &str, config: &AlertsConfig) -> Result<Notifier, NotifierError> {
        let channels = config.channels.iter().map(ChannelConfig::resolve).collect::<Result<Vec<_>, _>>()?;
        let counters = Arc::new(Counters::default());
        let mut queues = Vec::new();
        let mut receivers = Vec::new();
        for channel in channels {
            let (tx, rx) = mpsc::channel(config.queue.max(1));
            queues.push(tx);
            receivers.push((channel, rx));
        }
        if !receivers.is_empty() {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(config.timeout_secs.max(1)))
                .build()
                .map_err(|e| NotifierError::Start(e.to_string()))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| NotifierError::Start(e.to_string()))?;
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name("alerts".into())
                .spawn(move || {
                    runtime.block_on(async move {
                        let tasks: Vec<_> = receivers
                            .into_iter()
                            .map(|(channel, rx)| {
                                tokio::spawn(deliver(channel, rx, client.clone(), Arc::clone(&counters)))
                            })
                            .collect();
                        for t in tasks {
                            let _ = t.await;
                        }
                    })
                })
                .map_err(|e| NotifierError::Start(e.to_string()))?;
        }
        let gate = Mutex::new(Gate::new(config.dedup_window_secs, config.max_per_hour));
        Ok(Notifier { inner: Arc::new(Inner { service: service.to_string(), gate, queues, counters }) })
    }

    /// A notifier with no channels: alerts are gated and counted, nothing is sent.
    pub fn disabled(service: &str) -> Notifier {
        Notifier::start(service, &AlertsConfig::default()).expect("no channel to resolve")
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.inner.queues.len()
    }

    /// Gates `alert` and, if it goes out, queues it on every channel. Never blocks on I/O.
    pub fn notify(&self, alert: Alert) -> Outcome {
        let inner = &self.inner;
        let decision = inner.gate.lock().unwrap_or_else(|p| p.into_inner()).decide(&alert);
        let (suppressed, held_back) = match decision {
            Decision::Duplicate => {
                inner.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                return Outcome::Duplicate;
            }
            Decision::RateLimited => {
                inner.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                return Outcome::RateLimited;
            }
            Decision::Send { suppressed, held_back } => (suppressed, held_back),
        };
        let message = Arc::new(Message { service: inner.service.clone(), alert, suppressed, held_back });
        for queue in &inner.queues {
            inner.counters.queued.fetch_add(1, Ordering::AcqRel);
            if queue.try_send(Arc::clone(&message)).is_err() {
                inner.counters.dropped.fetch_add(1, Ordering::AcqRel);
            }
        }
        Outcome::Queued(inner.queues.len())
    }

    /// The counters so far.
    pub fn stats(&self) -> NotifierStats {
        let c = &self.inner.counters;
        NotifierStats {
            queued: c.queued.load(Ordering::Acquire),
            sent: c.sent.load(Ordering::Acquire),
            failed: c.failed.load(Ordering::Acquire),
            dropped: c.dropped.load(Ordering::Acquire),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// The latest delivery failure (`channel: reason`), if any.
    pub fn last_failure(&self) -> Option<String> {
        self.inner.counters.last_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits at most `timeout` for every queued message to be sent or to fail (a short-lived
    /// command calls this before exiting so its last alert gets out).
    pub fn flush(&self, timeout: Duration) -> NotifierStats {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.stats();
            if s.sent + s.failed + s.dropped >= s.queued || Instant::now() >= deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// One channel's task: posts each message in turn; failures are counted and reported on
/// the log, never retried (the next alert of the kind will go out after the dedup window).
async fn deliver(
    channel: Channel,
    mut rx: mpsc::Receiver<Arc<Message>>,
    client: reqwest::Client,
    counters: Arc<Counters>,
) {
    while let Some(message) = rx.recv().await {
        let result = client.post(channel.url()).json(&channel.payload(&message)).send().await;
        // Without the URL: a Telegram URL holds the bot token.
        let failure = match result {
            Ok(resp) if resp.status().is_success() => None,
            Ok(resp) => Some(format!("HTTP {}", resp.status())),
            Err(e) => Some(e.without_url().to_string()),
        };
        match failure {
            None => counters.sent.fetch_add(1, Ordering::AcqRel),
            Some(reason) => {
                let text = format!("alert to {}: {reason}", channel.name);
                // A warning, not an error: an ERROR would raise another alert about the alert.
                tracing::warn!("{text}");
                *counters.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
                counters.failed.fetch_add(1, Ordering::AcqRel)
            }
        };
    }
}

#[cfg(test)]
mod tests;
