//! A receive ring (format in `exo_abi::packet`) in pages this environment owns, bound to a
//! packet filter, and reading the frames the kernel delivers into it.

use crate::layout::PAGE_BYTES;
use crate::runtime::owned_pages::OwnedPages;
use crate::syscall;
use core::sync::atomic::{Ordering, compiler_fence};
use exo_abi::Error;
use exo_abi::packet::{CONSUMED, DROPPED, PRODUCED, SLOT_DATA_OFFSET};

/// Bytes of a header word.
const WORD_BYTES: u64 = 8;

/// A bound receive ring at a fixed address: a header page, then one page a slot.
#[derive(Debug)]
pub struct ReceiveRing {
    pages: OwnedPages,
    slots: u64,
}

impl ReceiveRing {
    /// Allocates and binds `1 + slots` pages at `address` and binds filter `filter` to deliver
    /// into them.
    pub fn bind(filter: u64, address: u64, slots: u64) -> Result<ReceiveRing, Error> {
        let pages = OwnedPages::bind(address, slots.checked_add(1).ok_or(Error::TooLong)?)?;
        syscall::packet_bind(filter, address, slots)?;
        Ok(ReceiveRing { pages, slots })
    }

    /// Binds filter `filter` to deliver into this ring too, as into a new one: for a ring
    /// whose earlier filter was unloaded (its pages stay bound, with their counts).
    pub fn bind_filter(&self, filter: u64) -> Result<(), Error> {
        syscall::packet_bind(filter, self.pages.address(), self.slots)
    }

    fn header(&self, word: usize) -> u64 {
        self.pages.read_word(word as u64 * WORD_BYTES)
    }

    /// Frames dropped because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.header(DROPPED)
    }

    /// Copies the oldest frame not yet read into `buffer` and returns its length, or `None`
    /// when the ring is empty. A frame longer than `buffer` is cut.
    pub fn receive(&mut self, buffer: &mut [u8]) -> Option<usize> {
        // The kernel writes PRODUCED and this environment CONSUMED.
        let (produced, consumed) = (self.header(PRODUCED), self.header(CONSUMED));
        if produced == consumed {
            return None;
        }
        // The kernel wrote this slot before it advanced PRODUCED and leaves it alone until
        // CONSUMED passes it.
        let slot = (1 + consumed % self.slots) * PAGE_BYTES;
        let len = self.pages.read_word(slot) as usize;
        let len = len
            .min(buffer.len())
            .min((PAGE_BYTES as usize) - SLOT_DATA_OFFSET);
        for (index, byte) in buffer[..len].iter_mut().enumerate() {
            *byte = self
                .pages
                .read_byte(slot + (SLOT_DATA_OFFSET + index) as u64);
        }
        self.pages
            .write_word(CONSUMED as u64 * WORD_BYTES, consumed.wrapping_add(1));
        Some(len)
    }

    /// The frames delivered and not yet released, oldest first, each borrowed where it lies
    /// in its slot (no copy). The kernel writes a slot only while the ring has room for it,
    /// so these stay as they are until [`ReceiveRing::release`], which the borrow holds off.
    pub fn pending(&self) -> impl Iterator<Item = &[u8]> {
        let (produced, consumed) = (self.header(PRODUCED), self.header(CONSUMED));
        // The slots are read after PRODUCED, as the kernel wrote them before it.
        compiler_fence(Ordering::Acquire);
        let count = produced.wrapping_sub(consumed).min(self.slots);
        (0..count).map(move |index| {
            let slot = (1 + consumed.wrapping_add(index) % self.slots) * PAGE_BYTES;
            let len = self
                .pages
                .read_word(slot)
                .min(PAGE_BYTES - SLOT_DATA_OFFSET as u64);
            self.pages.bytes(slot + SLOT_DATA_OFFSET as u64, len)
        })
    }

    /// Gives the `count` oldest pending frames back to the kernel (at most as many as are
    /// pending), so that their slots take new frames.
    pub fn release(&mut self, count: u64) {
        let (produced, consumed) = (self.header(PRODUCED), self.header(CONSUMED));
        let count = count.min(produced.wrapping_sub(consumed)).min(self.slots);
        // The slots are finished with before the kernel may write them again.
        compiler_fence(Ordering::Release);
        self.pages
            .write_word(CONSUMED as u64 * WORD_BYTES, consumed.wrapping_add(count));
    }
}
