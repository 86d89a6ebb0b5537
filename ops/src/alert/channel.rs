//! Alert channels: where a message goes and the payload each expects.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Message;

/// One configured destination (`[[alerts.channels]]` in the operations config).
///
/// A value written `"env:NAME"` (a URL, a token) is read from the environment variable `NAME`
/// when the notifier starts, so secrets need not sit in the file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// A generic JSON POST of the whole alert (kind, key, severity, title, detail, fields,
    /// time, suppressed counts and a one-line `text`).
    Webhook {
        /// The URL posted to.
        url: String,
    },
    /// A Slack incoming webhook: `{"text": …}`.
    Slack {
        /// The webhook URL.
        url: String,
    },
    /// A Telegram bot: `POST {api}/bot{token}/sendMessage` with `chat_id` and `text`.
    Telegram {
        /// The bot token.
        token: String,
        /// The chat to write to.
        chat_id: String,
        /// The Bot API base URL.
        #[serde(default = "telegram_api")]
        api: String,
    },
}

fn telegram_api() -> String {
    "https://api.telegram.org".to_string()
}

/// A channel could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("alert channel {channel}: environment variable {var} is not set")]
pub struct MissingEnv {
    /// The channel's name.
    pub channel: String,
    /// The variable named by `env:`.
    pub var: String,
}

/// A channel ready to send: URL and payload shape resolved.
#[derive(Clone, Debug)]
pub struct Channel {
    /// Short name for logs and counters (`webhook`, `slack`, `telegram`).
    pub name: &'static str,
    url: String,
    shape: Shape,
}

#[derive(Clone, Debug)]
enum Shape {
    Full,
    Text,
    Telegram { chat_id: String },
}

fn resolve(channel: &'static str, value: &str) -> Result<String, MissingEnv> {
    match value.strip_prefix("env:") {
        Some(var) => std::env::var(var).map_err(|_| MissingEnv { channel: channel.into(), var: var.into() }),
        None => Ok(value.to_string()),
    }
}

impl ChannelConfig {
    /// Resolves `env:` values into a ready channel.
    pub fn resolve(&self) -> Result<Channel, MissingEnv> {
        Ok(match self {
            ChannelConfig::Webhook { url } => {
                Channel { name: "webhook", url: resolve("webhook", url)?, shape: Shape::Full }
            }
            ChannelConfig::Slack { url } => {
                Channel { name: "slack", url: resolve("slack", url)?, shape: Shape::Text }
            }
            ChannelConfig::Telegram { token, chat_id, api } => Channel {
                name: "telegram",
                url: format!("{}/bot{}/sendMessage", api.trim_end_matches('/'), resolve("telegram", token)?),
                shape: Shape::Telegram { chat_id: resolve("telegram", chat_id)? },
            },
        })
    }
}

impl Channel {
    /// The URL the payload is posted to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The JSON body for `message`.
    pub fn payload(&self, message: &Message) -> Value {
        match &self.shape {
            Shape::Full => {
                let a = &message.alert;
                json!({
                    "service": message.service,
                    "kind": a.kind,
                    "key": a.key,
                    "severity": a.severity,
                    "title": a.title,
                    "detail": a.detail,
                    "fields": a.fields,
                    "time_ns": a.time_ns,
                    "suppressed": message.suppressed,
                    "held_back": message.held_back,
                    "text": message.text(),
                })
            }
            Shape::Text => json!({ "text": message.text() }),
            Shape::Telegram { chat_id } => json!({
                "chat_id": chat_id,
                "text": message.text(),
                "disable_web_page_preview": true,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Alert;

    #[test]
    fn telegram_url_and_env_secrets() {
        let cfg: ChannelConfig =
            toml::from_str("kind = \"telegram\"\ntoken = \"env:OPS_TEST_NO_SUCH_TOKEN\"\nchat_id = \"42\"")
                .unwrap();
        let err = cfg.resolve().unwrap_err();
        assert_eq!(
            err.to_string(),
            "alert channel telegram: environment variable OPS_TEST_NO_SUCH_TOKEN is not set"
        );
        let cfg: ChannelConfig = toml::from_str(
            "kind = \"telegram\"\ntoken = \"123:abc\"\nchat_id = \"42\"\napi = \"http://127.0.0.1:9/\"",
        )
        .unwrap();
        let ch = cfg.resolve().unwrap();
        assert_eq!(ch.url(), "http://127.0.0.1:9/bot123:abc/sendMessage");
        let msg = Message {
            service: "live".into(),
            alert: Alert::kill_switch(true, "HALT file created"),
            suppressed: 0,
            held_back: 0,
        };
        assert_eq!(ch.payload(&msg)["chat_id"], "42");
        assert_eq!(ch.payload(&msg)["text"], "[live] CRITICAL kill switch ON: HALT file created");
    }

    #[test]
    fn unknown_keys_and_kinds_are_errors() {
        assert!(toml::from_str::<ChannelConfig>("kind = \"pager\"\nurl = \"x\"").is_err());
        assert!(
            toml::from_str::<ChannelConfig>("kind = \"slack\"\nurl = \"x\"\nchannel = \"#ops\"").is_err()
        );
    }
}
