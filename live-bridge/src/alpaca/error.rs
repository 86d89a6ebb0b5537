//! Typed errors of the Alpaca client.

use std::time::Duration;

/// A request that failed, by what the caller must do about it.
#[derive(Debug, thiserror::Error)]
pub enum AlpacaError {
    /// The connection failed or dropped before a complete answer: the request may or may not
    /// have been carried out.
    #[error("{what}: network error: {message}")]
    Network {
        /// The request.
        what: String,
        /// The transport's message.
        message: String,
    },
    /// No answer within the timeout: the request may or may not have been carried out.
    #[error("{what}: no answer within {timeout:?}")]
    Timeout {
        /// The request.
        what: String,
        /// The timeout.
        timeout: Duration,
    },
    /// 403: refused, e.g. insufficient buying power.
    #[error("{what}: forbidden (403): {message}")]
    Forbidden {
        /// The request.
        what: String,
        /// Alpaca's message.
        message: String,
    },
    /// 422: invalid parameters, e.g. a reused `client_order_id`.
    #[error("{what}: unprocessable (422): {message}")]
    Unprocessable {
        /// The request.
        what: String,
        /// Alpaca's message.
        message: String,
    },
    /// 404: no such object.
    #[error("{what}: not found (404)")]
    NotFound {
        /// The request.
        what: String,
    },
    /// 401: the keys were refused.
    #[error("{what}: unauthorized (401): check the API keys")]
    Unauthorized {
        /// The request.
        what: String,
    },
    /// 429 on every attempt.
    #[error("{what}: rate limited (429) on every attempt")]
    RateLimited {
        /// The request.
        what: String,
    },
    /// 5xx on every attempt.
    #[error("{what}: server error {status}: {message}")]
    Server {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// Alpaca's message.
        message: String,
    },
    /// Another unexpected status.
    #[error("{what}: unexpected status {status}: {message}")]
    Status {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// Alpaca's message.
        message: String,
    },
    /// A 2xx answer whose body is not the expected JSON.
    #[error("{what}: unexpected response body: {message}")]
    Decode {
        /// The request.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// A URL from the config that cannot be used.
    #[error("bad URL `{url}`: {message}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
}

impl AlpacaError {
    /// True for failures worth retrying for an idempotent request: 429, 5xx, timeouts, network.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AlpacaError::Network { .. }
                | AlpacaError::Timeout { .. }
                | AlpacaError::RateLimited { .. }
                | AlpacaError::Server { .. }
        )
    }

    /// True when the outcome of a state-changing request is unknown (it may have been applied):
    /// the caller must look the object up instead of resending.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, AlpacaError::Network { .. } | AlpacaError::Timeout { .. } | AlpacaError::Server { .. })
    }

    /// True for Alpaca's 422 refusing a sell stop at or above the current price ("stop price
    /// must be less than base_price - 0.01"): the stop has already been crossed.
    pub fn is_stop_crossed(&self) -> bool {
        matches!(self, AlpacaError::Unprocessable { message, .. } if message.contains("stop price must be less than"))
    }

    /// True for a 422 that says the `client_order_id` was already used.
    pub fn is_reused_client_order_id(&self) -> bool {
        matches!(self, AlpacaError::Unprocessable { message, .. } if message.contains("client_order_id"))
    }
}
