//! The CMOS real-time clock, read once at boot with the time-stamp counter's value at that
//! moment, so that library OSes can keep the time of day from the counter (see
//! `exo_abi::ClockInfo`). The fields are decoded by `exo_core::rtc`.

use super::clock;
use exo_abi::CivilTime;
use exo_core::rtc::RtcRegisters;
use spin::Once;
use x86_64::instructions::port::Port;

const CMOS_INDEX: u16 = 0x70;
const CMOS_DATA: u16 = 0x71;
const SECONDS: u8 = 0x00;
const MINUTES: u8 = 0x02;
const HOURS: u8 = 0x04;
const DAY_OF_MONTH: u8 = 0x07;
const MONTH: u8 = 0x08;
const YEAR: u8 = 0x09;
const STATUS_A: u8 = 0x0a;
const STATUS_B: u8 = 0x0b;
/// Status register A, bit 7: the clock is updating its fields, which may read inconsistent.
const UPDATE_IN_PROGRESS: u8 = 1 << 7;
/// How long the reading may take: an update lasts under 2 ms, and a clock that stays busy longer
/// (or an absent one, which reads all ones) gives no reading rather than a stalled boot.
const READ_LIMIT_MICROSECONDS: u64 = 20_000;

/// The counter's value when the clock was read, and the reading (all zero for none).
static BOOT_READING: Once<(u64, CivilTime)> = Once::new();

fn read_register(register: u8) -> u8 {
    // SAFETY: selecting a CMOS register and reading it touches no memory; only this module uses
    // the CMOS ports, once, at boot with interrupts off.
    unsafe {
        Port::<u8>::new(CMOS_INDEX).write(register);
        Port::<u8>::new(CMOS_DATA).read()
    }
}

fn read_fields() -> RtcRegisters {
    RtcRegisters {
        second: read_register(SECONDS),
        minute: read_register(MINUTES),
        hour: read_register(HOURS),
        day: read_register(DAY_OF_MONTH),
        month: read_register(MONTH),
        year: read_register(YEAR),
        status_b: read_register(STATUS_B),
    }
}

/// Waits until no update is in progress; false when that took past `deadline_microseconds`.
fn await_no_update(deadline_microseconds: u64) -> bool {
    while read_register(STATUS_A) & UPDATE_IN_PROGRESS != 0 {
        if clock::now_microseconds() > deadline_microseconds {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// Reads the clock twice outside an update until both readings agree (an update may still
/// begin between the check and the reads); `None` past the limit or for an invalid reading.
fn read_consistently() -> Option<(u64, CivilTime)> {
    let deadline = clock::now_microseconds() + READ_LIMIT_MICROSECONDS;
    loop {
        if !await_no_update(deadline) {
            return None;
        }
        let (tsc, first) = (clock::read_tsc(), read_fields());
        if !await_no_update(deadline) {
            return None;
        }
        if read_fields() == first {
            return Some((tsc, first.decode()?));
        }
    }
}

/// Reads the clock; call once at boot, after `clock::calibrate`.
pub fn read_at_boot() {
    let (tsc, time) = read_consistently().unwrap_or_else(|| {
        log::warn!("clock: no valid real-time clock reading; the time of day is unknown");
        (clock::read_tsc(), CivilTime::default())
    });
    log::info!(
        "clock: real-time clock at boot {:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        time.year,
        time.month,
        time.day,
        time.hour,
        time.minute,
        time.second
    );
    BOOT_READING.call_once(|| (tsc, time));
}

/// The counter's value when the clock was read at boot, and the reading (all zero for none).
pub fn boot_reading() -> (u64, CivilTime) {
    BOOT_READING
        .get()
        .copied()
        .unwrap_or((0, CivilTime::default()))
}
