//! Coverage of local atomic environments by a training set, after You et al. (2024),
//! "Principal component analysis enables the design of deep learning potential
//! precisely capturing LLZO phase transitions", Methods.
//!
//! Per atom a fixed descriptor ([`features`]); per center element a PCA of the training
//! descriptors ([`pca`]) and 2-D grids on every pair of kept components ([`grid`]); a
//! [`Reference`] file holds all of it ([`reference`]). Usage:
//!
//! ```text
//! let reference = Reference::build(&params, &training_set)?;      // or Reference::load
//! reference.check_model(&model.type_map, model.rcut)?;
//! features::compute(&reference.features, &neighborhood, &mut buf)?;
//! let c = reference.coverage(&buf, &atype[..nloc])?;               // c.overall, c.atom_flags
//! ```
//! For several frames or MPI ranks, [`Reference::new_occupancy`], [`Reference::add_atoms`]
//! and [`Reference::summarize`] split the same computation (occupancies merge by OR).

mod bit_rows;
pub mod features;
pub mod grid;
pub mod monitor;
pub mod pca;
pub mod reference;

use rayon::prelude::*;

pub use features::{FeatureParams, Neighborhood, FEATURE_VERSION};
pub use reference::{ElementReference, Reference};

use crate::error::{Error, Result};

/// What `Reference::build` needs besides the data.
#[derive(Debug, Clone)]
pub struct BuildParams {
    pub features: FeatureParams,
    pub type_map: Vec<String>,
    /// Cumulative contribution to reach (0.95 in the paper).
    pub threshold: f64,
    /// Cells per grid axis N.
    pub grid_size: usize,
    /// Optional cap on the kept components m (not in the paper; bounds the m(m-1)/2 planes).
    pub max_components: Option<usize>,
}

impl BuildParams {
    pub fn new(type_map: Vec<String>, rcut: f64) -> Self {
        BuildParams { features: FeatureParams::new(type_map.len(), rcut), type_map, threshold: 0.95, grid_size: 20, max_components: None }
    }
}

/// Training features, grouped by center element.
#[derive(Debug, Clone, Default)]
pub struct TrainingSet {
    pub p: usize,
    /// Per element, row-major `[n_e * p]`.
    pub per_element: Vec<Vec<f64>>,
    pub n_frames: usize,
    pub source: Vec<String>,
}

impl TrainingSet {
    pub fn new(params: &BuildParams) -> Self {
        TrainingSet { p: params.features.len(), per_element: vec![Vec::new(); params.type_map.len()], ..Default::default() }
    }

    /// Adds one frame: `features` `[nloc * p]`, `center_types` `[nloc]`.
    pub fn add_frame(&mut self, features: &[f64], center_types: &[i64]) -> Result<()> {
        check_rows(features, center_types, self.p, self.per_element.len())?;
        for (row, &t) in features.chunks(self.p).zip(center_types) {
            self.per_element[t as usize].extend_from_slice(row);
        }
        self.n_frames += 1;
        Ok(())
    }
}

fn check_rows(features: &[f64], center_types: &[i64], p: usize, n_types: usize) -> Result<()> {
    if features.len() != center_types.len() * p {
        return Err(Error::Internal(format!("coverage: {} feature values for {} atoms x {p}", features.len(), center_types.len())));
    }
    if let Some(t) = center_types.iter().find(|&&t| t < 0 || t as usize >= n_types) {
        return Err(Error::Input(format!("coverage: atom type {t} outside the type map")));
    }
    Ok(())
}

/// Buffers of one element's atoms, reused across calls.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Indices of the element's atoms.
    atoms: Vec<usize>,
    /// The element's `Pca::scaled_components`.
    weights: Vec<f64>,
    /// Their projections, `[n_e * m]`.
    projected: Vec<f64>,
    /// Their fraction of covered planes.
    covered: Vec<f64>,
    /// Their cells on the grids' test axes.
    cells: Vec<u16>,
}

/// Rows of atoms per GEMM task: large enough for the product to run at full rate.
const PROJECT_CHUNK: usize = 64;

