//! What the kernel knows of time, for a library OS's clocks ([`Syscall::ClockInfo`]): the rate
//! of the time-stamp counter, which user code reads itself with `rdtsc`, and the real-time
//! clock's calendar reading taken at boot with the counter's value at that moment.
//!
//! [`Syscall::ClockInfo`]: crate::Syscall::ClockInfo

/// A calendar date and time of day, as the real-time clock keeps it (UTC under QEMU, whose
/// clock follows the host's in UTC by default).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CivilTime {
    /// The year, e.g. 2026 (the clock keeps two digits: 2000 to 2099).
    pub year: u64,
    /// The month, 1 to 12.
    pub month: u64,
    /// The day of the month, 1 to 31.
    pub day: u64,
    /// The hour, 0 to 23.
    pub hour: u64,
    /// The minute, 0 to 59.
    pub minute: u64,
    /// The second, 0 to 59.
    pub second: u64,
}

/// Whether `year` has a February 29th (the Gregorian rule), for the kernel's check of the
/// clock's reading and a library's calendar alike.
pub fn is_leap_year(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days in `month` (1 to 12) of `year`.
pub fn days_in_month(year: u64, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What [`Syscall::ClockInfo`](crate::Syscall::ClockInfo) writes: 64 bytes, eight
/// little-endian words in field order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockInfo {
    /// Time-stamp counter ticks per second, as the kernel measured them at boot against the
    /// programmable interval timer (at least 1).
    pub tsc_ticks_per_second: u64,
    /// The time-stamp counter when the real-time clock was read.
    pub boot_tsc: u64,
    /// The real-time clock's reading at boot; all zero when the kernel found no valid reading.
    pub boot_time: CivilTime,
}

/// Bytes of a [`ClockInfo`].
pub const CLOCK_INFO_BYTES: usize = size_of::<ClockInfo>();

impl ClockInfo {
    /// The words of this record, in field order.
    fn words(&self) -> [u64; 8] {
        let time = &self.boot_time;
        [
            self.tsc_ticks_per_second,
            self.boot_tsc,
            time.year,
            time.month,
            time.day,
            time.hour,
            time.minute,
            time.second,
        ]
    }

    /// The record as the kernel writes it.
    pub fn to_bytes(&self) -> [u8; CLOCK_INFO_BYTES] {
        let mut bytes = [0; CLOCK_INFO_BYTES];
        for (chunk, word) in bytes.as_chunks_mut::<8>().0.iter_mut().zip(self.words()) {
            *chunk = word.to_le_bytes();
        }
        bytes
    }

    /// The record the kernel wrote as `bytes`.
    pub fn from_bytes(bytes: &[u8; CLOCK_INFO_BYTES]) -> ClockInfo {
        let word = |index: usize| {
            let mut chunk = [0; 8];
            chunk.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
            u64::from_le_bytes(chunk)
        };
        ClockInfo {
            tsc_ticks_per_second: word(0),
            boot_tsc: word(1),
            boot_time: CivilTime {
                year: word(2),
                month: word(3),
                day: word(4),
                hour: word(5),
                minute: word(6),
                second: word(7),
            },
        }
    }

    /// The real-time clock's reading at boot, or `None` when the kernel found none.
    pub fn boot_reading(&self) -> Option<CivilTime> {
        (self.boot_time != CivilTime::default()).then_some(self.boot_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_through_its_bytes_in_field_order() {
        let info = ClockInfo {
            tsc_ticks_per_second: 2_500_000_000,
            boot_tsc: 0x1122_3344_5566_7788,
            boot_time: CivilTime {
                year: 2026,
                month: 12,
                day: 7,
                hour: 9,
                minute: 30,
                second: 59,
            },
        };
        let bytes = info.to_bytes();
        assert_eq!(CLOCK_INFO_BYTES, 64);
        assert_eq!(bytes[0..8], 2_500_000_000u64.to_le_bytes());
        assert_eq!(bytes[8], 0x88);
        assert_eq!(bytes[16..24], 2026u64.to_le_bytes());
        assert_eq!(bytes[56..64], 59u64.to_le_bytes());
        assert_eq!(ClockInfo::from_bytes(&bytes), info);
        assert_eq!(info.boot_reading(), Some(info.boot_time));
    }

    #[test]
    fn an_all_zero_reading_is_no_reading() {
        assert_eq!(ClockInfo::default().boot_reading(), None);
    }
}
