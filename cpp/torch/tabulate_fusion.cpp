// deepmd::tabulate_fusion_se_a: the tabulated embedding of a compressed se_e2_a model
// ('dp --pt compress'), with its gradient, so compressed models run without DeePMD-kit.
//
// For each centre atom i and its neighbours j of one type block, the uncompressed model
// evaluates the embedding net G(s_ij) (s = first column of the environment row R_ij) and
// contracts it with the row: D_i[c][k] = sum_j R_ij[c] G_k(s_ij), c = 0..3, k = 0..M-1.
// Compression replaces G_k by quintic polynomials on a grid of s (tabulate_grid.h).
//
// Neighbour rows are sorted with the padding last, and every padded row of a block is the
// same constant row, s equal to the block's last s and the direction part (r[1..3]) zero.
// Like DeePMD-kit, the loop stops at the first such row and counts it (nnei - j) times; the
// gradient of those rows is left zero (padding does not depend on positions). A full block
// (as many neighbours as sel) ends in a real neighbour, and real neighbours at equal distances
// share its s: the zero direction tells padding apart.
//
// Only the first derivative is provided (energy -> forces and virial); training through a
// compressed model is not supported. CUDA inputs are computed on the CPU and moved back.

#include "tabulate_grid.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace llzo_dp {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using tabulate::Grid;
using tabulate::locate;
using tabulate::poly5;
using tabulate::poly5_slope;

// A padded row: the block's last s, and no direction.
template <typename T>
inline bool is_padding(T s, T pad, const T *r) {
  return s == pad && r[1] == 0 && r[2] == 0 && r[3] == 0;
}

template <typename T>
void forward_kernel(T *out, const T *table, const Grid &g, const T *em_x, const T *em,
                    int64_t nloc, int64_t nnei, int64_t m) {
  at::parallel_for(0, nloc, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      T *o = out + i * 4 * m;
      for (int64_t k = 0; k < 4 * m; k++) o[k] = 0;
      const T pad = em_x[i * nnei + nnei - 1];
      for (int64_t j = 0; j < nnei; j++) {
        const T *r = em + (i * nnei + j) * 4;
        T t;
        const T s = em_x[i * nnei + j];
        const bool rest = is_padding(s, pad, r);  // this and every following row are the same
        const T w = rest ? static_cast<T>(nnei - j) : T(1);
        const int64_t idx = locate(g, s, t);
        const T *c = table + idx * m * 6;
        const T r0 = w * r[0], r1 = w * r[1], r2 = w * r[2], r3 = w * r[3];
        for (int64_t k = 0; k < m; k++) {
          const T *a = c + 6 * k;
          const T v = poly5(a, t);
          o[k] += v * r0;
          o[m + k] += v * r1;
          o[2 * m + k] += v * r2;
          o[3 * m + k] += v * r3;
        }
        if (rest) break;
      }
    }
  });
}

template <typename T>
void backward_kernel(T *d_em_x, T *d_em, const T *table, const Grid &g, const T *em_x,
                     const T *em, const T *dy, int64_t nloc, int64_t nnei, int64_t m) {
  at::parallel_for(0, nloc, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const T *gy = dy + i * 4 * m;
      const T pad = em_x[i * nnei + nnei - 1];
      for (int64_t j = 0; j < nnei; j++) {
        const T *r = em + (i * nnei + j) * 4;
        T *dr = d_em + (i * nnei + j) * 4;
        T t;
        const T s = em_x[i * nnei + j];
        const int64_t idx = locate(g, s, t);
        const T *c = table + idx * m * 6;
        T ds = 0, dr0 = 0, dr1 = 0, dr2 = 0, dr3 = 0;
        for (int64_t k = 0; k < m; k++) {
          const T *a = c + 6 * k;
          const T v = poly5(a, t);
          const T dv = poly5_slope(a, t);
          const T y0 = gy[k], y1 = gy[m + k], y2 = gy[2 * m + k], y3 = gy[3 * m + k];
          ds += dv * (r[0] * y0 + r[1] * y1 + r[2] * y2 + r[3] * y3);
          dr0 += v * y0;
          dr1 += v * y1;
          dr2 += v * y2;
          dr3 += v * y3;
        }
        d_em_x[i * nnei + j] = ds;
        dr[0] = dr0;
        dr[1] = dr1;
        dr[2] = dr2;
        dr[3] = dr3;
        if (is_padding(s, pad, r)) break;  // padding: gradient stays zero
      }
    }
  });
}

