//! The coverage reference file: everything needed to judge new frames against a training
//! set, as JSON. Floats round-trip exactly (serde_json writes the shortest exact form).
//! The file carries the SHA-256 of its own content (the JSON without the `checksum` field)
//! and, when built with `--model`, of the model file it was built for: an edited or
//! damaged reference, or one used with another model, is refused.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::{FeatureParams, FEATURE_VERSION};
use super::grid::Grid;
use super::pca::Pca;
use crate::error::{Error, Result};

/// Tag written in every reference file.
pub const FORMAT: &str = "llzo_dp-coverage-reference";
/// Bumped when the file layout changes (2: content and model checksums).
pub const FORMAT_VERSION: u32 = 2;

/// PCA and grid of one center element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElementReference {
    /// Training atoms of this element.
    pub n_train: usize,
    pub pca: Pca,
    pub grid: Grid,
    /// PC1 and PC2 of up to `MAX_PC12` training atoms (evenly strided), for plots.
    pub train_pc12: Vec<[f64; 2]>,
}

pub const MAX_PC12: usize = 5000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub format: String,
    pub format_version: u32,
    pub feature_version: u32,
    pub features: FeatureParams,
    /// Element names, the model's type map.
    pub type_map: Vec<String>,
    /// Cells per grid axis N.
    pub grid_size: usize,
    /// Cumulative-contribution threshold of the PCA.
    pub threshold: f64,
    /// Cap on the kept components, if one was asked for.
    #[serde(default)]
    pub max_components: Option<usize>,
    pub n_train_frames: usize,
    /// Per element of the type map; None when the training set has (almost) none.
    pub elements: Vec<Option<ElementReference>>,
    /// Free text: where it was built from.
    pub source: Vec<String>,
    /// SHA-256 (hex) of the model file the reference was built for; None when built from a
    /// type map and cutoff alone.
    #[serde(default)]
    pub model_sha256: Option<String>,
    /// SHA-256 (hex) of the file's content without this field, set by `save`.
    #[serde(default)]
    pub checksum: Option<String>,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes, lower-case hex.
pub fn file_sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    Ok(sha256_hex(&bytes))
}

/// The checksum of a reference's JSON value: its text without the `checksum` field.
fn content_checksum(value: &serde_json::Value) -> Result<String> {
    let mut v = value.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("checksum");
    }
    let text = serde_json::to_string(&v).map_err(|e| Error::Internal(format!("coverage reference: {e}")))?;
    Ok(sha256_hex(text.as_bytes()))
}

impl Reference {
    pub fn rcut(&self) -> f64 {
        self.features.rcut
    }

    /// Writes the file whole: a temporary file in the same directory, then a rename, so a
    /// reader never sees half a reference.
    pub fn save(&self, path: &Path) -> Result<()> {
        let internal = |e: serde_json::Error| Error::Internal(format!("coverage reference: {e}"));
        let mut value = serde_json::to_value(self).map_err(internal)?;
        let sum = content_checksum(&value)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("checksum".into(), serde_json::Value::String(sum));
        }
        let text = serde_json::to_string(&value).map_err(internal)?;
        crate::frames::write_whole(path, text.as_bytes())
    }

    /// Reads and validates a reference file.
    pub fn load(path: &Path) -> Result<Reference> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        Self::from_json(&text).map_err(|e| match e {
            Error::Input(m) => Error::Input(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    pub fn from_json(text: &str) -> Result<Reference> {
        // check the tag and versions first, so an old or foreign file says so instead of
        // failing on some missing field
        let head: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::Input(format!("not a coverage reference (bad JSON: {e})")))?;
        if head.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
            return Err(Error::Input("not a llzo_dp coverage reference file".into()));
        }
        let fv = head.get("format_version").and_then(|v| v.as_u64());
        if fv != Some(FORMAT_VERSION as u64) {
            return Err(Error::Input(format!(
                "coverage reference format version {fv:?}, this build reads {FORMAT_VERSION}: rebuild it with `llzo-dp coverage build`"
            )));
        }
        let feat = head.get("feature_version").and_then(|v| v.as_u64());
        if feat != Some(FEATURE_VERSION as u64) {
            return Err(Error::Input(format!(
                "coverage reference made with feature version {feat:?}, this build computes version {FEATURE_VERSION}: rebuild it with `llzo-dp coverage build`"
            )));
        }
        let stored = head.get("checksum").and_then(|v| v.as_str()).map(String::from);
        let actual = content_checksum(&head)?;
        if stored.as_deref() != Some(actual.as_str()) {
            return Err(Error::Input(format!(
                "coverage reference is damaged or was edited: its checksum is {}, its content hashes to {actual}; \
                 rebuild it with `llzo-dp coverage build`",
                stored.as_deref().unwrap_or("missing")
            )));
        }
        let mut r: Reference =
            serde_json::from_value(head).map_err(|e| Error::Input(format!("malformed coverage reference: {e}")))?;
        r.features.validate()?;
        if r.type_map.len() != r.features.n_types || r.elements.len() != r.features.n_types {
            return Err(Error::Input("coverage reference: type map, features and elements disagree".into()));
        }
        let p = r.features.len();
        for e in r.elements.iter_mut().flatten() {
            e.pca.check()?;
            if e.pca.p != p || e.grid.m != e.pca.m || e.grid.n != r.grid_size {
                return Err(Error::Input("coverage reference: PCA, grid and features disagree".into()));
            }
            e.grid.finish()?;
        }
        Ok(r)
    }

    /// Refuses a reference built for another model file (when it records one).
    pub fn check_model_file(&self, model: &Path) -> Result<()> {
        let Some(want) = &self.model_sha256 else { return Ok(()) };
        let have = file_sha256(model)?;
        if &have != want {
            return Err(Error::Input(format!(
                "coverage reference was built for the model with SHA-256 {want}, but '{}' has {have}: \
                 rebuild the reference with `llzo-dp coverage build --model {}`",
                model.display(),
                model.display()
            )));
        }
        Ok(())
    }

    /// Refuses a reference made for another model: the type map must be the same, element
    /// for element, and the cutoff the same (the features depend on both).
    pub fn check_model(&self, type_map: &[String], rcut: f64) -> Result<()> {
        if self.type_map != type_map {
            return Err(Error::Input(format!(
                "coverage reference was built for type map [{}], the model has [{}]",
                self.type_map.join(" "),
                type_map.join(" ")
            )));
        }
        if (self.features.rcut - rcut).abs() > 1e-9 * rcut.abs().max(1.0) {
            return Err(Error::Input(format!(
                "coverage reference was built for cutoff {} Å, the model's is {rcut} Å",
                self.features.rcut
            )));
        }
        Ok(())
    }
}
