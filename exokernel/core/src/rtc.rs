//! The CMOS real-time clock's registers turned into a calendar reading: the clock keeps its
//! fields in BCD or binary and its hour in 12- or 24-hour form, as status register B says
//! (MC146818 data sheet; the PC's CMOS follows it).

use exo_abi::CivilTime;

/// Status register B, bit 1: the hour counts 0 to 23 (else 1 to 12, with [`PM`]).
pub const HOUR_24: u8 = 1 << 1;
/// Status register B, bit 2: the fields are binary (else BCD).
pub const BINARY: u8 = 1 << 2;
/// In 12-hour form, the hour register's top bit: afternoon.
pub const PM: u8 = 1 << 7;

/// The clock registers as read, undecoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcRegisters {
    pub second: u8,
    pub minute: u8,
    pub hour: u8,
    pub day: u8,
    pub month: u8,
    /// Two digits: the year within 2000 to 2099.
    pub year: u8,
    pub status_b: u8,
}

impl RtcRegisters {
    /// The calendar reading, or `None` when a field is not a valid value in the form status
    /// register B names (an absent or broken clock).
    pub fn decode(&self) -> Option<CivilTime> {
        let is_binary = self.status_b & BINARY != 0;
        let field = |raw: u8| if is_binary { Some(raw) } else { from_bcd(raw) };
        let time = CivilTime {
            year: 2000 + u64::from(field(self.year).filter(|&year| year < 100)?),
            month: u64::from(field(self.month)?),
            day: u64::from(field(self.day)?),
            hour: u64::from(self.decode_hour(field)?),
            minute: u64::from(field(self.minute)?),
            second: u64::from(field(self.second)?),
        };
        let is_valid = (1..=12).contains(&time.month)
            && (1..=u64::from(exo_abi::days_in_month(time.year, time.month as u8)))
                .contains(&time.day)
            && time.minute < 60
            && time.second < 60;
        is_valid.then_some(time)
    }

    /// The hour from 0 to 23, in either form.
    fn decode_hour(&self, field: impl Fn(u8) -> Option<u8>) -> Option<u8> {
        if self.status_b & HOUR_24 != 0 {
            return field(self.hour).filter(|&hour| hour < 24);
        }
        let clock_hour = field(self.hour & !PM).filter(|hour| (1..=12).contains(hour))?;
        let morning_hour = clock_hour % 12;
        Some(if self.hour & PM != 0 {
            morning_hour + 12
        } else {
            morning_hour
        })
    }
}

/// Two BCD digits as a number, or `None` when a digit is above 9.
fn from_bcd(raw: u8) -> Option<u8> {
    let (tens, ones) = (raw >> 4, raw & 0x0f);
    (tens <= 9 && ones <= 9).then_some(tens * 10 + ones)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registers(fields: [u8; 6], status_b: u8) -> RtcRegisters {
        let [second, minute, hour, day, month, year] = fields;
        RtcRegisters {
            second,
            minute,
            hour,
            day,
            month,
            year,
            status_b,
        }
    }

    fn time(fields: [u64; 6]) -> Option<CivilTime> {
        let [year, month, day, hour, minute, second] = fields;
        Some(CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    #[test]
    fn bcd_in_24_hour_form() {
        let raw = registers([0x59, 0x30, 0x23, 0x29, 0x02, 0x24], HOUR_24);
        assert_eq!(raw.decode(), time([2024, 2, 29, 23, 30, 59]));
    }

    #[test]
    fn binary_in_24_hour_form() {
        let raw = registers([59, 30, 23, 31, 12, 99], HOUR_24 | BINARY);
        assert_eq!(raw.decode(), time([2099, 12, 31, 23, 30, 59]));
    }

    #[test]
    fn twelve_hour_form_maps_midnight_and_noon() {
        let at = |hour, status_b| registers([0, 0, hour, 1, 1, 0x26], status_b).decode();
        assert_eq!(at(0x12, 0), time([2026, 1, 1, 0, 0, 0]));
        assert_eq!(at(0x12 | PM, 0), time([2026, 1, 1, 12, 0, 0]));
        assert_eq!(at(0x01 | PM, 0), time([2026, 1, 1, 13, 0, 0]));
        assert_eq!(at(0x11 | PM, 0), time([2026, 1, 1, 23, 0, 0]));
        assert_eq!(at(0x09, 0), time([2026, 1, 1, 9, 0, 0]));
        assert_eq!(at(11 | PM, BINARY), time([2038, 1, 1, 23, 0, 0]));
    }

    #[test]
    fn invalid_fields_give_no_reading() {
        let valid = [0x00, 0x00, 0x12, 0x01, 0x01, 0x26];
        assert!(registers(valid, HOUR_24).decode().is_some());
        let broken = |index: usize, value: u8, status_b: u8| {
            let mut fields = valid;
            fields[index] = value;
            registers(fields, status_b).decode()
        };
        // An absent clock reads all ones.
        assert_eq!(registers([0xff; 6], 0xff).decode(), None);
        assert_eq!(broken(0, 0x60, HOUR_24), None);
        assert_eq!(broken(0, 0x1a, HOUR_24), None);
        assert_eq!(broken(1, 0x60, HOUR_24), None);
        assert_eq!(broken(2, 0x24, HOUR_24), None);
        assert_eq!(broken(2, 0x00, 0), None);
        assert_eq!(broken(2, 0x13, 0), None);
        assert_eq!(broken(3, 0x00, HOUR_24), None);
        assert_eq!(broken(3, 0x32, HOUR_24), None);
        assert_eq!(broken(4, 0x00, HOUR_24), None);
        assert_eq!(broken(4, 0x13, HOUR_24), None);
        assert_eq!(broken(5, 100, HOUR_24 | BINARY), None);
        // 2026 is no leap year; 2000 was.
        let february_29 = |year| registers([0, 0, 0, 0x29, 0x02, year], HOUR_24).decode();
        assert_eq!(february_29(0x26), None);
        assert_eq!(february_29(0x00), time([2000, 2, 29, 0, 0, 0]));
        assert_eq!(broken(3, 0x31, HOUR_24).map(|_| ()), Some(()));
        let april_31 = registers([0, 0, 0, 0x31, 0x04, 0x26], HOUR_24).decode();
        assert_eq!(april_31, None);
    }
}
