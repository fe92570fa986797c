// deepmd::tabulate_fusion_se_r: the tabulated embedding of a compressed se_e2_r model, with
// its gradient. se_e2_r has no angular rows: for each centre atom i and neighbour slot j the
// op returns the embedding itself, out[i][j][k] = G_k(s_ij), and the descriptor averages it
// afterwards in the graph. The table and its grid are se_e2_a's (tabulate_grid.h, radial).
// Padded slots are evaluated too (their s is a constant; the graph masks nothing here, as in
// DeePMD-kit). First derivative only; CUDA inputs are computed on the CPU and moved back.

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

class TabulateFusionSeR : public torch::autograd::Function<TabulateFusionSeR> {
 public:
  static variable_list forward(AutogradContext *ctx, const Tensor &table, const Tensor &info,
                               const Tensor &em, int64_t m) {
    TORCH_CHECK(em.dim() == 2, "tabulate_fusion_se_r: em must be [nloc, nnei]");
    TORCH_CHECK(table.dim() == 2 && table.size(1) == 6 * m,
                "tabulate_fusion_se_r: table rows must hold 6 x last_layer_size");
    TORCH_CHECK(table.scalar_type() == em.scalar_type(),
                "tabulate_fusion_se_r: table and em must share one floating type");
    const auto device = em.device();
    auto tab = table.to(torch::kCPU).contiguous();
    auto e = em.to(torch::kCPU).contiguous();
    const Grid g = tabulate::grid_of(info, false);
    auto out = torch::empty({e.size(0), e.size(1), m}, e.options());
    AT_DISPATCH_FLOATING_TYPES(e.scalar_type(), "tabulate_fusion_se_r", [&] {
      forward_kernel<scalar_t>(out.data_ptr<scalar_t>(), tab.data_ptr<scalar_t>(), g,
                               e.data_ptr<scalar_t>(), e.numel(), m);
    });
    ctx->save_for_backward({tab, info, e});
    ctx->saved_data["m"] = m;
    return {out.to(device)};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &tab = saved[0], &e = saved[2];
    const int64_t m = ctx->saved_data["m"].toInt();
    const Grid g = tabulate::grid_of(saved[1], false);
    const auto device = grads[0].device();
    auto dy = grads[0].to(torch::kCPU, e.scalar_type()).contiguous();
    auto d_e = torch::empty_like(e);
    AT_DISPATCH_FLOATING_TYPES(e.scalar_type(), "tabulate_fusion_se_r_grad", [&] {
      backward_kernel<scalar_t>(d_e.data_ptr<scalar_t>(), tab.data_ptr<scalar_t>(), g,
                                e.data_ptr<scalar_t>(), dy.data_ptr<scalar_t>(), e.numel(), m);
    });
    return {Tensor(), Tensor(), d_e.to(device), Tensor()};
  }
};

}  // namespace

std::vector<Tensor> tabulate_fusion_se_r(const Tensor &table, const Tensor &table_info,
                                         const Tensor &em, int64_t last_layer_size) {
  return TabulateFusionSeR::apply(table, table_info, em, last_layer_size);
}

}  // namespace llzo_dp
