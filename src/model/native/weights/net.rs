//! The dense nets of a model (embedding and fitting), as read from its tensors.

use super::tensors::{get, unsupported, Tensors};
use crate::error::Result;
use crate::model::native::real::Real;

/// One dense layer, `w` row-major `[n_in][n_out]`, in the evaluator's precision `R`.
#[derive(Debug, Clone)]
pub struct Layer<R = f64> {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<R>,
    pub b: Vec<R>,
    pub idt: Option<Vec<R>>,
    pub tanh: bool,
    /// Adds the input (same width) or the input twice (doubled width).
    pub resnet: bool,
}

impl<R: Real> Layer<R> {
    /// How the input is added back: 0 none, 1 `+x`, 2 `+[x, x]`.
    pub fn skip(&self) -> usize {
        match self.resnet {
            true if self.n_out == self.n_in => 1,
            true if self.n_out == 2 * self.n_in => 2,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mlp<R = f64> {
    pub layers: Vec<Layer<R>>,
}

impl<R: Real> Mlp<R> {
    pub fn n_out(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out)
    }
}

/// Values rounded to precision `S`.
pub fn cast<S: Real>(v: &[f64]) -> Vec<S> {
    v.iter().map(|&x| S::of(x)).collect()
}

impl Mlp<f64> {
    /// The net with its weights in precision `S`.
    pub fn cast<S: Real>(&self) -> Mlp<S> {
        let layer = |l: &Layer| Layer {
            n_in: l.n_in,
            n_out: l.n_out,
            w: cast(&l.w),
            b: cast(&l.b),
            idt: l.idt.as_deref().map(cast),
            tanh: l.tanh,
            resnet: l.resnet,
        };
        Mlp { layers: self.layers.iter().map(layer).collect() }
    }
}

/// The net under `prefix` (`{prefix}.layers.{l}.matrix`, `.bias`, `.idt`). `tanh_last`:
/// false for a fitting net, whose output layer is linear without a skip connection.
pub fn read_mlp(t: &Tensors, prefix: &str, tanh_last: bool) -> Result<Mlp> {
    let mut layers = Vec::new();
    while let Some((shape, w)) = t.get(&format!("{prefix}.layers.{}.matrix", layers.len())) {
        let l = layers.len();
        if shape.len() != 2 {
            return Err(unsupported(format!("{prefix}.layers.{l}.matrix has shape {shape:?}")));
        }
        let (n_in, n_out) = (shape[0], shape[1]);
        let b = get(t, &format!("{prefix}.layers.{l}.bias"))?.1.clone();
        let idt = t.get(&format!("{prefix}.layers.{l}.idt")).map(|x| x.1.clone());
        if b.len() != n_out || idt.as_ref().is_some_and(|i| i.len() != n_out) {
            return Err(unsupported(format!("{prefix}.layers.{l}: bias/idt sizes disagree with {shape:?}")));
        }
        layers.push(Layer { n_in, n_out, w: w.clone(), b, idt, tanh: true, resnet: true });
    }
    if layers.is_empty() {
        return Err(unsupported(format!("no layers under '{prefix}'")));
    }
    if !tanh_last {
        let last = layers.last_mut().expect("non-empty"); // ok-panic: emptiness returned an error just above
        last.tanh = false;
        last.resnet = false;
    }
    for w in layers.windows(2) {
        if w[0].n_out != w[1].n_in {
            return Err(unsupported(format!("'{prefix}' layer widths do not chain")));
        }
    }
    Ok(Mlp { layers })
}
