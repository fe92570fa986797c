//! The rank's worker threads: one rayon pool per thread count in the process, shared by the
//! native evaluator and the coverage monitor, so that a rank's parallel work always runs on
//! the same threads. rayon's global pool would take every core; and with a pool each, the
//! idle one's workers spin for a while after their work (rayon's wait before sleeping) next
//! to the busy one, which on a loaded machine took time from the model's step.

use std::sync::{Arc, Mutex, Weak};

use crate::error::{Error, Result};

static POOLS: Mutex<Vec<(usize, Weak<rayon::ThreadPool>)>> = Mutex::new(Vec::new());

/// The pool of `threads` workers (at least one), made on first use and shared while anyone
/// holds it.
pub fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    let threads = threads.max(1);
    // a panic elsewhere while the lock was held leaves the list valid: take it anyway
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    pools.retain(|(_, p)| p.strong_count() > 0);
    if let Some(p) = pools.iter().filter(|(n, _)| *n == threads).find_map(|(_, p)| p.upgrade()) {
        return Ok(p);
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("llzo_dp-worker-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::Internal(format!("thread pool: {e}")))?;
    pools.push((threads, Arc::downgrade(&p)));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pool_per_thread_count_while_held() {
        let (a, b, c) = (pool(3).unwrap(), pool(3).unwrap(), pool(2).unwrap());
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
        assert_eq!((a.current_num_threads(), c.current_num_threads()), (3, 2));
        assert_eq!(pool(0).unwrap().current_num_threads(), 1);
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none()); // released with its last holder
    }
}
