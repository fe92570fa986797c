//! LAMMPS atoms and full neighbor list -> the model's extended atoms and `nlist`.
//!
//! Convention (written once): LAMMPS holds `nlocal` owned atoms followed by `nghost`
//! ghost images; its full list gives, for each owned atom, the indices of all atoms
//! (owned or ghost) within cutoff + skin. The model takes `nall` extended atoms with
//! the `nloc` local ones first, and `nlist[i]` = extended indices of neighbors of local
//! atom `i`, padded with -1. Atoms whose LAMMPS type maps to `NULL` are left out, and so
//! are ghosts that no local atom lists: they carry no force. This is rebuilt only when
//! LAMMPS rebuilds its list; between rebuilds only coordinates change.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// A LAMMPS full neighbor list in compressed rows, as the pair style packs it.
pub struct LammpsList<'a> {
    pub nlocal: usize,
    pub nghost: usize,
    /// LAMMPS type (1-based) of every owned and ghost atom, `[nlocal + nghost]`.
    pub types: &'a [i32],
    /// Owned atoms that have a list, in list order.
    pub ilist: &'a [i32],
    /// `ilist.len() + 1` offsets into `neighbors`.
    pub offsets: &'a [i32],
    /// Neighbor indices with the special-bond bits already masked off.
    pub neighbors: &'a [i32],
}

#[derive(Debug, Default)]
pub struct ExtendedAtoms {
    /// LAMMPS index of each extended atom: model-local atoms first, then ghosts.
    pub lammps_index: Vec<usize>,
    /// How many of them are local.
    pub nloc: usize,
    /// Width of each `nlist` row.
    pub nnei: usize,
    /// Model type of each extended atom.
    pub atype: Vec<i64>,
    /// `[nloc * nnei]` extended indices, -1 padded.
    pub nlist: Vec<i64>,
    /// Scratch: extended index of each LAMMPS atom, or -1.
    ext_of: Vec<i64>,
}

impl ExtendedAtoms {
    pub fn nall(&self) -> usize {
        self.lammps_index.len()
    }

    /// Rebuilds everything from a fresh LAMMPS list. `type_map[t-1]` is the model type
    /// of LAMMPS type `t`, or `None` for atoms the model ignores.
    pub fn rebuild(&mut self, list: &LammpsList, type_map: &[Option<usize>]) -> Result<()> {
        let nall = list.nlocal + list.nghost;
        if list.types.len() < nall || list.offsets.len() != list.ilist.len() + 1 {
            return Err(Error::Internal(format!(
                "neighbor data sizes disagree: {} types for {nall} atoms, {} offsets for {} rows",
                list.types.len(),
                list.offsets.len(),
                list.ilist.len()
            )));
        }
        let model_type = |i: usize| -> Result<Option<usize>> {
            let t = list.types[i];
            if t < 1 || t as usize > type_map.len() {
                return Err(Error::Input(format!(
                    "atom type {t} has no pair_coeff entry; pair_coeff * * needs {} names",
                    type_map.len()
                )));
            }
            Ok(type_map[t as usize - 1])
        };

        self.ext_of.clear();
        self.ext_of.resize(nall, -1);
        self.lammps_index.clear();
        self.atype.clear();
        // Locals in list order; the model sees them first.
        let mut rows: Vec<usize> = Vec::with_capacity(list.ilist.len());
        for (row, &i) in list.ilist.iter().enumerate() {
            let i = i as usize;
            if i >= list.nlocal {
                continue;
            }
            if let Some(t) = model_type(i)? {
                self.ext_of[i] = self.lammps_index.len() as i64;
                self.lammps_index.push(i);
                self.atype.push(t as i64);
                rows.push(row);
            }
        }
        self.nloc = self.lammps_index.len();

        // Ghosts enter in the order they are first seen.
        let mut width = 0;
        for &row in &rows {
            let (a, b) = (list.offsets[row] as usize, list.offsets[row + 1] as usize);
            if b < a || b > list.neighbors.len() {
                return Err(Error::Internal(format!("bad neighbor offsets {a}..{b}")));
            }
            let mut count = 0;
            for &j in &list.neighbors[a..b] {
                let j = j as usize;
                if j >= nall {
                    return Err(Error::Internal(format!("neighbor index {j} beyond {nall} atoms")));
                }
                let Some(t) = model_type(j)? else { continue };
                if self.ext_of[j] < 0 {
                    self.ext_of[j] = self.lammps_index.len() as i64;
                    self.lammps_index.push(j);
                    self.atype.push(t as i64);
                }
                count += 1;
            }
            width = width.max(count);
        }
        self.nnei = width.max(1);

        self.nlist.clear();
        self.nlist.resize(self.nloc * self.nnei, -1);
        for (k, &row) in rows.iter().enumerate() {
            let (a, b) = (list.offsets[row] as usize, list.offsets[row + 1] as usize);
            let dst = &mut self.nlist[k * self.nnei..(k + 1) * self.nnei];
            let mut n = 0;
            for &j in &list.neighbors[a..b] {
                let e = self.ext_of[j as usize];
                if e >= 0 {
                    dst[n] = e;
                    n += 1;
                }
            }
        }
        Ok(())
    }

