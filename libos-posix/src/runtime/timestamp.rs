//! The processor's time-stamp counter, which user code may read.

/// The time-stamp counter.
pub fn ticks() -> u64 {
    // SAFETY: `rdtsc` only reads the counter; the kernel leaves CR4.TSD clear, so it is allowed
    // in user mode.
    unsafe { core::arch::x86_64::_rdtsc() }
}
