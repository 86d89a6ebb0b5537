//! Resuming `evolve` and `discover` runs from any directory: a new run stores its experiment
//! file's absolute path with the file's text, so `--resume ID` resolves the file's relative paths
//! as the file did; resuming refuses when the file changed since, naming what changed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml::Value;

/// First line of a run's stored config: this prefix, then the experiment file's absolute path.
const HEADER: &str = "# tradebot: experiment file ";

/// The config text a new run stores: a comment line naming `path` (made absolute), then the
/// file's `text` verbatim. Being a TOML comment, it parses as the file does.
pub fn stored_text(path: &Path, text: &str) -> Result<String> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("{}: resolving its path", path.display()))?;
    Ok(format!("{HEADER}{}\n{text}", absolute.display()))
}

/// What a resumed run parses: the experiment's text and the directory its paths resolve against.
pub struct Resumed {
    /// The experiment file's text as the run stored it (without the header line).
    pub body: String,
    /// The experiment file's directory (the working directory for runs stored without one).
    pub base: PathBuf,
    /// What names the config in errors: the file, or the run's stored copy.
    pub name: String,
}

/// Reads run `id`'s `stored` config for `tradebot COMMAND --resume`. The experiment file is
/// `given` or, when not given, the one the run recorded; when it can be read, its text must
/// still mean what the run stored (comments and layout may differ), else this refuses and names
/// every changed key.
pub fn resume(command: &str, id: i64, stored: &str, given: Option<&Path>) -> Result<Resumed> {
    let (recorded, body) = match stored.strip_prefix(HEADER).and_then(|rest| rest.split_once('\n')) {
        Some((path, body)) => (Some(PathBuf::from(path)), body),
        None => (None, stored),
    };
    let file = match given {
        Some(path) => Some(std::path::absolute(path).with_context(|| path.display().to_string())?),
        None => recorded,
    };
    if let Some(file) = &file {
        match std::fs::read_to_string(file) {
            Ok(now) => unchanged(command, id, file, body, &now)?,
            Err(e) if given.is_some() => return Err(e).with_context(|| file.display().to_string()),
            // The recorded file was moved or removed: its stored copy still resolves as it did.
            Err(_) => {}
        }
    }
    let base = file.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let name = file.map_or_else(|| format!("run {id}'s stored config"), |f| f.display().to_string());
    Ok(Resumed { body: body.to_string(), base, name })
}

/// Refuses when `now`, the experiment file's text, means something else than `stored`.
fn unchanged(command: &str, id: i64, file: &Path, stored: &str, now: &str) -> Result<()> {
    if now == stored {
        return Ok(());
    }
    let changes = match (toml::from_str::<toml::Table>(stored), toml::from_str::<toml::Table>(now)) {
        (Ok(before), Ok(after)) => {
            let mut changes = Vec::new();
            diff("", &Value::Table(before), &Value::Table(after), &mut changes);
            changes
        }
        _ => vec!["it no longer parses".to_string()],
    };
    if changes.is_empty() {
        return Ok(());
    }
    bail!(
        "{} changed since run {id} started: {}. A resumed run continues the experiment as it was: \
         undo the change to resume, or start a new run with `tradebot {command} {}`",
        file.display(),
        changes.join(", "),
        file.display()
    )
}

/// Appends to `out` every key whose value differs between `before` and `after`, dotted from
/// `at`, with both values.
fn diff(at: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    let key = |k: &str| if at.is_empty() { k.to_string() } else { format!("{at}.{k}") };
    match (before, after) {
        (Value::Table(b), Value::Table(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for k in keys {
                match (b.get(k), a.get(k)) {
                    (Some(x), Some(y)) => diff(&key(k), x, y, out),
                    (Some(x), None) => out.push(format!("{} removed (was {x})", key(k))),
                    (None, Some(y)) => out.push(format!("{} added ({y})", key(k))),
                    (None, None) => {}
                }
            }
        }
        _ if before == after => {}
        _ => out.push(format!("{at} {before} → {after}")),
    }
}

/// The command that continues run `id` as printed after a stop: with `--db` (absolute) unless
/// the database is the default one, so it works from any directory.
pub fn hint(command: &str, id: i64, db: &Path) -> String {
    if db == Path::new(evolve::db::DEFAULT_PATH) {
        return format!("tradebot {command} --resume {id}");
    }
    let db = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
    format!("tradebot {command} --resume {id} --db {}", db.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_named_by_dotted_key_with_both_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.toml");
        let before = "[account]\ncommission_rate = 0.0005\n[evolve]\nseed = 7\n";
        std::fs::write(&file, before).unwrap();
        let stored = stored_text(&file, before).unwrap();
        let resumed = resume("evolve", 3, &stored, None).unwrap();
        assert_eq!((resumed.body.as_str(), resumed.base.as_path()), (before, dir.path()));
        // Comments and layout are not a change.
        std::fs::write(&file, format!("# tuned\n{before}\n")).unwrap();
        assert!(resume("evolve", 3, &stored, None).is_ok());
        std::fs::write(&file, "[account]\ncommission_rate = 0.001\n[evolve]\npopulation = 8\n").unwrap();
        let err = resume("evolve", 3, &stored, None).err().unwrap().to_string();
        assert!(
            err.contains("changed since run 3 started: account.commission_rate 0.0005 → 0.001, evolve.population added (8), evolve.seed removed (was 7)"),
            "{err}"
        );
        // A moved file: the stored copy still resolves against the recorded directory.
        std::fs::remove_file(&file).unwrap();
        assert_eq!(resume("evolve", 3, &stored, None).unwrap().base, dir.path());
        // A run stored before paths were recorded resolves against the working directory.
        assert_eq!(resume("evolve", 3, before, None).unwrap().base, PathBuf::new());
    }
}
