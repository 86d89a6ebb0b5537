//! `tradebot alert`: sends one alert through the configured channels (to test the setup, or
//! from a systemd `OnFailure=` unit when a service dies).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use ops::alert::{Alert, AlertKind, Notifier, Severity};
use ops::config::OpsConfig;

use crate::service::OpsArgs;

/// Arguments of `tradebot alert`.
#[derive(Args)]
pub struct AlertArgs {
    /// The alert's detail line.
    message: String,
    /// Kind: error, circuit_breaker, kill_switch, reconciliation, data_stale, memory_pressure, daily_pnl.
    #[arg(long, default_value = "error")]
    kind: String,
    /// The dedup key within the kind (a component, a unit name).
    #[arg(long, default_value = "manual")]
    key: String,
    /// info, warning or critical.
    #[arg(long, default_value = "warning")]
    severity: String,
    /// The service named in the message.
    #[arg(long, default_value = "tradebot")]
    service: String,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .with_context(|| format!("unknown {what} {value:?}"))
}

/// Sends the alert and waits for every channel's answer.
pub fn run(args: AlertArgs, ops_args: &OpsArgs) -> Result<()> {
    let config = OpsConfig::load(&ops_args.ops_config)?;
    if config.alerts.channels.is_empty() {
        bail!("no alert channel in {}: add an [[alerts.channels]] entry", ops_args.ops_config.display());
    }
    let kind: AlertKind = parse("kind", &args.kind)?;
    let severity: Severity = parse("severity", &args.severity)?;
    let notifier = Notifier::start(&args.service, &config.alerts)?;
    let title = format!("{} {}", kind.as_str().replace('_', " "), args.key);
    notifier.notify(Alert::new(kind, &args.key, severity, title, &args.message));
    let stats = notifier.flush(Duration::from_secs(config.alerts.timeout_secs + 5));
    if stats.sent < stats.queued {
        let reason = notifier.last_failure().unwrap_or_else(|| "no answer in time".into());
        bail!("{} of {} channels failed; last: {reason}", stats.queued - stats.sent, stats.queued);
    }
    crate::emit(&format!("sent to {} channel(s)", stats.sent))
}
