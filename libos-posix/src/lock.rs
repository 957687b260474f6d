//! A lock in memory shared by processes: a word holding the holder's environment id, or 0.
//! A process that finds it held gives the rest of its slot to the holder, which finishes its
//! short critical section. Holders never block while holding, so a holder that is not runnable
//! has ended without letting go (the kernel ended it for a fault): the lock is taken over.

use crate::syscall;
use core::sync::atomic::{AtomicU32, Ordering};

/// A lock word shared between processes.
#[repr(C)]
#[derive(Debug)]
pub struct SharedLock {
    holder: AtomicU32,
}

impl SharedLock {
    /// A free lock.
    pub const fn new() -> SharedLock {
        SharedLock {
            holder: AtomicU32::new(0),
        }
    }

    /// Takes the lock, yielding while another process holds it. Inlined: a free lock costs
    /// its callers (every file-system call) one compare-and-swap.
    #[inline]
    pub fn lock(&self) -> SharedGuard<'_> {
        let me = crate::process::pid();
        if self
            .holder
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return SharedGuard { lock: self };
        }
        self.lock_contended(me)
    }

    /// [`lock`](Self::lock) once the lock was found held.
    #[inline(never)]
    fn lock_contended(&self, me: u32) -> SharedGuard<'_> {
        loop {
            match self
                .holder
                .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return SharedGuard { lock: self },
                Err(holder) if holder == me => panic!("shared lock taken twice by env {me}"),
                Err(holder) => {
                    if syscall::yield_to(holder).is_err() {
                        // Not `println!`: that takes this process's own locks, and this may
                        // run on the exception stack of a process that is ending.
                        crate::console::print_to_kernel_console(format_args!(
                            "libos: env {holder} ended holding a lock; taking it over\n"
                        ));
                        let _ = self.holder.compare_exchange(
                            holder,
                            0,
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        );
                    }
                }
            }
        }
    }

    /// The environment holding the lock, if any.
    pub fn holder(&self) -> Option<u32> {
        match self.holder.load(Ordering::Acquire) {
            0 => None,
            holder => Some(holder),
        }
    }
}

impl Default for SharedLock {
    fn default() -> Self {
        SharedLock::new()
    }
}

/// The lock, held until dropped.
#[derive(Debug)]
pub struct SharedGuard<'a> {
    lock: &'a SharedLock,
}

impl Drop for SharedGuard<'_> {
    fn drop(&mut self) {
        self.lock.holder.store(0, Ordering::Release);
    }
}