    /// Rebuilds with the extended atoms in LAMMPS's own order, all of them: `nloc` = `nlocal`
    /// and every ghost kept, so that a message-passing model's features can travel by
    /// LAMMPS's ghost communication between ranks (`cpp/ghost_exchange.h`), where the rows
    /// are LAMMPS's. Every atom needs a model type: such a model has no use for NULL types.
    pub fn rebuild_in_lammps_order(&mut self, list: &LammpsList, type_map: &[Option<usize>]) -> Result<()> {
        let nall = list.nlocal + list.nghost;
        if list.types.len() < nall || list.offsets.len() != list.ilist.len() + 1 {
            return Err(Error::Internal("neighbor data sizes disagree".into()));
        }
        self.atype.clear();
        for &t in &list.types[..nall] {
            match type_map.get((t as usize).wrapping_sub(1)) {
                Some(Some(m)) => self.atype.push(*m as i64),
                Some(None) => {
                    return Err(Error::Input(
                        "a message-passing model (DPA-2, DPA-3) on several MPI ranks needs a model type for \
                         every atom, but pair_coeff maps a type to NULL; give every type an element, or run \
                         on one MPI rank"
                            .into(),
                    ))
                }
                None => {
                    return Err(Error::Input(format!(
                        "atom type {t} has no pair_coeff entry; pair_coeff * * needs {} names",
                        type_map.len()
                    )))
                }
            }
        }
        self.lammps_index.clear();
        self.lammps_index.extend(0..nall);
        self.nloc = list.nlocal;
        // each owned atom's row in LAMMPS's list
        let mut row_of = vec![usize::MAX; list.nlocal];
        for (row, &i) in list.ilist.iter().enumerate() {
            if let Some(r) = row_of.get_mut(i as usize) {
                *r = row;
            }
        }
        let span = |r: usize| list.offsets[r] as usize..list.offsets[r + 1] as usize;
        self.nnei = row_of.iter().filter(|&&r| r != usize::MAX).map(|&r| span(r).len()).max().unwrap_or(0).max(1);
        self.nlist.clear();
        self.nlist.resize(self.nloc * self.nnei, -1);
        for (i, &r) in row_of.iter().enumerate() {
            if r == usize::MAX {
                return Err(Error::Internal(format!("owned atom {i} has no row in the full neighbor list")));
            }
            let neighbors = list.neighbors.get(span(r)).ok_or_else(|| Error::Internal("bad neighbor offsets".into()))?;
            for (k, &j) in neighbors.iter().enumerate() {
                if j < 0 || j as usize >= nall {
                    return Err(Error::Internal(format!("neighbor index {j} beyond {nall} atoms")));
                }
                self.nlist[i * self.nnei + k] = j as i64;
            }
        }
        Ok(())
    }

    /// The model's `nlist` for this step: only neighbors within `rcut` of the current
    /// coordinates (the LAMMPS list also holds the skin). Rows are padded with -1 to at
    /// least `min_width` (the model's `sum(sel)`), so the tensor shape stays the same from
    /// step to step and the model neither sorts nor re-specializes. Returns the width.
    /// `closest`: the closest pair of the list this step (found on the way, for the overlap check).
    pub fn within_cutoff(&self, coords: &[f64], rcut: f64, min_width: usize, scratch: &mut Vec<i64>, out: &mut Vec<i64>,
                         closest: &mut ClosestPair) -> usize {
        let rc2 = rcut * rcut;
        *closest = ClosestPair::default();
        scratch.clear();
        scratch.resize(self.nloc * self.nnei, -1);
        let mut width = min_width.max(1);
        for i in 0..self.nloc {
            let xi = &coords[3 * i..3 * i + 3];
            let row = &mut scratch[i * self.nnei..(i + 1) * self.nnei];
            let mut n = 0;
            for &e in &self.nlist[i * self.nnei..(i + 1) * self.nnei] {
                if e < 0 {
                    break;
                }
                let xj = &coords[3 * e as usize..3 * e as usize + 3];
                let d2 = (xj[0] - xi[0]).powi(2) + (xj[1] - xi[1]).powi(2) + (xj[2] - xi[2]).powi(2);
                if d2 < closest.d2 {
                    *closest = ClosestPair { d2, atom: i };
                }
                if d2 < rc2 {
                    row[n] = e;
                    n += 1;
                }
            }
            width = width.max(n);
        }
        out.clear();
        out.resize(self.nloc * width, -1);
        let copy = width.min(self.nnei);
        for i in 0..self.nloc {
            out[i * width..i * width + copy].copy_from_slice(&scratch[i * self.nnei..i * self.nnei + copy]);
        }
        width
    }

