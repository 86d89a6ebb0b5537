//! The promoted directory: every version of the promoted set, and a pointer to the current one.
//!
//! ```text
//! data/promoted/
//!   CURRENT          the version in force, e.g. `3`
//!   LOCK             held while a version is committed (advisory file lock)
//!   v000001.json     immutable once written
//!   v000002.json
//!   v000003.json
//! ```
//!
//! A commit writes the next version's file, then replaces `CURRENT`, each atomically (temp
//! file, fsync, rename, directory fsync); a crash between the two leaves the old version in
//! force and the next commit takes a number above every file present, so nothing is
//! overwritten.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use datasets::fsio::write_atomic;
use serde::{Deserialize, Serialize};

use crate::{FORMAT, PromotedError, PromotedStrategy, Runnable};

/// Tolerance on the sum of allocations, for shares like 1/3 + 1/3 + 1/3.
const ALLOCATION_SLACK: f64 = 1e-9;

/// One version of the promoted set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotedSet {
    /// Layout version of the file ([`FORMAT`]).
    pub format: u32,
    /// Version number, from 1, one more than the highest before it.
    pub version: u64,
    /// When it was committed (UTC ns).
    pub created_ns: i64,
    /// Why it was committed, e.g. `promote candidate 7`.
    pub note: String,
    /// The strategies, in promotion order.
    pub strategies: Vec<PromotedStrategy>,
}

impl PromotedSet {
    /// The strategy with `id`.
    pub fn get(&self, id: &str) -> Option<&PromotedStrategy> {
        self.strategies.iter().find(|s| s.id == id)
    }

    /// Checks every strategy ([`PromotedStrategy::check`]), that ids are unique and that the
    /// allocations add up to at most the whole account; returns each strategy resolved, in order.
    pub fn check(&self) -> Result<Vec<Runnable>, PromotedError> {
        let mut seen = HashSet::new();
        let mut resolved = Vec::with_capacity(self.strategies.len());
        for s in &self.strategies {
            resolved.push(s.check()?);
            if !seen.insert(s.id.as_str()) {
                return Err(PromotedError::Invalid { id: s.id.clone(), why: "the id appears twice".into() });
            }
        }
        let total: f64 = self.strategies.iter().map(|s| s.allocation).sum();
        if total > 1.0 + ALLOCATION_SLACK {
            let last = self.strategies.last().map_or(String::new(), |s| s.id.clone());
            return Err(PromotedError::Invalid {
                id: last,
                why: format!("the allocations add up to {total}, more than the whole account"),
            });
        }
        Ok(resolved)
    }
}

/// A promoted directory (see the module docs). Creating the value touches nothing on disk.
#[derive(Clone, Debug)]
pub struct PromotedDir {
    root: PathBuf,
}

impl PromotedDir {
    /// The promoted directory at `root` (created on the first commit).
    pub fn new(root: impl Into<PathBuf>) -> PromotedDir {
        PromotedDir { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The version in force, or `None` when nothing was ever promoted.
    pub fn current(&self) -> Result<Option<PromotedSet>, PromotedError> {
        let pointer = self.root.join("CURRENT");
        let text = match fs::read_to_string(&pointer) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PromotedError::io(&pointer)(e)),
        };
        let version = text.trim().parse().map_err(|_| PromotedError::Parse {
            path: pointer.clone(),
            line: 1,
            column: 1,
            message: format!("`{}` is not a version number", text.trim()),
        })?;
        self.load(version).map(Some)
    }

