// pair_style llzo_dp: the recipe is pack (neighbor list on rebuilds, coordinates every
// step), call the Rust core, unpack (energy, virial; forces and per-atom arrays are
// written in place). Errors from the core arrive as rust::Error and become LAMMPS errors.

#include "pair_llzo_dp.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include "llzo_dp/src/ffi/lammps.rs.h"
#include "rust/cxx.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using namespace LAMMPS_NS;

namespace {
// Each rank's count `n` and its offset on rank 0, for MPI_Gatherv; returns the total there.
int gather_counts(int n, std::vector<int> &counts, std::vector<int> &displs, MPI_Comm world)
{
  int nprocs = 1;
  MPI_Comm_size(world, &nprocs);
  counts.assign(nprocs, 0);
  displs.assign(nprocs, 0);
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world);
  int total = 0;
  for (int p = 0; p < nprocs; p++) {
    displs[p] = total;
    total += counts[p];
  }
  return total;
}
}    // namespace

struct PairLlzoDp::CoreHandle {
  rust::Box<llzo_dp::Core> box;
};

PairLlzoDp::PairLlzoDp(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;  // the model returns the virial; fdotr would add it twice
  centroidstressflag = CENTROID_AVAIL;
}

PairLlzoDp::~PairLlzoDp()
{
  delete[] pvector;
  pvector = nullptr;
  memory->destroy(atom_coverage);
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairLlzoDp::allocate()
{
  allocated = 1;
  int n = atom->ntypes + 1;
  memory->create(setflag, n, n, "pair:setflag");
  memory->create(cutsq, n, n, "pair:cutsq");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;
}

void PairLlzoDp::settings(int narg, char **arg)
{
  rust::Vec<rust::String> args;
  for (int i = 0; i < narg; i++) args.push_back(rust::String(arg[i]));
  try {
    core = std::make_unique<CoreHandle>(
        CoreHandle{llzo_dp::new_core(std::move(args), update->unit_style, force->boltz, force->angstrom,
                                     comm->me, comm->nthreads)});
    cutoff = core->box->cutoff();
    if (comm->me == 0) utils::logmesg(lmp, std::string(core->box->summary()));
    // message passing on several ranks: features between layers by forward (and, for their
    // gradient, reverse) communication; model deviation: every model's forces in one reverse
    ghost_exchange = llzo_dp::GhostExchange{this, &PairLlzoDp::exchange_features};
    feature_width = core->box->enable_ghost_exchange(reinterpret_cast<size_t>(&ghost_exchange), comm->nprocs);
    comm_forward = feature_width;
    deviation_width = core->box->devi_width();
    comm_reverse = std::max(feature_width, deviation_width);
    // coverage values for `compute pair llzo_dp`: overall, then one per element
    delete[] pvector;
    nextra = core->box->coverage_nvalues();
  } catch (const rust::Error &e) {
    error->all(FLERR, "{}", e.what());
  }
  report_messages();
  pvector = nextra ? new double[nextra] : nullptr;
  for (int k = 0; k < nextra; k++) pvector[k] = 0.0;
}

void PairLlzoDp::coeff(int narg, char **arg)
{
  if (!core) error->all(FLERR, "pair_coeff for llzo_dp needs pair_style llzo_dp <model> first");
  if (narg < 2 || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff for llzo_dp must start with '* *': pair_coeff * * <element or NULL per type>");
  if (!allocated) allocate();
  rust::Vec<rust::String> names;
  for (int i = 2; i < narg; i++) names.push_back(rust::String(arg[i]));
  try {
    core->box->set_type_names(std::move(names), atom->ntypes);
    // Every pair is set, those with a NULL type too (the model skips NULL atoms): under
    // hybrid/overlay or hybrid/scaled the other style may then cover the NULL types alone
    // (`pair_coeff 5 5 lj/cut ...`) without LAMMPS asking for its mixed pairs with the
    // model's types, as with pair_style deepmd.
    for (int i = 1; i <= atom->ntypes; i++)
      for (int j = i; j <= atom->ntypes; j++) setflag[i][j] = 1;
  } catch (const rust::Error &e) {
    error->all(FLERR, "{}", e.what());
  }
  report_messages();
}

// Log lines (rank 0) and warnings the core gathered: the core never prints itself.
void PairLlzoDp::report_messages()
{
  try {
    for (const rust::String &m : core->box->take_messages())
      if (comm->me == 0) utils::logmesg(lmp, std::string(m));
    for (const rust::String &w : core->box->take_warnings()) error->warning(FLERR, std::string(w));
  } catch (const rust::Error &e) {
    error->one(FLERR, "pair_style llzo_dp: {}", e.what());
  }
}

// End of a run: rank 0's time per phase (neighbour data, model, unpack, monitor).
void PairLlzoDp::finish()
{
  if (!core) return;
  try {
    const std::string line(core->box->timing_report());
    if (comm->me == 0 && !line.empty()) utils::logmesg(lmp, line);
  } catch (const rust::Error &e) {
    error->one(FLERR, "pair_style llzo_dp: {}", e.what());
  }
}

void PairLlzoDp::init_style()
{
  if (force->newton_pair == 0)
    error->all(FLERR, "pair_style llzo_dp requires newton pair on (forces on ghost atoms are "
                      "summed back by LAMMPS); remove 'newton off' from the input");
  if (!atom->tag_enable)
    error->all(FLERR, "pair_style llzo_dp requires atom IDs (dumped frames are ordered by them); "
                      "remove 'atom_modify id no' from the input");
  neighbor->add_request(this, NeighConst::REQ_FULL);
  // every run: the effective element map, checks that need the box and the masses
  std::vector<double> masses;
  if (atom->mass && !atom->rmass_flag) masses.assign(atom->mass + 1, atom->mass + 1 + atom->ntypes);
  const int periodic[3] = {domain->xperiodic, domain->yperiodic, domain->zperiodic};
  try {
    const std::string types(core->box->start_run(rust::Slice<const double>(masses.data(), masses.size())));
    if (comm->me == 0) utils::logmesg(lmp, types);
    core->box->check_boundary(rust::Slice<const int>(periodic, 3));
  } catch (const rust::Error &e) {
    error->all(FLERR, "pair_style llzo_dp: {}", e.what());
  }
  report_messages();
}

double PairLlzoDp::init_one(int, int)
{
  return cutoff;
}

void *PairLlzoDp::extract_peratom(const char *name, int &ncol)
{
  if (strcmp(name, "coverage") != 0 || !nextra) return nullptr;
  ncol = 0;
  return atom_coverage;
}

void PairLlzoDp::send_neighbor_list()
{
  const int inum = list->inum;
  offsets.resize(inum + 1);
  offsets[0] = 0;
  for (int ii = 0; ii < inum; ii++) offsets[ii + 1] = offsets[ii] + list->numneigh[list->ilist[ii]];
  neighbors.resize(offsets[inum]);
  for (int ii = 0; ii < inum; ii++) {
    const int i = list->ilist[ii];
    const int *jlist = list->firstneigh[i];
    int *dst = neighbors.data() + offsets[ii];
    for (int jj = 0; jj < list->numneigh[i]; jj++) dst[jj] = jlist[jj] & NEIGHMASK;
  }
  const int nall = atom->nlocal + atom->nghost;
  core->box->rebuild_neighbors(atom->nlocal, atom->nghost,
                                  rust::Slice<const int>(atom->type, nall),
                                  rust::Slice<const int>(list->ilist, inum),
                                  rust::Slice<const int>(offsets.data(), offsets.size()),
                                  rust::Slice<const int>(neighbors.data(), neighbors.size()));
}

void PairLlzoDp::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  const int nall = atom->nlocal + atom->nghost;
  auto view = [](double *p, bool on, size_t n) {
    return on && p ? rust::Slice<double>(p, n) : rust::Slice<double>();
  };
  try {
    if (neighbor->ago == 0) send_neighbor_list();
    const bigint ntimestep = update->ntimestep;
    tags.assign(atom->tag, atom->tag + nall);  // atom IDs for messages (tagint may be 64-bit)
    const llzo_dp::StepTotals step = core->box->compute(
        ntimestep, rust::Slice<const double>(nall ? atom->x[0] : nullptr, 3 * nall),
        rust::Slice<const int>(tags.data(), tags.size()), view(nall ? atom->f[0] : nullptr, true, 3 * nall),
        view(eatom, eflag_atom, nall),
        view(vatom ? vatom[0] : nullptr, vflag_atom, 6 * nall),
        view(cvatom ? cvatom[0] : nullptr, cvflag_atom, 9 * nall));
    if (eflag_global) eng_vdwl += step.energy;
    if (vflag_global)
      for (int k = 0; k < 6; k++) virial[k] += step.virial[k];
    if (core->box->coverage_due(ntimestep)) monitor_coverage(ntimestep);
    if (core->box->devi_due(ntimestep)) write_model_deviation(ntimestep);
    report_messages();
  } catch (const rust::Error &e) {
    error->one(FLERR, "pair_style llzo_dp: {}", e.what());
  }
}

// Coverage of the frame over all ranks: the core filled this rank's grid occupancy during
// compute; merge it (bitmaps OR, counts sum), let the core decide, publish the values.
void PairLlzoDp::monitor_coverage(bigint step)
{
  rust::Slice<uint64_t> bits = core->box->coverage_bits();
  MPI_Allreduce(MPI_IN_PLACE, bits.data(), bits.size(), MPI_UINT64_T, MPI_BOR, world);
  rust::Slice<uint64_t> counts = core->box->coverage_counts();
  MPI_Allreduce(MPI_IN_PLACE, counts.data(), counts.size(), MPI_UINT64_T, MPI_SUM, world);
  const llzo_dp::CoverageVerdict verdict = core->box->coverage_finish(step, comm->me == 0);
  if (comm->me == 0 && !verdict.message.empty()) utils::logmesg(lmp, std::string(verdict.message));
  if (verdict.dump) write_uncertain_frame(step);
  // compute pair sums pvector over ranks: the frame's values live on rank 0 only
  for (int k = 0; k < nextra; k++) pvector[k] = 0.0;
  if (comm->me == 0) core->box->coverage_values(rust::Slice<double>(pvector, nextra));
  if (atom->nmax > atom_coverage_max) {
    atom_coverage_max = atom->nmax;
    memory->grow(atom_coverage, atom_coverage_max, "pair:atom_coverage");
  }
  core->box->atom_coverage(rust::Slice<double>(atom_coverage, atom->nlocal));
}

// Gathers IDs, types and positions of all atoms on rank 0, which writes the frame.
void PairLlzoDp::write_uncertain_frame(bigint step)
{
  const int n = atom->nlocal;
  std::vector<int> counts, displs;
  const int total = gather_counts(n, counts, displs, world);
  std::vector<int> ids(comm->me == 0 ? total : 0), types(ids.size());
  std::vector<double> x(3 * ids.size());
  std::vector<int> ltag(atom->tag, atom->tag + n);
  MPI_Gatherv(ltag.data(), n, MPI_INT, ids.data(), counts.data(), displs.data(), MPI_INT, 0, world);
  MPI_Gatherv(atom->type, n, MPI_INT, types.data(), counts.data(), displs.data(), MPI_INT, 0, world);
  std::vector<int> counts3(counts), displs3(displs);
  for (int p = 0; p < comm->nprocs; p++) counts3[p] *= 3, displs3[p] *= 3;
  MPI_Gatherv(n ? atom->x[0] : nullptr, 3 * n, MPI_DOUBLE, x.data(), counts3.data(), displs3.data(),
              MPI_DOUBLE, 0, world);
  if (comm->me != 0) return;
  const double cell[9] = {domain->xprd, 0.0, 0.0, domain->xy, domain->yprd, 0.0,
                          domain->xz, domain->yz, domain->zprd};
  const int periodic[3] = {domain->xperiodic, domain->yperiodic, domain->zperiodic};
  const rust::String msg = core->box->coverage_write_frame(
      step, rust::Slice<const double>(cell, 9), rust::Slice<const double>(domain->boxlo, 3),
      rust::Slice<const int>(periodic, 3),
      rust::Slice<const int>(ids.data(), ids.size()), rust::Slice<const int>(types.data(), types.size()),
      rust::Slice<const double>(x.data(), x.size()));
  utils::logmesg(lmp, std::string(msg));
}

// Model deviation: sum ghost forces of every model onto their owners, reduce the
// per-rank partials (max, min, sums), gather each atom's value with `atomic`, and let
// rank 0 write the line.
void PairLlzoDp::write_model_deviation(bigint step)
{
  comm->reverse_comm(this, deviation_width);
  rust::Vec<double> part =
      core->box->devi_partials(rust::Slice<const int>(atom->type, atom->nlocal));
  std::vector<double> red(part.size());
  MPI_Allreduce(&part[0], &red[0], 1, MPI_DOUBLE, MPI_MAX, world);
  MPI_Allreduce(&part[1], &red[1], 1, MPI_DOUBLE, MPI_MIN, world);
  MPI_Allreduce(&part[2], &red[2], (int) part.size() - 2, MPI_DOUBLE, MPI_SUM, world);
  std::vector<int> ids;
  std::vector<double> values;
  if (core->box->devi_atomic()) gather_atom_deviation(ids, values);
  if (comm->me == 0)
    core->box->devi_write(step, rust::Slice<const double>(red.data(), red.size()),
                          (double) atom->natoms, rust::Slice<const int>(ids.data(), ids.size()),
                          rust::Slice<const double>(values.data(), values.size()));
}

// Every owned atom's ID and deviation, gathered on rank 0 (empty elsewhere).
void PairLlzoDp::gather_atom_deviation(std::vector<int> &ids, std::vector<double> &values)
{
  const int n = atom->nlocal;
  rust::Slice<const double> mine = core->box->devi_atom_values();
  if ((int) mine.size() != n) error->one(FLERR, "pair_style llzo_dp: per-atom deviations of the wrong size");
  std::vector<int> counts, displs;
  const int total = gather_counts(n, counts, displs, world);
  ids.resize(comm->me == 0 ? total : 0);
  values.resize(ids.size());
  MPI_Gatherv(tags.data(), n, MPI_INT, ids.data(), counts.data(), displs.data(), MPI_INT, 0, world);
  MPI_Gatherv(mine.data(), n, MPI_DOUBLE, values.data(), counts.data(), displs.data(), MPI_DOUBLE, 0,
              world);
}

// deepmd::border_op (cpp/torch/border_op.cpp) calls this in the middle of compute(), through
// the model's graph: forward, ghost rows take their owner's; reverse, ghost rows are added to
// their owner's and zeroed. Columns go `feature_width` at a time. Every rank takes part.
void PairLlzoDp::exchange_features(void *owner, double *rows, int64_t nrows, int64_t width, bool reverse)
{
  static_cast<PairLlzoDp *>(owner)->exchange_feature_rows(rows, nrows, width, reverse);
}

void PairLlzoDp::exchange_feature_rows(double *rows, int64_t nrows, int64_t width, bool reverse)
{
  const int nlocal = atom->nlocal, nall = atom->nlocal + atom->nghost;
  if (nrows != nall || feature_width <= 0)
    throw std::runtime_error("pair_style llzo_dp: border_op got " + std::to_string(nrows) +
                             " feature rows for " + std::to_string(nall) + " owned and ghost atoms");
  for (int64_t first = 0; first < width; first += feature_width) {
    pass = FeaturePass{rows, width, first, (int) std::min<int64_t>(feature_width, width - first)};
    if (reverse)
      comm->reverse_comm(this, pass.count);
    else
      comm->forward_comm(this, pass.count);
  }
  pass = FeaturePass{};
  if (reverse) std::fill(rows + (size_t) nlocal * width, rows + (size_t) nall * width, 0.0);
}

int PairLlzoDp::pack_forward_comm(int n, int *list, double *buf, int, int *)
{
  int m = 0;
  for (int i = 0; i < n; i++) {
    const double *row = pass.row(list[i]);
    for (int k = 0; k < pass.count; k++) buf[m++] = row[k];
  }
  return m;
}

void PairLlzoDp::unpack_forward_comm(int n, int first, double *buf)
{
  int m = 0;
  for (int i = first; i < first + n; i++) {
    double *row = pass.row(i);
    for (int k = 0; k < pass.count; k++) row[k] = buf[m++];
  }
}

int PairLlzoDp::pack_reverse_comm(int n, int first, double *buf)
{
  if (pass.count) {
    int m = 0;
    for (int i = first; i < first + n; i++) {
      const double *row = pass.row(i);
      for (int k = 0; k < pass.count; k++) buf[m++] = row[k];
    }
    return m;
  }
  rust::Slice<double> f = core->box->devi_forces();
  const int w = deviation_width;
  int m = 0;
  for (int i = first; i < first + n; i++)
    for (int k = 0; k < w; k++) buf[m++] = f[(size_t) i * w + k];
  return m;
}

void PairLlzoDp::unpack_reverse_comm(int n, int *list, double *buf)
{
  if (pass.count) {
    int m = 0;
    for (int i = 0; i < n; i++) {
      double *row = pass.row(list[i]);
      for (int k = 0; k < pass.count; k++) row[k] += buf[m++];
    }
    return;
  }
  rust::Slice<double> f = core->box->devi_forces();
  const int w = deviation_width;
  int m = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < w; k++) f[(size_t) list[i] * w + k] += buf[m++];
}