Tensor forward_cpu(const Tensor &table, const Grid &g, const Tensor &em_x, const Tensor &em,
                   int64_t m) {
  const int64_t nloc = em.size(0), nnei = em.size(1);
  TORCH_CHECK(em.dim() == 3 && em.size(2) == 4, "tabulate_fusion_se_a: em must be [nloc, nnei, 4]");
  TORCH_CHECK(em_x.numel() == nloc * nnei, "tabulate_fusion_se_a: em_x must have nloc*nnei values");
  TORCH_CHECK(table.size(-1) == 6 * m, "tabulate_fusion_se_a: table rows must hold 6 x last_layer_size");
  auto out = torch::empty({nloc, 4, m}, em.options());
  AT_DISPATCH_FLOATING_TYPES(em.scalar_type(), "tabulate_fusion_se_a", [&] {
    forward_kernel<scalar_t>(out.data_ptr<scalar_t>(), table.data_ptr<scalar_t>(), g,
                             em_x.data_ptr<scalar_t>(), em.data_ptr<scalar_t>(), nloc, nnei, m);
  });
  return out;
}

class TabulateFusionSeA : public torch::autograd::Function<TabulateFusionSeA> {
 public:
  static variable_list forward(AutogradContext *ctx, const Tensor &table, const Tensor &info,
                               const Tensor &em_x, const Tensor &em, int64_t m) {
    const auto device = em.device();
    auto tab = table.to(torch::kCPU).contiguous();
    auto x = em_x.to(torch::kCPU).contiguous();
    auto e = em.to(torch::kCPU).contiguous();
    TORCH_CHECK(tab.scalar_type() == e.scalar_type() && x.scalar_type() == e.scalar_type(),
                "tabulate_fusion_se_a: table, em_x and em must share one floating type");
    const Grid g = tabulate::grid_of(info, false);
    auto out = forward_cpu(tab, g, x, e, m);
    ctx->save_for_backward({tab, info, x, e});
    ctx->saved_data["m"] = m;
    return {out.to(device)};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &tab = saved[0], &x = saved[2], &e = saved[3];
    const int64_t m = ctx->saved_data["m"].toInt();
    const Grid g = tabulate::grid_of(saved[1], false);
    const auto device = grads[0].device();
    auto dy = grads[0].to(torch::kCPU, e.scalar_type()).contiguous();
    const int64_t nloc = e.size(0), nnei = e.size(1);
    auto d_x = torch::zeros_like(x);
    auto d_e = torch::zeros_like(e);
    AT_DISPATCH_FLOATING_TYPES(e.scalar_type(), "tabulate_fusion_se_a_grad", [&] {
      backward_kernel<scalar_t>(d_x.data_ptr<scalar_t>(), d_e.data_ptr<scalar_t>(),
                                tab.data_ptr<scalar_t>(), g, x.data_ptr<scalar_t>(),
                                e.data_ptr<scalar_t>(), dy.data_ptr<scalar_t>(), nloc, nnei, m);
    });
    return {Tensor(), Tensor(), d_x.to(device), d_e.to(device), Tensor()};
  }
};

}  // namespace

std::vector<Tensor> tabulate_fusion_se_a(const Tensor &table, const Tensor &table_info,
                                         const Tensor &em_x, const Tensor &em,
                                         int64_t last_layer_size) {
  return TabulateFusionSeA::apply(table, table_info, em_x, em, last_layer_size);
}

}  // namespace llzo_dp
