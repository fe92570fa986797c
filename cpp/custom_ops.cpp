// Registers the TorchScript schema of deepmd::tabulate_fusion_se_a so that frozen
// DeePMD-kit models load without DeePMD-kit's op library. Only compressed models call
// it; until the tabulated kernel is implemented, a call raises a clear error.

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::vector<at::Tensor> tabulate_fusion_se_a_missing(const at::Tensor &, const at::Tensor &,
                                                     const at::Tensor &, const at::Tensor &,
                                                     int64_t) {
  TORCH_CHECK(false,
              "this model is compressed ('dp --pt compress'): its tabulated embedding "
              "(deepmd::tabulate_fusion_se_a) is not implemented in llzo_dp yet; "
              "use the uncompressed frozen model");
}

bool schema_exists(const char *name) {
  return c10::Dispatcher::singleton().findSchema({name, ""}).has_value();
}

std::once_flag once;
std::unique_ptr<torch::Library> library;  // lives as long as the process
std::string failure;

}  // namespace

extern "C" int llzo_dp_register_deepmd_ops(char *message, size_t capacity) {
  std::call_once(once, [] {
    try {
      // DeePMD-kit's own op library (pair_style deepmd in the same run) may own it.
      if (schema_exists("deepmd::tabulate_fusion_se_a")) return;
      library = std::make_unique<torch::Library>(torch::Library::FRAGMENT, "deepmd",
                                                 std::nullopt, __FILE__, __LINE__);
      library->def(
          "tabulate_fusion_se_a(Tensor table, Tensor table_info, Tensor em_x, Tensor em, "
          "int last_layer_size) -> Tensor[]",
          &tabulate_fusion_se_a_missing);
    } catch (const std::exception &e) {
      failure = e.what();
    }
  });
  if (failure.empty()) return 0;
  std::snprintf(message, capacity, "%s", failure.c_str());
  return 1;
}
