//! The bars travel by content hash. The coordinator puts its store's segment files into the
//! JetStream object store [`BUCKET`], each named by its xxh3 and size (the hash the store's
//! manifest records), and its manifest named by the manifest's own hash; only objects the bucket
//! lacks are uploaded, so a night's run sends the segments written since the last one. A worker
//! whose own store gives other bars than a task's data hash builds a copy of the coordinator's
//! store in its cache from those objects: segments of its own store with the same hash are
//! copied, the others fetched, each checked against the manifest's hash before use.
//!
//! The stages' symbol lists are objects of the bucket too (`symbols-<xxh3>`, [`put_symbols`]):
//! tasks name a list by its hash and a worker fetches it once. The bucket is pruned when a store
//! is shared ([`prune`]): what no manifest of the last [`crate::Settings::keep`] names goes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use async_nats::jetstream::Context as JetStream;
use async_nats::jetstream::object_store::{self, ObjectStore};
use datasets::Timeframe;
use datasets::store::{Manifest, SegmentEntry, Store, file_xxh3};
use futures_util::StreamExt;
use xxhash_rust::xxh3::xxh3_64;

use crate::ClusterError;
use crate::protocol::SymbolsRef;

/// A manifest or symbol list in use is put again when its object is older than this, so the
/// age rule of [`prune`] only ever removes what no run has shared lately.
const REFRESH: Duration = Duration::from_secs(24 * 3600);

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

/// The object a symbol list is stored as: its hash ([`SymbolsRef::hash`]).
fn symbols_object(hash: u64) -> String {
    format!("symbols-{hash:016x}")
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
    /// What pruning the bucket then removed ([`prune`]).
    pub pruned: Pruned,
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "manifest {:016x}: {} segment(s), {} uploaded ({:.1} MB) in {:.2} s; {} old object(s) pruned ({:.1} MB)",
            self.manifest,
            self.segments,
            self.uploaded,
            self.bytes as f64 / 1e6,
            self.elapsed.as_secs_f64(),
            self.pruned.objects,
            self.pruned.bytes as f64 / 1e6
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
        pruned: Pruned::default(),
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
    put_fresh(bucket, &manifest_object(hash), &text)
        .await
        .map_err(|e| format!("uploading the manifest: {e}"))?;
    shared.elapsed = started.elapsed();
    Ok(shared)
}

/// Puts `bytes` as the object `name` unless the bucket holds it from within [`REFRESH`] (the
/// name is the content's hash, so an older copy is the same bytes, put again to renew its age).
async fn put_fresh(bucket: &ObjectStore, name: &str, bytes: &[u8]) -> Result<(), String> {
    if let Ok(info) = bucket.info(name).await
        && !info.deleted
        && age(&info, SystemTime::now()) <= REFRESH
    {
        return Ok(());
    }
    bucket.put(name, &mut &bytes[..]).await.map(drop).map_err(|e| format!("{name}: {e}"))
}

/// Puts the symbol list `symbols` into `bucket` (once a day at most) and returns its reference.
pub async fn put_symbols(bucket: &ObjectStore, symbols: &[String]) -> Result<SymbolsRef, String> {
    let reference = SymbolsRef::of(symbols);
    put_fresh(bucket, &symbols_object(reference.hash), &SymbolsRef::bytes(symbols))
        .await
        .map_err(|e| format!("uploading the symbol list: {e}"))?;
    Ok(reference)
}

/// The bytes of the symbol list whose hash is `hash`, from `bucket` (unchecked: the worker
/// checks them with [`SymbolsRef::check`]).
pub async fn symbol_list(bucket: &ObjectStore, hash: u64) -> Result<Vec<u8>, String> {
    read_object(bucket, &symbols_object(hash)).await
}

/// How long ago `info` was put (zero when the server does not say).
fn age(info: &object_store::ObjectInfo, now: SystemTime) -> Duration {
    let now = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let put = info.modified.map_or(now, |m| m.unix_timestamp());
    Duration::from_secs(now.saturating_sub(put).max(0) as u64)
}

/// An object of the bucket, as pruning sees it.
#[derive(Clone, Debug, PartialEq)]
struct Stored {
    name: String,
    age: Duration,
    size: u64,
}

