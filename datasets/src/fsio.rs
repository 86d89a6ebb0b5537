//! Crash-safe file replacement, shared by everything that keeps state in files (the store's
//! manifest, the promoted-strategy set, saved models): a reader sees the old file or the new
//! one, never a torn write, even after a power cut.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` atomically: write `path.tmp`, fsync it, rename it over `path`,
/// fsync the directory. On error the old file (if any) is untouched; the error names the file
/// that failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let tmp = path.with_extension(match path.extension() {
        Some(ext) => format!("{}.tmp", ext.to_string_lossy()),
        None => "tmp".to_string(),
    });
    let mut f = File::create(&tmp).map_err(FsError::at(&tmp))?;
    f.write_all(bytes).map_err(FsError::at(&tmp))?;
    f.sync_all().map_err(FsError::at(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(FsError::at(path))?;
    sync_dir(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
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
    fn a_missing_directory_is_an_error_naming_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("no/such/state.json"), b"x").unwrap_err();
        assert!(err.path.ends_with("no/such/state.json.tmp"), "{err}");
    }
}
