//! Physical memory as the kernel sees it: through the bootloader's map of all physical memory
//! at a fixed offset in the kernel half.

use core::sync::atomic::{AtomicU64, Ordering};
use exo_core::PAGE_SIZE;
use exo_core::frame_table::FrameNumber;

/// Where the bootloader maps physical memory (never at 0): a plain word, not a `Once`, since
/// every page-table walk and frame access reads it (a `Once` checks its state each time).
static PHYSICAL_MEMORY_OFFSET: AtomicU64 = AtomicU64::new(0);

/// Records where physical memory is mapped.
pub fn init(physical_memory_offset: u64) {
    PHYSICAL_MEMORY_OFFSET.store(physical_memory_offset, Ordering::Relaxed);
}

/// The kernel virtual address of physical address `physical`.
#[inline]
pub fn physical_to_virtual(physical: u64) -> *mut u8 {
    let offset = PHYSICAL_MEMORY_OFFSET.load(Ordering::Relaxed);
    debug_assert!(offset != 0, "memory initialised");
    (offset + physical) as *mut u8
}

/// The kernel virtual address of the first byte of `frame`.
pub fn frame_to_virtual(frame: FrameNumber) -> *mut u8 {
    physical_to_virtual(frame * PAGE_SIZE)
}
