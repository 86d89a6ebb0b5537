//! The bars travel by content hash. The coordinator puts its store's segment files into the
//! JetStream object store [`BUCKET`], each named by its xxh3 and size (the hash the store's
//! manifest records), and its manifest named by the manifest's own hash; only objects the bucket
//! lacks are uploaded, so a night's run sends the segments written since the last one. A worker
//! whose own store gives other bars than a task's data hash builds a copy of the coordinator's
//! store in its cache from those objects: segments of its own store with the same hash are
//! copied, the others fetched, each checked against the manifest's hash before use.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream::Context as JetStream;
use async_nats::jetstream::object_store::{self, ObjectStore};
use datasets::Timeframe;
use datasets::store::{Manifest, SegmentEntry, Store, file_xxh3};
use xxhash_rust::xxh3::xxh3_64;

use crate::ClusterError;

/// The object store bucket holding the coordinators' segments and manifests.
pub const BUCKET: &str = "tradebot-data";

/// The object a segment is stored as: its content hash and size.
fn segment_object(entry: &SegmentEntry) -> String {
    format!("segment-{:016x}-{}", entry.xxh3, entry.bytes)
}

/// The object a store manifest is stored as: the hash of its bytes.
fn manifest_object(hash: u64) -> String {
    format!("manifest-{hash:016x}")
}

/// The data bucket on the server at `url`, created when missing.
pub async fn bucket(js: &JetStream, url: &str) -> Result<ObjectStore, ClusterError> {
    if let Ok(bucket) = js.get_object_store(BUCKET).await {
        return Ok(bucket);
    }
    let config = object_store::Config {
        bucket: BUCKET.to_string(),
        description: Some("tradebot store segments and manifests, by content hash".into()),
        ..Default::default()
    };
    js.create_object_store(config).await.map_err(|e| ClusterError::JetStream {
        url: url.to_string(),
        what: "creating the data bucket (object store)",
        message: e.to_string(),
    })
}

/// What sharing a store sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    /// The hash of the manifest shared: tasks name it ([`crate::protocol::DataRef::manifest`]).
    pub manifest: u64,
    /// Segment files in the store.
    pub segments: usize,
    /// Segment files uploaded (the bucket lacked them).
    pub uploaded: usize,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Time it took.
    pub elapsed: Duration,
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "manifest {:016x}: {} segment(s), {} uploaded ({:.1} MB) in {:.2} s",
            self.manifest,
            self.segments,
            self.uploaded,
            self.bytes as f64 / 1e6,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Puts the store at `dir` into `bucket`: every segment the bucket lacks, then the manifest
/// (retired files left out).
pub async fn share(bucket: &ObjectStore, dir: &Path) -> Result<Shared, String> {
    let started = Instant::now();
    // Open, so no writer deletes a segment while it is read.
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    let mut manifest = store.manifest().clone();
    manifest.retired.clear();
    let text = serde_json::to_vec(&manifest).expect("a manifest serialises");
    let hash = xxh3_64(&text);
    let mut shared = Shared {
        manifest: hash,
        segments: manifest.segments.len(),
        uploaded: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
    };
    for entry in &manifest.segments {
        let name = segment_object(entry);
        if bucket.info(&name).await.is_ok_and(|info| !info.deleted) {
            continue;
        }
        let path = dir.join(&entry.file);
        let mut file = tokio::fs::File::open(&path).await.map_err(|e| format!("{}: {e}", path.display()))?;
        bucket
            .put(name.as_str(), &mut file)
            .await
            .map_err(|e| format!("uploading {}: {e}", path.display()))?;
        shared.uploaded += 1;
        shared.bytes += entry.bytes;
    }
    let name = manifest_object(hash);
    if !bucket.info(&name).await.is_ok_and(|info| !info.deleted) {
        bucket
            .put(name.as_str(), &mut text.as_slice())
            .await
            .map_err(|e| format!("uploading the manifest: {e}"))?;
    }
    shared.elapsed = started.elapsed();
    Ok(shared)
}

/// What a worker fetched to build a copy of a coordinator's store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fetched {
    /// Segment files taken from the worker's own store (same hash).
    pub copied: usize,
    /// Segment files fetched from the object store.
    pub fetched: usize,
    /// Bytes fetched.
    pub bytes: u64,
}

