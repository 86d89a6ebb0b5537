//! The live P&L dashboard: a small web server (axum) over the live service's database
//! (`live.db`), its kill-switch file and the operations database (`ops.db`), all read-only.
//!
//! - [`read`]: read-only snapshots of the databases (WAL readers: the live service is never
//!   blocked); [`model`]: what is shown, as the JSON endpoints serve it;
//! - [`page`] and [`svg`]: the server-rendered page and its inline SVG equity curve — no
//!   external resource, the Pi may be offline;
//! - [`token`]: the access token; [`server`]: the routes behind it;
//! - `fixture` (cargo feature `fixture`): test data with known figures.
//!
//! Where it sits: on top of the live side — datasets, ops and live-bridge (whose `live.db` it
//! shows); the `tradebot dashboard` command serves it.
//!
//! # Example
//!
//! The access token the routes check: long and URL-safe, or refused:
//!
//! ```
//! use dashboard::Token;
//!
//! assert!(Token::new("short").is_none());
//! assert!(Token::new("not url safe / 0123456789").is_none());
//! let token = Token::new("0123456789abcdef-XYZ").expect("a valid token");
//! assert!(token.matches("0123456789abcdef-XYZ") && !token.matches("0123456789abcdef"));
//! ```

#[cfg(feature = "fixture")]
pub mod fixture;
pub mod model;
pub mod page;
pub mod read;
pub mod server;
pub mod svg;
pub mod token;

pub use read::Sources;
pub use server::{router, serve};
pub use token::{Origin, Token, TokenError};
