//! `ClockInfo`: the platform's clock facts reach a writable buffer, and only a writable one.

use super::DATA_PAGE;
use crate::fake::{Booted, FAKE_CLOCK, Fake, PROGRAM_ENTRY};
use crate::platform::Platform;
use exo_abi::Syscall::ClockInfo;
use exo_abi::{CLOCK_INFO_BYTES, Error, USER_END};

/// The bytes at `address` of the running environment's memory, as a clock record.
fn record_at(address: u64) -> exo_abi::ClockInfo {
    let mut bytes = [0; CLOCK_INFO_BYTES];
    Fake::read_user(address, &mut bytes);
    exo_abi::ClockInfo::from_bytes(&bytes)
}

#[test]
fn the_clock_facts_reach_a_writable_buffer() {
    let mut booted = Booted::new();
    assert_eq!(booted.call(ClockInfo, &[DATA_PAGE + 8]), Ok(0));
    assert_eq!(record_at(DATA_PAGE + 8), FAKE_CLOCK);
}

#[test]
fn a_buffer_that_is_not_writable_user_memory_is_refused_and_left_alone() {
    let mut booted = Booted::new();
    let page_end = DATA_PAGE + 0x1000;
    let before = record_at(page_end - CLOCK_INFO_BYTES as u64);
    for buffer in [
        0,
        PROGRAM_ENTRY,
        page_end - 8,
        USER_END - 8,
        USER_END,
        0xffff_8000_0000_0000,
        u64::MAX - 8,
    ] {
        assert_eq!(
            booted.call(ClockInfo, &[buffer]),
            Err(Error::BadAddress),
            "buffer {buffer:#x}"
        );
    }
    assert_eq!(record_at(page_end - CLOCK_INFO_BYTES as u64), before);
    assert!(crate::consistency::check(&booted.kernel).is_ok());
}
