// How a message-passing model (DPA-2, DPA-3) on several MPI ranks reaches LAMMPS's ghost
// communication. Between layers its graph calls deepmd::border_op (cpp/torch/border_op.cpp)
// with the atom features; the pair style (cpp/lammps/) moves them with comm->forward_comm and,
// for the gradient, comm->reverse_comm: LAMMPS's own swaps, send lists and partners, on any
// processor grid and with periodic images of owned atoms.
//
// The Rust core passes the address of the pair style's GhostExchange in the `communicator`
// entry of forward_lower's comm_dict (an int64 tensor of one element); the other entries that
// DeePMD-kit's graph asserts (send_list, send_proc, recv_proc, send_num, recv_num) are empty.
// These names mean something only to the plugin's own border_op.

#pragma once

#include <cstdint>

namespace llzo_dp {

struct GhostExchange {
  void *owner;  // the pair style
  // `rows`: [nrows * width] doubles, one row per LAMMPS atom (owned atoms, then ghosts, in
  // LAMMPS's order). Forward: every ghost row becomes its owner's row. Reverse: every ghost row
  // is added to its owner's row, then zeroed. Collective over the ranks; throws on misuse.
  void (*exchange)(void *owner, double *rows, int64_t nrows, int64_t width, bool reverse);
};

}  // namespace llzo_dp
