// deepmd::tabulate_fusion_se_t: the tabulated embedding of a compressed se_e3 model, with
// its gradient. For a centre atom i and a pair (j, l) of its neighbours from two type
// blocks, se_e3 embeds the product of their env rows x_ijl = R_ij . R_il and sums
// D_i[k] = sum_jl x_ijl G_k(x_ijl). The op receives x twice, flattened (em_x) and as
// [nloc, nnei_j, nnei_l] (em, for the shape), and returns the two parts of dD/dx separately
// as DeePMD-kit does: x G'(x) for em_x and G(x) for em; the graph adds them, both being
// views of the same tensor. The grid is angular (tabulate_grid.h). First derivative only;
// CUDA inputs are computed on the CPU and moved back.

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
void forward_kernel(T *out, const T *table, const Grid &g, const T *x, int64_t nloc, int64_t pairs,
                    int64_t m) {
  at::parallel_for(0, nloc, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      T *o = out + i * m;
      for (int64_t k = 0; k < m; k++) o[k] = 0;
      for (int64_t p = 0; p < pairs; p++) {
        const T xx = x[i * pairs + p];
        T t;
        const T *c = table + tabulate::locate(g, xx, t) * m * 6;
        for (int64_t k = 0; k < m; k++) o[k] += tabulate::poly5(c + 6 * k, t) * xx;
      }
    }
  });
}

template <typename T>
void backward_kernel(T *d_x, T *d_em, const T *table, const Grid &g, const T *x, const T *dy,
                     int64_t nloc, int64_t pairs, int64_t m) {
  at::parallel_for(0, nloc, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const T *gy = dy + i * m;
      for (int64_t p = 0; p < pairs; p++) {
        const T xx = x[i * pairs + p];
        T t;
        const T *c = table + tabulate::locate(g, xx, t) * m * 6;
        T slope = 0, value = 0;
        for (int64_t k = 0; k < m; k++) {
          slope += tabulate::poly5_slope(c + 6 * k, t) * xx * gy[k];
          value += tabulate::poly5(c + 6 * k, t) * gy[k];
        }
        d_x[i * pairs + p] = slope;
        d_em[i * pairs + p] = value;
      }
    }
  });
}

class TabulateFusionSeT : public torch::autograd::Function<TabulateFusionSeT> {
 public:
  static variable_list forward(AutogradContext *ctx, const Tensor &table, const Tensor &info,
                               const Tensor &em_x, const Tensor &em, int64_t m) {
    TORCH_CHECK(em.dim() == 3, "tabulate_fusion_se_t: em must be [nloc, nnei_i, nnei_j]");
    TORCH_CHECK(em_x.numel() == em.numel(), "tabulate_fusion_se_t: em_x and em must hold the same values");
    TORCH_CHECK(table.dim() == 2 && table.size(1) == 6 * m,
                "tabulate_fusion_se_t: table rows must hold 6 x last_layer_size");
    TORCH_CHECK(table.scalar_type() == em.scalar_type() && em_x.scalar_type() == em.scalar_type(),
                "tabulate_fusion_se_t: table, em_x and em must share one floating type");
    const auto device = em.device();
    auto tab = table.to(torch::kCPU).contiguous();
    auto x = em_x.to(torch::kCPU).contiguous();
    const int64_t nloc = em.size(0), pairs = em.size(1) * em.size(2);
    const Grid g = tabulate::grid_of(info, true);
    auto out = torch::empty({nloc, m}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tabulate_fusion_se_t", [&] {
      forward_kernel<scalar_t>(out.data_ptr<scalar_t>(), tab.data_ptr<scalar_t>(), g,
                               x.data_ptr<scalar_t>(), nloc, pairs, m);
    });
    ctx->save_for_backward({tab, info, x});
    ctx->saved_data["m"] = m;
    ctx->saved_data["em_sizes"] = em.sizes().vec();
    return {out.to(device)};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &tab = saved[0], &x = saved[2];
    const int64_t m = ctx->saved_data["m"].toInt();
    const auto em_sizes = ctx->saved_data["em_sizes"].toIntVector();
    const Grid g = tabulate::grid_of(saved[1], true);
    const auto device = grads[0].device();
    auto dy = grads[0].to(torch::kCPU, x.scalar_type()).contiguous();
    const int64_t nloc = em_sizes[0], pairs = em_sizes[1] * em_sizes[2];
    auto d_x = torch::empty_like(x);
    auto d_em = torch::empty(em_sizes, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tabulate_fusion_se_t_grad", [&] {
      backward_kernel<scalar_t>(d_x.data_ptr<scalar_t>(), d_em.data_ptr<scalar_t>(),
                                tab.data_ptr<scalar_t>(), g, x.data_ptr<scalar_t>(),
                                dy.data_ptr<scalar_t>(), nloc, pairs, m);
    });
    return {Tensor(), Tensor(), d_x.to(device), d_em.to(device), Tensor()};
  }
};

}  // namespace

std::vector<Tensor> tabulate_fusion_se_t(const Tensor &table, const Tensor &table_info,
                                         const Tensor &em_x, const Tensor &em,
                                         int64_t last_layer_size) {
  return TabulateFusionSeT::apply(table, table_info, em_x, em, last_layer_size);
}

}  // namespace llzo_dp
