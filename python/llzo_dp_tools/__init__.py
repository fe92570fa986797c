"""Shared Python of llzo_dp: LLZO structures (`structures`), the training set's simple compounds
(`compounds`), the reference method that labels data (`reference`), and running LAMMPS and
reading its output (`lammps`)."""
