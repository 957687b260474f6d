//! Time for the library OS: the processor's time-stamp counter, which user code may read, at
//! the rate the world's first process measures once against the kernel's `Sleep` and keeps in
//! the world for every process.

use crate::{syscall, world};
use core::sync::atomic::{AtomicU64, Ordering};

/// How long the measurement sleeps: `Sleep` wakes at the first slot boundary after the time
/// asked (slots last 4 ms), so the rate comes out at most 4% high and the clock that much slow.
const CALIBRATION_MICROSECONDS: u64 = 100_000;

/// The time-stamp counter.
pub use crate::runtime::timestamp::ticks;

/// Measures how many counter ticks make a millisecond, sleeping meanwhile.
pub(crate) fn measure_ticks_per_millisecond() -> u64 {
    let start = ticks();
    syscall::sleep(CALIBRATION_MICROSECONDS);
    (ticks().saturating_sub(start) / (CALIBRATION_MICROSECONDS / 1000)).max(1)
}

/// Milliseconds since an arbitrary moment (the same in every process of the world), or `None`
/// outside a world.
pub fn milliseconds() -> Option<u64> {
    Some(ticks() / world_rate()?)
}

/// The world's ticks per millisecond, once measured.
fn world_rate() -> Option<u64> {
    let rate = world::get()?.ticks_per_millisecond.load(Ordering::Acquire);
    (rate != 0).then_some(rate)
}

/// This program's own measurement, for an environment outside a world (0: not yet).
static OWN_RATE: AtomicU64 = AtomicU64::new(0);

/// How many [`ticks`] make a millisecond (at least 1): the world's figure, or outside a world
/// this program's own, measured the first time it is asked (which sleeps
/// 100 ms).
pub fn ticks_per_millisecond() -> u64 {
    if let Some(rate) = world_rate() {
        return rate;
    }
    match OWN_RATE.load(Ordering::Acquire) {
        0 => {
            let rate = measure_ticks_per_millisecond();
            OWN_RATE.store(rate, Ordering::Release);
            rate
        }
        rate => rate,
    }
}