impl Scratch {
    /// Gathers element `e`'s atoms and projects them onto its components.
    fn project_element(&mut self, r: &ElementReference, e: usize, features: &[f64], center_types: &[i64], p: usize) {
        self.atoms.clear();
        self.atoms.extend(center_types.iter().enumerate().filter(|(_, &ty)| ty as usize == e).map(|(i, _)| i));
        r.pca.scaled_components(&mut self.weights);
        let m = r.pca.m;
        self.projected.clear();
        self.projected.resize(self.atoms.len() * m, 0.0);
        let w = &self.weights;
        // each task centers its own rows into a buffer that stays in cache, instead of all
        // rows being centered into one array first (as large as the features)
        self.projected.par_chunks_mut(PROJECT_CHUNK * m).zip(self.atoms.par_chunks(PROJECT_CHUNK)).for_each_init(
            || Vec::with_capacity(PROJECT_CHUNK * p),
            |centered, (out, atoms)| {
                centered.clear();
                for &i in atoms {
                    centered.extend(features[i * p..(i + 1) * p].iter().zip(&r.pca.mean).map(|(x, m)| x - m));
                }
                r.pca.project_centered(centered, w, out);
            },
        );
    }
}

/// Test occupancy of every element, in one buffer so that MPI ranks merge it in place:
/// the bitmaps by OR, the atom counts by sum.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOccupancy {
    /// The grid bitmaps of the elements with a training reference, one after another.
    pub bits: Vec<u64>,
    /// Where each element's bitmap lies in `bits`; None without a reference.
    ranges: Vec<Option<std::ops::Range<usize>>>,
    /// Test atoms seen per element.
    pub atoms: Vec<u64>,
}

impl TestOccupancy {
    pub fn merge(&mut self, other: &TestOccupancy) -> Result<()> {
        if self.ranges != other.ranges || self.atoms.len() != other.atoms.len() {
            return Err(Error::Internal("coverage: merging occupancies of different references".into()));
        }
        self.bits.iter_mut().zip(&other.bits).for_each(|(a, b)| *a |= b);
        self.atoms.iter_mut().zip(&other.atoms).for_each(|(a, b)| *a += b);
        Ok(())
    }

    /// Empties it for the next frame, keeping the allocation.
    pub fn clear(&mut self) {
        self.bits.fill(0);
        self.atoms.fill(0);
    }

