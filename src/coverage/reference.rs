//! The coverage reference file: everything needed to judge new frames against a training
//! set, as JSON. Floats round-trip exactly (serde_json writes the shortest exact form).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::{FeatureParams, FEATURE_VERSION};
use super::grid::Grid;
use super::pca::Pca;
use crate::error::{Error, Result};

/// Tag written in every reference file.
pub const FORMAT: &str = "llzo_dp-coverage-reference";
/// Bumped when the file layout changes.
pub const FORMAT_VERSION: u32 = 1;

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
}

impl Reference {
    pub fn rcut(&self) -> f64 {
        self.features.rcut
    }

    /// Writes the file whole: a temporary file in the same directory, then a rename, so a
    /// reader never sees half a reference.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(self).map_err(|e| Error::Internal(format!("coverage reference: {e}")))?;
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
