//! The contract between the core and the evaluators: one step's inputs and outputs, and
//! what a model says about itself. Plain Rust, no torch: both evaluators build on it.

/// What the model says about itself; the pair style takes cutoff and type map from here.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub rcut: f64,
    pub type_map: Vec<String>,
    pub sel: Vec<i64>,
    pub dim_fparam: i64,
    pub dim_aparam: i64,
    pub message_passing: bool,
    /// The graph sorts every neighbour row by distance (`need_sorted_nlist_for_lower`,
    /// e.g. hybrid descriptors), not only rows wider than `Σsel`.
    pub sorts_nlist: bool,
    /// The model has default frame parameters (`has_default_fparam`), so `fparam` may be left out.
    pub has_default_fparam: bool,
    /// The atomic parameters cover ghosts too (`is_aparam_nall`), not only local atoms.
    pub aparam_nall: bool,
}

/// One step's model inputs, in model units (Å) and model types.
pub struct StepInput<'a> {
    /// `[nall * 3]` extended coordinates, the `nloc` local atoms first.
    pub coord: &'a [f64],
    /// `[nall]` model types.
    pub atype: &'a [i64],
    /// `[nloc * width]` extended indices of each local atom's neighbors, padded with -1.
    pub nlist: &'a [i64],
    pub nloc: usize,
    pub width: usize,
    /// The rows the TorchScript graph gets: `nlist` itself, or LAMMPS's own rows (skin
    /// included, in list order) as `pair_style deepmd` hands them over, where the graph's own
    /// selection decides which neighbours count, ties among equal distances included.
    pub graph_nlist: &'a [i64],
    pub graph_width: usize,
    /// Only the graph's selection is right this step (a type has more neighbours within the
    /// cutoff than its sel): the native evaluator declines it.
    pub graph_selects: bool,
    /// `[nall]` extended index of the local atom each atom is an image of, for
    /// message-passing models (`ExtendedAtoms::ghost_images`); empty otherwise.
    pub mapping: &'a [i64],
    /// Message-passing models on several MPI ranks: the address of the pair style's
    /// `GhostExchange` (`cpp/ghost_exchange.h`), handed to `deepmd::border_op` through
    /// `comm_dict`, in place of `mapping`; the extended atoms are then LAMMPS's, in its order.
    pub ghost_exchange: Option<i64>,
    /// `[dim_fparam]` frame parameters, empty when the model takes none (or uses its default).
    pub fparam: &'a [f64],
    /// `[n * aparam_dim]` atomic parameters (n = nloc, or nall when `aparam_nall`), or empty.
    pub aparam: &'a [f64],
    pub aparam_dim: usize,
}

impl<'a> StepInput<'a> {
    /// Rows that hold only neighbours within the cutoff, the same for both evaluators.
    pub fn within_cutoff(coord: &'a [f64], atype: &'a [i64], nlist: &'a [i64], nloc: usize, width: usize) -> Self {
        StepInput { coord, atype, nlist, nloc, width, graph_nlist: nlist, graph_width: width, graph_selects: false, mapping: &[], ghost_exchange: None, fparam: &[], aparam: &[], aparam_dim: 0 }
    }

    pub fn nall(&self) -> usize {
        self.coord.len() / 3
    }
}

/// The outputs of one evaluation, in model units (eV, Å), for `nall` extended atoms
/// of which the first `nloc` are local. Buffers are reused from step to step.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub energy: f64,
    /// `[nloc]`
    pub atom_energy: Vec<f64>,
    /// `[nall * 3]`, on local and ghost atoms
    pub force: Vec<f64>,
    /// `[9]`, row-major 3×3
    pub virial: [f64; 9],
    /// `[nall * 9]`, only when asked for
    pub atom_virial: Vec<f64>,
}
