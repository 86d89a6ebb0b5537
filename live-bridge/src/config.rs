//! `live.toml`: broker endpoints and keys, the service's directories and times, risk limits,
//! per-strategy schedules, and an optional replay of simulated days.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;
use serde::Deserialize;

use crate::alpaca::{ClientConfig, Endpoints};

/// A config file that cannot be used, naming the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum LiveConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is invalid or has unknown keys or bad values.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and key.
        message: String,
    },
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// Broker access.
    #[serde(default)]
    pub alpaca: AlpacaSection,
    /// Directories and the trading day's times.
    #[serde(default)]
    pub service: ServiceSection,
    /// Limits and circuit breakers.
    #[serde(default)]
    pub risk: RiskSection,
    /// Per strategy id or family name: whether it runs and when.
    #[serde(default)]
    pub strategies: BTreeMap<String, StrategySection>,
    /// Positions of strategies no longer promoted (demoted): `"demoted id" = "owner"` hands
    /// them to a promoted strategy or to `manual`; those not named are sold at the next open
    /// session.
    #[serde(default)]
    pub handover: BTreeMap<String, String>,
    /// Replays simulated sessions as fast as they run instead of following the wall clock.
    #[serde(default)]
    pub replay: Option<ReplaySection>,
    /// Operations (alert channels, health check); absent, the binary reads its `--ops-config`.
    #[serde(default)]
    pub ops: Option<OpsSection>,
}

/// `[ops]`: the operations config inline (`[ops.alerts]`, `[ops.health]`, as in `ops.toml`), or
/// `config = "PATH"` naming an `ops.toml` shared with the other services.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsSection {
    /// An operations config file to read instead of the inline tables.
    pub config: Option<PathBuf>,
    /// Alert channels, dedup and rate limit.
    pub alerts: ops::alert::AlertsConfig,
    /// The periodic health check.
    pub health: ops::health::HealthConfig,
}

impl OpsSection {
    /// The operations config it stands for: the named file (a missing one is the default, no
    /// channels), else the inline tables.
    pub fn resolve(&self) -> Result<ops::config::OpsConfig, ops::config::OpsConfigError> {
        match &self.config {
            Some(path) => ops::config::OpsConfig::load(path),
            None => Ok(ops::config::OpsConfig { alerts: self.alerts.clone(), health: self.health.clone() }),
        }
    }
}

/// Base URLs of one environment; any left out takes Alpaca's.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointsSection {
    /// Trading API.
    pub trading: Option<String>,
    /// Market data API.
    pub data: Option<String>,
    /// `trade_updates` websocket.
    pub stream: Option<String>,
}

impl EndpointsSection {
    fn resolve(&self, defaults: Endpoints) -> Endpoints {
        Endpoints {
            trading: self.trading.clone().unwrap_or(defaults.trading),
            data: self.data.clone().unwrap_or(defaults.data),
            stream: self.stream.clone().unwrap_or(defaults.stream),
        }
    }
}

/// Which account the service trades: Alpaca's paper account or the real-money one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Paper trading: `paper-api.alpaca.markets`, keys starting `PK`.
    Paper,
    /// Real money: `api.alpaca.markets`, keys starting `AK`.
    Live,
}

impl Mode {
    /// `paper` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Live => "live",
        }
    }

    /// The host of Alpaca's trading API and stream in this mode.
    fn host(self) -> &'static str {
        match self {
            Mode::Paper => "paper-api.alpaca.markets",
            Mode::Live => "api.alpaca.markets",
        }
    }

    /// How Alpaca's key ids of this mode start.
    fn key_prefix(self) -> &'static str {
        match self {
            Mode::Paper => "PK",
            Mode::Live => "AK",
        }
    }
}

/// True for a loopback host (the fake broker of the tests).
fn loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks one endpoint: TLS (`secure`) unless on loopback, and the mode's own host where one
/// is named (`expected`).
fn check_endpoint(key: &str, url: &str, secure: &str, expected: Option<&str>) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{key}: `{url}` is not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    if loopback(host) {
        return Ok(());
    }
    if parsed.scheme() != secure {
        return Err(format!(
            "{key}: `{url}` must use {secure}:// (only a loopback test broker may go without TLS)"
        ));
    }
    if let Some(expected) = expected
        && host != expected
    {
        return Err(format!("{key}: host `{host}` is not `{expected}`"));
    }
    Ok(())
}

