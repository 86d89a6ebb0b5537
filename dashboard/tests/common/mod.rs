//! A dashboard over the fixture's databases on an ephemeral loopback port, and a client.

use std::net::SocketAddr;

use dashboard::fixture::TOKEN;
use dashboard::{Sources, Token};

/// A dashboard over `sources` on 127.0.0.1 at an ephemeral port, on the test's runtime.
pub async fn start(sources: Sources) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = Token::new(TOKEN).unwrap();
    tokio::spawn(dashboard::serve(listener, sources, token, std::future::pending()));
    addr
}

/// A client that does not follow redirects and keeps no cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}