    fn element(&self, e: usize) -> Option<&[u64]> {
        self.ranges[e].clone().map(|r| &self.bits[r])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FrameCoverage {
    /// Coverage rate P per element of the type map; None without test atoms of it. An
    /// element the training set lacks has coverage 0.
    pub per_element: Vec<Option<f64>>,
    /// Mean of the per-element rates weighted by the element's test atoms.
    pub overall: Option<f64>,
    /// Per atom: fraction of planes on which its cell holds training points.
    pub atom_coverage: Vec<f64>,
    /// Per atom: it falls outside the training cells on some plane.
    pub atom_flags: Vec<bool>,
}

impl Reference {
    /// PCA and grids per element from the training features.
    pub fn build(params: &BuildParams, train: &TrainingSet) -> Result<Reference> {
        params.features.validate()?;
        let p = params.features.len();
        if train.p != p || train.per_element.len() != params.type_map.len() || params.type_map.len() != params.features.n_types {
            return Err(Error::Internal("coverage build: training set and parameters disagree".into()));
        }
        let mut elements = Vec::with_capacity(train.per_element.len());
        for (e, x) in train.per_element.iter().enumerate() {
            let n = x.len() / p;
            if n < 2 {
                elements.push(None);
                continue;
            }
            let name = &params.type_map[e];
            let pca = pca::Pca::fit(x, p, params.threshold, params.max_components).map_err(|err| Error::Input(format!("coverage build, element {name}: {err}")))?;
            let mut t = Vec::new();
            pca.project_rows(x, &mut t);
            let grid = grid::Grid::fit(&t, pca.m, params.grid_size)?;
            let stride = n.div_ceil(reference::MAX_PC12).max(1);
            let train_pc12 = t.chunks(pca.m).step_by(stride).map(|r| [r[0], r[1]]).collect();
            elements.push(Some(ElementReference { n_train: n, pca, grid, train_pc12 }));
        }
        Ok(Reference {
            format: reference::FORMAT.into(),
            format_version: reference::FORMAT_VERSION,
            feature_version: FEATURE_VERSION,
            features: params.features.clone(),
            type_map: params.type_map.clone(),
            grid_size: params.grid_size,
            threshold: params.threshold,
            max_components: params.max_components,
            n_train_frames: train.n_frames,
            elements,
            source: train.source.clone(),
            model_sha256: None,
            checksum: None,
        })
    }

    pub fn new_occupancy(&self) -> TestOccupancy {
        let mut len = 0;
        let ranges = (self.elements.iter())
            .map(|e| {
                e.as_ref().map(|e| {
                    len += e.grid.occupancy_len();
                    len - e.grid.occupancy_len()..len
                })
            })
            .collect();
        TestOccupancy { bits: vec![0; len], ranges, atoms: vec![0; self.elements.len()] }
    }

    /// Empties `occ` for the next frame, keeping the allocation: only the rows the last
    /// frame touched are zeroed (`Grid::clear_occupancy`).
    pub fn clear_occupancy(&self, occ: &mut TestOccupancy) {
        if occ.ranges.len() != self.elements.len() {
            return occ.clear();
        }
        for (r, range) in self.elements.iter().zip(&occ.ranges) {
            match (r, range) {
                (Some(r), Some(range)) => r.grid.clear_occupancy(&mut occ.bits[range.clone()]),
                (_, Some(range)) => occ.bits[range.clone()].fill(0),
                _ => {}
            }
        }
        occ.atoms.fill(0);
    }

    fn max_m(&self) -> usize {
        self.elements.iter().flatten().map(|e| e.pca.m).max().unwrap_or(0)
    }

    /// Projects atoms onto their element's kept components: `out` `[nloc * max m]`, rows
    /// zero-padded (an element without reference gives zeros).
    pub fn project(&self, features: &[f64], center_types: &[i64], out: &mut Vec<f64>) -> Result<()> {
        let p = self.features.len();
        check_rows(features, center_types, p, self.elements.len())?;
        let mm = self.max_m().max(1);
        out.clear();
        out.resize(center_types.len() * mm, 0.0);
        let mut s = Scratch::default();
        for (e, reference) in self.elements.iter().enumerate() {
            if let Some(r) = reference {
                s.project_element(r, e, features, center_types, p);
                for (&i, row) in s.atoms.iter().zip(s.projected.chunks(r.pca.m)) {
                    out[i * mm..i * mm + r.pca.m].copy_from_slice(row);
                }
            }
        }
        Ok(())
    }

    /// Adds atoms to `occ` and writes each atom's coverage (fraction of covered planes;
    /// 0 for an element without reference) into `atom_coverage` (`[nloc]`).
    pub fn add_atoms(&self, features: &[f64], center_types: &[i64], occ: &mut TestOccupancy, atom_coverage: &mut [f64]) -> Result<()> {
        self.add_atoms_with(features, center_types, occ, atom_coverage, &mut Scratch::default())
    }

    /// `add_atoms` with buffers kept from call to call (the monitor's per-step path).
    pub fn add_atoms_with(
        &self,
        features: &[f64],
        center_types: &[i64],
        occ: &mut TestOccupancy,
        atom_coverage: &mut [f64],
        s: &mut Scratch,
    ) -> Result<()> {
        let p = self.features.len();
        check_rows(features, center_types, p, self.elements.len())?;
        if atom_coverage.len() != center_types.len() || occ.ranges.len() != self.elements.len() {
            return Err(Error::Internal("coverage: per-atom buffer or occupancy of the wrong size".into()));
        }
        for (e, reference) in self.elements.iter().enumerate() {
            occ.atoms[e] += center_types.iter().filter(|&&ty| ty as usize == e).count() as u64;
            let (Some(r), Some(range)) = (reference, occ.ranges[e].clone()) else {
                center_types.iter().zip(atom_coverage.iter_mut()).filter(|(&ty, _)| ty as usize == e).for_each(|(_, c)| *c = 0.0);
                continue;
            };
            s.project_element(r, e, features, center_types, p);
            s.covered.clear();
            s.covered.resize(s.atoms.len(), 0.0);
            r.grid.add_points_with(&s.projected, &mut occ.bits[range], Some(&mut s.covered), &mut s.cells)?;
            for (&i, &c) in s.atoms.iter().zip(&s.covered) {
                atom_coverage[i] = c;
            }
        }
        Ok(())
    }

    /// Per-element and overall coverage of what `occ` holds (per-atom fields left empty).
    pub fn summarize(&self, occ: &TestOccupancy) -> FrameCoverage {
        let per_element: Vec<Option<f64>> = (self.elements.iter().enumerate())
            .map(|(e, r)| match (r, occ.element(e), occ.atoms[e]) {
                (_, _, 0) => None,
                (Some(r), Some(o), n) => r.grid.coverage(o, n),
                _ => Some(0.0),
            })
            .collect();
        let (mut sum, mut weight) = (0.0, 0.0);
        for (c, &n) in per_element.iter().zip(&occ.atoms) {
            if let Some(c) = c {
                sum += c * n as f64;
                weight += n as f64;
            }
        }
        let overall = (weight > 0.0).then(|| sum / weight);
        FrameCoverage { per_element, overall, atom_coverage: Vec::new(), atom_flags: Vec::new() }
    }

    /// Coverage of one frame (or one rank's atoms): `features` `[nloc * p]` from
    /// `features::compute`, `center_types` the model types of the local atoms.
    pub fn coverage(&self, features: &[f64], center_types: &[i64]) -> Result<FrameCoverage> {
        let mut occ = self.new_occupancy();
        let mut atom_coverage = vec![0.0; center_types.len()];
        self.add_atoms(features, center_types, &mut occ, &mut atom_coverage)?;
        let mut out = self.summarize(&occ);
        out.atom_flags = atom_coverage.iter().map(|&c| c < 1.0).collect();
        out.atom_coverage = atom_coverage;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A jittered simple-cubic crystal of two elements, as features of its atoms.
    fn crystal_features(params: &BuildParams, jitter: f64, scale: f64, seed: u64) -> (Vec<f64>, Vec<i64>) {
        let normals = pca::tests::normals(3 * 64, seed);
        let a = 2.5 * scale;
        let mut pos = Vec::new();
        let mut types = Vec::new();
        for i in 0..4 {
            for j in 0..4 {
                for k in 0..4 {
                    let n = pos.len();
                    pos.push([0, 1, 2].map(|d| [i, j, k][d] as f64 * a + jitter * normals[3 * n + d]));
                    types.push((i + j + k) % 2);
                }
            }
        }
        let mut f = crate::frames::Frame { origin: [0.0; 3], cell: [[4.0 * a, 0.0, 0.0], [0.0, 4.0 * a, 0.0], [0.0, 0.0, 4.0 * a]], pos, types, pbc: [true; 3] };
        crate::frames::images::wrap(&mut f).unwrap();
        let ext = crate::frames::images::extend(&f, params.features.rcut).unwrap();
        let atype: Vec<i64> = ext.owner.iter().map(|&o| f.types[o] as i64).collect();
        let nb = Neighborhood { coords: &ext.coords, types: &atype, nloc: f.pos.len(), nlist: &ext.nlist };
        let mut out = Vec::new();
        features::compute(&params.features, &nb, &mut out).unwrap();
        (out, atype[..f.pos.len()].to_vec())
    }

    fn params() -> BuildParams {
        let mut p = BuildParams::new(vec!["A".into(), "B".into()], 4.0);
        p.grid_size = 8;
        p
    }

    fn reference() -> (Reference, TrainingSet) {
        let params = params();
        let mut train = TrainingSet::new(&params);
        for seed in 0..6 {
            let (f, t) = crystal_features(&params, 0.15, 1.0, seed);
            train.add_frame(&f, &t).unwrap();
        }
        (Reference::build(&params, &train).unwrap(), train)
    }

    #[test]
    fn training_covers_itself_and_expansion_does_not() {
        let (r, train) = reference();
        assert!(r.elements.iter().all(|e| e.as_ref().is_some_and(|e| e.pca.m >= 2)));
        let mut occ = r.new_occupancy();
        for e in 0..2 {
            let x = &train.per_element[e];
            let types = vec![e as i64; x.len() / r.features.len()];
            let mut ac = vec![0.0; types.len()];
            r.add_atoms(x, &types, &mut occ, &mut ac).unwrap();
            assert!(ac.iter().all(|&c| c == 1.0));
        }
        let s = r.summarize(&occ);
        assert_eq!(s.per_element, vec![Some(1.0), Some(1.0)]);
        assert_eq!(s.overall, Some(1.0));
        // a crystal expanded by 30 %: far from anything in training
        let (f, t) = crystal_features(&params(), 0.15, 1.3, 99);
        let c = r.coverage(&f, &t).unwrap();
        assert!(c.overall.unwrap() < 0.5, "{c:?}");
        assert!(c.atom_flags.iter().all(|&x| x));
    }

    #[test]
    fn reference_file_roundtrip_and_checks() {
        let (r, _) = reference();
        let dir = std::env::temp_dir().join(format!("llzo_cov_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ref.json");
        r.save(&path).unwrap();
        let back = Reference::load(&path).unwrap();
        assert_eq!(Reference { checksum: None, ..back.clone() }, r);
        back.check_model(&["A".into(), "B".into()], 4.0).unwrap();
        let e = back.check_model(&["B".into(), "A".into()], 4.0).unwrap_err();
        assert!(matches!(&e, Error::Input(m) if m.contains("type map")), "{e}");
        let e = back.check_model(&["A".into(), "B".into()], 6.0).unwrap_err();
        assert!(matches!(&e, Error::Input(m) if m.contains("cutoff")), "{e}");
        // versions are checked before anything else
        let text = std::fs::read_to_string(&path).unwrap();
        let old = text.replacen(&format!("\"feature_version\":{FEATURE_VERSION}"), "\"feature_version\":0", 1);
        assert!(matches!(Reference::from_json(&old), Err(Error::Input(m)) if m.contains("feature version")));
        let old = text.replacen(&format!("\"format_version\":{}", reference::FORMAT_VERSION), "\"format_version\":99", 1);
        assert!(matches!(Reference::from_json(&old), Err(Error::Input(m)) if m.contains("format version")));
        assert!(matches!(Reference::from_json("{}"), Err(Error::Input(_))));
        // one changed number is caught by the checksum
        assert!(back.checksum.as_deref().is_some_and(|c| c.len() == 64));
        let grid = format!("\"grid_size\":{}", r.grid_size);
        let edited = text.replacen(&grid, &format!("\"grid_size\":{}", r.grid_size + 1), 1);
        assert_ne!(edited, text);
        assert!(matches!(Reference::from_json(&edited), Err(Error::Input(m)) if m.contains("checksum")));
        // and a reference built for another model file is refused
        let mut tied = r.clone();
        tied.model_sha256 = Some(reference::sha256_hex(b"model A"));
        std::fs::write(dir.join("model_b"), b"model B").unwrap();
        let e = tied.check_model_file(&dir.join("model_b")).unwrap_err();
        assert!(matches!(&e, Error::Input(m) if m.contains("SHA-256")), "{e}");
        std::fs::write(dir.join("model_a"), b"model A").unwrap();
        tied.check_model_file(&dir.join("model_a")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn occupancies_merge_like_one_frame() {
        // two halves of a frame added separately (as two MPI ranks would) = the whole
        let (r, _) = reference();
        let (f, t) = crystal_features(&params(), 0.3, 1.05, 7);
        let whole = r.coverage(&f, &t).unwrap();
        let p = r.features.len();
        let h = t.len() / 2;
        let mut a = r.new_occupancy();
        let mut b = r.new_occupancy();
        let mut ac = vec![0.0; t.len()];
        r.add_atoms(&f[..h * p], &t[..h], &mut a, &mut ac[..h]).unwrap();
        r.add_atoms(&f[h * p..], &t[h..], &mut b, &mut ac[h..]).unwrap();
        a.merge(&b).unwrap();
        let merged = r.summarize(&a);
        assert_eq!(merged.per_element, whole.per_element);
        assert_eq!(ac, whole.atom_coverage);
        // the merged occupancy cleared for the next frame (only its touched rows) = a new one
        r.clear_occupancy(&mut a);
        assert_eq!(a, r.new_occupancy());
        r.add_atoms(&f, &t, &mut a, &mut ac).unwrap();
        assert_eq!(r.summarize(&a).per_element, whole.per_element);
    }
}
