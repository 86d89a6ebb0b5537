//! `tradebot backtest`: one strategy, one parameter set, on a CSV file, an embedded sample or
//! a store; a stats table, or one JSON object for scripts, plus optional trade and equity CSVs.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use datasets::{AssetClass, Timeframe, Timestamp};
use experiments::DataSource;
use experiments::data::{self, DataSelection};
use kernel::metrics::Metrics;
use kernel::sim::{Commission, Costs, ExitRules, FillTiming, Slippage, Trade, TradeRules};
use kernel::strategy::{self, Backtest, MarketData, Params, RunResult};
use serde_json::json;

/// Arguments of `tradebot backtest`.
#[derive(Args)]
pub struct BacktestArgs {
    /// A CSV/JSON bar file (any shape `data import` accepts), a store directory, or
    /// `sample:GOOG` (an embedded sample: GOOG, EURUSD, BTCUSD).
    #[arg(long)]
    data: String,
    /// Symbol(s) to trade (repeatable or comma-separated); `all` for every symbol in a store
    /// at the timeframe. Optional for single-series files.
    #[arg(long, value_delimiter = ',')]
    symbol: Vec<String>,
    /// Asset class of the traded symbols (equity, etf, index, forex, crypto): sets how the
    /// statistics annualise. Default: a sample's or the store's class; for a file, forex or
    /// crypto when the bar times prove it (24-hour or weekend bars), else equity.
    #[arg(long)]
    class: Option<AssetClass>,
    /// Strategy name (see `tradebot strategies`).
    #[arg(long, required_unless_present = "strategy_file", conflicts_with = "strategy_file")]
    strategy: Option<String>,
    /// A strategy file (`.tbs`, see docs/strategy-language.md) instead of a built-in strategy;
    /// `--param` sets its declared params.
    #[arg(long, value_name = "FILE")]
    strategy_file: Option<PathBuf>,
    /// Parameter as `name=value` (repeatable); others keep their defaults.
    #[arg(long = "param", value_delimiter = ',')]
    params: Vec<String>,
    /// Bar timeframe to read from a store.
    #[arg(long, default_value = "1Day")]
    timeframe: String,
    /// Starting cash.
    #[arg(long, default_value_t = 10_000.0)]
    cash: f64,
    /// Commission as a fraction of traded value (0.002 = 0.2 %).
    #[arg(long, default_value_t = 0.0)]
    commission: f64,
    /// Commission in dollars per share.
    #[arg(long, default_value_t = 0.0)]
    commission_per_share: f64,
    /// Commission in dollars per order.
    #[arg(long, default_value_t = 0.0)]
    commission_per_order: f64,
    /// Slippage in basis points, always against the trade.
    #[arg(long, default_value_t = 0.0)]
    slippage_bps: f64,
    /// Stop-loss as a fraction below the entry price (0.05 = 5 %).
    #[arg(long)]
    stop_loss: Option<f64>,
    /// Take-profit as a fraction above the entry price.
    #[arg(long)]
    take_profit: Option<f64>,
    /// Trailing stop as a fraction below the highest high since entry.
    #[arg(long)]
    trailing_stop: Option<f64>,
    /// Exit after this many bars.
    #[arg(long)]
    max_bars: Option<usize>,
    /// Fill at the signal bar's close instead of the next open (look-ahead-prone; comparisons only).
    #[arg(long)]
    same_bar_close: bool,
    /// Leave a position open at the end instead of closing it at the last close.
    #[arg(long)]
    keep_open: bool,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Write the trade list to this CSV file.
    #[arg(long)]
    trades: Option<PathBuf>,
    /// Write the equity curve to this CSV file.
    #[arg(long)]
    equity: Option<PathBuf>,
}

