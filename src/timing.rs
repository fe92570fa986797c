//! Wall time of each phase of the per-step recipe, summed over a run and reported in the
//! LAMMPS log at its end (`Pair::finish`): where a step's time goes, without a profiler.

use std::time::Instant;

#[derive(Debug, Default, Clone)]
pub struct Timing {
    pub steps: u64,
    pub rebuilds: u64,
    /// LAMMPS list → model atoms (on rebuild steps only).
    pub rebuild: f64,
    /// Positions gathered and the list cut to the model cutoff (every step).
    pub prepare: f64,
    /// The coverage monitor: this rank's features and grids, and the frame's summary.
    pub coverage: f64,
    pub model: f64,
    pub deviation: f64,
    /// Forces, energies and virials scattered back to LAMMPS arrays.
    pub unpack: f64,
}

/// Seconds since `t`, and restarts `t`.
pub fn lap(t: &mut Instant) -> f64 {
    let now = Instant::now();
    let dt = now.duration_since(*t).as_secs_f64();
    *t = now;
    dt
}

impl Timing {
    /// One log line (empty when no step ran), then the counters start again.
    pub fn report(&mut self, natoms: usize, nall: usize) -> String {
        if self.steps == 0 {
            return String::new();
        }
        let n = self.steps as f64;
        let total = self.rebuild + self.prepare + self.coverage + self.model + self.deviation + self.unpack;
        let ms = |x: f64| 1e3 * x / n;
        let mut line = format!(
            "llzo_dp timing, this rank, {} steps, {} local atoms ({} with ghosts): {:.2} ms/step = {:.1} µs/atom-step | model {:.2} ({:.1} %) | neighbour data {:.3} ({} rebuilds) + {:.3} | unpack {:.3}",
            self.steps,
            natoms,
            nall,
            ms(total),
            1e6 * total / n / natoms.max(1) as f64,
            ms(self.model),
            100.0 * self.model / total.max(1e-300),
            ms(self.rebuild),
            self.rebuilds,
            ms(self.prepare),
            ms(self.unpack),
        );
        if self.coverage > 0.0 {
            line += &format!(" | coverage {:.3}", ms(self.coverage));
        }
        if self.deviation > 0.0 {
            line += &format!(" | deviation models {:.3}", ms(self.deviation));
        }
        *self = Timing::default();
        line + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_averages_per_step_and_resets() {
        let mut t = Timing { steps: 4, rebuilds: 1, rebuild: 0.004, prepare: 0.004, model: 0.032, ..Default::default() };
        let line = t.report(100, 400);
        assert!(line.contains("4 steps"), "{line}");
        assert!(line.contains("10.00 ms/step"), "{line}");
        assert!(line.contains("100.0 µs/atom-step"), "{line}");
        assert!(line.contains("model 8.00 (80.0 %)"), "{line}");
        assert_eq!(t.steps, 0);
        assert_eq!(t.report(100, 400), "");
    }
}