/// `[alpaca]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlpacaSection {
    /// `paper` or `live`: the account this config trades. Required to run the service; the
    /// endpoints, the key's prefix and the account bound into `live.db` must all agree with it.
    pub mode: Option<Mode>,
    /// Paper trading endpoints (`--paper`).
    pub paper: EndpointsSection,
    /// Real-money endpoints.
    pub live: EndpointsSection,
    /// Key file (`key_id`, `secret_key`; mode 600); else `APCA_API_KEY_ID`/`APCA_API_SECRET_KEY`.
    pub key_file: Option<PathBuf>,
    /// Market data feed: `iex` (free) or `sip`.
    pub feed: Option<String>,
    /// Per-request timeout, seconds.
    pub timeout_secs: f64,
    /// Retries of idempotent requests.
    pub retries: usize,
    /// Must be `true` to trade real money (without `--paper`).
    pub allow_live: bool,
    /// Client-side request budget per minute (Alpaca allows 200).
    pub requests_per_minute: u32,
    /// First retry delay, milliseconds (doubles up to 8 s, with jitter).
    pub backoff_ms: u64,
    /// Seconds the `trade_updates` stream may stay silent (no event, no answer to its pings)
    /// before it is reconnected.
    pub stream_timeout_secs: f64,
}

impl Default for AlpacaSection {
    fn default() -> Self {
        AlpacaSection {
            mode: None,
            paper: EndpointsSection::default(),
            live: EndpointsSection::default(),
            key_file: None,
            feed: Some("iex".into()),
            timeout_secs: 10.0,
            retries: 4,
            allow_live: false,
            requests_per_minute: crate::alpaca::REQUESTS_PER_MINUTE,
            backoff_ms: 250,
            stream_timeout_secs: 30.0,
        }
    }
}

impl AlpacaSection {
    /// The client settings for paper or live trading.
    pub fn client_config(&self, paper: bool) -> ClientConfig {
        let endpoints =
            if paper { self.paper.resolve(Endpoints::paper()) } else { self.live.resolve(Endpoints::live()) };
        let mut c = ClientConfig::new(endpoints);
        c.timeout = Duration::from_secs_f64(self.timeout_secs.max(0.05));
        c.retries = self.retries;
        c.feed = self.feed.clone();
        c.requests_per_minute = self.requests_per_minute;
        c.min_backoff = Duration::from_millis(self.backoff_ms);
        c.max_backoff = c.max_backoff.max(c.min_backoff);
        c.stream_timeout = Duration::from_secs_f64(self.stream_timeout_secs.max(0.3));
        c
    }

    /// The mode to trade in, refusing any confusion of paper and live: `--paper` (`paper_flag`)
    /// against `mode = "live"`, no mode at all, live without `allow_live`, an endpoint without
    /// TLS or on the other mode's host, or a key id of the other mode (`AK…` live, `PK…` paper).
    pub fn checked_mode(&self, paper_flag: bool, key_id: &str) -> Result<Mode, String> {
        let mode = match (self.mode, paper_flag) {
            (Some(Mode::Live), true) => {
                return Err("--paper given but the config says mode = \"live\": refusing to guess".into());
            }
            (Some(mode), _) => mode,
            (None, true) => Mode::Paper,
            (None, false) => {
                return Err(
                    "alpaca.mode is not set: write mode = \"paper\" or mode = \"live\" under [alpaca]".into(),
                );
            }
        };
        if mode == Mode::Live && !self.allow_live {
            return Err("mode = \"live\" trades real money: also set allow_live = true under [alpaca]".into());
        }
        let e = self.client_config(mode == Mode::Paper).endpoints;
        let section = mode.as_str();
        check_endpoint(&format!("alpaca.{section}.trading"), &e.trading, "https", Some(mode.host()))?;
        check_endpoint(&format!("alpaca.{section}.data"), &e.data, "https", None)?;
        check_endpoint(&format!("alpaca.{section}.stream"), &e.stream, "wss", Some(mode.host()))?;
        if !key_id.starts_with(mode.key_prefix()) {
            let shown: String = key_id.chars().take(2).collect();
            return Err(format!(
                "the API key id starts with `{shown}`, not `{}` as {section} keys do: refusing to mix paper and live",
                mode.key_prefix()
            ));
        }
        Ok(mode)
    }
}

