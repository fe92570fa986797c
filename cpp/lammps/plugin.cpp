// Registration of pair_style llzo_dp with LAMMPS. The exported entry point
// `lammpsplugin_init` is defined in Rust (src/ffi/plugin.rs) and calls this function.

#include "lammpsplugin_abi.h"

#include "lammps.h"
#include "pair_llzo_dp.h"

static void *create_pair_llzo_dp(void *lmp)
{
  return new LAMMPS_NS::PairLlzoDp(static_cast<LAMMPS_NS::LAMMPS *>(lmp));
}

extern "C" void llzo_dp_plugin_register(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  // The running LAMMPS's own version string: no version-mismatch notice.
  plugin.version = static_cast<LAMMPS_NS::LAMMPS *>(lmp)->version;
  plugin.style = "pair";
  plugin.name = "llzo_dp";
  plugin.info = "llzo_dp: DeePMD-kit (PyTorch) models through a Rust core";
  plugin.author = "llzo_dp developers";
  plugin.creator.v1 = &create_pair_llzo_dp;
  plugin.handle = handle;
  (*reinterpret_cast<lammpsplugin_regfunc>(regfunc))(&plugin, lmp);
}
