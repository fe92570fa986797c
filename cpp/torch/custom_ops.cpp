// Registers DeePMD-kit's table operators so that frozen DeePMD-kit models, compressed or not,
// load and run without DeePMD-kit's op library: tabulate_fusion_se_a, _se_atten, _se_r, _se_t
// and _se_t_tebd with their kernels and gradients (tabulate_fusion*.cpp); uncompressed models
// name them in their graphs too, but call them only once compressed. And border_op with its
// backward (border_op.cpp), which message-passing models call between layers on several MPI
// ranks. The schemas are DeePMD-kit 3.2's (source/op/pt/tabulate_multi_device.cc, comm.cc).

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
std::vector<at::Tensor> border_op(const at::Tensor &sendlist, const at::Tensor &sendproc,
                                  const at::Tensor &recvproc, const at::Tensor &sendnum,
                                  const at::Tensor &recvnum, const at::Tensor &g1,
                                  const at::Tensor &communicator, const at::Tensor &nlocal,
                                  const at::Tensor &nghost);
at::Tensor border_op_backward(const at::Tensor &sendlist, const at::Tensor &sendproc,
                              const at::Tensor &recvproc, const at::Tensor &sendnum,
                              const at::Tensor &recvnum, const at::Tensor &grad_g1,
                              const at::Tensor &communicator, const at::Tensor &nlocal,
                              const at::Tensor &nghost);
}

namespace {

bool schema_exists(const char *name) {
  return c10::Dispatcher::singleton().findSchema({name, ""}).has_value();
}

std::once_flag once;
std::unique_ptr<torch::Library> library;  // lives as long as the process
std::string failure;
bool registered = false;  // false when DeePMD-kit's op library owns the operators

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
          &llzo_dp::border_op);
      library->def(
          "border_op_backward(Tensor sendlist, Tensor sendproc, Tensor recvproc, Tensor sendnum, "
          "Tensor recvnum, Tensor grad_g1, Tensor communicator, Tensor nlocal, Tensor nghost) -> Tensor",
          &llzo_dp::border_op_backward);
      registered = true;
    } catch (const std::exception &e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw std::runtime_error(failure);
}

bool llzo_dp::torch_ext::plugin_provides_border_op() {
  register_deepmd_ops();
  return registered;
}
