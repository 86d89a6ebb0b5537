//! Disk use: bytes under a path and free space on its filesystem, for `tradebot status`.

use std::fs;
use std::path::Path;

/// Total size of the regular files under `path` (the file itself when it is one); 0 when it
/// does not exist. Symbolic links are not followed.
pub fn size_of(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return if meta.is_file() { meta.len() } else { 0 };
    }
    fs::read_dir(path)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| size_of(&e.path())).sum())
        .unwrap_or(0)
}

/// A database's bytes on disk: the file plus its `-wal` and `-shm` companions.
pub fn database_size(db: &Path) -> u64 {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        size_of(Path::new(&name))
    };
    size_of(db) + with("-wal") + with("-shm")
}

/// Free space for unprivileged writers and total size of the filesystem holding `path`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsSpace {
    /// Bytes available.
    pub available: u64,
    /// Bytes in the filesystem.
    pub total: u64,
}

/// The space of the filesystem holding `path`, if it can be asked.
pub fn space(path: &Path) -> Option<FsSpace> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(FsSpace { available: s.f_bavail * s.f_frsize, total: s.f_blocks * s.f_frsize })
}

/// `bytes` for people: `812 B`, `3.4 KiB`, `1.20 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ if value < 10.0 => format!("{value:.2} {}", UNITS[unit]),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_space() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("a.db"), vec![0; 1000]).unwrap();
        fs::write(dir.path().join("a.db-wal"), vec![0; 24]).unwrap();
        fs::write(dir.path().join("sub/b"), vec![0; 300]).unwrap();
        assert_eq!(size_of(dir.path()), 1324);
        assert_eq!(size_of(&dir.path().join("missing")), 0);
        assert_eq!(database_size(&dir.path().join("a.db")), 1024);
        let s = space(dir.path()).unwrap();
        assert!(s.total > 0 && s.available <= s.total);
        assert_eq!(human(812), "812 B");
        assert_eq!(human(3 * 1024 + 400), "3.39 KiB");
        assert_eq!(human(1_288_490_189), "1.20 GiB");
        assert_eq!(human(50 << 20), "50.0 MiB");
    }
}
