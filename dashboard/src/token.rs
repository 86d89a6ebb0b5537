//! The access token: read from a file only its owner can read, or generated into a new such
//! file on first start; compared in constant time. The browser's session cookie holds a value
//! derived from it ([`Token::session`]), never the token itself.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use subtle::ConstantTimeEq;

/// Random bytes in a generated token (64 hex characters).
const TOKEN_BYTES: usize = 32;
/// A token shorter than this is refused: guessable.
const MIN_LEN: usize = 16;

/// The token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading or creating the file failed.
    #[error("token file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Group or others may read it.
    #[error("token file {path} has mode {mode:o}: only its owner may read it (chmod 600)")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Empty, too short, or with characters that need escaping in a URL or a cookie.
    #[error("token file {path}: the token must be at least {MIN_LEN} characters of A-Z a-z 0-9 - _ . ~")]
    Invalid {
        /// The file.
        path: PathBuf,
    },
}

/// The secret a request must present. `Debug` never shows it.
#[derive(Clone)]
pub struct Token(String);

/// How the token was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Read from an existing file.
    Read,
    /// Generated now and written to a new file: print it once.
    Generated,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A token from its text (tests, or a caller with its own storage): at least 16 characters,
    /// URL- and cookie-safe, so it travels in `?token=` and the cookie unescaped.
    pub fn new(text: &str) -> Option<Token> {
        let ok =
            text.len() >= MIN_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
        ok.then(|| Token(text.to_string()))
    }

    /// Reads the token from `path`, refusing a file group or others can read; when the file
    /// does not exist, generates a random token and creates it with mode 600.
    pub fn load_or_create(path: &Path) -> Result<(Token, Origin), TokenError> {
        let io = |source| TokenError::Io { path: path.into(), source };
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(TokenError::Exposed { path: path.into(), mode });
                }
                let text = std::fs::read_to_string(path).map_err(io)?;
                let token = Token::new(text.trim()).ok_or(TokenError::Invalid { path: path.into() })?;
                Ok((token, Origin::Read))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; TOKEN_BYTES];
                rand::rng().fill_bytes(&mut bytes);
                let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(format!("{text}\n").as_bytes()).and_then(|()| file.sync_all()).map_err(io)?;
                Ok((Token(text), Origin::Generated))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// True when `candidate` is the token; the time taken does not depend on where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// The secret itself (to print the first-start URL).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The session cookie's value: HMAC-SHA-256 of a fixed label keyed by the token, in hex.
    /// It lets a browser in without the token being stored in it: the cookie does not give the
    /// token back, and is not accepted as one (`?token=`, `Authorization: Bearer`).
    pub fn session(&self) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.0.as_bytes());
        let tag = ring::hmac::sign(&key, b"tradebot dashboard session v1");
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// True when `candidate` is the session cookie's value ([`Token::session`]), compared in
    /// constant time.
    pub fn matches_session(&self, candidate: &str) -> bool {
        self.session().as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_read_and_an_exposed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dashboard.token");
        let (token, origin) = Token::load_or_create(&path).unwrap();
        assert_eq!(origin, Origin::Generated);
        assert_eq!(token.expose().len(), 2 * TOKEN_BYTES);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (again, origin) = Token::load_or_create(&path).unwrap();
        assert_eq!(origin, Origin::Read);
        assert!(again.matches(token.expose()));
        assert!(!again.matches(&token.expose()[1..]));
        assert!(!again.matches(""));
        assert_eq!(format!("{again:?}"), "Token(…)");
        // The session value is derived: fixed for the token, not the token, and no token itself.
        let session = again.session();
        assert_eq!((session.len(), session.clone()), (64, token.session()));
        assert!(!session.contains(again.expose()) && !again.matches(&session));
        assert!(again.matches_session(&session) && !again.matches_session(again.expose()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = Token::load_or_create(&path).unwrap_err();
        assert!(matches!(err, TokenError::Exposed { mode: 0o640, .. }), "{err}");
        std::fs::write(&path, "short\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(Token::load_or_create(&path), Err(TokenError::Invalid { .. })));
    }
}
