// The libtorch C++ functions that src/ffi/torch.rs calls through its cxx bridge.

#pragma once

#include "rust/cxx.h"

namespace llzo_dp {
namespace torch_ext {

struct NamedTensor;

void register_deepmd_ops();
bool plugin_provides_border_op();
rust::Vec<NamedTensor> module_tensors(rust::Str path);
bool set_graph_executor_optimize(bool on);

}  // namespace torch_ext
}  // namespace llzo_dp
