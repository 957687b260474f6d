//! The kernel heap: a fixed 16 MiB region in the kernel image, handed to a linked-list
//! allocator. The kernel's tables (frame table, environment table) live here.

use linked_list_allocator::LockedHeap;

const HEAP_BYTES: usize = 16 * 1024 * 1024;

#[repr(C, align(4096))]
struct HeapMemory([u8; HEAP_BYTES]);

static mut HEAP_MEMORY: HeapMemory = HeapMemory([0; HEAP_BYTES]);

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

/// Gives the heap its memory; call once, before the first allocation.
pub fn init() {
    // SAFETY: HEAP_MEMORY is used by nothing but the allocator, and this runs once at boot.
    unsafe {
        ALLOCATOR
            .lock()
            .init((&raw mut HEAP_MEMORY).cast::<u8>(), HEAP_BYTES)
    };
}
