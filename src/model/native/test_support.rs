//! Random but deterministic weights for the descriptors' finite-difference unit tests.

use crate::model::native::weights::{Layer, Mlp};

/// Deterministic numbers in [-1, 1).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// A small tanh resnet embedding net 1 -> 2 -> 4 -> 4 with random weights.
pub fn net(rng: &mut Lcg) -> Mlp {
    let mut layer = |n_in: usize, n_out: usize| Layer {
        n_in,
        n_out,
        w: (0..n_in * n_out).map(|_| rng.next()).collect(),
        b: (0..n_out).map(|_| rng.next()).collect(),
        idt: None,
        tanh: true,
        resnet: true,
    };
    Mlp { layers: vec![layer(1, 2), layer(2, 4), layer(4, 4)] }
}
