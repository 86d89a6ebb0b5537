//! `tradebot dashboard`: the live P&L page (crate `dashboard`) on a loopback address, behind a
//! token.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dashboard::{Origin, Sources, Token};

use crate::service::OpsArgs;

/// `tradebot dashboard [--bind ADDR] [--live-dir DIR] [--token-file FILE]`.
#[derive(Args)]
pub struct DashboardArgs {
    /// Address to listen on. Loopback by default: reach it from elsewhere through an SSH tunnel.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// The live service's data directory (`[service] data_dir` of live.toml): `live.db`, `HALT`.
    /// (`--data` is the old spelling, kept for one release.)
    #[arg(long, alias = "data", env = "TRADEBOT_LIVE_DATA", default_value = "data/live")]
    live_dir: PathBuf,
    /// The access token (mode 600); a new random one is written there on first start.
    #[arg(long, env = "TRADEBOT_DASHBOARD_TOKEN", default_value = "data/dashboard.token")]
    token_file: PathBuf,
}

/// Runs the dashboard until SIGTERM or SIGINT. It logs to its own file (`dashboard.*.log`) but,
/// unlike other services, not to the operations database's `error_log`: it only ever reads the
/// databases.
pub fn run(args: DashboardArgs, ops: &OpsArgs) -> Result<()> {
    let _logging = ops::logging::init("dashboard", ops::logging::LogOptions::new(&ops.log_dir))
        .map_err(|e| eprintln!("warning: {e}; running without a log file"))
        .ok();
    let (token, origin) = Token::load_or_create(&args.token_file)?;
    if !args.bind.ip().is_loopback() {
        tracing::warn!(
            "the dashboard listens on {}, not a loopback address: the token is its only protection",
            args.bind
        );
    }
    let sources = Sources { live_dir: args.live_dir, ops_db: ops.ops_db.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("binding {}", args.bind))?;
        let addr = listener.local_addr()?;
        let mut out = String::new();
        if origin == Origin::Generated {
            // The token goes to a terminal only: under systemd stdout is the journal, which
            // more people read than the token file.
            let shown = if std::io::stdout().is_terminal() {
                token.expose().to_string()
            } else {
                format!("<the token in {}>", args.token_file.display())
            };
            out.push_str(&format!(
                "new dashboard token written to {} (mode 600); open http://{addr}/?token={shown}\n",
                args.token_file.display(),
            ));
        }
        out.push_str(&format!(
            "dashboard listening on http://{addr}/ (live data {}, ops database {}, token in {})\n",
            sources.live_dir.display(),
            sources.ops_db.display(),
            args.token_file.display()
        ));
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        drop(stdout);
        tracing::info!("dashboard listening on http://{addr}/");
        let shutdown = async {
            let name = crate::live::wait_for_signal().await;
            tracing::info!("{name}: dashboard stopping");
        };
        dashboard::serve(listener, sources, token, shutdown).await.context("dashboard server")
    })
}
