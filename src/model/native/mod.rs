//! The native evaluator: DeePMD-kit's se_e2_a and se_e2_r energy models, and the hybrid
//! se_e2_a + se_e3 one, computed directly in Rust from the weights of the frozen `.pth`, the same numbers as
//! its TorchScript graph (to ~1e-13) without the graph's cost.
//!
//! Why it is faster: the graph evaluates the embedding nets on every one of the `Σsel`
//! neighbor slots (padding included: 252 slots for the shipped model, of which LLZO fills
//! ~110) as a chain of elementwise tensor ops; here the nets run only on real neighbors,
//! padded slots enter as one precomputed term per type block, and each chunk of atoms
//! goes forward and backward while its data is in cache. The se_e3 three-body term
//! (`se_e3.rs`) runs on the pairs of real neighbors inside its cutoff only (padded slots
//! contribute exactly zero there), instead of all `sel[a]·sel[b]` slot pairs.
//!
//! Scope: CPU, float64 or float32 (`real.rs`), tanh, energy fitting; descriptor se_e2_a or
//! se_e2_r (also compressed), or hybrid se_e2_a + se_e3 with an uncompressed se_e3 (what
//! `weights::load` accepts). Other models (plain se_e3 among them), GPU runs, steps that
//! need DeePMD-kit's per-atom virial, and steps in which DeePMD-kit would drop neighbors by
//! distance go through the TorchScript model (`torch.rs`).
//!
//! Layout: `weights/` reads the model; `env.rs` (switch, env rows), `mlp.rs` and `tanh.rs`
//! are the primitives, `real.rs` the arithmetic type, `simd.rs` the AVX2 builds of the per-pair
//! loops; `se_a.rs` and `se_e3.rs` the descriptors, `fitting.rs` the fitting
//! nets, each forward and backward; `kernel.rs` the recipe for a chunk of atoms.

mod env;
mod fitting;
mod kernel;
mod mlp;
pub mod real;
mod se_a;
mod se_e3;
mod simd;
pub mod tanh;
#[cfg(test)]
mod test_support;
pub mod weights;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::step::{Evaluation, StepInput};
use crate::settings::Precision;
use kernel::Scratch;
use real::Real;
pub use weights::Weights;
use weights::Stored;

/// Atoms per work item of the descriptors: their pairs (~100 each) stay in cache.
const CHUNK: usize = 64;
/// Atoms per work item of the fitting nets: ~64 rows per type and matrix product.
const FIT_BLOCK: usize = 4 * CHUNK;

/// How the native evaluator runs a model (`pair_style` keywords `threads`, `tabulate`,
/// `precision`).
#[derive(Debug, Clone, Copy)]
pub struct NativeOptions {
    pub threads: usize,
    /// The embedding nets as tables built at load time.
    pub tabulate: bool,
    pub precision: Precision,
}

impl Default for NativeOptions {
    /// One thread, tables, the model's own precision: the `pair_style` defaults.
    fn default() -> Self {
        NativeOptions { threads: 1, tabulate: true, precision: Precision::Auto }
    }
}

pub struct NativeModel {
    engine: Engine,
    pool: std::sync::Arc<rayon::ThreadPool>,
    description: String,
}

/// The evaluator in the precision chosen at load.
enum Engine {
    F64(Evaluator<f64>),
    F32(Evaluator<f32>),
}

/// The weights in precision `R` and the buffers every step reuses.
struct Evaluator<R> {
    weights: Weights<R>,
    pad_terms: Vec<Vec<R>>,
    scratch: Vec<Scratch<R>>,
    fit_scratch: Vec<fitting::Scratch<R>>,
    /// `[nloc][ndesc]`: the fitting input and dE/d(it); center types; atomic energies.
    desc: Vec<R>,
    ddesc: Vec<R>,
    ti: Vec<usize>,
    energy: Vec<f64>,
}