/// `[service]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSection {
    /// Holds `live.db` and the `HALT` file.
    pub data_dir: PathBuf,
    /// The promoted-strategy directory.
    pub promoted: PathBuf,
    /// A bar store whose symbol metadata (asset class, sector, fundamentals) the strategies see.
    pub store: Option<PathBuf>,
    /// PRE_MARKET time, New York: reconcile and refresh data.
    pub pre_market: String,
    /// POST_MARKET: this many minutes after the close, the daily snapshot.
    pub post_market_minutes: i64,
    /// How long a run waits for its exits to fill before sizing entries, seconds.
    pub fill_timeout_secs: f64,
    /// Order polling interval while waiting for fills, seconds.
    pub poll_secs: f64,
    /// How long SIGTERM/SIGINT may take before the process exits anyway, seconds.
    pub shutdown_grace_secs: f64,
    /// A run may still place entries this many minutes after its time (after a restart).
    pub resume_grace_minutes: i64,
    /// No order but a protective one is sent unless the session is open and closes more than
    /// this many seconds from now (by the built-in calendar, Alpaca's calendar and Alpaca's
    /// clock): a market order sent at or after the close would be queued for the next open.
    pub close_margin_secs: i64,
    /// Every this many seconds (and after each reconnection of the `trade_updates` stream) the
    /// orders still open are looked up at the broker: an event missed or never delivered is
    /// booked within it.
    pub open_check_secs: f64,
    /// An intraday strategy's run reads its bars this many seconds after its minute: Alpaca serves a
    /// minute bar as soon as the minute ends and revises it with the minute's late trades about
    /// 30 s later, so a run reading it at once would trade on a bar that changes. Orders still go
    /// out within the same minute, at the next bar's open as in the backtest.
    pub bar_settle_secs: i64,
    /// Calendar days of daily bars a daily strategy sees.
    pub daily_history_days: i64,
    /// Sessions of 1-minute bars an intraday strategy sees (the current one included).
    pub minute_history_sessions: usize,
    /// The learned regime models (`tradebot regimes --train`); with a `store`, PRE_MARKET
    /// records the current model's outlook.
    pub regime_models: PathBuf,
    /// With a `store`: calendar days of 1-minute bars the store keeps (older ones are dropped
    /// at PRE_MARKET).
    pub minute_window_days: i64,
    /// With a `store`: symbols whose daily bars PRE_MARKET refreshes besides the strategies'
    /// (e.g. `SPY` for the regime outlook).
    pub refresh_symbols: Vec<String>,
    /// During market hours, the account's equity, cash and long value (and the positions'
    /// prices) are recorded every this many minutes from the open (`equity_intraday`).
    pub equity_snapshot_minutes: i64,
    /// Calendar days of intraday equity snapshots kept (older ones are dropped at POST_MARKET).
    pub equity_retention_days: i64,
}

impl Default for ServiceSection {
    fn default() -> Self {
        ServiceSection {
            data_dir: PathBuf::from("data/live"),
            promoted: PathBuf::from("data/promoted"),
            store: None,
            pre_market: "08:00".into(),
            post_market_minutes: 5,
            fill_timeout_secs: 30.0,
            poll_secs: 1.0,
            shutdown_grace_secs: 20.0,
            resume_grace_minutes: 15,
            close_margin_secs: 30,
            open_check_secs: 60.0,
            bar_settle_secs: 30,
            daily_history_days: 500,
            minute_history_sessions: 2,
            regime_models: PathBuf::from("data/models/regime"),
            minute_window_days: 30,
            refresh_symbols: Vec::new(),
            equity_snapshot_minutes: 5,
            equity_retention_days: 30,
        }
    }
}

/// `[risk]`: limits checked before every order and breakers checked before every run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskSection {
    /// Largest position as a fraction of account equity.
    pub max_position_fraction: f64,
    /// Trip when equity falls this fraction below the previous close's equity.
    pub daily_loss_limit: f64,
    /// Trip when equity falls this fraction below its peak.
    pub max_drawdown: f64,
    /// Trip after this many failed broker requests or rejected orders in a row.
    pub max_consecutive_errors: u32,
}

