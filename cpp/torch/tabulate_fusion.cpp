// deepmd::tabulate_fusion_se_a and _se_atten: the tabulated embedding of a compressed
// se_e2_a or DPA-1 (se_atten, se_atten_v2) model ('dp --pt compress'), with its gradient, so
// compressed models run without DeePMD-kit.
//
// For each centre atom i and its neighbours j of one type block, the uncompressed model
// evaluates the embedding net G(s_ij) (s = first column of the environment row R_ij) and
// contracts it with the row: D_i[c][k] = sum_j R_ij[c] G_k(s_ij), c = 0..3, k = 0..M-1.
// Compression replaces G_k by quintic polynomials on a grid of s (tabulate_grid.h). DPA-1
// multiplies each neighbour's embedding by its type part, G_k(s_ij) (1 + T_ijk) (`two_embed`,
// [nloc * nnei, M]), over one block of all neighbours sorted by distance (`is_sorted`).
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

// One call's inputs: rows of nnei neighbours for nloc atoms, M outputs per row.
template <typename T>
struct Rows {
  const T *table, *em_x, *em;
  const T *two;  // DPA-1's type part, or null (se_e2_a)
  int64_t nloc, nnei, m;
  bool sorted;   // padding last: the loop may stop at the first padded row
};

template <typename T>
void forward_kernel(T *out, const Grid &g, const Rows<T> &q) {
  const int64_t nnei = q.nnei, m = q.m;
  at::parallel_for(0, q.nloc, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      T *o = out + i * 4 * m;
      for (int64_t k = 0; k < 4 * m; k++) o[k] = 0;
      const T pad = q.em_x[i * nnei + nnei - 1];
      for (int64_t j = 0; j < nnei; j++) {
        const T *r = q.em + (i * nnei + j) * 4;
        const T *tw = q.two ? q.two + (i * nnei + j) * m : nullptr;
        T t;
        const T s = q.em_x[i * nnei + j];
        const bool rest = q.sorted && is_padding(s, pad, r);  // this and every following row are the same
        const T w = rest ? static_cast<T>(nnei - j) : T(1);
        const T *c = q.table + locate(g, s, t) * m * 6;
        const T r0 = w * r[0], r1 = w * r[1], r2 = w * r[2], r3 = w * r[3];
        for (int64_t k = 0; k < m; k++) {
          T v = poly5(c + 6 * k, t);
          if (tw) v = v * tw[k] + v;
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

// Gradients of sum(dy * out) with respect to em_x, em and (DPA-1) two_embed; padded rows
// keep zero gradients.
template <typename T>
void backward_kernel(T *d_em_x, T *d_em, T *d_two, const Grid &g, const Rows<T> &q, const T *dy) {
  const int64_t nnei = q.nnei, m = q.m;
  at::parallel_for(0, q.nloc, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const T *gy = dy + i * 4 * m;
      const T pad = q.em_x[i * nnei + nnei - 1];
      for (int64_t j = 0; j < nnei; j++) {
        const T *r = q.em + (i * nnei + j) * 4;
        const T s = q.em_x[i * nnei + j];
        if (q.sorted && is_padding(s, pad, r)) break;
        const T *tw = q.two ? q.two + (i * nnei + j) * m : nullptr;
        T *dr = d_em + (i * nnei + j) * 4;
        T t;
        const T *c = q.table + locate(g, s, t) * m * 6;
        T ds = 0, dr0 = 0, dr1 = 0, dr2 = 0, dr3 = 0;
        for (int64_t k = 0; k < m; k++) {
          T v = poly5(c + 6 * k, t), dv = poly5_slope(c + 6 * k, t);
          const T y0 = gy[k], y1 = gy[m + k], y2 = gy[2 * m + k], y3 = gy[3 * m + k];
          const T ry = r[0] * y0 + r[1] * y1 + r[2] * y2 + r[3] * y3;
          if (tw) {
            d_two[(i * nnei + j) * m + k] = v * ry;
            v += v * tw[k];
            dv += dv * tw[k];
          }
          ds += dv * ry;
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
      }
    }
  });
}

// The shared forward and backward of both operators; `two` is empty for se_e2_a (autograd
// functions take defined tensors only).
class TabulateFusion : public torch::autograd::Function<TabulateFusion> {
 public:
  static variable_list forward(AutogradContext *ctx, const Tensor &table, const Tensor &info,
                               const Tensor &em_x, const Tensor &em, const Tensor &two, int64_t m,
                               bool sorted) {
    TORCH_CHECK(em.dim() == 3 && em.size(2) == 4, "tabulate_fusion: em must be [nloc, nnei, 4]");
    const int64_t nloc = em.size(0), nnei = em.size(1);
    TORCH_CHECK(em_x.numel() == nloc * nnei, "tabulate_fusion: em_x must have nloc*nnei values");
    TORCH_CHECK(table.dim() == 2 && table.size(1) == 6 * m,
                "tabulate_fusion: table rows must hold 6 x last_layer_size");
    const bool has_two = two.numel() > 0;
    TORCH_CHECK(!has_two || two.numel() == nloc * nnei * m,
                "tabulate_fusion_se_atten: two_embed must hold nloc*nnei x last_layer_size values");
    TORCH_CHECK(table.scalar_type() == em.scalar_type() && em_x.scalar_type() == em.scalar_type() &&
                    (!has_two || two.scalar_type() == em.scalar_type()),
                "tabulate_fusion: table, em_x, em (and two_embed) must share one floating type");
    const auto device = em.device();
    auto tab = table.to(torch::kCPU).contiguous();
    auto x = em_x.to(torch::kCPU).contiguous();
    auto e = em.to(torch::kCPU).contiguous();
    auto tw = two.to(torch::kCPU).contiguous();
    const Grid g = tabulate::grid_of(info, false);
    auto out = torch::empty({nloc, 4, m}, e.options());
    AT_DISPATCH_FLOATING_TYPES(e.scalar_type(), "tabulate_fusion", [&] {
      const Rows<scalar_t> q{tab.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), e.data_ptr<scalar_t>(),
                             has_two ? tw.data_ptr<scalar_t>() : nullptr, nloc, nnei, m, sorted};
      forward_kernel<scalar_t>(out.data_ptr<scalar_t>(), g, q);
    });
    ctx->save_for_backward({tab, info, x, e, tw});
    ctx->saved_data["m"] = m;
    ctx->saved_data["sorted"] = sorted;
    return {out.to(device)};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor &tab = saved[0], &x = saved[2], &e = saved[3], &tw = saved[4];
    const int64_t m = ctx->saved_data["m"].toInt();
    const bool sorted = ctx->saved_data["sorted"].toBool();
    const Grid g = tabulate::grid_of(saved[1], false);
    const auto device = grads[0].device();
    auto dy = grads[0].to(torch::kCPU, e.scalar_type()).contiguous();
    const int64_t nloc = e.size(0), nnei = e.size(1);
    auto d_x = torch::zeros_like(x);
    auto d_e = torch::zeros_like(e);
    const bool has_two = tw.numel() > 0;
    auto d_tw = torch::zeros_like(tw);
    AT_DISPATCH_FLOATING_TYPES(e.scalar_type(), "tabulate_fusion_grad", [&] {
      const Rows<scalar_t> q{tab.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), e.data_ptr<scalar_t>(),
                             has_two ? tw.data_ptr<scalar_t>() : nullptr, nloc, nnei, m, sorted};
      backward_kernel<scalar_t>(d_x.data_ptr<scalar_t>(), d_e.data_ptr<scalar_t>(),
                                has_two ? d_tw.data_ptr<scalar_t>() : nullptr, g, q,
                                dy.data_ptr<scalar_t>());
    });
    return {Tensor(), Tensor(), d_x.to(device), d_e.to(device), has_two ? d_tw.to(device) : Tensor(),
            Tensor(), Tensor()};
  }
};

}  // namespace

std::vector<Tensor> tabulate_fusion_se_a(const Tensor &table, const Tensor &table_info,
                                         const Tensor &em_x, const Tensor &em,
                                         int64_t last_layer_size) {
  return TabulateFusion::apply(table, table_info, em_x, em, torch::empty({0}, em.options()),
                               last_layer_size, true);
}

std::vector<Tensor> tabulate_fusion_se_atten(const Tensor &table, const Tensor &table_info,
                                             const Tensor &em_x, const Tensor &em,
                                             const Tensor &two_embed, int64_t last_layer_size,
                                             bool is_sorted) {
  return TabulateFusion::apply(table, table_info, em_x, em, two_embed, last_layer_size, is_sorted);
}

}  // namespace llzo_dp
