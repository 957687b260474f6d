//! The process's heap: a linked-list allocator over pages bound at [`HEAP_BASE`] as it grows,
//! so that `alloc` (`Vec`, `String`, `Box`) works, a program that never allocates holds no heap
//! frames, and one that needs much gets it, up to [`HEAP_MAX_BYTES`].

use crate::layout::{HEAP_BASE, HEAP_MAX_BYTES, PAGE_BYTES};
use crate::syscall;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use exo_abi::page_rights::WRITABLE;
use linked_list_allocator::Heap;
use spin::Mutex;

/// Bytes bound at a time, at least (fewer system calls for a growing heap).
const GROWTH_BYTES: u64 = 64 * 1024;

struct GrowingHeap {
    heap: Mutex<(Heap, u64)>,
}

#[global_allocator]
static ALLOCATOR: GrowingHeap = GrowingHeap {
    heap: Mutex::new((Heap::empty(), 0)),
};

/// Binds fresh frames to the `bytes` of heap after the `bound` bytes already there; false when
/// frames run out or the heap is at its limit (what was bound stays bound and is used).
fn bind(bound: u64, bytes: u64) -> u64 {
    let mut added = 0;
    while added < bytes && bound + added < HEAP_MAX_BYTES {
        let page = HEAP_BASE + bound + added;
        let bound_page = syscall::frame_allocate(None)
            .and_then(|frame| syscall::page_map(page, frame, WRITABLE));
        if bound_page.is_err() {
            break;
        }
        added += PAGE_BYTES;
    }
    added
}

/// Whether the heap is in use at this instant (an exception inside the allocator).
pub fn is_busy() -> bool {
    ALLOCATOR.heap.is_locked()
}

// SAFETY: allocation is delegated to `linked_list_allocator::Heap` over memory bound writable to
// this environment's own frames before the heap is told of it; the bound range only grows.
unsafe impl GlobalAlloc for GrowingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut guard = self.heap.lock();
        let (heap, bound) = &mut *guard;
        if let Ok(block) = heap.allocate_first_fit(layout) {
            return block.as_ptr();
        }
        let wanted = (layout.size() + layout.align()) as u64 + PAGE_BYTES;
        let added = bind(
            *bound,
            wanted.max(GROWTH_BYTES).next_multiple_of(PAGE_BYTES),
        );
        if added == 0 {
            return core::ptr::null_mut();
        }
        if *bound == 0 {
            // SAFETY: the range was just bound writable and nothing else uses it.
            unsafe { heap.init(HEAP_BASE as *mut u8, added as usize) };
        } else {
            // SAFETY: the `added` bytes right after the heap's end were just bound writable.
            unsafe { heap.extend(added as usize) };
        }
        *bound += added;
        heap.allocate_first_fit(layout)
            .map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if let Some(pointer) = NonNull::new(pointer) {
            // SAFETY: the caller's contract: `pointer` came from `alloc` with `layout`.
            unsafe { self.heap.lock().0.deallocate(pointer, layout) };
        }
    }
}

/// Bytes of heap bound so far.
pub fn bound_bytes() -> u64 {
    ALLOCATOR.heap.lock().1
}
