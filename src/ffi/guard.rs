//! The panic guard of every call from C++ into Rust: a panic (a bug) becomes an
//! `Error::Internal`, which the bridge turns into a C++ exception and the pair style into
//! a LAMMPS ERROR line, instead of unwinding into C++ (which aborts the process).

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};

/// Runs `f`, turning a panic into an error that names the call and the panic message.
pub fn guard<T>(call: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(Error::Internal(format!("{call} panicked: {what}")))
    })
}

/// In debug builds, panics at `point` when `LLZO_DP_DEBUG_PANIC` names it: the end-to-end
/// test of the guard. Release builds compile nothing here.
#[inline]
pub fn debug_panic(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("LLZO_DP_DEBUG_PANIC").is_ok_and(|p| p == point) {
        panic!("LLZO_DP_DEBUG_PANIC={point}: deliberate panic"); // ok-panic: the guard's test hook
    }
    let _ = point;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let v: Vec<usize> = Vec::new();
        let r: Result<usize> = guard("core_compute", || Ok(v[3]));
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("core_compute panicked") && msg.contains("index out of bounds"), "{msg}");
        assert_eq!(guard("x", || Ok(2)), Ok(2));
        assert_eq!(guard::<()>("x", || Err(Error::Input("bad".into()))), Err(Error::Input("bad".into())));
    }
}
