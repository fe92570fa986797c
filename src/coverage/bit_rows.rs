//! The two per-atom operations on one-word grid rows (`grid.rs`, N ≤ 64 training cells and
//! 3N ≤ 64 test cells per row). For component a, an atom's cell i along a selects a run of
//! consecutive row words `w[q]`, one per partner b > a, and its partner cells `j[q]`:
//! counting covered planes reads bit `j[q]` of `w[q]`, marking the test occupancy sets it.
//! With AVX2 four planes go at once through the variable 64-bit shifts, a run's last one to
//! three planes through masked loads and stores; the loops over a (counting) and over atoms
//! (marking) sit inside the AVX2 functions, so nothing per run crosses a call.
//!
//! A partner outside the training range is `u16::MAX` (grid.rs's `OUTSIDE`) and counts as
//! not covered: the vector shift by 64 or more gives 0 on its own, the scalar loop masks it.

/// Planes on which an atom is covered: `cells[a]` is its training cell along component a
/// (`u16::MAX` outside), `row(a, i)` the first word of the run of rows (a, i, b > a) in
/// `bits`; the run's words are counted against the partner cells `cells[a + 1..]`.
pub fn count_covered_atom(bits: &[u64], cells: &[u16], row: impl Fn(usize, usize) -> usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU has AVX2, the only feature `count_covered_avx2` is compiled for.
        return unsafe { count_covered_avx2(bits, cells, row) };
    }
    count_covered_with(bits, cells, row, count_run)
}

/// Marks the test cells of the atoms `cells` (m per atom, test-axis cells < 64) in the block
/// of component a: `row(i)` is the first word of the run of rows (a, i, b > a) in `block`.
pub fn mark_block(block: &mut [u64], cells: &[u16], m: usize, a: usize, row: impl Fn(usize) -> usize) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: as in `count_covered_atom`.
        return unsafe { mark_avx2(block, cells, m, a, row) };
    }
    mark_with(block, cells, m, a, row, mark_run)
}

#[inline(always)]
fn count_covered_with(bits: &[u64], cells: &[u16], row: impl Fn(usize, usize) -> usize, mut run: impl FnMut(&[u64], &[u16]) -> usize) -> usize {
    let m = cells.len();
    let mut covered = 0;
    for a in 0..m.saturating_sub(1) {
        if cells[a] != u16::MAX {
            let start = row(a, cells[a] as usize);
            covered += run(&bits[start..start + m - a - 1], &cells[a + 1..]);
        }
    }
    covered
}

#[inline(always)]
fn mark_with(block: &mut [u64], cells: &[u16], m: usize, a: usize, row: impl Fn(usize) -> usize, mut run: impl FnMut(&mut [u64], &[u16])) {
    for c in cells.chunks_exact(m) {
        let start = row(c[a] as usize);
        run(&mut block[start..start + m - a - 1], &c[a + 1..]);
    }
}

/// Number of q with bit `j[q]` of `w[q]` set (`j[q] == u16::MAX`: not set).
fn count_run(w: &[u64], j: &[u16]) -> usize {
    w.iter().zip(j).map(|(&w, &j)| ((w >> (j & 63)) & (j != u16::MAX) as u64) as usize).sum()
}

