//! The kernel heap: a fixed 16 MiB region in the kernel image, handed to the Talc allocator,
//! whose size-class bins find a free block without walking a list of every hole. The kernel's
//! tables (frame table, environment table, mapping database) live here.

use talc::{ErrOnOom, Span, Talc, Talck};

const HEAP_BYTES: usize = 16 * 1024 * 1024;

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
