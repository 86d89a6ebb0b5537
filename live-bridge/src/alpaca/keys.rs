//! API keys: from the environment or from a file only its owner can read; never printed.

use std::fmt;
use std::path::{Path, PathBuf};

/// Environment variable holding the key id (Alpaca's own name for it).
pub const KEY_ID_VAR: &str = "APCA_API_KEY_ID";
/// Environment variable holding the secret key.
pub const SECRET_VAR: &str = "APCA_API_SECRET_KEY";

/// An Alpaca key pair. `Debug` and `Display` show only the first characters of the key id.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    key_id: String,
    secret: String,
}

/// Keys that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither the environment nor a key file gave keys.
    #[error("no Alpaca keys: set {KEY_ID_VAR} and {SECRET_VAR}, or `key_file` in the config")]
    Missing,
    /// The key file is readable by its group or others.
    #[error("{path}: key file mode {mode:o} lets others read it; run `chmod 600 {path}`")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file is not `key_id = "…"` / `secret_key = "…"` TOML.
    #[error("{path}: expected `key_id = \"…\"` and `secret_key = \"…\"`: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the keys).
        message: String,
    },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    key_id: String,
    secret_key: String,
}

impl Credentials {
    /// A key pair.
    pub fn new(key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Credentials { key_id: key_id.into(), secret: secret.into() }
    }

    /// The key file when given, else the environment variables.
    pub fn load(key_file: Option<&Path>) -> Result<Self, KeyError> {
        match key_file {
            Some(path) => Self::from_file(path),
            None => Self::from_env(),
        }
    }

    /// `APCA_API_KEY_ID` and `APCA_API_SECRET_KEY`.
    pub fn from_env() -> Result<Self, KeyError> {
        match (std::env::var(KEY_ID_VAR), std::env::var(SECRET_VAR)) {
            (Ok(k), Ok(s)) if !k.is_empty() && !s.is_empty() => Ok(Credentials::new(k, s)),
            _ => Err(KeyError::Missing),
        }
    }

    /// A TOML file with `key_id` and `secret_key`, refused unless only its owner can read it.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.to_path_buf(), source };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions { path: path.to_path_buf(), mode });
            }
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let file: KeyFile = toml::from_str(&text).map_err(|e| KeyError::Format {
            path: path.to_path_buf(),
            // The parser's message quotes the offending text, which could be a key: keep only its kind.
            message: e.message().lines().next().unwrap_or("invalid TOML").to_string(),
        })?;
        Ok(Credentials::new(file.key_id, file.secret_key))
    }

    /// The key id, for the `APCA-API-KEY-ID` header.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The secret, for the `APCA-API-SECRET-KEY` header.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ key_id: {}…, secret: <redacted> }}",
            self.key_id.chars().take(4).collect::<String>()
        )
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credentials::new("PKTESTKEY123", "supersecretvalue");
        let shown = format!("{c:?} {c}");
        assert!(!shown.contains("supersecretvalue") && !shown.contains("PKTESTKEY123"), "{shown}");
        assert!(shown.contains("PKTE"));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_must_be_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        std::fs::write(&path, "key_id = \"PK1\"\nsecret_key = \"s3cr3t\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Credentials::from_file(&path).unwrap_err();
        assert!(matches!(err, KeyError::Permissions { mode: 0o644, .. }), "{err}");
        assert!(!err.to_string().contains("s3cr3t"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = Credentials::from_file(&path).unwrap();
        assert_eq!((c.key_id(), c.secret()), ("PK1", "s3cr3t"));
        std::fs::write(&path, "key_id = \"PK1\"\nsecret = \"oops-secret\"\n").unwrap();
        let err = Credentials::from_file(&path).unwrap_err().to_string();
        assert!(!err.contains("oops-secret"), "{err}");
    }
}
