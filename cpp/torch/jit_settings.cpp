// TorchScript executor settings that tch does not expose as get/set pairs.

#include "extensions.h"

#include <torch/csrc/jit/runtime/graph_executor.h>

// Sets the graph-executor optimisation flag of the calling thread; returns the old value,
// so the core can switch it for its own calls and leave other users of libtorch in the
// same process (pair_style deepmd) as they were.
bool llzo_dp::torch_ext::set_graph_executor_optimize(bool on)
{
  const bool old = torch::jit::getGraphExecutorOptimize();
  torch::jit::setGraphExecutorOptimize(on);
  return old;
}
