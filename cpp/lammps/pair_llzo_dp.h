// pair_style llzo_dp: a DeePMD-kit (PyTorch) model evaluated by the llzo_dp Rust core.
// This class only adapts LAMMPS data; all physics, parsing and checks live in Rust.

#ifndef LMP_PAIR_LLZO_DP_H
#define LMP_PAIR_LLZO_DP_H

#include "pair.h"

#include "../ghost_exchange.h"

#include <memory>
#include <vector>

namespace LAMMPS_NS {

class PairLlzoDp : public Pair {
 public:
  PairLlzoDp(class LAMMPS *);
  ~PairLlzoDp() override;

  void compute(int eflag, int vflag) override;
  void settings(int narg, char **arg) override;
  void coeff(int narg, char **arg) override;
  void init_style() override;
  double init_one(int i, int j) override;
  void *extract_peratom(const char *name, int &ncol) override;
  int pack_forward_comm(int n, int *list, double *buf, int pbc_flag, int *pbc) override;
  void unpack_forward_comm(int n, int first, double *buf) override;
  int pack_reverse_comm(int n, int first, double *buf) override;
  void unpack_reverse_comm(int n, int *list, double *buf) override;
  void finish() override;

 private:
  struct CoreHandle;  // holds the rust::Box; keeps cxx and torch out of this header
  std::unique_ptr<CoreHandle> core;
  double cutoff = 0.0;
  // Compressed-row copy of the full list, refilled only when LAMMPS rebuilds it.
  std::vector<int> offsets, neighbors;
  std::vector<int> tags;

  // Coverage monitor: per-atom coverage for `fix pair` (grown with atom->nmax).
  double *atom_coverage = nullptr;
  int atom_coverage_max = 0;

  // Message-passing models on several ranks: deepmd::border_op's features travel by LAMMPS's
  // forward and reverse communication, `feature_width` values per atom at a time (0: unused).
  llzo_dp::GhostExchange ghost_exchange{};
  int feature_width = 0;
  int deviation_width = 0;  // model deviation: forces of every model per atom, reverse comm
  struct FeaturePass {
    double *rows = nullptr;
    int64_t stride = 0, first = 0;  // row length, first column of this pass
    int count = 0;                  // columns in this pass (0: reverse comm is the deviation's)
    double *row(int i) const { return rows + (size_t) i * stride + first; }
  } pass;
  static void exchange_features(void *owner, double *rows, int64_t nrows, int64_t width, bool reverse);
  void exchange_feature_rows(double *rows, int64_t nrows, int64_t width, bool reverse);

  void send_neighbor_list();
  void report_messages();
  void allocate();
  void monitor_coverage(bigint step);
  void write_model_deviation(bigint step);
  void gather_atom_deviation(std::vector<int> &ids, std::vector<double> &values);
  void write_uncertain_frame(bigint step);
};

}  // namespace LAMMPS_NS

#endif
