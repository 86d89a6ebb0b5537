//! The live service: one tokio task that walks the NYSE trading day — PRE_MARKET (reconcile,
//! refresh data), each strategy's runs, intraday equity snapshots, POST_MARKET (daily
//! snapshot) — on a [`Clock`].
//!
//! Crash safety rests on one rule: what the bridge is about to do is committed to the
//! database before it does it. A run stores its signals and its exit orders (each with a
//! deterministic `client_order_id`) in one transaction before the first request; each entry is
//! stored before it is sent; after any failure the order is looked up by that id, never
//! blindly resent. A restart reconciles with the broker first (failing closed) and resumes the
//! runs it finds unfinished, so nothing is sent twice and no signal is lost. Protective exits
//! (stop-loss, take-profit, trailing stop) rest at the broker as one order per held position
//! ([`protect`]); the time stop is the run's.

mod alerts;
mod data;
mod day;
mod equity;
mod market;
mod orders;
mod orphans;
mod protect;
mod reconcile;
mod regime;
mod run;

pub use day::Ended;
pub use protect::{protection_for, protective_order_id};
pub use run::{MAX_CLIENT_ORDER_ID, client_order_id};

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datasets::calendar;
use ops::alert::Notifier;
use promoted::{PromotedDir, PromotedStrategy, Runnable};
use tokio::sync::{mpsc, watch};

use crate::alpaca::stream::StreamEvent;
use crate::alpaca::{AlpacaError, Client};
use crate::bars::BarCache;
use crate::clock::Clock;
use crate::config::LiveConfig;
use crate::db::{Db, DbError};
use crate::safety::KillSwitch;
use crate::schedule::Schedule;

