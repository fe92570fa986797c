// deepmd::tabulate_fusion_se_r and _se_t_tebd: tabulated embeddings returned element by
// element, with their gradients. For each input x the op returns the embedding itself,
// out[..., k] = G_k(x), and the graph contracts it afterwards:
// - se_e2_r (compressed): x = s_ij per centre atom and neighbour slot, [nloc, nnei] -> [nloc,
//   nnei, M], on se_e2_a's radial grid;
// - se_e3_tebd (DPA-2's three-body repinit, compressed): x = R_ij . R_ik for pairs of
//   neighbours, given flattened (em_x) and as [nloc, nnei, nnei] (em, for the shape) ->
//   [nloc, nnei, nnei, M], on the angular grid (tabulate_grid.h); only em_x gets a gradient.
// Padded slots are evaluated too, as in DeePMD-kit. First derivative only; CUDA inputs are
// computed on the CPU and moved back.

#include "tabulate_grid.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace llzo_dp {
namespace {

using tabulate::Grid;
using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

template <typename T>
void forward_kernel(T *out, const T *table, const Grid &g, const T *em, int64_t rows, int64_t m) {
  at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      T t;
      const T *c = table + tabulate::locate(g, em[r], t) * m * 6;
      for (int64_t k = 0; k < m; k++) out[r * m + k] = tabulate::poly5(c + 6 * k, t);
    }
  });
}

template <typename T>
void backward_kernel(T *d_em, const T *table, const Grid &g, const T *em, const T *dy, int64_t rows,
                     int64_t m) {
  at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      T t;
      const T *c = table + tabulate::locate(g, em[r], t) * m * 6;
      T ds = 0;
      for (int64_t k = 0; k < m; k++) ds += tabulate::poly5_slope(c + 6 * k, t) * dy[r * m + k];
      d_em[r] = ds;
    }
  });
}

// `x` holds the inputs; the output has `shape` + [M].
class TabulateElementwise : public torch::autograd::Function<TabulateElementwise> {
 public:
  static variable_list forward(AutogradContext *ctx, const Tensor &table, const Tensor &info,
                               const Tensor &x, std::vector<int64_t> shape, int64_t m, bool angular) {
    TORCH_CHECK(table.dim() == 2 && table.size(1) == 6 * m,
                "tabulate_fusion: table rows must hold 6 x last_layer_size");
    TORCH_CHECK(table.scalar_type() == x.scalar_type(), "tabulate_fusion: table and input must share one floating type");
    const auto device = x.device();
    auto tab = table.to(torch::kCPU).contiguous();
    auto e = x.to(torch::kCPU).contiguous();
    const Grid g = tabulate::grid_of(info, angular);
    shape.push_back(m);
    auto out = torch::empty(shape, e.options());
    AT_DISPATCH_FLOATING_TYPES(e.scalar_type(), "tabulate_fusion_elementwise", [&] {
      forward_kernel<scalar_t>(out.data_ptr<scalar_t>(), tab.data_ptr<scalar_t>(), g,
                               e.data_ptr<scalar_t>(), e.numel(), m);
    });
    ctx->save_for_backward({tab, info, e});
    ctx->saved_data["m"] = m;
    ctx->saved_data["angular"] = angular;
    return {out.to(device)};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &tab = saved[0], &e = saved[2];
    const int64_t m = ctx->saved_data["m"].toInt();
    const Grid g = tabulate::grid_of(saved[1], ctx->saved_data["angular"].toBool());
    const auto device = grads[0].device();
    auto dy = grads[0].to(torch::kCPU, e.scalar_type()).contiguous();
    auto d_e = torch::empty_like(e);
    AT_DISPATCH_FLOATING_TYPES(e.scalar_type(), "tabulate_fusion_elementwise_grad", [&] {
      backward_kernel<scalar_t>(d_e.data_ptr<scalar_t>(), tab.data_ptr<scalar_t>(), g,
                                e.data_ptr<scalar_t>(), dy.data_ptr<scalar_t>(), e.numel(), m);
    });
    return {Tensor(), Tensor(), d_e.to(device), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

std::vector<Tensor> tabulate_fusion_se_r(const Tensor &table, const Tensor &table_info,
                                         const Tensor &em, int64_t last_layer_size) {
  TORCH_CHECK(em.dim() == 2, "tabulate_fusion_se_r: em must be [nloc, nnei]");
  return TabulateElementwise::apply(table, table_info, em, em.sizes().vec(), last_layer_size, false);
}

std::vector<Tensor> tabulate_fusion_se_t_tebd(const Tensor &table, const Tensor &table_info,
                                              const Tensor &em_x, const Tensor &em,
                                              int64_t last_layer_size) {
  TORCH_CHECK(em.dim() == 3, "tabulate_fusion_se_t_tebd: em must be [nloc, nnei_i, nnei_j]");
  TORCH_CHECK(em_x.numel() == em.numel(), "tabulate_fusion_se_t_tebd: em_x and em must hold the same values");
  return TabulateElementwise::apply(table, table_info, em_x, em.sizes().vec(), last_layer_size, true);
}

}  // namespace llzo_dp
