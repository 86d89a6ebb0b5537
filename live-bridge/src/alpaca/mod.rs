//! A thin Alpaca client: trading API v2, market data v2 and the `trade_updates` stream.
//!
//! Every base URL comes from [`Endpoints`], so tests point the client at a fake server on
//! 127.0.0.1. Requests pass a 200-per-minute token bucket (governor) and honour the
//! `X-Ratelimit-Remaining`/`X-Ratelimit-Reset` headers and a 429's `Retry-After`; idempotent
//! requests are retried with exponential backoff (backon) on 429, 5xx, timeouts and dropped
//! connections. Creating an
//! order is retried only on 429 (refused before it was processed): after any other failure its
//! outcome is unknown and the caller looks the order up by its `client_order_id`.

mod error;
mod keys;
pub mod model;
pub mod stream;

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backon::{ExponentialBuilder, Retryable};
use chrono::NaiveDate;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use datasets::Adjustment;
use datasets::ingest::AlpacaPage;
pub use error::AlpacaError;
pub use keys::{Credentials, KEY_ID_VAR, KeyError, SECRET_VAR};
use model::{
    Account, AccountConfigurations, ApiErrorBody, Asset, CalendarDay, CashAccountPatch, Clock, Order,
    OrderRequest, Position,
};

/// Which of Alpaca's historical bar endpoints a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarSource {
    /// `GET /v2/stocks/bars`, with this price adjustment and the client's feed.
    Stocks(Adjustment),
    /// `GET /v1beta3/crypto/us/bars` (no feed, no adjustment).
    Crypto,
}

/// Alpaca's documented limit for the trading API.
pub const REQUESTS_PER_MINUTE: u32 = 200;

/// Where the APIs live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Trading API base, e.g. `https://paper-api.alpaca.markets`.
    pub trading: String,
    /// Market data base, e.g. `https://data.alpaca.markets`.
    pub data: String,
    /// `trade_updates` websocket, e.g. `wss://paper-api.alpaca.markets/stream`.
    pub stream: String,
}

impl Endpoints {
    /// Alpaca's paper trading endpoints.
    pub fn paper() -> Self {
        Endpoints {
            trading: "https://paper-api.alpaca.markets".into(),
            data: "https://data.alpaca.markets".into(),
            stream: "wss://paper-api.alpaca.markets/stream".into(),
        }
    }

    /// Alpaca's live (real money) endpoints.
    pub fn live() -> Self {
        Endpoints {
            trading: "https://api.alpaca.markets".into(),
            data: "https://data.alpaca.markets".into(),
            stream: "wss://api.alpaca.markets/stream".into(),
        }
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URLs.
    pub endpoints: Endpoints,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt of an idempotent request.
    pub retries: usize,
    /// First backoff delay (doubles, with jitter).
    pub min_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
    /// Token bucket size per minute.
    pub requests_per_minute: u32,
    /// At most this many requests at once, and then never more than `requests_per_minute` in
    /// any 60 s (the bucket refills at the difference). `None`: the whole minute's quota at
    /// once, refilled at the full rate, leaving the account's limit to the server's headers (a
    /// first minute may send up to twice the quota).
    pub burst: Option<u32>,
    /// Market data feed (`iex` on the free plan, `sip` with a subscription).
    pub feed: Option<String>,
    /// Bars per page of the data API (at most 10,000).
    pub bar_page_limit: u32,
    /// The `trade_updates` stream is taken for dead after this long without any frame (a
    /// ping is sent every third of it, so a live server always answers within it): it is
    /// dropped and reconnected.
    pub stream_timeout: Duration,
}

impl ClientConfig {
    /// Defaults for `endpoints`: 10 s timeout, 4 retries from 250 ms to 8 s, 200 requests/minute.
    pub fn new(endpoints: Endpoints) -> Self {
        ClientConfig {
            endpoints,
            timeout: Duration::from_secs(10),
            retries: 4,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            requests_per_minute: REQUESTS_PER_MINUTE,
            burst: None,
            feed: None,
            bar_page_limit: 10_000,
            stream_timeout: Duration::from_secs(30),
        }
    }
}

/// Which failures a request may be retried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Idempotency {
    /// Reads, cancels, configuration: retry every transient failure.
    Idempotent,
    /// Creating an order: retry only a 429, which Alpaca refuses before processing.
    CreateOrder,
}