/// Why the service could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The live database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The promoted set could not be read or is invalid.
    #[error("promoted strategies: {0}")]
    Promoted(#[from] promoted::PromotedError),
    /// A strategy has no schedule (no default for its family and none in the config).
    #[error("strategy `{id}` ({family}) has no run time: add [strategies.{id}] at = \"HH:MM\" to the config")]
    NoSchedule {
        /// Strategy id.
        id: String,
        /// Its family.
        family: String,
    },
    /// The bar store named in the config could not be opened.
    #[error("bar store: {0}")]
    Store(String),
    /// The data directory could not be created.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A broker request failed where the service cannot go on without it.
    #[error(transparent)]
    Api(#[from] AlpacaError),
    /// Another service runs on the data directory.
    #[error(transparent)]
    Locked(#[from] crate::lock::ServiceLockError),
    /// The broker's account is not the one `live.db` is bound to.
    #[error("{0}")]
    AccountMismatch(String),
}

/// A failed reconciliation is retried by a run at most this often (5 minutes).
const RECONCILE_RETRY_NS: i64 = 5 * 60_000_000_000;

/// A promoted strategy as the service runs it.
pub struct Registered {
    /// The strategy.
    pub strategy: PromotedStrategy,
    /// The strategy resolved once at registration: what each run computes signals with.
    pub runnable: Runnable,
    /// Its family: the name its legs trade under (a kernel registry name, `gp` for a genome).
    pub family: String,
    /// When it runs.
    pub schedule: Schedule,
    /// Why it does not run, when it does not: disabled by the config, or exits the bridge
    /// cannot place (a trailing stop with a fixed stop-loss or take-profit).
    pub disabled: Option<String>,
}

impl Registered {
    /// True when it runs.
    pub fn enabled(&self) -> bool {
        self.disabled.is_none()
    }
}

/// The live service.
pub struct Bridge {
    /// Held while the service runs: no second service on the data directory.
    _lock: crate::lock::ServiceLock,
    config: LiveConfig,
    client: Arc<Client>,
    db: Db,
    clock: Arc<dyn Clock>,
    switch: KillSwitch,
    strategies: Vec<Registered>,
    bars: BarCache,
    events: mpsc::UnboundedReceiver<StreamEvent>,
    events_tx: Option<mpsc::UnboundedSender<StreamEvent>>,
    shutdown: watch::Receiver<bool>,
    /// `Err(reason)` while the last reconciliation failed: no trading.
    reconciled: Result<(), String>,
    /// When reconciliation was last attempted (a failed one is retried at most every
    /// [`RECONCILE_RETRY_NS`]).
    reconciled_at: Option<datasets::Timestamp>,
    /// Settlement date of each trade date, from the broker's calendar.
    settlement: BTreeMap<NaiveDate, NaiveDate>,
    /// Strategies with an entry filled since their positions were last protected.
    unprotected: std::collections::BTreeSet<String>,
    /// Our oco orders a stream update without legs reported on: looked up (legs included) as
    /// soon as the service is between requests, since only the lookup says whether a leg filled.
    lookups: std::collections::BTreeSet<String>,
    /// The sessions of Alpaca's calendar (`None`: closed) for the days fetched at PRE_MARKET.
    broker_sessions: market::Sessions,
    /// Where alerts go (none until [`Bridge::with_notifier`]).
    notifier: Notifier,
    /// The open orders are to be looked up at the next chance (the stream (re)connected).
    open_check_due: bool,
    /// When the open orders were last looked up (see [`Bridge::check_open_orders`]).
    open_checked: std::time::Instant,
}

/// Cancels every open order at the broker — allowed while halted — and marks ours canceled
/// (their fills so far stay booked; the next reconciliation applies any that raced the cancel).
/// The positions' protective orders are kept unless `include_protective`: a cancel never
/// leaves a position without its stop by accident. Returns one line per order.
pub async fn cancel_open_orders(
    client: &Client,
    db: &Db,
    now_ns: i64,
    include_protective: bool,
) -> Result<Vec<String>, ServiceError> {
    let mut out = Vec::new();
    for order in client.list_orders("open", 500).await? {
        let line = format!(
            "{} {} {} {}",
            order.client_order_id,
            order.side.as_str(),
            order.qty.unwrap_or_default(),
            order.symbol
        );
        if !include_protective && db.protective_request(&order.client_order_id)?.is_some() {
            out.push(format!("kept {line} (protective: --include-protective cancels it too)"));
            continue;
        }
        match client.cancel_order(&order.id).await {
            Ok(()) => {
                if db.order(&order.client_order_id)?.is_some() {
                    let broker = Some((order.id.as_str(), "canceled"));
                    db.set_order_state(
                        &order.client_order_id,
                        crate::db::OrderState::Canceled,
                        broker,
                        "canceled by hand",
                        now_ns,
                    )?;
                }
                out.push(format!("canceled {line}"));
            }
            Err(e) => out.push(format!("not canceled {line}: {e}")),
        }
    }
    Ok(out)
}

/// The strategies of the current promoted set with their schedules.
pub fn register(config: &LiveConfig) -> Result<Vec<Registered>, ServiceError> {
    let Some(set) = PromotedDir::new(&config.service.promoted).current()? else {
        tracing::warn!("no promoted set in {}: nothing will trade", config.service.promoted.display());
        return Ok(Vec::new());
    };
    let resolved = set.check()?;
    let mut out = Vec::new();
    for (strategy, runnable) in set.strategies.into_iter().zip(resolved) {
        let family = runnable.source().name().to_string();
        let section = config.strategies.get(&strategy.id).or_else(|| config.strategies.get(&family));
        let default = runnable.source().cadence().map(Schedule::from_cadence);
        let schedule = Schedule::resolve(default, section)
            .ok_or_else(|| ServiceError::NoSchedule { id: strategy.id.clone(), family: family.clone() })?;
        let disabled = if section.and_then(|s| s.enabled) == Some(false) {
            Some("disabled by the config".to_string())
        } else {
            protect::unsupported(&strategy.rules)
        };
        out.push(Registered { strategy, runnable, family, schedule, disabled });
    }
    Ok(out)
}

impl Bridge {
    /// A service over `config`'s promoted set and data directory, trading through `client` on
    /// `clock`; it stops when `shutdown` turns true.
    pub fn new(
        config: LiveConfig,
        client: Arc<Client>,
        clock: Arc<dyn Clock>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, ServiceError> {
        std::fs::create_dir_all(&config.service.data_dir)?;
        let lock = crate::lock::ServiceLock::take(&config.service.data_dir)?;
        let db = Db::open(&config.service.data_dir.join("live.db"))?;
        let strategies = register(&config)?;
        for r in &strategies {
            let (id, family, tf, n) =
                (&r.strategy.id, &r.family, r.strategy.timeframe, r.strategy.symbols.len());
            let what = format!("{id} ({family}, {tf} on {n} symbols, allocation {})", r.strategy.allocation);
            match &r.disabled {
                None => tracing::info!("registered {what}: runs at {:?}", r.schedule),
                Some(why) => tracing::error!("registered {what}: NOT RUNNING: {why}"),
            }
        }
        let metas = match &config.service.store {
            Some(dir) => {
                let store =
                    datasets::store::Store::open(dir).map_err(|e| ServiceError::Store(e.to_string()))?;
                store.metas().cloned().collect()
            }
            None => Vec::new(),
        };
        let (events_tx, events) = mpsc::unbounded_channel();
        Ok(Bridge {
            _lock: lock,
            switch: KillSwitch::new(&config.service.data_dir),
            config,
            client,
            db,
            clock,
            strategies,
            bars: BarCache::new(metas),
            events,
            events_tx: Some(events_tx),
            shutdown,
            reconciled: Err("not reconciled yet".into()),
            reconciled_at: None,
            settlement: BTreeMap::new(),
            broker_sessions: market::Sessions::new(),
            unprotected: Default::default(),
            lookups: Default::default(),
            notifier: Notifier::disabled("live"),
            open_check_due: false,
            open_checked: std::time::Instant::now(),
        })
    }

    /// Sends the service's alerts (breakers, kill switch, reconciliation, daily P&L) to
    /// `notifier`.
    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = notifier;
        self
    }

    /// The registered strategies.
    pub fn strategies(&self) -> &[Registered] {
        &self.strategies
    }

    fn now_ns(&self) -> i64 {
        self.clock.now().0
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Writes a checkpoint: what is about to happen.
    fn checkpoint(&self, phase: &str, detail: &str) -> Result<(), ServiceError> {
        self.db.checkpoint(self.now_ns(), phase, detail)?;
        Ok(())
    }

    /// The settlement date of a trade on `date`: the broker's calendar, else the next NYSE day (T+1).
    fn settle_date(&self, date: NaiveDate) -> NaiveDate {
        self.settlement.get(&date).copied().unwrap_or_else(|| calendar::next_trading_day(date))
    }
}