/// The manifests whose segments are kept: the one just shared (`current`) and every one put
/// within `keep`.
fn kept_manifests<'s>(objects: &'s [Stored], current: &str, keep: Duration) -> Vec<&'s str> {
    objects
        .iter()
        .filter(|o| o.name.starts_with("manifest-") && (o.name == current || o.age <= keep))
        .map(|o| o.name.as_str())
        .collect()
}

/// The objects to remove: older than `keep` and not in `kept` (the current manifest and the
/// segments of [`kept_manifests`]). A segment still being uploaded by another coordinator is
/// young, so its manifest's late arrival loses nothing.
fn doomed<'s>(objects: &'s [Stored], kept: &HashSet<String>, keep: Duration) -> Vec<&'s Stored> {
    objects.iter().filter(|o| o.age > keep && !kept.contains(&o.name)).collect()
}

/// What pruning the bucket removed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pruned {
    /// Objects removed (segments, manifests, symbol lists).
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Removes from `bucket` every object older than `keep` that neither the manifest `current`
/// (the one just shared) nor a manifest put within `keep` names: the segments of stores no
/// coordinator has shared for that long, their manifests, and symbol lists no run has used.
/// Nothing is removed when a kept manifest cannot be read.
pub async fn prune(bucket: &ObjectStore, current: u64, keep: Duration) -> Result<Pruned, String> {
    let listing = |e: &dyn std::fmt::Display| format!("listing the data bucket: {e}");
    let now = SystemTime::now();
    let mut objects = Vec::new();
    // The bucket holds `current` at least, so the listing ends.
    let mut list = bucket.list().await.map_err(|e| listing(&e))?;
    while let Some(info) = tokio::time::timeout(Duration::from_secs(30), list.next())
        .await
        .map_err(|_| listing(&"no answer within 30 s"))?
    {
        let info = info.map_err(|e| listing(&e))?;
        objects.push(Stored { age: age(&info, now), size: info.size as u64, name: info.name });
    }
    let current = manifest_object(current);
    let mut kept: HashSet<String> = HashSet::from([current.clone()]);
    for name in kept_manifests(&objects, &current, keep) {
        let text = read_object(bucket, name).await?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| format!("{name} in the data bucket does not parse: {e}"))?;
        kept.extend(manifest.segments.iter().map(segment_object));
    }
    let mut pruned = Pruned::default();
    for object in doomed(&objects, &kept, keep) {
        bucket.delete(&object.name).await.map_err(|e| format!("removing {}: {e}", object.name))?;
        pruned.objects += 1;
        pruned.bytes += object.size;
    }
    Ok(pruned)
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
    prune_cache(cache, &copy, &wanted);
    Ok((copy, fetched))
}

/// Whether the file at `path` is the segment `entry` names (its xxh3).
fn holds(path: &Path, entry: &SegmentEntry) -> bool {
    file_xxh3(path).is_ok_and(|hash| hash == entry.xxh3)
}

/// Removes the copies in `cache` other than `keep`, and the objects its manifest does not name.
fn prune_cache(cache: &Path, keep: &Path, manifest: &Manifest) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn stored(name: &str, days: u64) -> Stored {
        Stored { name: name.into(), age: DAY * days as u32, size: 10 }
    }

    /// The retention rule: a store shared within the week keeps its segments, the one shared
    /// now keeps them at any age, young objects (an upload in progress) stay, and the rest goes:
    /// old segments no kept manifest names, old manifests, symbol lists no run used lately.
    #[test]
    fn pruning_keeps_what_recent_manifests_name_and_removes_the_rest() {
        let keep = DAY * 7;
        let objects = vec![
            stored("manifest-current", 30),
            stored("manifest-last-week", 3),
            stored("manifest-old", 20),
            stored("segment-a", 30),
            stored("segment-b", 30),
            stored("segment-c", 30),
            stored("segment-d", 1),
            stored("symbols-old", 9),
            stored("symbols-new", 0),
        ];
        let manifests = kept_manifests(&objects, "manifest-current", keep);
        assert_eq!(manifests, ["manifest-current", "manifest-last-week"]);
        // current names a, last week's names b; the old manifest named c.
        let kept: HashSet<String> =
            ["manifest-current", "segment-a", "segment-b"].into_iter().map(String::from).collect();
        let gone: Vec<&str> = doomed(&objects, &kept, keep).iter().map(|o| o.name.as_str()).collect();
        assert_eq!(gone, ["manifest-old", "segment-c", "symbols-old"]);
    }
}
