//! A receive ring (format in `exo_abi::packet`) in pages this environment owns, bound to a
//! packet filter, and reading the frames the kernel delivers into it.

use crate::syscall;
use exo_abi::Error;
use exo_abi::packet::{CONSUMED, DROPPED, PRODUCED, SLOT_DATA_OFFSET};
use exo_abi::page_rights::WRITABLE;

const PAGE_BYTES: u64 = 4096;

/// A bound receive ring at a fixed address.
#[derive(Debug)]
pub struct ReceiveRing {
    address: u64,
    slots: u64,
}

impl ReceiveRing {
    /// Allocates and binds `1 + slots` pages at `address` and binds filter `filter` to deliver
    /// into them.
    pub fn bind(filter: u64, address: u64, slots: u64) -> Result<ReceiveRing, Error> {
        for page in 0..=slots {
            let frame = syscall::frame_allocate(None)?;
            syscall::page_map(address + page * PAGE_BYTES, frame, WRITABLE)?;
        }
        syscall::packet_bind(filter, address, slots)?;
        Ok(ReceiveRing { address, slots })
    }

    fn header(&self, word: usize) -> *mut u64 {
        (self.address as *mut u64).wrapping_add(word)
    }

    /// Frames dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        // SAFETY: the header page is bound writable at `address` (see `bind`).
        unsafe { self.header(DROPPED).read_volatile() }
    }

    /// Copies the oldest frame not yet read into `buffer` and returns its length, or `None`
    /// when the ring is empty. A frame longer than `buffer` is cut.
    pub fn receive(&mut self, buffer: &mut [u8]) -> Option<usize> {
        // SAFETY: the header page is bound writable at `address` (see `bind`); the kernel
        // writes PRODUCED and this environment CONSUMED.
        let (produced, consumed) = unsafe {
            (
                self.header(PRODUCED).read_volatile(),
                self.header(CONSUMED).read_volatile(),
            )
        };
        if produced == consumed {
            return None;
        }
        let slot = self.address + (1 + consumed % self.slots) * PAGE_BYTES;
        // SAFETY: slot pages follow the header, bound writable (see `bind`); the kernel wrote
        // this slot before it advanced PRODUCED and leaves it alone until CONSUMED passes it.
        let len = unsafe { (slot as *const u64).read_volatile() } as usize;
        let len = len
            .min(buffer.len())
            .min((PAGE_BYTES as usize) - SLOT_DATA_OFFSET);
        for (index, byte) in buffer[..len].iter_mut().enumerate() {
            // SAFETY: as above; `index` stays inside the slot page.
            *byte = unsafe { ((slot as *const u8).add(SLOT_DATA_OFFSET + index)).read_volatile() };
        }
        // SAFETY: as above.
        unsafe {
            self.header(CONSUMED)
                .write_volatile(consumed.wrapping_add(1))
        };
        Some(len)
    }
}
