//! `KernelCounters`: the whole record, the time halted included, reaches a writable buffer, and
//! only one with room for all of it.

use super::DATA_PAGE;
use crate::counters::note_halted;
use crate::fake::{Booted, Fake};
use crate::platform::Platform;
use exo_abi::Syscall::KernelCounters;
use exo_abi::{Error, KernelCounters as Counters};

const RECORD_BYTES: usize = size_of::<Counters>();

/// The bytes at `address` of the running environment's memory, as a counters record.
fn record_at(address: u64) -> Counters {
    let mut bytes = [0; RECORD_BYTES];
    Fake::read_user(address, &mut bytes);
    let word = |index: usize| {
        u64::from_le_bytes(bytes[index * 8..index * 8 + 8].try_into().expect("8 bytes"))
    };
    Counters {
        entries: word(0),
        switches: word(1),
        copied_bytes: word(2),
        halted_ticks: word(3),
    }
}

#[test]
fn the_time_the_cpu_halted_reaches_the_record_and_only_grows() {
    let mut booted = Booted::new();
    assert_eq!(booted.call(KernelCounters, &[DATA_PAGE]), Ok(0));
    let before = record_at(DATA_PAGE);
    note_halted(12_345);
    assert_eq!(booted.call(KernelCounters, &[DATA_PAGE]), Ok(0));
    let after = record_at(DATA_PAGE);
    // Other tests note halts too, in parallel: at least this one's ticks were added.
    assert!(after.halted_ticks >= before.halted_ticks + 12_345);
    assert!(after.copied_bytes >= before.copied_bytes + RECORD_BYTES as u64);
}

#[test]
fn a_buffer_without_room_for_the_whole_record_is_refused_and_left_alone() {
    let mut booted = Booted::new();
    let page_end = DATA_PAGE + 0x1000;
    // Room for the three counters of ABI versions before 14, not for the fourth.
    let short = page_end - 24;
    let mut before = [0; 24];
    Fake::read_user(short, &mut before);
    assert_eq!(
        booted.call(KernelCounters, &[short]),
        Err(Error::BadAddress)
    );
    let mut after = [0; 24];
    Fake::read_user(short, &mut after);
    assert_eq!(after, before);
    let exact = page_end - RECORD_BYTES as u64;
    assert_eq!(booted.call(KernelCounters, &[exact]), Ok(0));
}