/// The directory of a copy of the store whose manifest hash is `manifest`, restricted to
/// `timeframe`, in `cache`: built from `own` (the worker's store) and `bucket` when missing.
/// Every segment is checked against the manifest's hash; older copies in `cache` are removed.
pub async fn fetch(
    bucket: &ObjectStore,
    cache: &Path,
    own: &Path,
    manifest: u64,
    timeframe: Timeframe,
) -> Result<(PathBuf, Fetched), String> {
    let copy = cache.join(format!("{}-{timeframe}", manifest_object(manifest)));
    let mut fetched = Fetched::default();
    if Manifest::load(&copy).is_ok() {
        return Ok((copy, fetched));
    }
    let text = read_object(bucket, &manifest_object(manifest)).await?;
    if xxh3_64(&text) != manifest {
        return Err(format!(
            "the coordinator's manifest {} hashes to {:016x}",
            manifest_object(manifest),
            xxh3_64(&text)
        ));
    }
    let mut wanted: Manifest = serde_json::from_slice(&text).map_err(|e| {
        format!("the coordinator's manifest {} does not parse: {e}", manifest_object(manifest))
    })?;
    wanted.segments.retain(|s| s.timeframe == timeframe);
    // The worker's own segments by content: copied instead of fetched.
    let mine: HashMap<(u64, u64), PathBuf> = Manifest::load(own)
        .map(|m| m.segments.into_iter().map(|s| ((s.xxh3, s.bytes), own.join(s.file))).collect())
        .unwrap_or_default();
    let objects = cache.join("objects");
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |e: std::io::Error| format!("{path}: {e}")
    };
    std::fs::create_dir_all(&objects).map_err(io(&objects))?;
    let _ = std::fs::remove_dir_all(&copy);
    for entry in &wanted.segments {
        let object = objects.join(segment_object(entry));
        // Kept objects are checked again: a damaged one is replaced, never used.
        if !holds(&object, entry) {
            let part = objects.join(format!("{}.part", segment_object(entry)));
            let own = mine.get(&(entry.xxh3, entry.bytes));
            if let Some(path) = own
                && std::fs::copy(path, &part).is_ok()
                && holds(&part, entry)
            {
                fetched.copied += 1;
            } else {
                let fetching = |e: &dyn std::fmt::Display| {
                    format!("fetching {} ({}): {e}", segment_object(entry), entry.file)
                };
                let mut source = bucket.get(segment_object(entry)).await.map_err(|e| fetching(&e))?;
                let mut file = tokio::fs::File::create(&part).await.map_err(io(&part))?;
                tokio::io::copy(&mut source, &mut file).await.map_err(|e| fetching(&e))?;
                fetched.fetched += 1;
                fetched.bytes += entry.bytes;
                if !holds(&part, entry) {
                    let _ = std::fs::remove_file(&part);
                    return Err(format!(
                        "segment {} of the coordinator's store arrived with another hash than its {:016x}: not used",
                        entry.file, entry.xxh3
                    ));
                }
            }
            std::fs::rename(&part, &object).map_err(io(&object))?;
        }
        let target = copy.join(&entry.file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::hard_link(&object, &target)
            .or_else(|_| std::fs::copy(&object, &target).map(drop))
            .map_err(io(&target))?;
    }
    // The manifest last: a copy without one is incomplete and rebuilt.
    wanted.commit(&copy).map_err(|e| e.to_string())?;
    prune(cache, &copy, &wanted);
    Ok((copy, fetched))
}

/// Whether the file at `path` is the segment `entry` names (its xxh3).
fn holds(path: &Path, entry: &SegmentEntry) -> bool {
    file_xxh3(path).is_ok_and(|hash| hash == entry.xxh3)
}

/// Removes the copies in `cache` other than `keep`, and the objects its manifest does not name.
fn prune(cache: &Path, keep: &Path, manifest: &Manifest) {
    let named: HashSet<String> = manifest.segments.iter().map(segment_object).collect();
    for entry in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        let path = entry.path();
        if path != keep && entry.file_name().to_string_lossy().starts_with("manifest-") {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    for entry in std::fs::read_dir(cache.join("objects")).into_iter().flatten().flatten() {
        if !named.contains(entry.file_name().to_string_lossy().as_ref()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The bytes of the (small) object `name`.
async fn read_object(bucket: &ObjectStore, name: &str) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt;
    let mut object =
        bucket.get(name).await.map_err(|e| format!("fetching {name} from the object store: {e}"))?;
    let mut bytes = Vec::new();
    object
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("fetching {name} from the object store: {e}"))?;
    Ok(bytes)
}
