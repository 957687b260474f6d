//! What the kernel counts for benchmarks (`exo_abi::KernelCounters`): entries that take the
//! kernel's lock and switches between environments, in the kernel state; bytes copied from or
//! to user memory and the time the CPU halted, in counters of their own, since the copying
//! functions work on an address space alone and the halts happen in the platform.

use crate::kernel::Kernel;
use crate::platform::Platform;
use crate::user_memory::copy_to_user;
use core::sync::atomic::{AtomicU64, Ordering};
use exo_abi::{Error, KernelCounters};

static COPIED_BYTES: AtomicU64 = AtomicU64::new(0);
static HALTED_TICKS: AtomicU64 = AtomicU64::new(0);

/// Counts `bytes` copied from or to user memory.
pub fn note_copied(bytes: usize) {
    COPIED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
}

/// Counts `ticks` of the time-stamp counter spent halted, waiting for an interrupt.
pub fn note_halted(ticks: u64) {
    HALTED_TICKS.fetch_add(ticks, Ordering::Relaxed);
}

/// The counts the kernel state keeps.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub entries: u64,
    pub switches: u64,
}

/// [`exo_abi::Syscall::KernelCounters`].
pub fn kernel_counters<P: Platform>(kernel: &Kernel<P>, buffer: u64) -> Result<u64, Error> {
    // The fields of `KernelCounters`, in order.
    let words = [
        kernel.counters.entries,
        kernel.counters.switches,
        COPIED_BYTES.load(Ordering::Relaxed),
        HALTED_TICKS.load(Ordering::Relaxed),
    ];
    let mut bytes = [0u8; size_of::<KernelCounters>()];
    for (chunk, word) in bytes.as_chunks_mut::<8>().0.iter_mut().zip(words) {
        *chunk = word.to_le_bytes();
    }
    copy_to_user::<P>(kernel.current_address_space(), buffer, &bytes)?;
    Ok(0)
}
