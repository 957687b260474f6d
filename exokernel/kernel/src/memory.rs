//! Physical memory as the kernel sees it: through the bootloader's map of all physical memory
//! at a fixed offset in the kernel half.

use exo_core::PAGE_SIZE;
use exo_core::frame_table::FrameNumber;

static PHYSICAL_MEMORY_OFFSET: spin::Once<u64> = spin::Once::new();

/// Records where physical memory is mapped.
pub fn init(physical_memory_offset: u64) {
    PHYSICAL_MEMORY_OFFSET.call_once(|| physical_memory_offset);
}

/// The kernel virtual address of physical address `physical`.
pub fn physical_to_virtual(physical: u64) -> *mut u8 {
    (PHYSICAL_MEMORY_OFFSET.get().expect("memory initialised") + physical) as *mut u8
}

/// The kernel virtual address of the first byte of `frame`.
pub fn frame_to_virtual(frame: FrameNumber) -> *mut u8 {
    physical_to_virtual(frame * PAGE_SIZE)
}