/// The Alpaca client. Cheap to share behind an `Arc`; safe to use from many tasks.
pub struct Client {
    http: reqwest::Client,
    credentials: Credentials,
    config: ClientConfig,
    limiter: DefaultDirectRateLimiter,
    /// Set from the rate-limit headers: no request before this instant.
    blocked_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.config.endpoints)
            .field("keys", &self.credentials)
            .finish()
    }
}

impl Client {
    /// A client for `config` with `credentials`.
    pub fn new(config: ClientConfig, credentials: Credentials) -> Result<Self, AlpacaError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| AlpacaError::Url {
                url: config.endpoints.trading.clone(),
                message: e.to_string(),
            })?;
        let limiter = RateLimiter::direct(quota(config.requests_per_minute, config.burst));
        Ok(Client { http, credentials, config, limiter, blocked_until: Mutex::new(None) })
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.config.endpoints
    }

    /// The market data feed asked for (`None`: the account's default).
    pub fn feed(&self) -> Option<&str> {
        self.config.feed.as_deref()
    }

    /// The keys, for the stream's authentication.
    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// How long the stream may stay silent before it is reconnected.
    pub(crate) fn stream_timeout(&self) -> Duration {
        self.config.stream_timeout
    }

    /// `GET /v2/account`.
    pub async fn account(&self) -> Result<Account, AlpacaError> {
        self.trading_json(Method::GET, "/v2/account", &[], None::<&()>).await
    }

    /// `GET /v2/account/configurations`.
    pub async fn account_configurations(&self) -> Result<AccountConfigurations, AlpacaError> {
        self.trading_json(Method::GET, "/v2/account/configurations", &[], None::<&()>).await
    }

    /// `PATCH /v2/account/configurations` with no shorting and margin multiplier 1.
    pub async fn enforce_cash_account(&self) -> Result<AccountConfigurations, AlpacaError> {
        self.trading_json(Method::PATCH, "/v2/account/configurations", &[], Some(&CashAccountPatch::new()))
            .await
    }

    /// `GET /v2/positions`.
    pub async fn positions(&self) -> Result<Vec<Position>, AlpacaError> {
        self.trading_json(Method::GET, "/v2/positions", &[], None::<&()>).await
    }

    /// `POST /v2/orders`. Retried only on 429; see the module docs.
    pub async fn create_order(&self, order: &OrderRequest) -> Result<Order, AlpacaError> {
        let url = format!("{}/v2/orders", self.config.endpoints.trading);
        let what = format!("POST /v2/orders {}", order.client_order_id);
        let body = self.send(&what, Method::POST, &url, &[], Some(order), Idempotency::CreateOrder).await?;
        decode(&what, &body)
    }

    /// `GET /v2/orders?status=…&limit=…`: `status` is `open`, `closed` or `all`.
    pub async fn list_orders(&self, status: &str, limit: u32) -> Result<Vec<Order>, AlpacaError> {
        // `nested`: an oco's legs under their parent, as one order (else each leg is listed as
        // an order of its own, with an id Alpaca made up).
        let query = [
            ("status", status.to_string()),
            ("limit", limit.to_string()),
            ("direction", "asc".into()),
            ("nested", "true".into()),
        ];
        self.trading_json(Method::GET, "/v2/orders", &query, None::<&()>).await
    }

    /// `GET /v2/orders?status=all&direction=desc`: the `limit` most recent orders, whatever their
    /// status (reconciliation looks for ours among them).
    pub async fn recent_orders(&self, limit: u32) -> Result<Vec<Order>, AlpacaError> {
        let query = [
            ("status", "all".to_string()),
            ("limit", limit.to_string()),
            ("direction", "desc".into()),
            ("nested", "true".into()),
        ];
        self.trading_json(Method::GET, "/v2/orders", &query, None::<&()>).await
    }

    /// `GET /v2/orders/{id}?nested=true` (an oco with its legs).
    pub async fn order(&self, id: &str) -> Result<Order, AlpacaError> {
        let query = [("nested", "true".to_string())];
        self.trading_json(Method::GET, &format!("/v2/orders/{id}"), &query, None::<&()>).await
    }

    /// `GET /v2/orders:by_client_order_id`: `None` when Alpaca has no such order.
    pub async fn order_by_client_id(&self, client_order_id: &str) -> Result<Option<Order>, AlpacaError> {
        let query = [("client_order_id", client_order_id.to_string())];
        match self.trading_json(Method::GET, "/v2/orders:by_client_order_id", &query, None::<&()>).await {
            Ok(order) => Ok(Some(order)),
            Err(AlpacaError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /v2/orders/{id}`: requests a cancel (a 422 means it can no longer be canceled).
    pub async fn cancel_order(&self, id: &str) -> Result<(), AlpacaError> {
        let url = format!("{}/v2/orders/{id}", self.config.endpoints.trading);
        let what = format!("DELETE /v2/orders/{id}");
        self.send(&what, Method::DELETE, &url, &[], None::<&()>, Idempotency::Idempotent).await.map(drop)
    }

    /// `GET /v2/clock`.
    pub async fn clock(&self) -> Result<Clock, AlpacaError> {
        self.trading_json(Method::GET, "/v2/clock", &[], None::<&()>).await
    }

    /// `GET /v2/calendar?start&end`: trading days with their settlement dates.
    pub async fn calendar(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<CalendarDay>, AlpacaError> {
        let query = [("start", start.to_string()), ("end", end.to_string())];
        self.trading_json(Method::GET, "/v2/calendar", &query, None::<&()>).await
    }

    /// `GET /v2/stocks/{symbol}/bars`, every page: bars in `[start, end)` (RFC 3339 bounds),
    /// split-adjusted.
    pub async fn bars(
        &self,
        symbol: &str,
        timeframe: datasets::Timeframe,
        start: datasets::Timestamp,
        end: datasets::Timestamp,
    ) -> Result<Vec<datasets::Bar>, AlpacaError> {
        let path = format!("/v2/stocks/{symbol}/bars");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let query = self.bars_query(timeframe, start, end, Some(Adjustment::Split), token.take());
            let page = self.data_page(&path, &query).await?;
            out.extend(page.series.iter().flat_map(|(_, bars)| bars.iter()));
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// `GET /v2/stocks/bars?symbols=…`, every page: each symbol's bars in `[start, end)`,
    /// split-adjusted.
    pub async fn multi_bars(
        &self,
        symbols: &[String],
        timeframe: datasets::Timeframe,
        start: datasets::Timestamp,
        end: datasets::Timestamp,
    ) -> Result<std::collections::BTreeMap<String, Vec<datasets::Bar>>, AlpacaError> {
        let mut out: std::collections::BTreeMap<String, Vec<datasets::Bar>> =
            symbols.iter().map(|s| (s.clone(), Vec::new())).collect();
        let source = BarSource::Stocks(Adjustment::Split);
        let mut token: Option<String> = None;
        loop {
            let page = self.history_page(source, symbols, timeframe, start, end, token.take()).await?;
            for (symbol, bars) in page.series {
                out.entry(symbol.unwrap_or_default()).or_default().extend(bars.iter());
            }
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// One page of historical bars of `symbols` in `[start, end)`: `GET /v2/stocks/bars` (with
    /// the client's feed and the source's adjustment) or `GET /v1beta3/crypto/us/bars`. Every bar
    /// is validated by the one Alpaca bar parser, [`datasets::ingest::parse_alpaca_page`].
    pub async fn history_page(
        &self,
        source: BarSource,
        symbols: &[String],
        timeframe: datasets::Timeframe,
        start: datasets::Timestamp,
        end: datasets::Timestamp,
        token: Option<String>,
    ) -> Result<AlpacaPage, AlpacaError> {
        let (path, adjustment) = match source {
            BarSource::Stocks(adjustment) => ("/v2/stocks/bars", Some(adjustment)),
            BarSource::Crypto => ("/v1beta3/crypto/us/bars", None),
        };
        let mut query = self.bars_query(timeframe, start, end, adjustment, token);
        query.push(("symbols", symbols.join(",")));
        self.data_page(path, &query).await
    }

    /// `GET /v2/stocks/bars/latest?symbols=…`: the latest 1-minute bar of each symbol.
    pub async fn latest_bars(
        &self,
        symbols: &[String],
    ) -> Result<std::collections::BTreeMap<String, datasets::Bar>, AlpacaError> {
        let mut query = vec![("symbols", symbols.join(","))];
        if let Some(feed) = &self.config.feed {
            query.push(("feed", feed.clone()));
        }
        let page = self.data_page("/v2/stocks/bars/latest", &query).await?;
        Ok(page
            .series
            .into_iter()
            .filter_map(|(symbol, bars)| Some((symbol?, bars.iter().last()?)))
            .collect())
    }

    /// `GET /v2/assets?status=…&asset_class=us_equity[&exchange=…]`: the broker's list of assets
    /// (`status` is `active` or `inactive`; `None` lists both).
    pub async fn assets(
        &self,
        status: Option<&str>,
        exchange: Option<&str>,
    ) -> Result<Vec<Asset>, AlpacaError> {
        let mut query = vec![("asset_class", "us_equity".to_string())];
        if let Some(status) = status {
            query.push(("status", status.to_string()));
        }
        if let Some(exchange) = exchange {
            query.push(("exchange", exchange.to_string()));
        }
        self.trading_json(Method::GET, "/v2/assets", &query, None::<&()>).await
    }

    fn bars_query(
        &self,
        timeframe: datasets::Timeframe,
        start: datasets::Timestamp,
        end: datasets::Timestamp,
        adjustment: Option<Adjustment>,
        token: Option<String>,
    ) -> Vec<(&'static str, String)> {
        let rfc = |t: datasets::Timestamp| t.to_datetime().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut query = vec![
            ("timeframe", timeframe.to_string()),
            ("start", rfc(start)),
            ("end", rfc(end)),
            ("limit", self.config.bar_page_limit.clamp(1, 10_000).to_string()),
        ];
        // Stocks only (crypto has neither). The live bridge asks `split`: a split inside the
        // history must not look like a crash to a strategy (Alpaca's default, `raw`, shows the
        // pre-split prices).
        if let Some(adjustment) = adjustment {
            query.push(("adjustment", adjustment.as_str().to_string()));
            if let Some(feed) = &self.config.feed {
                query.push(("feed", feed.clone()));
            }
        }
        if let Some(t) = token {
            query.push(("page_token", t));
        }
        query
    }

    /// A data-API answer parsed by the one Alpaca bar parser.
    async fn data_page(&self, path: &str, query: &[(&str, String)]) -> Result<AlpacaPage, AlpacaError> {
        let url = format!("{}{path}", self.config.endpoints.data);
        let what = format!("GET {path}");
        let bytes = self.send(&what, Method::GET, &url, query, None::<&()>, Idempotency::Idempotent).await?;
        datasets::ingest::parse_alpaca_page(&what, &bytes)
            .map_err(|e| AlpacaError::Decode { what: what.clone(), message: e.to_string() })
    }

    async fn trading_json<T: DeserializeOwned, B: Serialize + Sync>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, AlpacaError> {
        let url = format!("{}{path}", self.config.endpoints.trading);
        let what = format!("{method} {path}");
        let bytes = self.send(&what, method, &url, query, body, Idempotency::Idempotent).await?;
        decode(&what, &bytes)
    }

    /// Sends one request with rate limiting and the retry policy; the body of a 2xx answer.
    async fn send<B: Serialize + Sync>(
        &self,
        what: &str,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<Vec<u8>, AlpacaError> {
        let attempt = || async {
            self.wait_for_capacity().await;
            let mut request = self
                .http
                .request(method.clone(), url)
                .header("APCA-API-KEY-ID", self.credentials.key_id())
                .header("APCA-API-SECRET-KEY", self.credentials.secret())
                .query(query);
            if let Some(b) = body {
                request = request.json(b);
            }
            let response = request.send().await.map_err(|e| self.transport_error(what, &e))?;
            self.note_rate_limit(&response);
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| self.transport_error(what, &e))?;
            classify(what, status, &bytes)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_max_times(self.config.retries)
            .with_jitter();
        attempt
            .retry(backoff)
            .when(|e: &AlpacaError| match idempotency {
                Idempotency::Idempotent => e.is_transient(),
                Idempotency::CreateOrder => matches!(e, AlpacaError::RateLimited { .. }),
            })
            .notify(|e: &AlpacaError, after: Duration| tracing::warn!("{e}; retrying in {after:?}"))
            .await
    }

    fn transport_error(&self, what: &str, e: &reqwest::Error) -> AlpacaError {
        if e.is_timeout() {
            AlpacaError::Timeout { what: what.to_string(), timeout: self.config.timeout }
        } else {
            AlpacaError::Network { what: what.to_string(), message: error_chain(e) }
        }
    }

    /// Waits for a token of the bucket and for any block the headers asked for.
    async fn wait_for_capacity(&self) {
        let blocked = *self.blocked_until.lock().expect("rate-limit lock");
        if let Some(until) = blocked {
            let now = Instant::now();
            if until > now {
                tracing::info!("rate limit reached: waiting {:?}", until - now);
                tokio::time::sleep(until - now).await;
            }
        }
        self.limiter.until_ready().await;
    }

    /// Reads `X-Ratelimit-Remaining` and `X-Ratelimit-Reset` (epoch seconds): at 0 remaining,
    /// or on a 429, no request goes out before the reset, or before `Retry-After` seconds when
    /// the answer says so.
    fn note_rate_limit(&self, response: &reqwest::Response) {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let remaining = header("x-ratelimit-remaining");
        let exhausted = remaining == Some(0) || response.status() == StatusCode::TOO_MANY_REQUESTS;
        let mut blocked = self.blocked_until.lock().expect("rate-limit lock");
        if !exhausted {
            *blocked = None;
            return;
        }
        let now_s = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        // `Retry-After` (seconds) when the answer gives it, else the window's reset.
        let wait = match header("retry-after") {
            Some(seconds) => (seconds as f64).min(60.0),
            None => header("x-ratelimit-reset").map_or(1.0, |reset| (reset as f64 - now_s).clamp(0.0, 60.0)),
        };
        *blocked = Some(Instant::now() + Duration::from_secs_f64(wait));
    }
}

/// The token bucket for `per_minute` requests a minute, `burst` of them at once (see
/// [`ClientConfig::burst`]).
fn quota(per_minute: u32, burst: Option<u32>) -> Quota {
    let whole = NonZeroU32::new(per_minute.max(1)).expect("max(1) is non-zero");
    match burst {
        Some(burst) if per_minute > 1 => {
            let burst = burst.clamp(1, per_minute - 1);
            let refill = Duration::from_secs(60) / (per_minute - burst);
            Quota::with_period(refill)
                .expect("a positive period")
                .allow_burst(NonZeroU32::new(burst).expect("clamped to 1 or more"))
        }
        _ => Quota::per_minute(whole),
    }
}

/// Maps a status and body to the body or a typed error.
fn classify(what: &str, status: StatusCode, body: &[u8]) -> Result<Vec<u8>, AlpacaError> {
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let message = serde_json::from_slice::<ApiErrorBody>(body)
        .map(|b| b.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).chars().take(200).collect());
    let what = what.to_string();
    Err(match status.as_u16() {
        401 => AlpacaError::Unauthorized { what },
        403 => AlpacaError::Forbidden { what, message },
        404 => AlpacaError::NotFound { what },
        422 => AlpacaError::Unprocessable { what, message },
        429 => AlpacaError::RateLimited { what },
        s @ 500..=599 => AlpacaError::Server { what, status: s, message },
        s => AlpacaError::Status { what, status: s, message },
    })
}

fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, AlpacaError> {
    serde_json::from_slice(body)
        .map_err(|e| AlpacaError::Decode { what: what.to_string(), message: e.to_string() })
}

/// The error and its sources on one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_burst_keeps_every_minute_within_the_quota() {
        for (per_minute, burst) in [(200, 20), (200, 1), (7, 3), (2, 5)] {
            let q = quota(per_minute, Some(burst));
            let refilled = (Duration::from_secs(60).as_nanos() / q.replenish_interval().as_nanos()) as u32;
            assert!(q.burst_size().get() + refilled <= per_minute, "{per_minute}/min, burst {burst}: {q:?}");
            assert!(q.burst_size().get() <= burst, "{q:?}");
        }
        // Without a bound the whole quota may go at once.
        assert_eq!(quota(200, None).burst_size().get(), 200);
        assert_eq!(quota(1, Some(5)).burst_size().get(), 1);
    }
}
