// Registers DeePMD-kit's table operators so that frozen DeePMD-kit models, compressed or not,
// load and run without DeePMD-kit's op library: tabulate_fusion_se_a, _se_atten, _se_r, _se_t
// and _se_t_tebd with their kernels and gradients (tabulate_fusion*.cpp); uncompressed models
// name them in their graphs too, but call them only once compressed. And border_op's schema,
// whose kernel refuses (below). The schemas are DeePMD-kit 3.2's
// (source/op/pt/tabulate_multi_device.cc).

#include "extensions.h"
#include "llzo_dp/src/ffi/torch.rs.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <exception>
#include <stdexcept>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace llzo_dp {
std::vector<at::Tensor> tabulate_fusion_se_a(const at::Tensor &table, const at::Tensor &table_info,
                                             const at::Tensor &em_x, const at::Tensor &em,
                                             int64_t last_layer_size);
std::vector<at::Tensor> tabulate_fusion_se_atten(const at::Tensor &table,
                                                 const at::Tensor &table_info,
                                                 const at::Tensor &em_x, const at::Tensor &em,
                                                 const at::Tensor &two_embed,
                                                 int64_t last_layer_size, bool is_sorted);
std::vector<at::Tensor> tabulate_fusion_se_r(const at::Tensor &table, const at::Tensor &table_info,
                                             const at::Tensor &em, int64_t last_layer_size);
std::vector<at::Tensor> tabulate_fusion_se_t(const at::Tensor &table, const at::Tensor &table_info,
                                             const at::Tensor &em_x, const at::Tensor &em,
                                             int64_t last_layer_size);
std::vector<at::Tensor> tabulate_fusion_se_t_tebd(const at::Tensor &table,
                                                  const at::Tensor &table_info,
                                                  const at::Tensor &em_x, const at::Tensor &em,
                                                  int64_t last_layer_size);
}

namespace {

// Message-passing models (DPA-2, DPA-3) name border_op in their graph and call it only when
// given a comm_dict; llzo_dp gives them the ghost-to-local `mapping` instead, which covers
// one MPI rank (src/neighbors.rs, ghost_images).
[[noreturn]] void refuse_border_op() {
  TORCH_CHECK(false, "deepmd::border_op (exchanging a message-passing model's features between "
              "MPI ranks) is not provided by pair_style llzo_dp: run the model on one rank");
}

std::vector<at::Tensor> border_op_unsupported(const at::Tensor &, const at::Tensor &,
                                              const at::Tensor &, const at::Tensor &,
                                              const at::Tensor &, const at::Tensor &,
                                              const at::Tensor &, const at::Tensor &,
                                              const at::Tensor &) {
  refuse_border_op();
}

at::Tensor border_op_backward_unsupported(const at::Tensor &, const at::Tensor &,
                                          const at::Tensor &, const at::Tensor &,
                                          const at::Tensor &, const at::Tensor &,
                                          const at::Tensor &, const at::Tensor &,
                                          const at::Tensor &) {
  refuse_border_op();
}

bool schema_exists(const char *name) {
  return c10::Dispatcher::singleton().findSchema({name, ""}).has_value();
}

std::once_flag once;
std::unique_ptr<torch::Library> library;  // lives as long as the process
std::string failure;

}  // namespace

// Throws (once per call) when the registration failed.
void llzo_dp::torch_ext::register_deepmd_ops() {
  std::call_once(once, [] {
    try {
      // DeePMD-kit's own op library (pair_style deepmd in the same run) may own them.
      if (schema_exists("deepmd::tabulate_fusion_se_a")) return;
      library = std::make_unique<torch::Library>(torch::Library::FRAGMENT, "deepmd",
                                                 std::nullopt, __FILE__, __LINE__);
      library->def(
          "tabulate_fusion_se_a(Tensor table, Tensor table_info, Tensor em_x, Tensor em, "
          "int last_layer_size) -> Tensor[]",
          &llzo_dp::tabulate_fusion_se_a);
      library->def(
          "tabulate_fusion_se_t(Tensor table, Tensor table_info, Tensor em_x, Tensor em, "
          "int last_layer_size) -> Tensor[]",
          &llzo_dp::tabulate_fusion_se_t);
      library->def(
          "tabulate_fusion_se_r(Tensor table, Tensor table_info, Tensor em, int last_layer_size) "
          "-> Tensor[]",
          &llzo_dp::tabulate_fusion_se_r);
      library->def(
          "tabulate_fusion_se_atten(Tensor table, Tensor table_info, Tensor em_x, Tensor em, "
          "Tensor two_embed, int last_layer_size, bool is_sorted) -> Tensor[]",
          &llzo_dp::tabulate_fusion_se_atten);
      library->def(
          "tabulate_fusion_se_t_tebd(Tensor table, Tensor table_info, Tensor em_x, Tensor em, "
          "int last_layer_size) -> Tensor[]",
          &llzo_dp::tabulate_fusion_se_t_tebd);
      library->def(
          "border_op(Tensor sendlist, Tensor sendproc, Tensor recvproc, Tensor sendnum, "
          "Tensor recvnum, Tensor g1, Tensor communicator, Tensor nlocal, Tensor nghost) -> Tensor[]",
          &border_op_unsupported);
      library->def(
          "border_op_backward(Tensor sendlist, Tensor sendproc, Tensor recvproc, Tensor sendnum, "
          "Tensor recvnum, Tensor grad_g1, Tensor communicator, Tensor nlocal, Tensor nghost) -> Tensor",
          &border_op_backward_unsupported);
    } catch (const std::exception &e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw std::runtime_error(failure);
}
