//! Time, as `std::time` has it: [`Instant`], a monotonic clock for measuring, and
//! [`SystemTime`], the time of day, both read from the processor's time-stamp counter at the
//! rate the kernel measured at boot; the time of day counts from the real-time clock's
//! reading at boot (see [`exo_abi::ClockInfo`]). [`DateTime`] prints a time as `date -u` does.
//!
//! ```ignore
//! use libos_posix::time::{Duration, Instant, SystemTime};
//! let start = Instant::now();
//! libos_posix::syscall::sleep(20_000);
//! assert!(start.elapsed() >= Duration::from_millis(20));
//! libos_posix::println!("{}", SystemTime::now().date_time());
//! ```

use crate::clock;
use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};
pub use core::time::Duration;
pub use posix_core::calendar::DateTime;
use posix_core::ticks::{duration_of, ticks_of};

/// The counter's ticks per second.
fn rate() -> u64 {
    clock::info().tsc_ticks_per_second
}

/// A moment of a monotonic clock, for measuring how long something took; it means nothing
/// outside this machine's boot. The same in every process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    ticks: u64,
}

impl Instant {
    /// Now.
    pub fn now() -> Instant {
        Instant {
            ticks: clock::ticks(),
        }
    }

    /// How long after `earlier` this is; zero when `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// How long after `earlier` this is; `None` when `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        let ticks = self.ticks.checked_sub(earlier.ticks)?;
        Some(duration_of(ticks, rate()))
    }

    /// How long after `earlier` this is; zero when `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.checked_duration_since(earlier).unwrap_or_default()
    }

    /// How long ago this was.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// The moment `duration` after this one, if the clock can hold it.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        let ticks = self.ticks.checked_add(ticks_of(duration, rate())?)?;
        Some(Instant { ticks })
    }

    /// The moment `duration` before this one, if the clock can hold it.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        let ticks = self.ticks.checked_sub(ticks_of(duration, rate())?)?;
        Some(Instant { ticks })
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Panics when the result overflows the clock, as std's does.
    fn add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .expect("overflow when adding a duration to an instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// Panics when the result underflows the clock, as std's does.
    fn sub(self, duration: Duration) -> Instant {
        self.checked_sub(duration)
            .expect("overflow when subtracting a duration from an instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, duration: Duration) {
        *self = *self - duration;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// As [`Instant::duration_since`].
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

/// A moment of the time of day, in UTC. When the kernel had no real-time clock reading at
/// boot, the clock started at [`UNIX_EPOCH`] then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime {
    since_epoch: Duration,
}

/// 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH: SystemTime = SystemTime::UNIX_EPOCH;

/// Why [`SystemTime::duration_since`] failed: the other time was later, by
/// [`duration`](SystemTimeError::duration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemTimeError(Duration);

impl SystemTimeError {
    /// How much later the other time was.
    pub fn duration(&self) -> Duration {
        self.0
    }
}

impl fmt::Display for SystemTimeError {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "second time provided was later than self")
    }
}

impl SystemTime {
    /// 1970-01-01 00:00:00 UTC.
    pub const UNIX_EPOCH: SystemTime = SystemTime {
        since_epoch: Duration::ZERO,
    };

    /// Now.
    pub fn now() -> SystemTime {
        let info = clock::info();
        let boot_seconds = info
            .boot_reading()
            .and_then(|reading| DateTime::from_civil(&reading))
            .map_or(0, |boot| boot.unix_seconds());
        let since_boot = clock::ticks().saturating_sub(info.boot_tsc);
        SystemTime {
            since_epoch: Duration::from_secs(boot_seconds) + duration_of(since_boot, rate()),
        }
    }

    /// How long after `earlier` this is, or how long before it as the error.
    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, SystemTimeError> {
        self.since_epoch
            .checked_sub(earlier.since_epoch)
            .ok_or_else(|| SystemTimeError(earlier.since_epoch - self.since_epoch))
    }

    /// How long ago this was, or how far ahead it is as the error.
    pub fn elapsed(&self) -> Result<Duration, SystemTimeError> {
        SystemTime::now().duration_since(*self)
    }

    /// The time `duration` after this one, if it can be held.
    pub fn checked_add(&self, duration: Duration) -> Option<SystemTime> {
        let since_epoch = self.since_epoch.checked_add(duration)?;
        Some(SystemTime { since_epoch })
    }

    /// The time `duration` before this one, if it is not before [`UNIX_EPOCH`].
    pub fn checked_sub(&self, duration: Duration) -> Option<SystemTime> {
        let since_epoch = self.since_epoch.checked_sub(duration)?;
        Some(SystemTime { since_epoch })
    }

    /// The date and time of day, to the second below.
    pub fn date_time(&self) -> DateTime {
        DateTime::from_unix_seconds(self.since_epoch.as_secs())
    }
}

impl Add<Duration> for SystemTime {
    type Output = SystemTime;

    /// Panics when the result overflows, as std's does.
    fn add(self, duration: Duration) -> SystemTime {
        self.checked_add(duration)
            .expect("overflow when adding a duration to a system time")
    }
}

impl Sub<Duration> for SystemTime {
    type Output = SystemTime;

    /// Panics when the result is before [`UNIX_EPOCH`].
    fn sub(self, duration: Duration) -> SystemTime {
        self.checked_sub(duration)
            .expect("overflow when subtracting a duration from a system time")
    }
}
