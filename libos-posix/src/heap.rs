//! The app's heap (feature `heap`): a linked-list allocator over a fixed region of the
//! program's own zeroed data, so that `alloc` (`Vec`, `String`, `Box`) works. The region is part
//! of the program image, bound at load like the rest of its data; [`HEAP_BYTES`] bounds it.

use core::mem::MaybeUninit;
use linked_list_allocator::LockedHeap;

/// Bytes of the heap.
pub const HEAP_BYTES: usize = 256 * 1024;

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

static mut REGION: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];

/// Hands the region to the allocator; called once, before the app's main function.
pub(crate) fn init() {
    // SAFETY: called once at program start, before anything allocates; nothing else names
    // REGION, so this is its only reference, and it lives as long as the program.
    let region = unsafe { &mut *(&raw mut REGION) };
    ALLOCATOR.lock().init_from_slice(region);
}
