//! Time-stamp counter ticks and durations, at a rate of ticks per second.

use core::time::Duration;

const NANOSECONDS_PER_SECOND: u128 = 1_000_000_000;

/// How long `ticks` ticks last at `ticks_per_second` (at least 1), to the nanosecond below.
pub fn duration_of(ticks: u64, ticks_per_second: u64) -> Duration {
    let rate = u128::from(ticks_per_second.max(1));
    let nanoseconds = u128::from(ticks) * NANOSECONDS_PER_SECOND / rate;
    let seconds = nanoseconds / NANOSECONDS_PER_SECOND;
    let subsecond = (nanoseconds % NANOSECONDS_PER_SECOND) as u32;
    // Fewer than 2^64 ticks at one or more a second make fewer than 2^64 seconds.
    Duration::new(seconds as u64, subsecond)
}

/// How many ticks `duration` lasts at `ticks_per_second`, to the tick below; `None` past
/// `u64::MAX` ticks.
pub fn ticks_of(duration: Duration, ticks_per_second: u64) -> Option<u64> {
    let ticks = duration.as_nanos() * u128::from(ticks_per_second) / NANOSECONDS_PER_SECOND;
    u64::try_from(ticks).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIGAHERTZ_3: u64 = 3_000_000_000;

    #[test]
    fn ticks_become_durations_at_the_rate() {
        assert_eq!(duration_of(0, GIGAHERTZ_3), Duration::ZERO);
        assert_eq!(
            duration_of(GIGAHERTZ_3, GIGAHERTZ_3),
            Duration::from_secs(1)
        );
        assert_eq!(duration_of(3, GIGAHERTZ_3), Duration::from_nanos(1));
        assert_eq!(duration_of(2, GIGAHERTZ_3), Duration::ZERO);
        assert_eq!(
            duration_of(u64::MAX, GIGAHERTZ_3),
            Duration::new(6_148_914_691, 236_517_205)
        );
        assert_eq!(duration_of(u64::MAX, 1), Duration::from_secs(u64::MAX));
        assert_eq!(duration_of(5, 0), Duration::from_secs(5));
    }

    #[test]
    fn durations_become_ticks_at_the_rate() {
        assert_eq!(
            ticks_of(Duration::from_millis(1), GIGAHERTZ_3),
            Some(3_000_000)
        );
        assert_eq!(ticks_of(Duration::from_nanos(1), 1_000), Some(0));
        assert_eq!(ticks_of(Duration::MAX, GIGAHERTZ_3), None);
        let long = Duration::from_secs(6_148_914_691);
        assert_eq!(
            duration_of(ticks_of(long, GIGAHERTZ_3).unwrap(), GIGAHERTZ_3),
            long
        );
    }
}
