//! The HTTP server (axum): the page, its refresh fragment and the JSON endpoints, all behind
//! the token.
//!
//! A request is let in with `Authorization: Bearer TOKEN`, with the `tradebot_dashboard`
//! cookie, or with `?token=TOKEN`, which sets that cookie (HttpOnly, SameSite=Strict) — and on
//! the page itself redirects to `/` so the token leaves the address bar. The cookie holds a value
//! derived from the token ([`Token::session`]), not the token. Anything else gets 401.
//! Every response forbids caching and framing, and its content security policy allows no
//! resource from anywhere but this server.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::model::{EquityRange, Snapshot};
use crate::page;
use crate::read::Sources;
use crate::token::Token;

/// The session cookie's name.
pub const COOKIE: &str = "tradebot_dashboard";

const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Clone)]
struct App {
    sources: Arc<Sources>,
    token: Arc<Token>,
}

/// The router: `/`, `/fragment` and `/api/{snapshot,summary,equity,positions,orders,signals,
/// strategies,errors}`, behind the token. Each takes `?range=session|all`: the intraday equity
/// of the newest session (the default) or every snapshot kept.
pub fn router(sources: Sources, token: Token) -> Router {
    let app = App { sources: Arc::new(sources), token: Arc::new(token) };
    Router::new()
        .route("/", get(index))
        .route("/fragment", get(fragment))
        .route("/api/snapshot", get(api_snapshot))
        .route("/api/summary", get(api_part))
        .route("/api/equity", get(api_part))
        .route("/api/positions", get(api_part))
        .route("/api/orders", get(api_part))
        .route("/api/signals", get(api_part))
        .route("/api/strategies", get(api_part))
        .route("/api/errors", get(api_part))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    sources: Sources,
    token: Token,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(sources, token)).with_graceful_shutdown(shutdown).await
}

/// Where a request presented a credential.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `Authorization: Bearer TOKEN`.
    Header,
    /// The session cookie (its derived value, [`Token::session`]).
    Cookie,
    /// `?token=TOKEN`.
    Query,
}

/// The credentials presented by a request.
fn presented(headers: &HeaderMap, query: Option<&str>) -> Vec<(String, Via)> {
    let mut found = Vec::new();
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        found.push((t.trim().to_string(), Via::Header));
    }
    for v in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in v.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=')
                && name == COOKIE
            {
                found.push((value.to_string(), Via::Cookie));
            }
        }
    }
    for pair in query.unwrap_or_default().split('&') {
        if let Some(t) = pair.strip_prefix("token=") {
            found.push((t.to_string(), Via::Query));
        }
    }
    found
}

async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let offered = presented(request.headers(), request.uri().query());
    let valid = |(value, via): &&(String, Via)| match via {
        Via::Cookie => app.token.matches_session(value),
        Via::Header | Via::Query => app.token.matches(value),
    };
    let Some(&(_, via)) = offered.iter().find(valid) else {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            "401 unauthorized: open /?token=TOKEN (the token is in the dashboard's token file) \
             or send Authorization: Bearer TOKEN\n",
        )
            .into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return secure(r);
    };
    let from_query = via == Via::Query;
    let is_page = request.uri().path() == "/";
    let mut response =
        if from_query && is_page { Redirect::to("/").into_response() } else { next.run(request).await };
    if from_query {
        let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", app.token.session());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    secure(response)
}

fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// The `range` of a query string (default `session`), or why it is none.
fn range(query: Option<&str>) -> Result<EquityRange, String> {
    let given = query.unwrap_or_default().split('&').find_map(|pair| pair.strip_prefix("range="));
    match given {
        None => Ok(EquityRange::Session),
        Some(v) => EquityRange::parse(v)
            .ok_or_else(|| format!("400 bad request: range={v}: expected range=session or range=all\n")),
    }
}

/// Reads a snapshot, with the intraday range `uri` asks for, off the async threads; a read
/// failure is logged and answered with 500.
async fn read(app: &App, uri: &Uri) -> Result<Snapshot, Response> {
    let range = range(uri.query()).map_err(|e| (StatusCode::BAD_REQUEST, e).into_response())?;
    let sources = app.sources.clone();
    let now = ops::now_ns();
    let outcome = tokio::task::spawn_blocking(move || sources.snapshot(now, range)).await;
    match outcome {
        Ok(Ok(snap)) => Ok(snap),
        Ok(Err(e)) => {
            tracing::error!(component = "dashboard", "reading the databases: {e}");
            Err((StatusCode::INTERNAL_SERVER_ERROR, format!("reading the databases: {e}\n")).into_response())
        }
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, format!("reader failed: {e}\n")).into_response()),
    }
}

async fn index(State(app): State<App>, uri: Uri) -> Response {
    match read(&app, &uri).await {
        Ok(snap) => Html(page::page(&snap)).into_response(),
        Err(r) => r,
    }
}

async fn fragment(State(app): State<App>, uri: Uri) -> Response {
    match read(&app, &uri).await {
        Ok(snap) => Html(page::fragment(&snap)).into_response(),
        Err(r) => r,
    }
}

async fn api_snapshot(State(app): State<App>, uri: Uri) -> Response {
    match read(&app, &uri).await {
        Ok(snap) => Json(snap).into_response(),
        Err(r) => r,
    }
}

/// `/api/NAME`: the snapshot's field NAME.
async fn api_part(State(app): State<App>, request: Request) -> Response {
    let name = request.uri().path().trim_start_matches("/api/").to_string();
    match read(&app, request.uri()).await {
        Ok(snap) => {
            let mut all = serde_json::to_value(&snap).unwrap_or(Value::Null);
            let part = all.get_mut(&name).map(Value::take).unwrap_or_else(|| json!(null));
            Json(part).into_response()
        }
        Err(r) => r,
    }
}
