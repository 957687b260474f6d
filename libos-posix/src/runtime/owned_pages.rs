//! Pages this environment binds to fresh frames of its own, read and written with volatile
//! accesses since another party writes them too (the kernel, for a packet receive ring).

use crate::layout::PAGE_BYTES;
use crate::syscall;
use exo_abi::Error;
use exo_abi::PageRights;

/// Pages bound writable from a fixed address, by [`OwnedPages::bind`] only.
#[derive(Debug)]
pub(crate) struct OwnedPages {
    address: u64,
    len_bytes: u64,
}

impl OwnedPages {
    /// Allocates `count` frames and binds them writable from the page address `address` on.
    pub(crate) fn bind(address: u64, count: u64) -> Result<OwnedPages, Error> {
        let len_bytes = count.checked_mul(PAGE_BYTES).ok_or(Error::BadAddress)?;
        address.checked_add(len_bytes).ok_or(Error::BadAddress)?;
        for page in 0..count {
            let frame = syscall::frame_allocate(None)?;
            syscall::page_map(address + page * PAGE_BYTES, frame, PageRights::WRITABLE)?;
        }
        Ok(OwnedPages { address, len_bytes })
    }

    /// The address of the first page.
    pub(crate) fn address(&self) -> u64 {
        self.address
    }

    /// The address of the `len` bytes at `offset`, which must lie inside the pages, aligned
    /// to `len`.
    fn at(&self, offset: u64, len: u64) -> u64 {
        assert!(
            offset.is_multiple_of(len) && offset.checked_add(len) <= Some(self.len_bytes),
            "offset {offset} is outside the pages or unaligned"
        );
        self.address + offset
    }

    /// The 64-bit word at byte `offset`.
    pub(crate) fn read_word(&self, offset: u64) -> u64 {
        // SAFETY: `bind` bound every page writable, to fresh frames (a bound page makes
        // `page_map` fail), and `at` keeps the access inside them, aligned.
        unsafe { (self.at(offset, 8) as *const u64).read_volatile() }
    }

    /// Sets the 64-bit word at byte `offset` to `value`.
    pub(crate) fn write_word(&self, offset: u64, value: u64) {
        // SAFETY: as in `read_word`.
        unsafe { (self.at(offset, 8) as *mut u64).write_volatile(value) }
    }

    /// The byte at `offset`.
    pub(crate) fn read_byte(&self, offset: u64) -> u8 {
        // SAFETY: as in `read_word`.
        unsafe { (self.at(offset, 1) as *const u8).read_volatile() }
    }

    /// The `len` bytes at `offset`, which must lie inside the pages, borrowed in place. The
    /// caller keeps whoever else writes the pages (the kernel, for a receive ring) away from
    /// them while the borrow lasts.
    pub(crate) fn bytes(&self, offset: u64, len: u64) -> &[u8] {
        let address = self.at(offset, 1);
        assert!(
            offset.checked_add(len) <= Some(self.len_bytes),
            "bytes {offset}+{len} are outside the pages"
        );
        // SAFETY: `bind` bound every page writable to fresh frames, the range lies inside
        // them (checked above), and nothing in this program writes them through a reference;
        // the other writer is held off by the caller's protocol (see `ReceiveRing::pending`).
        unsafe { core::slice::from_raw_parts(address as *const u8, len as usize) }
    }
}