/// Sets bit `j[q]` of `w[q]` (`j[q] < 64`).
fn mark_run(w: &mut [u64], j: &[u16]) {
    w.iter_mut().zip(j).for_each(|(w, &j)| *w |= 1 << (j & 63));
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn count_covered_avx2(bits: &[u64], cells: &[u16], row: impl Fn(usize, usize) -> usize) -> usize {
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_si256();
    let one = _mm256_set1_epi64x(1);
    count_covered_with(bits, cells, row, |w, j| {
        let n = w.len().min(j.len());
        let (w4, j4) = (w[..n].chunks_exact(4), j[..n].chunks_exact(4));
        let q = n - w4.remainder().len();
        for (w, j) in w4.zip(j4) {
            // SAFETY: chunks of exactly four: unaligned loads of 32 bytes of `w`, 8 of `j`.
            let (words, shifts) = unsafe { (_mm256_loadu_si256(w.as_ptr().cast()), _mm_loadl_epi64(j.as_ptr().cast())) };
            // a shift by 64 or more (an OUTSIDE partner) gives 0
            acc = _mm256_add_epi64(acc, _mm256_and_si256(_mm256_srlv_epi64(words, _mm256_cvtepu16_epi64(shifts)), one));
        }
        if q < n {
            // the last 1-3 planes, padded with partners that are never covered
            let tail = lanes_below(n - q);
            // SAFETY: a masked load reads only the n - q words of `w` from q on.
            let words = unsafe { _mm256_maskload_epi64(w[q..].as_ptr().cast(), tail) };
            acc = _mm256_add_epi64(acc, _mm256_and_si256(_mm256_srlv_epi64(words, padded_shifts(&j[q..n])), one));
        }
        0 // counted in the lanes of `acc`, summed once per atom below
    });
    let mut lanes = [0u64; 4];
    // SAFETY: `lanes` holds 32 bytes; an unaligned store.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    lanes.iter().sum::<u64>() as usize
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mark_avx2(block: &mut [u64], cells: &[u16], m: usize, a: usize, row: impl Fn(usize) -> usize) {
    use std::arch::x86_64::*;
    let one = _mm256_set1_epi64x(1);
    mark_with(block, cells, m, a, row, |w, j| {
        let n = w.len().min(j.len());
        let q = n - n % 4;
        for (w, j) in w[..q].chunks_exact_mut(4).zip(j[..q].chunks_exact(4)) {
            // SAFETY: chunks of exactly four: unaligned loads of 8 bytes of `j` and 32 of
            // `w`, and a store back into the same 32 bytes.
            unsafe {
                let shifts = _mm256_cvtepu16_epi64(_mm_loadl_epi64(j.as_ptr().cast()));
                let p = w.as_mut_ptr().cast::<__m256i>();
                _mm256_storeu_si256(p, _mm256_or_si256(_mm256_loadu_si256(p), _mm256_sllv_epi64(one, shifts)));
            }
        }
        if q < n {
            // the last 1-3 planes (padded shifts of 64 or more set nothing)
            let (tail, p) = (lanes_below(n - q), w[q..].as_mut_ptr().cast::<i64>());
            // SAFETY: the masked load and store touch only the n - q words of `w` from q on.
            unsafe {
                let words = _mm256_or_si256(_mm256_maskload_epi64(p, tail), _mm256_sllv_epi64(one, padded_shifts(&j[q..n])));
                _mm256_maskstore_epi64(p, tail, words);
            }
        }
    });
}

/// The lane mask of the first `r` (< 4) of four 64-bit lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn lanes_below(r: usize) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(r as i64), _mm256_setr_epi64x(0, 1, 2, 3))
}

/// Up to three partner cells as four 64-bit shift amounts, the missing ones u16::MAX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn padded_shifts(j: &[u16]) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let at = |k: usize| j.get(k).map_or(u16::MAX as i64, |&c| c as i64);
    _mm256_setr_epi64x(at(0), at(1), at(2), u16::MAX as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// Atoms of m = 2..=14 components (runs of every length, the vector body and its tails),
    /// cells below `cells` or, where `outside`, sometimes u16::MAX.
    fn atoms(cells: u64, outside: bool) -> Vec<Vec<u16>> {
        let mut next = xorshift(0x9e3779b97f4a7c15);
        (2..=14usize)
            .flat_map(|m| (0..20).map(move |_| m))
            .map(|m| (0..m).map(|_| if outside && next() % 5 == 0 { u16::MAX } else { (next() % cells) as u16 }).collect())
            .collect()
    }

    /// Rows (a, i, b) at word (a * 64 + i) * 16 + (b - a - 1): every run apart from the others.
    fn row(a: usize, i: usize) -> usize {
        (a * 64 + i) * 16
    }

    #[test]
    fn count_covered_reads_each_partner_bit() {
        let mut next = xorshift(7);
        let bits: Vec<u64> = (0..16 * 64 * 16).map(|_| next()).collect();
        for cells in atoms(64, true) {
            let m = cells.len();
            let mut want = 0;
            for a in 0..m {
                for b in a + 1..m {
                    let (i, j) = (cells[a], cells[b]);
                    if i != u16::MAX && j != u16::MAX && bits[row(a, i as usize) + b - a - 1] >> j & 1 == 1 {
                        want += 1;
                    }
                }
            }
            assert_eq!(count_covered_atom(&bits, &cells, row), want, "{cells:?}");
            assert_eq!(count_covered_with(&bits, &cells, row, count_run), want);
        }
        // every partner of a full row covered, none of an empty one
        let cells: Vec<u16> = (0..14).collect();
        assert_eq!(count_covered_atom(&vec![u64::MAX; 16 * 64 * 16], &cells, row), 14 * 13 / 2);
        assert_eq!(count_covered_atom(&vec![0; 16 * 64 * 16], &cells, row), 0);
    }

    #[test]
    fn mark_block_sets_each_partner_bit() {
        for (k, cells) in atoms(60, false).into_iter().enumerate() {
            let m = cells.len();
            let a = k % (m - 1);
            // three atoms at once: this one and two shifted copies
            let many: Vec<u16> = (0..3).flat_map(|s| cells.iter().map(move |&c| (c + 7 * s) % 60)).collect();
            let mut want = vec![0u64; 64 * 16];
            for c in many.chunks(m) {
                for b in a + 1..m {
                    want[c[a] as usize * 16 + b - a - 1] |= 1 << c[b];
                }
            }
            let (mut fast, mut plain) = (vec![0u64; 64 * 16], vec![0u64; 64 * 16]);
            mark_block(&mut fast, &many, m, a, |i| i * 16);
            mark_with(&mut plain, &many, m, a, |i| i * 16, mark_run);
            assert_eq!(fast, want, "{cells:?} a {a}");
            assert_eq!(plain, want);
        }
    }
}
