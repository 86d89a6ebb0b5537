//! The operations config file (TOML): alert channels and health thresholds.
//!
//! ```toml
//! [alerts]
//! dedup_window_secs = 900     # same kind and key sent once per window
//! max_per_hour = 20           # non-critical alerts per hour; critical ones always go out
//! [[alerts.channels]]
//! kind = "telegram"
//! token = "env:TRADEBOT_TELEGRAM_TOKEN"
//! chat_id = "123456789"
//! [health]
//! interval_secs = 300
//! threshold_pct = 80
//! ```
//!
//! The live service can embed [`OpsConfig`] in its own file as an `[ops]` table, or read this
//! file: every service of one installation should use the same channels.

use std::path::Path;

use serde::Deserialize;

use crate::alert::AlertsConfig;
use crate::health::HealthConfig;

/// Default location, relative to the working directory.
pub const DEFAULT_PATH: &str = "config/ops.toml";

/// The whole operations config; every key has a default.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OpsConfig {
    /// Alert channels, dedup and rate limit.
    pub alerts: AlertsConfig,
    /// The periodic health check.
    pub health: HealthConfig,
}

/// The config file cannot be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum OpsConfigError {
    /// Unreadable file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Invalid TOML or an unknown key (the message names line and column).
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        source: toml::de::Error,
    },
}

impl OpsConfig {
    /// Reads `path`; a missing file is the default config (no alert channels).
    pub fn load(path: &Path) -> Result<OpsConfig, OpsConfigError> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|source| OpsConfigError::Parse { path: name, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(OpsConfig::default()),
            Err(source) => Err(OpsConfigError::Io { path: name, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::ChannelConfig;

    #[test]
    fn loads_the_documented_example_and_rejects_typos() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.toml");
        assert_eq!(OpsConfig::load(&path).unwrap(), OpsConfig::default());
        std::fs::write(
            &path,
            "[alerts]\nmax_per_hour = 5\n[[alerts.channels]]\nkind = \"slack\"\nurl = \"https://hooks.example/x\"\n\
             [health]\ninterval_secs = 60\n",
        )
        .unwrap();
        let cfg = OpsConfig::load(&path).unwrap();
        assert_eq!(cfg.alerts.max_per_hour, 5);
        assert_eq!(cfg.alerts.dedup_window_secs, 900);
        assert_eq!(cfg.alerts.channels, [ChannelConfig::Slack { url: "https://hooks.example/x".into() }]);
        assert_eq!(cfg.health.interval_secs, 60);
        assert_eq!(cfg.health.threshold_pct, 80.0);
        std::fs::write(&path, "[health]\nthreshold = 70\n").unwrap();
        let err = OpsConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("ops.toml") && err.contains("unknown field `threshold`"), "{err}");
    }
}