    /// Gathers the coordinates of the extended atoms from LAMMPS's `x` (`[nall*3]`, in
    /// LAMMPS lengths, `length_unit` of them per Å) in Å.
    /// For each extended atom, the extended index of the local atom it is an image of (by
    /// LAMMPS atom ID; a local atom maps to itself): the `mapping` a message-passing model
    /// (DPA-2, DPA-3) uses on one rank to give each ghost its local atom's features after
    /// every layer, on one MPI rank (on several, `rebuild_in_lammps_order` and the ghost
    /// exchange take its place).
    /// `tags`: LAMMPS atom IDs `[nall]`; `by_tag` is scratch.
    pub fn ghost_images(&self, tags: &[i32], by_tag: &mut HashMap<i32, i64>, out: &mut Vec<i64>) -> Result<()> {
        let tag = |e: usize| self.lammps_index.get(e).and_then(|&i| tags.get(i)).copied();
        by_tag.clear();
        for e in 0..self.nloc {
            let t = tag(e).ok_or_else(|| Error::Internal("atom IDs shorter than the local atoms".into()))?;
            by_tag.insert(t, e as i64);
        }
        out.clear();
        for e in 0..self.nall() {
            match tag(e).and_then(|t| by_tag.get(&t)) {
                Some(&local) => out.push(local),
                None => {
                    return Err(Error::Internal(format!(
                        "ghost atom {} is no image of an atom of this rank; a message-passing model maps \
                         ghosts to local atoms on one MPI rank only (on several, features go through \
                         the ghost exchange)",
                        tag(e).map_or(-1, i64::from)
                    )))
                }
            }
        }
        Ok(())
    }

    pub fn gather_coords(&self, x: &[f64], length_unit: f64, out: &mut Vec<f64>) -> Result<()> {
        out.clear();
        for &i in &self.lammps_index {
            let p = x.get(3 * i..3 * i + 3).ok_or_else(|| {
                Error::Internal(format!("atom {i} beyond the coordinate array; was the list rebuilt?"))
            })?;
            out.extend(p.iter().map(|v| v / length_unit));
        }
        Ok(())
    }
}

/// The closest pair in the neighbour list: its squared distance (Å²) and the local atom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClosestPair {
    pub d2: f64,
    pub atom: usize,
}

