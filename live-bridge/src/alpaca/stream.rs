//! The `trade_updates` websocket: order events (fills, partial fills, cancels) as they happen.
//!
//! [`run`] connects, authenticates in the documented form
//! (`{"action":"authenticate","data":{"key_id","secret_key"}}`), listens to
//! `trade_updates` and forwards each event; it reconnects with backoff until shut down. Paper
//! trading sends binary frames and live text frames: both are read. Events can be missed while
//! disconnected, so every (re)connection is announced with [`StreamEvent::Connected`] and the
//! consumer polls the orders it is waiting for.
//!
//! A connection can also die without closing (a NAT entry dropped, a server that stopped
//! sending): the stream pings every third of the client's `stream_timeout` and, when no frame at
//! all (a pong included) has arrived for that long, drops the connection and reconnects.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::model::TradeUpdate;
use super::{AlpacaError, Client};

/// What the stream reports.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// Connected and listening: events from before may have been missed.
    Connected,
    /// One order event.
    Update(Box<TradeUpdate>),
}

/// Keeps the stream connected until `shutdown` turns true, forwarding events to `events`.
pub async fn run(
    client: Arc<Client>,
    events: mpsc::UnboundedSender<StreamEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut delay = Duration::from_millis(200);
    while !*shutdown.borrow() {
        tokio::select! {
            result = session(&client, &events) => {
                match result {
                    Ok(()) => tracing::info!("trade_updates stream closed; reconnecting"),
                    Err(e) => tracing::warn!("trade_updates stream: {e}; reconnecting in {delay:?}"),
                }
            }
            _ = shutdown.changed() => return,
        }
        if events.is_closed() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// One connection: authenticate, listen, forward until it drops.
async fn session(client: &Client, events: &mpsc::UnboundedSender<StreamEvent>) -> Result<(), AlpacaError> {
    let url = &client.endpoints().stream;
    let err = |message: String| AlpacaError::Network { what: format!("stream {url}"), message };
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.map_err(|e| err(e.to_string()))?;
    let creds = client.credentials();
    let auth =
        json!({"action": "authenticate", "data": {"key_id": creds.key_id(), "secret_key": creds.secret()}});
    ws.send(Message::Text(auth.to_string().into())).await.map_err(|e| err(e.to_string()))?;
    let listen = json!({"action": "listen", "data": {"streams": ["trade_updates"]}});
    let mut listening = false;
    let timeout = client.stream_timeout();
    let mut heard = tokio::time::Instant::now();
    let mut ping = tokio::time::interval(timeout / 3);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = tokio::select! {
            next = ws.next() => next,
            _ = ping.tick() => {
                if heard.elapsed() >= timeout {
                    return Err(err(format!("silent for {timeout:?} (no event, no answer to pings)")));
                }
                ws.send(Message::Ping(Vec::new().into())).await.map_err(|e| err(e.to_string()))?;
                continue;
            }
        };
        let Some(message) = next else { return Ok(()) };
        let message = message.map_err(|e| err(e.to_string()))?;
        heard = tokio::time::Instant::now();
        let text = match &message {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b.as_ref(),
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        let Ok(value) = serde_json::from_slice::<Value>(text) else {
            tracing::warn!("trade_updates: unreadable message skipped");
            continue;
        };
        match value["stream"].as_str() {
            Some("authorization") => {
                if value["data"]["status"] != "authorized" {
                    return Err(AlpacaError::Unauthorized { what: format!("stream {url}") });
                }
                ws.send(Message::Text(listen.to_string().into())).await.map_err(|e| err(e.to_string()))?;
            }
            Some("listening") => {
                listening = true;
                if events.send(StreamEvent::Connected).is_err() {
                    return Ok(());
                }
            }
            Some("trade_updates") if listening => {
                match serde_json::from_value::<TradeUpdate>(value["data"].clone()) {
                    Ok(update) => {
                        if events.send(StreamEvent::Update(Box::new(update))).is_err() {
                            return Ok(());
                        }
                    }
                    Err(e) => tracing::warn!("trade_updates: event skipped: {e}"),
                }
            }
            _ => {}
        }
    }
}
