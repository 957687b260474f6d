//! The proleptic Gregorian calendar in UTC, as Unix time counts it (86,400 seconds a day, no
//! leap seconds): seconds since 1970-01-01 00:00:00 to a date and time of day and back.
//! The day arithmetic is Howard Hinnant's `days_from_civil` and `civil_from_days`
//! ("chrono-Compatible Low-Level Date Algorithms"), over years from 1970 on.

use core::fmt;
use exo_abi::CivilTime;

const SECONDS_PER_DAY: u64 = 86_400;
/// Days from 0000-03-01 (the start of a 400-year era, with February last) to 1970-01-01.
const DAYS_TO_EPOCH_FROM_ERA_START: u64 = 719_468;
const DAYS_PER_ERA: u64 = 146_097;
/// Day 0 (1970-01-01) was a Thursday; weekdays count from Sunday.
const EPOCH_WEEKDAY: u64 = 4;
const WEEKDAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub use exo_abi::{days_in_month, is_leap_year};

/// Days from 1970-01-01 to the valid date `year`-`month`-`day` (1970 or later).
fn days_from_civil(year: u64, month: u8, day: u8) -> u64 {
    // Years start in March, so that February's extra day comes last.
    let year = if month <= 2 { year - 1 } else { year };
    let (era, year_of_era) = (year / 400, year % 400);
    let month_from_march = (u64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + u64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - DAYS_TO_EPOCH_FROM_ERA_START
}

/// The date `days` days after 1970-01-01: year, month (1 to 12), day (1 to 31).
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let days = days + DAYS_TO_EPOCH_FROM_ERA_START;
    let (era, day_of_era) = (days / DAYS_PER_ERA, days % DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u8;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u8;
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// A date and time of day in UTC, to the second, from 1970 on. Its [`Display`](fmt::Display)
/// is that of `date -u`: `Mon Dec  7 09:30:15 UTC 2026`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    year: u64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl DateTime {
    /// The date and time `seconds` seconds after 1970-01-01 00:00:00 UTC.
    pub fn from_unix_seconds(seconds: u64) -> DateTime {
        let (year, month, day) = civil_from_days(seconds / SECONDS_PER_DAY);
        let second_of_day = seconds % SECONDS_PER_DAY;
        DateTime {
            year,
            month,
            day,
            hour: (second_of_day / 3600) as u8,
            minute: (second_of_day / 60 % 60) as u8,
            second: (second_of_day % 60) as u8,
        }
    }

    /// The date and time a real-time clock reads, or `None` when it is no valid time from
    /// 1970 on.
    pub fn from_civil(time: &CivilTime) -> Option<DateTime> {
        let small = |value: u64| u8::try_from(value).ok();
        let date_time = DateTime {
            year: time.year,
            month: small(time.month).filter(|month| (1..=12).contains(month))?,
            day: small(time.day)?,
            hour: small(time.hour).filter(|&hour| hour < 24)?,
            minute: small(time.minute).filter(|&minute| minute < 60)?,
            second: small(time.second).filter(|&second| second < 60)?,
        };
        let is_valid = (1970..=u64::from(u32::MAX)).contains(&date_time.year)
            && (1..=days_in_month(date_time.year, date_time.month)).contains(&date_time.day);
        is_valid.then_some(date_time)
    }

    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn unix_seconds(&self) -> u64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let second_of_day =
            u64::from(self.hour) * 3600 + u64::from(self.minute) * 60 + u64::from(self.second);
        days * SECONDS_PER_DAY + second_of_day
    }

    /// The year.
    pub fn year(&self) -> u64 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// The hour, 0 to 23.
    pub fn hour(&self) -> u8 {
        self.hour
    }

    /// The minute, 0 to 59.
    pub fn minute(&self) -> u8 {
        self.minute
    }

    /// The second, 0 to 59.
    pub fn second(&self) -> u8 {
        self.second
    }

    /// The day of the week, 0 (Sunday) to 6 (Saturday).
    pub fn weekday(&self) -> u8 {
        let days = days_from_civil(self.year, self.month, self.day);
        ((days + EPOCH_WEEKDAY) % 7) as u8
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(
            formatter,
            "{} {} {:>2} {:02}:{:02}:{:02} UTC {}",
            WEEKDAY_NAMES[usize::from(self.weekday())],
            MONTH_NAMES[usize::from(self.month - 1)],
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.year
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn civil(fields: [u64; 6]) -> CivilTime {
        let [year, month, day, hour, minute, second] = fields;
        CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    fn seconds_of(fields: [u64; 6]) -> Option<u64> {
        DateTime::from_civil(&civil(fields)).map(|time| time.unix_seconds())
    }

    /// Known instants (from `date -u -d @N`).
    const KNOWN: [([u64; 6], u64, &str); 9] = [
        ([1970, 1, 1, 0, 0, 0], 0, "Thu Jan  1 00:00:00 UTC 1970"),
        (
            [1970, 1, 2, 0, 0, 1],
            86_401,
            "Fri Jan  2 00:00:01 UTC 1970",
        ),
        (
            [1972, 2, 29, 12, 0, 0],
            68_212_800,
            "Tue Feb 29 12:00:00 UTC 1972",
        ),
        (
            [2000, 2, 29, 0, 0, 0],
            951_782_400,
            "Tue Feb 29 00:00:00 UTC 2000",
        ),
        (
            [2000, 3, 1, 0, 0, 0],
            951_868_800,
            "Wed Mar  1 00:00:00 UTC 2000",
        ),
        (
            [2024, 12, 31, 23, 59, 59],
            1_735_689_599,
            "Tue Dec 31 23:59:59 UTC 2024",
        ),
        (
            [2038, 1, 19, 3, 14, 8],
            2_147_483_648,
            "Tue Jan 19 03:14:08 UTC 2038",
        ),
        (
            [2100, 3, 1, 0, 0, 0],
            4_107_542_400,
            "Mon Mar  1 00:00:00 UTC 2100",
        ),
        (
            [2106, 2, 7, 6, 28, 16],
            4_294_967_296,
            "Sun Feb  7 06:28:16 UTC 2106",
        ),
    ];

    #[test]
    fn known_dates_convert_both_ways_and_print_as_date_does() {
        for (fields, seconds, printed) in KNOWN {
            assert_eq!(seconds_of(fields), Some(seconds), "{fields:?}");
            let time = DateTime::from_unix_seconds(seconds);
            assert_eq!(DateTime::from_civil(&civil(fields)), Some(time));
            assert_eq!(time.to_string(), printed);
        }
    }

    #[test]
    fn every_day_for_five_centuries_follows_the_one_before() {
        let mut expected = (1970, 1, 1);
        for day in 0..(530 * 366) {
            let time = DateTime::from_unix_seconds(day * SECONDS_PER_DAY + 43_200);
            assert_eq!((time.year(), time.month(), time.day()), expected);
            assert_eq!(time.unix_seconds(), day * SECONDS_PER_DAY + 43_200);
            assert_eq!(u64::from(time.weekday()), (day + 4) % 7);
            let (year, month, day_of_month) = expected;
            expected = if day_of_month < days_in_month(year, month) {
                (year, month, day_of_month + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
        }
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert!(is_leap_year(2000) && is_leap_year(2024) && is_leap_year(2400));
        assert!(!is_leap_year(1900) && !is_leap_year(2100) && !is_leap_year(2026));
        assert_eq!(seconds_of([2026, 2, 29, 0, 0, 0]), None);
        assert_eq!(seconds_of([2100, 2, 29, 0, 0, 0]), None);
        assert!(seconds_of([2400, 2, 29, 0, 0, 0]).is_some());
    }

    #[test]
    fn invalid_or_early_readings_are_refused() {
        for fields in [
            [1969, 12, 31, 23, 59, 59],
            [0, 0, 0, 0, 0, 0],
            [2026, 13, 1, 0, 0, 0],
            [2026, 0, 1, 0, 0, 0],
            [2026, 4, 31, 0, 0, 0],
            [2026, 1, 0, 0, 0, 0],
            [2026, 1, 1, 24, 0, 0],
            [2026, 1, 1, 0, 60, 0],
            [2026, 1, 1, 0, 0, 60],
            [2026, 1 << 40, 1, 0, 0, 0],
            [u64::MAX, 1, 1, 0, 0, 0],
        ] {
            assert_eq!(seconds_of(fields), None, "{fields:?}");
        }
    }

    #[test]
    fn the_largest_instants_convert_without_overflow() {
        let last = DateTime::from_unix_seconds(u64::MAX);
        assert_eq!(last.unix_seconds(), u64::MAX);
        let latest_reading = civil([u64::from(u32::MAX), 12, 31, 23, 59, 59]);
        let time = DateTime::from_civil(&latest_reading).expect("valid");
        assert_eq!(DateTime::from_unix_seconds(time.unix_seconds()), time);
    }
}
