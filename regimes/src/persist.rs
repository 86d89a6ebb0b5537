//! Versioned model files: `vNNNN.postcard` (the model), `vNNNN.json` (its card, for people and
//! scripts) and `CURRENT` (the name of the version in use) in one directory.
//!
//! A save writes the two version files and then replaces `CURRENT`, each atomically (temp
//! file, fsync, rename, directory fsync): a crash leaves the previous model current and
//! whole. Saving never overwrites an existing version. One writer at a time is assumed (the
//! research run or `tradebot regimes --train`); readers may load at any moment.

use std::fs;
use std::path::{Path, PathBuf};

use datasets::fsio::{self, FsError};
use serde::{Deserialize, Serialize};

use crate::{RegimeError, TrainedModel};

/// Default model directory, relative to the working directory.
pub const DEFAULT_DIR: &str = "data/models/regime";
/// The pointer file naming the current version.
pub const CURRENT: &str = "CURRENT";
/// Identifies a model file.
const FORMAT: &str = "tradebot-regime-model";
/// Bumped on any incompatible change of the model file.
pub const FORMAT_VERSION: u32 = 1;

/// The start of every model file, read before the rest so an old or foreign file gets a clear
/// error instead of a decoding failure.
#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    format_version: u32,
}

/// File name of a version's model file.
fn model_file(version: u32) -> String {
    format!("v{version:04}.postcard")
}

/// The versions saved in `dir`, oldest first (empty if the directory does not exist).
pub fn versions(dir: &Path) -> Result<Vec<u32>, RegimeError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RegimeError::io(dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let name = entry.map_err(RegimeError::io(dir))?.file_name();
        let name = name.to_string_lossy();
        if let Some(v) = name.strip_prefix('v').and_then(|s| s.strip_suffix(".postcard")) {
            found.extend(v.parse::<u32>().ok());
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Saves `model` as the next version in `dir` (created if needed) and makes it current;
/// sets `model.card.version` and returns the model file's path.
pub fn save(dir: &Path, model: &mut TrainedModel) -> Result<PathBuf, RegimeError> {
    fs::create_dir_all(dir).map_err(RegimeError::io(dir))?;
    let version = versions(dir)?.last().map_or(1, |v| v + 1);
    model.card.version = version;
    let bytes = encode(&dir.join(model_file(version)), model)?;
    let card = serde_json::to_vec_pretty(&model.card).expect("the card serialises");
    write_atomic(&dir.join(model_file(version)), &bytes)?;
    write_atomic(&dir.join(format!("v{version:04}.json")), &card)?;
    write_atomic(&dir.join(CURRENT), format!("v{version:04}\n").as_bytes())?;
    Ok(dir.join(model_file(version)))
}

/// Like [`save`], unless `model` equals the current version (same data, same settings, same
/// forest): then nothing is written, `model.card.version` is set to the current version and
/// `None` is returned (no identical versions).
pub fn save_if_changed(dir: &Path, model: &mut TrainedModel) -> Result<Option<PathBuf>, RegimeError> {
    if let Some(current) = current_version(dir)? {
        let path = dir.join(model_file(current));
        let stored = fs::read(&path).map_err(RegimeError::io(&path))?;
        let before = model.card.version;
        model.card.version = current;
        if encode(&path, model)? == stored {
            return Ok(None);
        }
        model.card.version = before;
    }
    save(dir, model).map(Some)
}

/// The model file's bytes: the format header, then the model.
fn encode(path: &Path, model: &TrainedModel) -> Result<Vec<u8>, RegimeError> {
    let header = Header { format: FORMAT.into(), format_version: FORMAT_VERSION };
    let mut bytes = postcard::to_stdvec(&header).expect("the header serialises");
    bytes.extend(postcard::to_stdvec(model).map_err(|e| format_error(path, e))?);
    Ok(bytes)
}

/// The version `CURRENT` names; `None` when nothing was ever saved in `dir`.
fn current_version(dir: &Path) -> Result<Option<u32>, RegimeError> {
    let pointer = dir.join(CURRENT);
    let text = match fs::read_to_string(&pointer) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RegimeError::io(&pointer)(e)),
    };
    let version = text.trim().strip_prefix('v').and_then(|v| v.parse::<u32>().ok()).ok_or_else(|| {
        RegimeError::Format {
            path: pointer.clone(),
            reason: format!("`{}` is not a version like v0001", text.trim()),
        }
    })?;
    Ok(Some(version))
}

/// Loads the current model of `dir`; `None` when nothing was ever saved there.
pub fn load_latest(dir: &Path) -> Result<Option<TrainedModel>, RegimeError> {
    current_version(dir)?.map(|version| load_version(dir, version)).transpose()
}

/// Loads version `version` of `dir`.
pub fn load_version(dir: &Path, version: u32) -> Result<TrainedModel, RegimeError> {
    let path = dir.join(model_file(version));
    let bytes = fs::read(&path).map_err(RegimeError::io(&path))?;
    let (header, rest) = postcard::take_from_bytes::<Header>(&bytes).map_err(|e| format_error(&path, e))?;
    if header.format != FORMAT {
        return Err(RegimeError::Format {
            path,
            reason: format!("format is `{}`, expected `{FORMAT}`", header.format),
        });
    }
    if header.format_version != FORMAT_VERSION {
        return Err(RegimeError::Format {
            path,
            reason: format!(
                "model format version {} is not supported (this build reads {FORMAT_VERSION}): retrain with `tradebot regimes --train`",
                header.format_version
            ),
        });
    }
    let model: TrainedModel = postcard::from_bytes(rest).map_err(|e| format_error(&path, e))?;
    if model.card.version != version {
        return Err(RegimeError::Format {
            path,
            reason: format!("the file holds version {}, not {version}", model.card.version),
        });
    }
    if model.forest.width() != model.card.features.features.len() {
        return Err(RegimeError::Format {
            path,
            reason: format!(
                "the forest reads {} features but the card lists {}",
                model.forest.width(),
                model.card.features.features.len()
            ),
        });
    }
    Ok(model)
}

fn format_error(path: &Path, e: postcard::Error) -> RegimeError {
    RegimeError::Format { path: path.to_path_buf(), reason: e.to_string() }
}

/// [`fsio::write_atomic`] with the error as a [`RegimeError`].
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RegimeError> {
    fsio::write_atomic(path, bytes).map_err(|FsError { path, source }| RegimeError::Io { path, source })
}
