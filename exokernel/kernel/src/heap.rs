//! The kernel heap: a fixed 48 MiB region in the kernel image, handed to the Talc allocator,
//! whose size-class bins find a free block without walking a list of every hole. The kernel's
//! tables (frame table, environment table, mapping database) live here, and so does what it
//! keeps on environments' behalf, under the quota of `exo_core::kernel_memory`.

use talc::{ErrOnOom, Span, Talc, Talck};

const HEAP_BYTES: usize = 48 * 1024 * 1024;

/// What the kernel keeps for its own needs beyond what it holds once booted: charges to
/// environments may take the rest of the heap, no more. It covers the records of ended
/// environments not yet reaped, the transient buffers of one system call (a filter load's
/// peak, copies of user arguments), the scheduler's and the network's own growth, and the
/// allocator's fragmentation. The frame table's records are reserved apart, by frame.
const KERNEL_RESERVE_BYTES: usize = 6 * 1024 * 1024;

/// An upper bound of what the frame table keeps for one frame an environment owns (its entries
/// in the owner's sets; measured: 92 bytes a frame). Frames are bounded by the machine's
/// memory, so the records of every free frame are reserved at boot rather than charged.
const FRAME_RECORD_BYTES: usize = 128;

#[repr(C, align(4096))]
struct HeapMemory([u8; HEAP_BYTES]);

static mut HEAP_MEMORY: HeapMemory = HeapMemory([0; HEAP_BYTES]);

#[global_allocator]
static ALLOCATOR: Talck<spin::Mutex<()>, ErrOnOom> = Talc::new(ErrOnOom).lock();

/// Gives the heap its memory; call once, before the first allocation.
pub fn init() {
    let memory = Span::from_array((&raw mut HEAP_MEMORY).cast::<[u8; HEAP_BYTES]>());
    // SAFETY: HEAP_MEMORY is used by nothing but the allocator, and this runs once at boot.
    let claimed = unsafe { ALLOCATOR.lock().claim(memory) };
    claimed.expect("the kernel heap is large enough for the allocator's own records");
}

/// Bytes of the heap in use, the allocator's own overhead included.
pub fn in_use() -> usize {
    let counters = *ALLOCATOR.lock().get_counters();
    counters.claimed_bytes - counters.available_bytes
}

/// The most bytes all environments together may be charged, given what the kernel holds now
/// (call it once booted, with `free_frames` frames free): what is left of the heap beyond
/// [`KERNEL_RESERVE_BYTES`] and the records of every free frame.
pub fn charge_limit(free_frames: usize) -> usize {
    HEAP_BYTES
        .saturating_sub(in_use())
        .saturating_sub(KERNEL_RESERVE_BYTES)
        .saturating_sub(free_frames * FRAME_RECORD_BYTES)
}
