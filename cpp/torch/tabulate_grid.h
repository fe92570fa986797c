// The grids of DeePMD-kit's compressed embedding tables ('dp --pt compress'), written once
// for the table operators (tabulate_fusion*.cpp).
//
// A table row holds, for each of the M net outputs, the 6 coefficients of a quintic in
// t = x - node. table_info = {lower, upper, max, stride0, stride1}:
// - radial grids (se_e2_a, se_e2_r: x = s(r)): a fine grid (stride0) on [lower, upper) and a
//   coarse one (stride1) on [upper, max);
// - angular grids (se_e3: x = cos-like products of two env rows, in [-max, max]): coarse on
//   [-max, lower), fine on [lower, upper), coarse on [upper, max).
// Outside the grid the first or the last interval is evaluated at t = 0 (constant
// extrapolation, DeePMD-kit 3.2's rule); the arithmetic of t follows DeePMD-kit's so that
// float64 results agree to the last bits.

#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace llzo_dp {
namespace tabulate {

struct Grid {
  double lower, upper, max, stride0, stride1;
  bool symmetric;    // angular grid: a coarse part below `lower` too, from -max
  int64_t nlow;      // intervals below `lower` (0 for radial grids)
  int64_t nfine;     // intervals of the fine grid
  int64_t last;      // index of the last interval
};

inline Grid grid_of(const torch::Tensor &info, bool symmetric) {
  auto i = info.to(torch::kCPU, torch::kFloat64).contiguous();
  const double *p = i.data_ptr<double>();
  Grid g{p[0], p[1], p[2], p[3], p[4], symmetric, 0, 0, 0};
  g.nlow = symmetric ? static_cast<int64_t>((g.lower + g.max) / g.stride1) : 0;
  g.nfine = static_cast<int64_t>((g.upper - g.lower) / g.stride0);
  g.last = g.nlow + g.nfine + static_cast<int64_t>((g.max - g.upper) / g.stride1) - 1;
  return g;
}

// Interval index of x, and its local coordinate t.
template <typename T>
inline int64_t locate(const Grid &g, T x, T &t) {
  const double min = g.symmetric ? -g.max : g.lower;
  if (x < min) {
    t = 0;
    return 0;
  }
  if (x < g.lower) {  // angular grids only
    int64_t idx = static_cast<int64_t>((x - min) / g.stride1);
    t = x - static_cast<T>(idx * g.stride1 + min);
    return idx;
  }
  if (x < g.upper) {
    int64_t k = static_cast<int64_t>((x - g.lower) / g.stride0);
    t = x - static_cast<T>(k * g.stride0 + g.lower);
    return g.nlow + k;
  }
  if (x < g.max) {
    int64_t k = static_cast<int64_t>((x - g.upper) / g.stride1);
    t = x - static_cast<T>(k * g.stride1 + g.upper);
    return g.nlow + g.nfine + k;
  }
  t = 0;
  return g.last;
}

template <typename T>
inline T poly5(const T *a, T t) {
  return a[0] + (a[1] + (a[2] + (a[3] + (a[4] + a[5] * t) * t) * t) * t) * t;
}

template <typename T>
inline T poly5_slope(const T *a, T t) {
  return a[1] + (2 * a[2] + (3 * a[3] + (4 * a[4] + 5 * a[5] * t) * t) * t) * t;
}

}  // namespace tabulate
}  // namespace llzo_dp
