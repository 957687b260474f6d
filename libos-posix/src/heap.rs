//! The app's heap (feature `heap`): a linked-list allocator over pages the library OS allocates
//! and binds itself at [`HEAP_BASE`] on the first allocation, so that `alloc` (`Vec`, `String`,
//! `Box`) works and a program that never allocates holds no heap frames (cargo unifies the
//! feature across every app built together).

use crate::syscall;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, Ordering};
use exo_abi::page_rights::WRITABLE;
use linked_list_allocator::LockedHeap;

/// Where the heap's pages are bound.
pub const HEAP_BASE: u64 = 0x4000_0000_0000;
/// Bytes of the heap.
pub const HEAP_BYTES: usize = 256 * 1024;

struct PagesOnDemand {
    heap: LockedHeap,
    is_bound: AtomicBool,
}

#[global_allocator]
static ALLOCATOR: PagesOnDemand = PagesOnDemand {
    heap: LockedHeap::empty(),
    is_bound: AtomicBool::new(false),
};

impl PagesOnDemand {
    /// Binds the heap's pages once; false when frames run out.
    fn bind_pages(&self) -> bool {
        if self.is_bound.load(Ordering::Acquire) {
            return true;
        }
        for page in (0..HEAP_BYTES as u64).step_by(4096) {
            let bound = syscall::frame_allocate(None)
                .and_then(|frame| syscall::page_map(HEAP_BASE + page, frame, WRITABLE));
            if bound.is_err() {
                return false;
            }
        }
        // SAFETY: the range was just bound writable to frames this environment owns, nothing
        // else uses it, and it stays bound for the program's life.
        unsafe { self.heap.lock().init(HEAP_BASE as *mut u8, HEAP_BYTES) };
        self.is_bound.store(true, Ordering::Release);
        true
    }
}

// SAFETY: allocation is delegated to `LockedHeap` over memory bound before its first use; an
// environment runs one thread, so binding the pages once cannot race.
unsafe impl GlobalAlloc for PagesOnDemand {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !self.bind_pages() {
            return core::ptr::null_mut();
        }
        // SAFETY: the caller's contract for `alloc` is passed on.
        unsafe { self.heap.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on; `pointer` came from `alloc`.
        unsafe { self.heap.dealloc(pointer, layout) }
    }
}
