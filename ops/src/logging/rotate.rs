//! Retention of the daily log files: every day before today is gzip-compressed, and files
//! older than the kept number of days are deleted.
//!
//! tracing-appender rolls the file at UTC midnight (`SERVICE.YYYY-MM-DD.log`) but neither
//! compresses nor knows about `.gz` files, so this small pass does both; it runs when logging
//! starts and then every hour from the logging guard's maintenance thread.

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{Days, NaiveDate};
use flate2::Compression;
use flate2::write::GzEncoder;

use datasets::fsio::{FsError, sync_dir};

/// A rolled file is compressed only once it has not been written for this long, so a line
/// stamped just before midnight is never lost to a race with the appender.
const QUIET: Duration = Duration::from_secs(60);

/// What one retention pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Files compressed (their `.gz` paths).
    pub compressed: Vec<PathBuf>,
    /// Files deleted for being too old.
    pub deleted: Vec<PathBuf>,
}

/// One of a service's log files: its day and whether it is compressed.
struct LogFile {
    path: PathBuf,
    day: NaiveDate,
    gz: bool,
}

/// The day of `SERVICE.YYYY-MM-DD.log[.gz]`, or `None` for any other file.
fn parse(service: &str, path: &Path) -> Option<LogFile> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix(service)?.strip_prefix('.')?;
    let (day, gz) = match rest.strip_suffix(".log.gz") {
        Some(day) => (day, true),
        None => (rest.strip_suffix(".log")?, false),
    };
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(LogFile { path: path.to_path_buf(), day, gz })
}

/// The service's log files in `dir`, oldest first.
fn files(dir: &Path, service: &str) -> Result<Vec<LogFile>, FsError> {
    let mut out: Vec<LogFile> = fs::read_dir(dir)
        .map_err(FsError::at(dir))?
        .filter_map(|e| e.ok().and_then(|e| parse(service, &e.path())))
        .collect();
    out.sort_by_key(|f| f.day);
    Ok(out)
}

/// Compresses `service`'s files of days before `today` and deletes those of days before
/// `today - (keep_days - 1)`, so `keep_days` days (today's included) remain.
pub fn apply(dir: &Path, service: &str, keep_days: u32, today: NaiveDate) -> Result<Retention, FsError> {
    let oldest_kept = today.checked_sub_days(Days::new(u64::from(keep_days.max(1) - 1))).unwrap_or(today);
    let mut done = Retention::default();
    for f in files(dir, service)? {
        if f.day < oldest_kept {
            fs::remove_file(&f.path).map_err(FsError::at(&f.path))?;
            done.deleted.push(f.path);
        } else if f.day < today && !f.gz && quiet(&f.path) {
            done.compressed.push(gzip(&f.path)?);
        }
    }
    if !done.deleted.is_empty() || !done.compressed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(done)
}

fn quiet(path: &Path) -> bool {
    let modified = fs::metadata(path).and_then(|m| m.modified());
    modified.is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() >= QUIET)
}

/// Writes `path.gz` (through a temp file, fsynced) and removes `path`.
fn gzip(path: &Path) -> Result<PathBuf, FsError> {
    let mut gz_name = path.as_os_str().to_owned();
    gz_name.push(".gz");
    let target = PathBuf::from(gz_name);
    let tmp = target.with_extension("gz.tmp");
    let write = || -> io::Result<()> {
        let mut input = BufReader::new(File::open(path)?);
        let mut enc = GzEncoder::new(File::create(&tmp)?, Compression::default());
        io::copy(&mut input, &mut enc)?;
        enc.finish()?.sync_all()
    };
    write().map_err(FsError::at(&tmp))?;
    fs::rename(&tmp, &target).map_err(FsError::at(&target))?;
    fs::remove_file(path).map_err(FsError::at(path))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn age(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
    }

    #[test]
    fn compresses_past_days_and_keeps_seven() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Ten days of research logs, 2026-11-21 .. 2026-11-30 (today), one already compressed,
        // plus another service's file and an unrelated file that must be left alone.
        for k in 21..=30 {
            let p = d.join(format!("research.2026-11-{k}.log"));
            fs::write(&p, format!("line of day {k}\n")).unwrap();
            age(&p);
        }
        fs::remove_file(d.join("research.2026-11-25.log")).unwrap();
        let gz = d.join("research.2026-11-25.log.gz");
        let mut enc = GzEncoder::new(File::create(&gz).unwrap(), Compression::default());
        io::Write::write_all(&mut enc, b"line of day 25\n").unwrap();
        enc.finish().unwrap();
        fs::write(d.join("live.2026-11-01.log"), "other service").unwrap();
        fs::write(d.join("notes.txt"), "x").unwrap();

        let done = apply(d, "research", 7, day("2026-11-30")).unwrap();
        assert_eq!(done.deleted.len(), 3, "21, 22, 23 are older than the 7 kept days");
        assert_eq!(done.compressed.len(), 5, "24 and 26..29 compressed, 25 already was");

        let mut names: Vec<String> =
            fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        let mut expected: Vec<String> = (24..=29).map(|k| format!("research.2026-11-{k}.log.gz")).collect();
        expected.extend(["live.2026-11-01.log".into(), "notes.txt".into(), "research.2026-11-30.log".into()]);
        expected.sort();
        assert_eq!(names, expected);

        let mut text = String::new();
        GzDecoder::new(File::open(d.join("research.2026-11-27.log.gz")).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "line of day 27\n");
        // A second pass has nothing left to do.
        assert_eq!(apply(d, "research", 7, day("2026-11-30")).unwrap(), Retention::default());
    }

    #[test]
    fn a_file_still_being_written_is_not_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("live.2026-11-29.log");
        fs::write(&p, "just now").unwrap();
        let done = apply(dir.path(), "live", 7, day("2026-11-30")).unwrap();
        assert!(done.compressed.is_empty());
        assert!(p.exists());
    }
}
