// TorchScript executor settings that tch does not expose as get/set pairs.

#include <torch/csrc/jit/runtime/graph_executor.h>

// Sets the graph-executor optimisation flag of the calling thread; returns the old value,
// so the core can switch it for its own calls and leave other users of libtorch in the
// same process (pair_style deepmd) as they were.
extern "C" bool llzo_dp_set_graph_executor_optimize(bool on)
{
  const bool old = torch::jit::getGraphExecutorOptimize();
  torch::jit::setGraphExecutorOptimize(on);
  return old;
}
