//! Versioned model files: save, load the current one, reject what this build cannot read.

mod common;

use std::fs;

use regimes::persist::{self, CURRENT};
use regimes::{FeatureSpec, MarketInputs, ModelCard, RegimeError, TrainedModel};

fn trained(inputs: &MarketInputs) -> TrainedModel {
    common::train_on_rules(&common::features(inputs)).model
}

#[test]
fn saves_versions_and_loads_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models/regime");
    assert!(persist::load_latest(&models).unwrap().is_none(), "nothing saved yet");
    let (inputs, _) = common::synthetic(5, 10, 9);
    let features = common::features(&inputs);
    let mut first = trained(&inputs);
    let path = persist::save(&models, &mut first).unwrap();
    assert_eq!(path, models.join("v0001.postcard"));
    let mut second = trained(&inputs);
    persist::save(&models, &mut second).unwrap();
    assert_eq!(second.card.version, 2);
    assert_eq!(fs::read_to_string(models.join(CURRENT)).unwrap(), "v0002\n");
    assert_eq!(persist::versions(&models).unwrap(), [1, 2]);
    let loaded = persist::load_latest(&models).unwrap().unwrap();
    assert_eq!(loaded.card, second.card);
    assert_eq!(loaded.predict(&features).unwrap(), second.predict(&features).unwrap());
    assert_eq!(loaded.votes(&features).unwrap(), second.votes(&features).unwrap());
    // The JSON card matches the one inside the model file, feature spec, data hash and scores included.
    let json = fs::read(models.join("v0001.json")).unwrap();
    assert_eq!(json, serde_json::to_vec_pretty(&persist::load_version(&models, 1).unwrap().card).unwrap());
    let card: ModelCard = serde_json::from_slice(&json).unwrap();
    assert_eq!(card.version, 1);
    assert_eq!(card.data_hash.len(), 16);
    assert_eq!(card.data_hash, second.card.data_hash, "same data, same hash");
    assert!(!models.join("CURRENT.tmp").exists());
}

#[test]
fn an_unchanged_model_is_not_saved_again() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, _) = common::synthetic(5, 10, 9);
    let mut first = trained(&inputs);
    assert_eq!(
        persist::save_if_changed(dir.path(), &mut first).unwrap(),
        Some(dir.path().join("v0001.postcard"))
    );
    let mut same = trained(&inputs);
    assert_eq!(persist::save_if_changed(dir.path(), &mut same).unwrap(), None, "same data, same model");
    assert_eq!(same.card.version, 1, "it is version 1");
    assert_eq!(persist::versions(dir.path()).unwrap(), [1]);
    let (other_inputs, _) = common::synthetic(5, 10, 10);
    let mut other = trained(&other_inputs);
    assert!(persist::save_if_changed(dir.path(), &mut other).unwrap().is_some(), "other data: a new version");
    assert_eq!((other.card.version, persist::versions(dir.path()).unwrap()), (2, vec![1, 2]));
}

#[test]
fn unreadable_files_and_other_data_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path();
    let (inputs, _) = common::synthetic(5, 10, 9);
    let mut model = trained(&inputs);
    persist::save(models, &mut model).unwrap();

    fs::write(models.join(CURRENT), "latest\n").unwrap();
    let err = persist::load_latest(models).unwrap_err();
    assert!(matches!(err, RegimeError::Format { .. }));
    assert!(err.to_string().ends_with("`latest` is not a version like v0001"), "{err}");

    // A file from a future format version.
    let mut bytes = postcard::to_stdvec(&("tradebot-regime-model", 99u32)).unwrap();
    bytes.extend([0u8; 8]);
    fs::write(models.join("v0002.postcard"), bytes).unwrap();
    fs::write(models.join(CURRENT), "v0002\n").unwrap();
    let err = persist::load_latest(models).unwrap_err().to_string();
    assert!(err.contains("model format version 99 is not supported (this build reads 1)"), "{err}");

    fs::write(models.join("v0003.postcard"), b"not a model").unwrap();
    assert!(persist::load_version(models, 3).is_err());

    // Data without the index the model was trained with.
    let bare =
        MarketInputs::new(inputs.timestamps().to_vec(), inputs.market().to_vec(), None, vec![]).unwrap();
    let features = FeatureSpec::standard(&bare, Default::default()).compute(&bare).unwrap();
    let err = model.predict(&features).unwrap_err().to_string();
    assert!(err.starts_with("the model was trained on features [ret_1, ret_5"), "{err}");
}