impl Default for RiskSection {
    fn default() -> Self {
        RiskSection {
            max_position_fraction: 0.25,
            daily_loss_limit: 0.03,
            max_drawdown: 0.15,
            max_consecutive_errors: 5,
        }
    }
}

/// `[strategies.ID]` (or `[strategies.FAMILY]`): schedule overrides.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySection {
    /// `false` keeps a promoted strategy from running (it is still listed).
    pub enabled: Option<bool>,
    /// First run, `HH:MM` New York.
    pub at: Option<String>,
    /// Repeat every this many minutes after `at`.
    pub every_minutes: Option<u32>,
    /// Last repeat at or before `HH:MM` New York (default: a minute before the close).
    pub until: Option<String>,
}

/// `[replay]`: simulated sessions on a clock that jumps from one scheduled step to the next.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySection {
    /// Start instant, RFC 3339 (e.g. `2025-12-30T07:55:00-05:00`).
    pub start: String,
    /// Trading sessions to replay before the service stops.
    #[serde(default = "one")]
    pub sessions: u32,
}

fn one() -> u32 {
    1
}

/// Parses `HH:MM`.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

impl LiveConfig {
    /// Reads and checks `path`. Every relative path in it is taken relative to the file's own
    /// directory, so that `tradebot live halt --config /etc/tradebot/live.toml` names the same
    /// data directory from anywhere as the service does.
    pub fn load(path: &Path) -> Result<Self, LiveConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| LiveConfigError::Io { path: path.into(), source })?;
        let mut config =
            Self::parse(&text).map_err(|message| LiveConfigError::Invalid { path: path.into(), message })?;
        let base = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base =
            std::path::absolute(&base).map_err(|source| LiveConfigError::Io { path: path.into(), source })?;
        config.resolve_paths(&base);
        Ok(config)
    }

    /// Makes every relative path absolute against `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let service = &mut self.service;
        for p in [&mut service.data_dir, &mut service.promoted, &mut service.regime_models] {
            resolve(p);
        }
        for p in [service.store.as_mut(), self.alpaca.key_file.as_mut()].into_iter().flatten() {
            resolve(p);
        }
        if let Some(p) = self.ops.as_mut().and_then(|o| o.config.as_mut()) {
            resolve(p);
        }
    }

    /// Parses and checks config text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: LiveConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_string(),
            }
        })?;
        config.check()?;
        Ok(config)
    }

    /// [`AlpacaSection::checked_mode`], and `[replay]` (simulated sessions) refused with real
    /// money.
    pub fn checked_mode(&self, paper_flag: bool, key_id: &str) -> Result<Mode, String> {
        let mode = self.alpaca.checked_mode(paper_flag, key_id)?;
        if mode == Mode::Live && self.replay.is_some() {
            return Err("[replay] runs simulated sessions: refused with mode = \"live\" (real money)".into());
        }
        Ok(mode)
    }

    fn check(&self) -> Result<(), String> {
        if parse_time(&self.service.pre_market).is_none() {
            return Err(format!("service.pre_market: `{}` is not HH:MM", self.service.pre_market));
        }
        let service = &self.service;
        for (key, v, max) in [
            ("service.equity_snapshot_minutes", service.equity_snapshot_minutes, 390),
            ("service.equity_retention_days", service.equity_retention_days, 3_650),
        ] {
            if !(1..=max).contains(&v) {
                return Err(format!("{key}: {v} is not in 1..={max}"));
            }
        }
        if !(0..=50).contains(&service.bar_settle_secs) {
            return Err(format!(
                "service.bar_settle_secs: {} is not in 0..=50 (a run must still send within its minute)",
                service.bar_settle_secs
            ));
        }
        if !(0..=3_600).contains(&service.close_margin_secs) {
            return Err(format!(
                "service.close_margin_secs: {} is not in 0..=3600",
                service.close_margin_secs
            ));
        }
        for (id, s) in &self.strategies {
            for (key, value) in [("at", &s.at), ("until", &s.until)] {
                if let Some(v) = value
                    && parse_time(v).is_none()
                {
                    return Err(format!("strategies.{id}.{key}: `{v}` is not HH:MM"));
                }
            }
            if s.every_minutes == Some(0) {
                return Err(format!("strategies.{id}.every_minutes: must be at least 1"));
            }
        }
        for (from, to) in &self.handover {
            if from == to || from == crate::db::MANUAL || to.trim().is_empty() {
                return Err(format!(
                    "handover.{from} = \"{to}\": name the promoted strategy (or \"manual\") that takes over its positions"
                ));
            }
        }
        let r = &self.risk;
        let fractions = [
            ("risk.max_position_fraction", r.max_position_fraction),
            ("risk.daily_loss_limit", r.daily_loss_limit),
            ("risk.max_drawdown", r.max_drawdown),
        ];
        for (key, v) in fractions {
            if !(v > 0.0 && v <= 1.0) {
                return Err(format!("{key}: {v} is not in (0, 1]"));
            }
        }
        if let Some(o) = &self.ops
            && o.config.is_some()
            && (o.alerts != Default::default() || o.health != Default::default())
        {
            return Err(
                "ops: name a `config` file or write [ops.alerts]/[ops.health] inline, not both".into()
            );
        }
        if let Some(replay) = &self.replay
            && chrono::DateTime::parse_from_rfc3339(&replay.start).is_err()
        {
            return Err(format!("replay.start: `{}` is not an RFC 3339 instant", replay.start));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_parses_to_the_defaults() {
        let c = LiveConfig::parse(include_str!("../../live.example.toml")).unwrap();
        let d = LiveConfig::default();
        assert_eq!(c.alpaca.client_config(true).endpoints, Endpoints::paper());
        assert_eq!(c.alpaca.client_config(false).endpoints, Endpoints::live());
        assert!(!c.alpaca.allow_live && c.replay.is_none() && c.strategies.is_empty());
        assert_eq!(format!("{:?}", c.service), format!("{:?}", d.service));
        assert_eq!(format!("{:?}", c.risk), format!("{:?}", d.risk));
    }

    #[test]
    fn defaults_and_errors_name_the_key() {
        let c = LiveConfig::parse("").unwrap();
        assert_eq!(c.service.pre_market, "08:00");
        assert_eq!(c.alpaca.client_config(true).endpoints, Endpoints::paper());
        assert_eq!(c.alpaca.client_config(false).endpoints, Endpoints::live());
        let err = LiveConfig::parse("[service]\npre_market = \"8am\"\n").unwrap_err();
        assert!(err.contains("service.pre_market"), "{err}");
        let err = LiveConfig::parse("[risk]\nmax_drawdown = 2.0\n").unwrap_err();
        assert!(err.contains("risk.max_drawdown"), "{err}");
        for bad in
            ["equity_snapshot_minutes = 0", "equity_snapshot_minutes = 391", "equity_retention_days = -1"]
        {
            let err = LiveConfig::parse(&format!("[service]\n{bad}\n")).unwrap_err();
            let key = bad.split(' ').next().unwrap();
            assert!(err.contains(&format!("service.{key}")), "{err}");
        }
        let err = LiveConfig::parse("[service]\nequity_snapshot_minutes = \"5\"\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("invalid type"), "{err}");
        let err = LiveConfig::parse("[service]\nbogus = 1\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("bogus"), "{err}");
        let c = LiveConfig::parse("[ops]\nconfig = \"/nonexistent/ops.toml\"\n").unwrap();
        assert_eq!(c.ops.unwrap().resolve().unwrap(), ops::config::OpsConfig::default());
        let inline = "[ops.alerts]\nmax_per_hour = 5\n[[ops.alerts.channels]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9\"\n";
        let c = LiveConfig::parse(inline).unwrap().ops.unwrap().resolve().unwrap();
        assert_eq!((c.alerts.max_per_hour, c.alerts.channels.len()), (5, 1));
        let err = LiveConfig::parse(&format!("{inline}[ops]\nconfig = \"x.toml\"\n")).unwrap_err();
        assert!(err.contains("not both") || err.contains("duplicate"), "{err}");
        let err =
            LiveConfig::parse("[ops]\nconfig = \"x.toml\"\n[ops.health]\ninterval_secs = 60\n").unwrap_err();
        assert!(err.contains("not both"), "{err}");
        let c = LiveConfig::parse("[alpaca.paper]\ntrading = \"http://127.0.0.1:9\"\n").unwrap();
        assert_eq!(c.alpaca.client_config(true).endpoints.data, Endpoints::paper().data);
        assert_eq!(c.alpaca.client_config(true).endpoints.trading, "http://127.0.0.1:9");
    }

    #[test]
    fn paper_and_live_cannot_be_confused() {
        let parse = |t: &str| LiveConfig::parse(t).unwrap().alpaca;
        // The documented paper step: mode = "paper" (or --paper), paper keys, Alpaca's hosts.
        assert_eq!(parse("[alpaca]\nmode = \"paper\"\n").checked_mode(false, "PKXYZ"), Ok(Mode::Paper));
        assert_eq!(parse("").checked_mode(true, "PKXYZ"), Ok(Mode::Paper));
        let live = "[alpaca]\nmode = \"live\"\nallow_live = true\n";
        assert_eq!(parse(live).checked_mode(false, "AKXYZ"), Ok(Mode::Live));
        let refused = [
            ("", false, "PK", "alpaca.mode is not set"),
            (live, true, "PK", "--paper given but the config says mode = \"live\""),
            ("[alpaca]\nmode = \"live\"\n", false, "AK", "allow_live = true"),
            // --paper with the live host and a live key went to the live host.
            (
                "[alpaca.paper]\ntrading = \"https://api.alpaca.markets\"\n",
                true,
                "PK",
                "host `api.alpaca.markets` is not `paper-api.alpaca.markets`",
            ),
            ("", true, "AKLIVE", "starts with `AK`, not `PK`"),
            (live, false, "PKPAPER", "starts with `PK`, not `AK`"),
            (
                "[alpaca.paper]\ntrading = \"http://paper-api.alpaca.markets\"\n",
                true,
                "PK",
                "must use https://",
            ),
            (
                "[alpaca.paper]\nstream = \"ws://paper-api.alpaca.markets/stream\"\n",
                true,
                "PK",
                "alpaca.paper.stream: `ws://paper-api.alpaca.markets/stream` must use wss://",
            ),
            ("[alpaca.paper]\ndata = \"http://data.alpaca.markets\"\n", true, "PK", "alpaca.paper.data"),
            (
                &format!("{live}[alpaca.live]\nstream = \"wss://paper-api.alpaca.markets/stream\"\n"),
                false,
                "AK",
                "alpaca.live.stream: host",
            ),
        ];
        for (text, paper, key, why) in refused {
            let err = parse(text).checked_mode(paper, key).unwrap_err();
            assert!(err.contains(why), "{text:?} --paper={paper} {key}: {err}");
        }
        let replay = format!("{live}[replay]\nstart = \"2025-12-30T07:55:00-05:00\"\n");
        let err = LiveConfig::parse(&replay).unwrap().checked_mode(false, "AK").unwrap_err();
        assert!(err.contains("[replay] runs simulated sessions"), "{err}");
        // Only a loopback test broker may go without TLS.
        let fake = "[alpaca.paper]\ntrading = \"http://127.0.0.1:9\"\nstream = \"ws://[::1]:9/stream\"\ndata = \"http://localhost:9\"\n";
        assert_eq!(parse(fake).checked_mode(true, "PK"), Ok(Mode::Paper));
    }

    #[test]
    fn relative_paths_are_the_config_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.toml");
        std::fs::write(
            &path,
            "[alpaca]\nkey_file = \"keys.toml\"\n[service]\npromoted = \"/abs/promoted\"\n",
        )
        .unwrap();
        let c = LiveConfig::load(&path).unwrap();
        let base = std::path::absolute(dir.path()).unwrap();
        assert_eq!(c.service.data_dir, base.join("data/live"));
        assert_eq!(c.service.promoted, PathBuf::from("/abs/promoted"));
        assert_eq!(c.service.regime_models, base.join("data/models/regime"));
        assert_eq!(c.alpaca.key_file, Some(base.join("keys.toml")));
    }
}