/// Runs `tradebot backtest`.
pub fn run(args: BacktestArgs) -> Result<()> {
    let strategy: &'static dyn strategy::Strategy = match (&args.strategy, &args.strategy_file) {
        (_, Some(path)) => {
            let file = gp::FileStrategy::load(path)?;
            let stops = [args.stop_loss, args.take_profit, args.trailing_stop].iter().any(Option::is_some);
            if file.file().has_own_exits() && (stops || args.max_bars.is_some()) {
                bail!(
                    "{} writes its own stops (stop-loss, take-profit, time-stop): set them there, not with \
                     --stop-loss, --take-profit, --trailing-stop or --max-bars",
                    path.display()
                );
            }
            file
        }
        (Some(name), None) => strategy::by_name(name).with_context(|| {
            let names: Vec<&str> = strategy::registry().iter().map(|s| s.name()).collect();
            format!("unknown strategy `{name}` (known: {})", names.join(", "))
        })?,
        (None, None) => bail!("give --strategy NAME or --strategy-file FILE"),
    };
    let params = Params::parse(strategy.space(), args.params.iter().map(String::as_str))
        .with_context(|| format!("--param for {}", strategy.name()))?;
    let data = load(&args.data, &args.symbol, args.timeframe.parse()?, args.class)?;
    let rules = TradeRules {
        fill: if args.same_bar_close { FillTiming::SameBarClose } else { FillTiming::NextOpen },
        costs: Costs {
            commission: Commission {
                per_share: args.commission_per_share,
                per_order: args.commission_per_order,
                rate: args.commission,
            },
            slippage: if args.slippage_bps > 0.0 { Slippage::Bps(args.slippage_bps) } else { Slippage::None },
        },
        exits: ExitRules {
            stop_loss: args.stop_loss,
            take_profit: args.take_profit,
            trailing_stop: args.trailing_stop,
            max_bars: args.max_bars,
        },
        close_at_end: !args.keep_open,
        ..TradeRules::default()
    };
    let bt = strategy::backtest(strategy, &params, &data, rules, args.cash)?;
    let trades = trades_by_symbol(&bt, &data);
    if let Some(path) = &args.trades {
        write_trades(path, &trades)?;
    }
    if let Some(path) = &args.equity {
        write_equity(path, data.timestamps(), bt.result.equity())?;
    }
    let report = Report { strategy: strategy.name(), params: &params, data: &data, bt: &bt, cash: args.cash };
    if args.json { crate::emit(&report.json().to_string()) } else { crate::emit(&report.table()?) }
}

/// Loads market data from a sample, a file or a store through the runs' one loader
/// ([`experiments::data::load_selected`]); `class`, when given, is every symbol's. `--symbol all`
/// over a store leaves out, with a warning, the symbols whose history ends before the others
/// begin (the default store's GOOG 2004–2013 beside a 2016– universe).
pub(crate) fn load(
    source: &str,
    symbols: &[String],
    timeframe: Timeframe,
    class: Option<AssetClass>,
) -> Result<MarketData> {
    let path = Path::new(source);
    let source = if let Some(name) = source.strip_prefix("sample:") {
        DataSource::Sample(data::sample(name)?)
    } else if path.is_dir() {
        if symbols.is_empty() {
            bail!("--data {source} is a store: name the symbols with --symbol (or --symbol all)");
        }
        DataSource::Store { dir: path.to_path_buf(), symbols: symbols.to_vec(), timeframe }
    } else {
        DataSource::File(path.to_path_buf())
    };
    let selection = DataSelection { symbols, class, overlapping: true };
    let (data, overlap) = data::load_selected(&source, &selection)?;
    if let Some(overlap) = overlap {
        eprintln!("warning: --symbol all leaves out {overlap}");
    }
    Ok(data)
}

/// Closed trades with their symbol, by exit then entry bar.
fn trades_by_symbol<'a>(bt: &Backtest, data: &'a MarketData) -> Vec<(&'a str, Trade)> {
    let mut out: Vec<(&str, Trade)> = match &bt.result {
        RunResult::Single(r) => {
            let symbol = data.symbols()[bt.signals.legs[0].symbol].meta.symbol.as_str();
            r.activity.trades.iter().map(|t| (symbol, *t)).collect()
        }
        RunResult::Portfolio(r) => r
            .sleeves
            .iter()
            .flat_map(|s| &s.legs)
            .flat_map(|leg| {
                let symbol = data.find(&leg.symbol).map_or("", |i| data.symbols()[i].meta.symbol.as_str());
                leg.activity.trades.iter().map(move |t| (symbol, *t))
            })
            .collect(),
    };
    out.sort_by_key(|(_, t)| (t.exit_bar, t.entry_bar));
    out
}

fn write_trades(path: &Path, trades: &[(&str, Trade)]) -> Result<()> {
    let mut w = BufWriter::new(File::create(path).with_context(|| path.display().to_string())?);
    writeln!(
        w,
        "symbol,entry_time,exit_time,entry_price,exit_price,qty,fees,pnl,return,bars_held,exit_reason"
    )?;
    for (symbol, t) in trades {
        writeln!(
            w,
            "{symbol},{},{},{},{},{},{},{},{},{},{:?}",
            t.entry_time,
            t.exit_time,
            t.entry_price,
            t.exit_price,
            t.qty,
            t.fees,
            t.pnl,
            t.ret,
            t.bars_held(),
            t.exit_reason
        )?;
    }
    w.flush()?;
    Ok(())
}

fn write_equity(path: &Path, timestamps: &[i64], equity: &[f64]) -> Result<()> {
    let mut w = BufWriter::new(File::create(path).with_context(|| path.display().to_string())?);
    writeln!(w, "timestamp,equity")?;
    for (ts, e) in timestamps.iter().zip(equity) {
        writeln!(w, "{},{e}", Timestamp(*ts))?;
    }
    w.flush()?;
    Ok(())
}

