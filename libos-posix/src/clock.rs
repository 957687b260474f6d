//! Time for the library OS: the processor's time-stamp counter, which user code may read, at
//! the rate the kernel measured at boot ([`exo_abi::ClockInfo`], asked once per process). The
//! std-like clocks built on it are in [`time`](crate::time).

use crate::syscall;
use exo_abi::ClockInfo;
use spin::Once;

/// The time-stamp counter.
pub use crate::runtime::timestamp::ticks;

static INFO: Once<ClockInfo> = Once::new();

/// What the kernel tells of time: the counter's rate and the real-time clock at boot.
pub fn info() -> &'static ClockInfo {
    INFO.call_once(syscall::clock_info)
}

/// Milliseconds since an arbitrary moment (the same in every process).
pub fn milliseconds() -> u64 {
    ticks() / ticks_per_millisecond()
}

/// How many [`ticks`] make a millisecond (at least 1).
pub fn ticks_per_millisecond() -> u64 {
    (info().tsc_ticks_per_second / 1000).max(1)
}