impl NativeModel {
    /// `def` is the model's `get_model_def_script()` JSON. An `Error::Model` says why the
    /// model is outside the native evaluator's scope.
    pub fn load(path: &str, def: &str, ntypes: usize, opts: NativeOptions) -> Result<NativeModel> {
        let def: serde_json::Value =
            serde_json::from_str(def).map_err(|e| Error::Model(format!("model definition is not JSON: {e}")))?;
        let weights = weights::load(path, &def, ntypes, opts.tabulate)?;
        let stored = weights.stored;
        let engine = match (opts.precision, stored) {
            (Precision::Float64, _) | (Precision::Auto, Stored::Float64) => Engine::F64(Evaluator::new(weights)),
            (Precision::Float32, _) | (Precision::Auto, Stored::Float32) => Engine::F32(Evaluator::new(weights.cast())),
        };
        let (what, computed) = match &engine {
            Engine::F64(e) => (e.weights.describe(), f64::NAME),
            Engine::F32(e) => (e.weights.describe(), f32::NAME),
        };
        let description = match computed == stored.name() {
            true => format!("{what}, {computed}"),
            false => format!("{what}, {computed} (weights stored in {}, precision {computed})", stored.name()),
        };
        let pool = crate::threads::pool(opts.threads)?;
        Ok(NativeModel { engine, pool, description })
    }

    /// What runs, for the log: the descriptor, tables, and the precision computed in.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Thread-seconds per phase since the last call, as "name share %" text.
    pub fn take_phase_report(&mut self) -> String {
        match &mut self.engine {
            Engine::F64(e) => e.take_phase_report(),
            Engine::F32(e) => e.take_phase_report(),
        }
    }

    /// Energy, forces on all extended atoms and the global virial (DeePMD-kit's
    /// `Σ_a F_a ⊗ x_a`). Returns `Ok(false)` when DeePMD-kit would keep only the nearest of
    /// a row's neighbors (by a sort): more than `Σsel` of them, or, in a hybrid model, more
    /// than `sel[t]` of a type (for either descriptor). That step goes through TorchScript.
    pub fn evaluate(&mut self, input: &StepInput, out: &mut Evaluation) -> Result<bool> {
        let pool = &self.pool;
        match &mut self.engine {
            Engine::F64(e) => e.evaluate(pool, input, out),
            Engine::F32(e) => e.evaluate(pool, input, out),
        }
    }
}

impl<R: Real> Evaluator<R> {
    fn new(weights: Weights<R>) -> Evaluator<R> {
        let pad_terms = se_a::padding_terms(&weights.se_a);
        Evaluator {
            weights,
            pad_terms,
            scratch: Vec::new(),
            fit_scratch: Vec::new(),
            desc: Vec::new(),
            ddesc: Vec::new(),
            ti: Vec::new(),
            energy: Vec::new(),
        }
    }

    fn take_phase_report(&mut self) -> String {
        let mut sum = [0.0; kernel::PHASES.len()];
        for sc in &mut self.scratch {
            for (a, b) in sum.iter_mut().zip(sc.seconds.iter_mut()) {
                *a += std::mem::take(b);
            }
        }
        sum[3] += self.fit_scratch.iter_mut().map(|f| std::mem::take(&mut f.seconds)).sum::<f64>();
        let total: f64 = sum.iter().sum();
        if total <= 0.0 {
            return String::new();
        }
        let parts: Vec<String> =
            kernel::PHASES.iter().zip(sum).map(|(n, s)| format!("{n} {:.0} %", 100.0 * s / total)).collect();
        format!("native: {}", parts.join(", "))
    }

