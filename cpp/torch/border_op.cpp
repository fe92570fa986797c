// deepmd::border_op: a message-passing model's features of owned atoms copied onto their ghost
// images on every rank, between layers, and the gradient summed back onto the owners. The
// copying is the pair style's (ghost_exchange.h): LAMMPS's forward and reverse communication.
//
// Forward, per row: out[i] = g1[i] for owned atoms, out[g] = g1[owner(g)] for ghosts (g1's ghost
// rows are the graph's zero padding). Backward: grad_g1[i] = grad[i] + sum over the ghost
// images g of i, on every rank, of grad[g]; ghost rows get zero. Every rank must call both the
// same number of times, which the graphs do (one call per layer, one backward per call).

#include "../ghost_exchange.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace llzo_dp {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The pair style's exchange from the `communicator` entry of comm_dict.
const GhostExchange &exchange_of(const Tensor &communicator) {
  TORCH_CHECK(communicator.device().is_cpu() && communicator.scalar_type() == at::kLong &&
                  communicator.numel() == 1,
              "deepmd::border_op: comm_dict's communicator is not one that pair_style llzo_dp "
              "made (an int64 CPU tensor holding its exchange); the plugin's border_op serves "
              "only pair_style llzo_dp");
  const int64_t address = communicator.item<int64_t>();
  TORCH_CHECK(address != 0, "deepmd::border_op: comm_dict's communicator is empty");
  return *reinterpret_cast<const GhostExchange *>(address);
}

int64_t scalar_count(const Tensor &t, const char *what) {
  TORCH_CHECK(t.numel() == 1, "deepmd::border_op: ", what, " must hold one number, not ", t.numel());
  return t.item<int64_t>();
}

// `t` ([nrows, ...]) with its rows exchanged, in t's dtype and device.
Tensor exchanged(const Tensor &t, int64_t address, bool reverse) {
  const GhostExchange &ex = *reinterpret_cast<const GhostExchange *>(address);
  Tensor rows = t.detach().to(at::kCPU).to(at::kDouble).contiguous().clone();
  const int64_t nrows = rows.dim() ? rows.size(0) : 0;
  const int64_t width = nrows ? rows.numel() / nrows : 0;
  ex.exchange(ex.owner, rows.data_ptr<double>(), nrows, width, reverse);
  return rows.to(t.options());
}

class BorderOp : public torch::autograd::Function<BorderOp> {
 public:
  static Tensor forward(AutogradContext *ctx, const Tensor &g1, int64_t address) {
    ctx->saved_data["address"] = address;
    return exchanged(g1, address, false);
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    const int64_t address = ctx->saved_data["address"].toInt();
    return {exchanged(grads[0], address, true), Tensor()};
  }
};

void check_rows(const Tensor &g1, const Tensor &nlocal, const Tensor &nghost) {
  const int64_t n = scalar_count(nlocal, "nlocal") + scalar_count(nghost, "nghost");
  TORCH_CHECK(g1.dim() >= 1 && g1.size(0) == n, "deepmd::border_op: the features have ",
              g1.dim() ? g1.size(0) : 0, " rows for ", n, " owned and ghost atoms");
}

}  // namespace

std::vector<Tensor> border_op(const Tensor &, const Tensor &, const Tensor &, const Tensor &,
                              const Tensor &, const Tensor &g1, const Tensor &communicator,
                              const Tensor &nlocal, const Tensor &nghost) {
  check_rows(g1, nlocal, nghost);
  const int64_t address = reinterpret_cast<int64_t>(&exchange_of(communicator));
  return {BorderOp::apply(g1, address)};
}

Tensor border_op_backward(const Tensor &, const Tensor &, const Tensor &, const Tensor &,
                          const Tensor &, const Tensor &grad_g1, const Tensor &communicator,
                          const Tensor &nlocal, const Tensor &nghost) {
  check_rows(grad_g1, nlocal, nghost);
  return exchanged(grad_g1, reinterpret_cast<int64_t>(&exchange_of(communicator)), true);
}

}  // namespace llzo_dp