impl Default for ClosestPair {
    fn default() -> Self {
        ClosestPair { d2: f64::INFINITY, atom: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two owned atoms (types 1, 2), three ghosts (types 1, 3, 2); type 3 is NULL.
    #[test]
    fn locals_first_unseen_ghosts_and_null_types_dropped() {
        let types = [1, 2, 1, 3, 2];
        let ilist = [1, 0];
        // atom 1 sees 0, 2, 3; atom 0 sees 1, 3. Ghost 4 is seen by nobody.
        let offsets = [0, 3, 5];
        let neighbors = [0, 2, 3, 1, 3];
        let list = LammpsList { nlocal: 2, nghost: 3, types: &types, ilist: &ilist, offsets: &offsets, neighbors: &neighbors };
        let mut ext = ExtendedAtoms::default();
        ext.rebuild(&list, &[Some(0), Some(1), None]).unwrap();
        assert_eq!(ext.nloc, 2);
        assert_eq!(ext.lammps_index, vec![1, 0, 2]);
        assert_eq!(ext.atype, vec![1, 0, 0]);
        assert_eq!(ext.nnei, 2);
        // row 0 = LAMMPS atom 1: neighbors 0 (ext 1), 2 (ext 2); row 1 = atom 0: neighbor 1 (ext 0)
        assert_eq!(ext.nlist, vec![1, 2, 0, -1]);
        let x: Vec<f64> = (0..15).map(|v| v as f64).collect();
        let mut c = Vec::new();
        ext.gather_coords(&x, 1.0, &mut c).unwrap();
        assert_eq!(c, vec![3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 6.0, 7.0, 8.0]);
    }

    #[test]
    fn ghosts_map_to_the_local_atom_with_their_id_and_foreign_ghosts_are_refused() {
        // LAMMPS: owned atoms 0, 1 (IDs 7, 3), ghosts 2, 3 (IDs 3, 7: periodic images)
        let types = [1, 1, 1, 1];
        let list = LammpsList { nlocal: 2, nghost: 2, types: &types, ilist: &[0, 1], offsets: &[0, 2, 4],
                                neighbors: &[2, 1, 3, 0] };
        let mut ext = ExtendedAtoms::default();
        ext.rebuild(&list, &[Some(0)]).unwrap();
        assert_eq!(ext.lammps_index, vec![0, 1, 2, 3]);
        let (mut by_tag, mut mapping) = (HashMap::new(), Vec::new());
        ext.ghost_images(&[7, 3, 3, 7], &mut by_tag, &mut mapping).unwrap();
        assert_eq!(mapping, vec![0, 1, 1, 0]);
        // ghost 3 is atom 9, owned by another rank
        let e = ext.ghost_images(&[7, 3, 3, 9], &mut by_tag, &mut mapping).unwrap_err().to_string();
        assert!(e.contains("ghost atom 9 is no image") && e.contains("one MPI rank"), "{e}");
    }

    #[test]
    fn lammps_order_keeps_every_atom_in_place_and_refuses_null_types() {
        // owned atoms 0, 1 (listed in reverse order), ghosts 2, 3; ghost 3 is seen by nobody
        let types = [1, 2, 1, 2];
        let list = LammpsList { nlocal: 2, nghost: 2, types: &types, ilist: &[1, 0], offsets: &[0, 1, 3],
                                neighbors: &[2, 1, 2] };
        let mut ext = ExtendedAtoms::default();
        ext.rebuild_in_lammps_order(&list, &[Some(0), Some(1)]).unwrap();
        assert_eq!(ext.lammps_index, vec![0, 1, 2, 3]);
        assert_eq!((ext.nloc, ext.nnei), (2, 2));
        assert_eq!(ext.atype, vec![0, 1, 0, 1]);
        // row 0 is atom 0 (LAMMPS row 1: neighbours 1, 2), row 1 is atom 1 (neighbour 2)
        assert_eq!(ext.nlist, vec![1, 2, 2, -1]);
        let e = ext.rebuild_in_lammps_order(&list, &[Some(0), None]).unwrap_err().to_string();
        assert!(e.contains("NULL") && e.contains("one MPI rank"), "{e}");
    }

    #[test]
    fn cutoff_filter_keeps_close_neighbors_and_pads_to_min_width() {
        // one local atom at the origin, ghosts at 1, 3 and 5 Å along x
        let types = [1, 1, 1, 1];
        let list = LammpsList { nlocal: 1, nghost: 3, types: &types, ilist: &[0], offsets: &[0, 3], neighbors: &[3, 1, 2] };
        let mut ext = ExtendedAtoms::default();
        ext.rebuild(&list, &[Some(0)]).unwrap();
        let x = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 3.0, 0.0, 0.0, 5.0, 0.0, 0.0];
        let mut c = Vec::new();
        ext.gather_coords(&x, 1.0, &mut c).unwrap();
        let (mut scratch, mut nl, mut closest) = (Vec::new(), Vec::new(), ClosestPair::default());
        // ext order: local 0, then ghosts 3, 1, 2 as first seen -> coords x=5, 1, 3
        assert_eq!(ext.within_cutoff(&c, 4.0, 4, &mut scratch, &mut nl, &mut closest), 4);
        assert_eq!(nl, vec![2, 3, -1, -1]);
        assert_eq!(ext.within_cutoff(&c, 6.0, 1, &mut scratch, &mut nl, &mut closest), 3);
        assert_eq!(nl, vec![1, 2, 3]);
        assert_eq!(closest, ClosestPair { d2: 1.0, atom: 0 });
    }

    #[test]
    fn a_type_without_pair_coeff_is_an_input_error() {
        let types = [1, 5];
        let list = LammpsList { nlocal: 2, nghost: 0, types: &types, ilist: &[0, 1], offsets: &[0, 1, 2], neighbors: &[1, 0] };
        let e = ExtendedAtoms::default().rebuild(&list, &[Some(0), Some(1)]).unwrap_err();
        assert!(matches!(e, Error::Input(_)), "{e}");
    }
}