    /// Version `version`, read and checked.
    pub fn load(&self, version: u64) -> Result<PromotedSet, PromotedError> {
        let path = self.file(version);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PromotedError::NoSuchVersion { dir: self.root.clone(), version });
            }
            Err(e) => return Err(PromotedError::io(&path)(e)),
        };
        let set = parse(&path, &bytes)?;
        if set.version != version {
            return Err(PromotedError::Parse {
                path,
                line: 1,
                column: 1,
                message: format!("the file holds version {}, not {version}", set.version),
            });
        }
        set.check()?;
        Ok(set)
    }

    /// Every version on disk, oldest first.
    pub fn versions(&self) -> Result<Vec<u64>, PromotedError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(PromotedError::io(&self.root)(e)),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let name = entry.map_err(PromotedError::io(&self.root))?.file_name();
            let parsed =
                name.to_str().and_then(|n| n.strip_prefix('v')?.strip_suffix(".json")?.parse::<u64>().ok());
            versions.extend(parsed);
        }
        versions.sort_unstable();
        Ok(versions)
    }

    /// Commits `strategies` as the next version and makes it current. The set is checked first;
    /// a set that fails the check is not written, and neither is one whose strategies equal the
    /// current set's (no identical versions): the current set is returned unchanged then.
    pub fn commit(
        &self,
        strategies: Vec<PromotedStrategy>,
        note: &str,
        now_ns: i64,
    ) -> Result<PromotedSet, PromotedError> {
        fs::create_dir_all(&self.root).map_err(PromotedError::io(&self.root))?;
        let _lock = self.lock()?;
        if let Some(current) = self.current()?.filter(|c| c.strategies == strategies) {
            return Ok(current);
        }
        let version = self.versions()?.last().map_or(1, |v| v + 1);
        let set =
            PromotedSet { format: FORMAT, version, created_ns: now_ns, note: note.to_string(), strategies };
        set.check()?;
        let bytes = serde_json::to_vec_pretty(&set).expect("a promoted set serialises");
        let fs_error = |e: datasets::fsio::FsError| PromotedError::Io { path: e.path, source: e.source };
        write_atomic(&self.file(version), &bytes).map_err(fs_error)?;
        write_atomic(&self.root.join("CURRENT"), format!("{version}\n").as_bytes()).map_err(fs_error)?;
        Ok(set)
    }

    /// Adds `strategy` to the current set (replacing one with the same id) as a new version.
    pub fn promote(&self, strategy: PromotedStrategy, now_ns: i64) -> Result<PromotedSet, PromotedError> {
        let note = format!("promote {} ({})", strategy.id, strategy.source);
        let mut strategies = self.current()?.map(|s| s.strategies).unwrap_or_default();
        match strategies.iter_mut().find(|s| s.id == strategy.id) {
            Some(slot) => *slot = strategy,
            None => strategies.push(strategy),
        }
        self.commit(strategies, &note, now_ns)
    }

    /// Removes strategy `id` from the current set as a new version.
    pub fn demote(&self, id: &str, now_ns: i64) -> Result<PromotedSet, PromotedError> {
        let mut strategies = self.current()?.map(|s| s.strategies).unwrap_or_default();
        let before = strategies.len();
        strategies.retain(|s| s.id != id);
        if strategies.len() == before {
            return Err(PromotedError::NoSuchStrategy(id.to_string()));
        }
        self.commit(strategies, &format!("demote {id}"), now_ns)
    }

    /// Makes an earlier version's strategies current again, as a new version (history is never
    /// rewritten).
    pub fn rollback(&self, version: u64, now_ns: i64) -> Result<PromotedSet, PromotedError> {
        let old = self.load(version)?;
        self.commit(old.strategies, &format!("rollback to version {version}"), now_ns)
    }

    fn file(&self, version: u64) -> PathBuf {
        self.root.join(format!("v{version:06}.json"))
    }

    /// Holds the directory's lock until the returned file is dropped.
    fn lock(&self) -> Result<File, PromotedError> {
        let path = self.root.join("LOCK");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(PromotedError::io(&path))?;
        file.lock().map_err(PromotedError::io(&path))?;
        Ok(file)
    }
}

/// Parses a version file, refusing other layout versions; errors carry the line and column.
fn parse(path: &Path, bytes: &[u8]) -> Result<PromotedSet, PromotedError> {
    #[derive(Deserialize)]
    struct Header {
        format: u32,
    }
    let error = |e: serde_json::Error| PromotedError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string().rsplit_once(" at line ").map_or(e.to_string(), |(m, _)| m.to_string()),
    };
    let header: Header = serde_json::from_slice(bytes).map_err(error)?;
    if header.format != FORMAT {
        return Err(PromotedError::Format {
            path: path.to_path_buf(),
            found: header.format,
            expected: FORMAT,
        });
    }
    serde_json::from_slice(bytes).map_err(error)
}
