//! `PacketBind`'s ring size: a library OS sizes its own receive ring, from 1 to
//! `RING_SLOTS_MAX` slots, and any other size is refused before anything else is looked at.

use super::FREE_PAGE;
use crate::fake::Booted;
use exo_abi::Error;
use exo_abi::Syscall::PacketBind;
use exo_abi::packet::RING_SLOTS_MAX;

/// A filter id no environment has.
const NO_FILTER: u64 = 12_345;

#[test]
fn a_ring_size_outside_the_bound_is_refused_as_an_invalid_argument() {
    let mut booted = Booted::new();
    for slots in [0, RING_SLOTS_MAX + 1, 1 << 32, u64::MAX] {
        for ring in [FREE_PAGE, 0, u64::MAX - 4095] {
            assert_eq!(
                booted.call(PacketBind, &[NO_FILTER, ring, slots]),
                Err(Error::InvalidArgument),
                "{slots} slots at {ring:#x}"
            );
        }
    }
}

#[test]
fn a_ring_size_within_the_bound_goes_on_to_the_ring_pages() {
    let mut booted = Booted::new();
    for slots in [1, RING_SLOTS_MAX] {
        // Unbound pages, and pages past the end of the address space.
        for ring in [FREE_PAGE, u64::MAX - 4095] {
            assert_eq!(
                booted.call(PacketBind, &[NO_FILTER, ring, slots]),
                Err(Error::BadAddress),
                "{slots} slots at {ring:#x}"
            );
        }
    }
}
