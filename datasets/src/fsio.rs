//! Crash-safe file replacement, shared by everything that keeps state in files (the store's
//! manifest, the promoted-strategy set, saved models): a reader sees the old file or the new
//! one, never a torn write, even after a power cut.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` atomically: write `path.tmp`, fsync it, rename it over `path`,
/// fsync the directory. On error the old file (if any) is untouched and the temp file is
/// removed (a failed write on a full disk must not keep the disk full); the error names the
/// file that failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let tmp = path.with_extension(match path.extension() {
        Some(ext) => format!("{}.tmp", ext.to_string_lossy()),
        None => "tmp".to_string(),
    });
    let written = (|| {
        let mut f = File::create(&tmp).map_err(FsError::at(&tmp))?;
        #[cfg(test)]
        faults::charge(&tmp, bytes.len()).map_err(FsError::at(&tmp))?;
        f.write_all(bytes).map_err(FsError::at(&tmp))?;
        f.sync_all().map_err(FsError::at(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(FsError::at(path))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(parent(path))
}

/// Moves the finished file `tmp` to `path`, failing with `AlreadyExists` if `path` exists:
/// never writes over a file (a hard link is the atomic no-replace rename; on file systems
/// without hard links, an existence check and a rename under the caller's lock).
pub fn publish_new(tmp: &Path, path: &Path) -> Result<(), FsError> {
    match fs::hard_link(tmp, path) {
        Ok(()) => fs::remove_file(tmp).map_err(FsError::at(tmp))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(FsError { path: path.into(), source: e });
        }
        Err(_) if path.exists() => {
            return Err(FsError { path: path.into(), source: io::ErrorKind::AlreadyExists.into() });
        }
        Err(_) => fs::rename(tmp, path).map_err(FsError::at(path))?,
    }
    sync_dir(parent(path))
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Flushes a directory's entries so a rename or create inside it survives a power cut.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(FsError::at(dir))
}

/// An I/O error with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FsError {
    /// The file or directory.
    pub path: PathBuf,
    /// The OS error.
    pub source: io::Error,
}

impl FsError {
    /// Wraps an `io::Error` with `path` (for `map_err`).
    pub fn at(path: &Path) -> impl FnOnce(io::Error) -> FsError + '_ {
        move |source| FsError { path: path.to_path_buf(), source }
    }
}

/// Test-only fault injection: after a byte budget, writes to files whose path contains a
/// given text fail with ENOSPC, so the full-disk paths are exercised without filling a disk.
#[cfg(test)]
pub(crate) mod faults {
    use std::cell::RefCell;
    use std::io;
    use std::path::Path;

    thread_local! {
        static FAULT: RefCell<Option<(String, usize)>> = const { RefCell::new(None) };
    }

    /// From now on, on this thread, files whose path contains `path_part` take `bytes` more
    /// bytes, then every write to them fails; `None` lifts the fault.
    pub fn set(fault: Option<(&str, usize)>) {
        FAULT.set(fault.map(|(p, b)| (p.to_string(), b)));
    }

    /// Spends `n` bytes of the budget for `path`, or fails with "No space left on device".
    pub fn charge(path: &Path, n: usize) -> io::Result<()> {
        FAULT.with_borrow_mut(|fault| match fault {
            Some((part, left)) if path.to_string_lossy().contains(part.as_str()) => {
                if n > *left {
                    return Err(io::Error::from_raw_os_error(28));
                }
                *left -= n;
                Ok(())
            }
            _ => Ok(()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file_and_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("MANIFEST.json");
        write_atomic(&path, b"old").unwrap();
        faults::set(Some(("MANIFEST", 2)));
        let err = write_atomic(&path, b"new content").unwrap_err();
        faults::set(None);
        assert_eq!(err.source.raw_os_error(), Some(28));
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["MANIFEST.json"]);
    }

    #[test]
    fn publish_new_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, path) = (dir.path().join("a.tmp"), dir.path().join("a"));
        fs::write(&path, b"live").unwrap();
        fs::write(&tmp, b"new").unwrap();
        let err = publish_new(&tmp, &path).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"live");
        fs::remove_file(&path).unwrap();
        publish_new(&tmp, &path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(!tmp.exists());
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("no/such/state.json"), b"x").unwrap_err();
        assert!(err.path.ends_with("no/such/state.json.tmp"), "{err}");
    }
}
