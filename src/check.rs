//! `tradebot check FILE`: type-checks a strategy file and prints its params and its rule,
//! simplified, at the defaults (or at `--param` values).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use gp::FileStrategy;
use kernel::strategy::{Params, Strategy};

/// Arguments of `tradebot check`.
#[derive(Args)]
pub struct CheckArgs {
    /// The strategy file (`.tbs`), see docs/strategy-language.md.
    file: PathBuf,
    /// Parameter as `name=value` (repeatable) to show the rule at; others keep their defaults.
    #[arg(long = "param", value_delimiter = ',')]
    params: Vec<String>,
}

/// Runs `tradebot check`: an error (file, line, column, what was expected) exits 1.
pub fn run(args: CheckArgs) -> Result<()> {
    let strategy = FileStrategy::load(&args.file)?;
    let params = Params::parse(strategy.space(), args.params.iter().map(String::as_str))
        .with_context(|| format!("--param for {}", args.file.display()))?;
    let file = strategy.file();
    let genome = file.bind(&params)?;
    let mut out = String::new();
    let count = file.params().len();
    writeln!(out, "{}: ok, {count} param{}, hash {:016x}", args.file.display(), plural(count), file.hash())?;
    crate::write_specs(&mut out, file.params())?;
    writeln!(out, "{} nodes, depth {}; simplified at {}:", genome.size(), genome.depth(), shown(&params))?;
    writeln!(out, "{:#}", gp::simplify(&genome))?;
    crate::emit(&out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `name=value …`, or "the defaults" for a file without params.
fn shown(params: &Params) -> String {
    if params.values().is_empty() { "the defaults".to_string() } else { params.to_string() }
}