/// Everything the report shows.
struct Report<'a> {
    strategy: &'static str,
    params: &'a Params,
    data: &'a MarketData,
    bt: &'a Backtest,
    cash: f64,
}

impl Report<'_> {
    fn final_equity(&self) -> f64 {
        self.bt.result.equity().last().copied().unwrap_or(self.cash)
    }

    fn refusals(&self) -> usize {
        match &self.bt.result {
            RunResult::Single(r) => r.activity.refusals.len(),
            RunResult::Portfolio(r) => {
                r.sleeves.iter().flat_map(|s| &s.legs).map(|l| l.activity.refusals.len()).sum()
            }
        }
    }

    fn json(&self) -> serde_json::Value {
        let m: &Metrics = &self.bt.metrics;
        let ts = self.data.timestamps();
        json!({
            "strategy": self.strategy,
            "params": self.params.to_string(),
            "param_hash": format!("{:016x}", self.params.hash()),
            "symbols": self.data.symbols().iter().map(|s| s.meta.symbol.as_str()).collect::<Vec<_>>(),
            "timeframe": self.data.timeframe().as_str(),
            "bars": ts.len(),
            "first": ts.first().map(|t| Timestamp(*t).to_string()),
            "last": ts.last().map(|t| Timestamp(*t).to_string()),
            "cash": self.cash,
            "trades": m.trades,
            "final_equity": self.final_equity(),
            "return_pct": 100.0 * m.total_return,
            "cagr_pct": 100.0 * m.cagr,
            "volatility_pct": 100.0 * m.volatility,
            "sharpe": m.sharpe,
            "sortino": m.sortino,
            "calmar": m.calmar,
            "max_drawdown_pct": 100.0 * m.max_drawdown,
            "max_drawdown_bars": m.max_drawdown_bars,
            "avg_drawdown_pct": 100.0 * m.avg_drawdown,
            "win_rate_pct": 100.0 * m.win_rate,
            "best_trade_pct": 100.0 * m.best_trade,
            "worst_trade_pct": 100.0 * m.worst_trade,
            "avg_trade_pct": 100.0 * m.avg_trade,
            "profit_factor": m.profit_factor,
            "expectancy_pct": 100.0 * m.expectancy,
            "exposure_pct": 100.0 * m.exposure,
            "avg_bars_held": m.avg_bars_held,
            "turnover": m.turnover,
            "sqn": m.sqn,
            "kelly": m.kelly,
            "buy_and_hold_pct": 100.0 * m.buy_and_hold_return,
            "refusals": self.refusals(),
        })
    }

    fn table(&self) -> Result<String> {
        let m = &self.bt.metrics;
        let ts = self.data.timestamps();
        let symbols: Vec<&str> = self.data.symbols().iter().map(|s| s.meta.symbol.as_str()).collect();
        let mut out = String::new();
        writeln!(
            out,
            "{} ({}) on {} {}",
            self.strategy,
            self.params,
            symbols.join(","),
            self.data.timeframe()
        )?;
        if let (Some(a), Some(b)) = (ts.first(), ts.last()) {
            writeln!(out, "{} bars, {} .. {}", ts.len(), Timestamp(*a), Timestamp(*b))?;
        }
        let rows: [(&str, String); 22] = [
            ("Start cash", format!("{:.2}", self.cash)),
            ("Final equity", format!("{:.2}", self.final_equity())),
            ("Return", pct(m.total_return)),
            ("Buy & hold return", pct(m.buy_and_hold_return)),
            ("CAGR", pct(m.cagr)),
            ("Volatility (ann.)", pct(m.volatility)),
            ("Sharpe", format!("{:.3}", m.sharpe)),
            ("Sortino", format!("{:.3}", m.sortino)),
            ("Calmar", format!("{:.3}", m.calmar)),
            ("Max drawdown", pct(m.max_drawdown)),
            ("Max drawdown duration", format!("{} bars", m.max_drawdown_bars)),
            ("Avg drawdown", pct(m.avg_drawdown)),
            ("Trades", m.trades.to_string()),
            ("Win rate", pct(m.win_rate)),
            ("Best / worst trade", format!("{} / {}", pct(m.best_trade), pct(m.worst_trade))),
            ("Avg trade (geometric)", pct(m.avg_trade)),
            ("Profit factor", format!("{:.3}", m.profit_factor)),
            ("Expectancy", pct(m.expectancy)),
            ("Exposure", pct(m.exposure)),
            ("Avg bars held", format!("{:.1}", m.avg_bars_held)),
            ("SQN / Kelly", format!("{:.3} / {:.3}", m.sqn, m.kelly)),
            ("Refused orders", self.refusals().to_string()),
        ];
        for (name, value) in rows {
            writeln!(out, "  {name:<24} {value:>16}")?;
        }
        Ok(out)
    }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}