    fn evaluate(&mut self, pool: &rayon::ThreadPool, input: &StepInput, out: &mut Evaluation) -> Result<bool> {
        let nloc = input.nloc;
        if !check(&self.weights, input)? {
            return Ok(false);
        }
        let (w, pad, nd) = (&self.weights, &self.pad_terms, self.weights.ndesc);
        let nchunks = nloc.div_ceil(CHUNK);
        if self.scratch.len() < nchunks {
            self.scratch.resize_with(nchunks, Scratch::default);
        }
        let nblocks = nloc.div_ceil(FIT_BLOCK);
        if self.fit_scratch.len() < nblocks {
            self.fit_scratch.resize_with(nblocks, fitting::Scratch::default);
        }
        self.desc.resize(nloc * nd, R::ZERO);
        self.ddesc.resize(nloc * nd, R::ZERO);
        self.energy.resize(nloc, 0.0);
        self.ti.clear();
        self.ti.extend(input.atype[..nloc].iter().map(|&t| t as usize));
        let scratch = &mut self.scratch[..nchunks];
        let (desc, ddesc, energy, ti) = (&mut self.desc[..], &mut self.ddesc[..], &mut self.energy[..], &self.ti[..]);
        let fit_scratch = &mut self.fit_scratch[..nblocks];
        let forward = |(c, (sc, d)): (usize, (&mut Scratch<R>, &mut [R]))| {
            kernel::forward_chunk(w, pad, input, c * CHUNK..((c + 1) * CHUNK).min(nloc), sc, d)
        };
        let fit = |(((t, d), (dd, e)), fs): (((&[usize], &[R]), (&mut [R], &mut [f64])), &mut fitting::Scratch<R>)| {
            fitting::energy_and_grad(&w.fitting, t, d, nd, e, dd, fs)
        };
        let backward = |(sc, dd): (&mut Scratch<R>, &[R])| kernel::backward_chunk(w, sc, dd);
        let run = || -> bool {
            scratch.par_iter_mut().zip(desc.par_chunks_mut(CHUNK * nd)).enumerate().for_each(forward);
            if scratch.iter().any(|sc| sc.overflow) {
                return false;
            }
            ti.par_chunks(FIT_BLOCK)
                .zip(desc.par_chunks(FIT_BLOCK * nd))
                .zip(ddesc.par_chunks_mut(FIT_BLOCK * nd).zip(energy.par_chunks_mut(FIT_BLOCK)))
                .zip(fit_scratch.par_iter_mut())
                .for_each(fit);
            scratch.par_iter_mut().zip(ddesc.par_chunks(CHUNK * nd)).for_each(backward);
            true
        };
        if !pool.install(run) {
            return Ok(false);
        }
        gather(&self.scratch[..nchunks], &self.energy, input, out);
        Ok(true)
    }
}

/// Sizes, types and indices in range; false when only the graph's own selection is right
/// (`graph_selects`) or the rows are wider than the model's `Σsel` in a model that keeps
/// row order (a sorting model's rows are checked one by one in the kernel).
fn check<R: Real>(w: &Weights<R>, input: &StepInput) -> Result<bool> {
    let nall = input.nall();
    let StepInput { atype, nlist, nloc, width, .. } = *input;
    if atype.len() != nall || nlist.len() != nloc * width || nloc > nall {
        return Err(Error::Internal(format!(
            "native inputs disagree: {} types, {} coordinates, nlist {} for {nloc}×{width}",
            atype.len(),
            nall,
            nlist.len()
        )));
    }
    if input.graph_selects || (width > w.se_a.nnei && !w.sorted_nlist) {
        return Ok(false);
    }
    if let Some(t) = atype.iter().find(|&&t| t < 0 || t as usize >= w.ntypes) {
        return Err(Error::Internal(format!("atom type {t} outside the model's {} types", w.ntypes)));
    }
    if let Some(e) = nlist.iter().find(|&&e| e < -1 || e >= nall as i64) {
        return Err(Error::Internal(format!("neighbor index {e} outside {nall} atoms")));
    }
    Ok(true)
}

/// Energies, forces and virial from the chunks' results, in a fixed order: the same sums
/// for any thread count.
fn gather<R: Real>(chunks: &[Scratch<R>], energy: &[f64], input: &StepInput, out: &mut Evaluation) {
    out.atom_energy.clear();
    out.atom_energy.extend_from_slice(energy);
    // F = -dE/dx: the pair gradient g = dE/d(x_j - x_i) pushes i by +g and j by -g
    out.force.clear();
    out.force.resize(input.nall() * 3, 0.0);
    let force = &mut out.force;
    let mut add = |i: usize, j: usize, g: &[f64; 3]| {
        for (a, &ga) in g.iter().enumerate() {
            force[3 * j + a] -= ga;
            force[3 * i + a] += ga;
        }
    };
    for (c, sc) in chunks.iter().enumerate() {
        let pairs = sc.se_a.groups.iter().flat_map(|g| g.pairs.iter());
        for (p, g) in pairs.zip(&sc.se_a.grad) {
            add(c * CHUNK + p.li as usize, p.j as usize, g);
        }
        for (nb, g) in sc.se3.nbs.iter().zip(&sc.se3.grad) {
            add(c * CHUNK + nb.li as usize, nb.j as usize, g);
        }
    }
    out.energy = out.atom_energy.iter().sum();
    out.virial = [0.0; 9];
    for (f, x) in out.force.chunks_exact(3).zip(input.coord.chunks_exact(3)) {
        for a in 0..3 {
            for b in 0..3 {
                out.virial[3 * a + b] += f[a] * x[b];
            }
        }
    }
    out.atom_virial.clear();
}
