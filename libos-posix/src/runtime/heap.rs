//! The process's heap: the Talc allocator over pages bound at [`HEAP_BASE`] as it grows, so
//! that `alloc` (`Vec`, `String`, `Box`) works, a program that never allocates holds no heap
//! frames, and one that needs much gets it, up to [`HEAP_MAX_BYTES`]. Talc keeps its free
//! blocks in size-class bins and finds a freed block's neighbours from boundary tags, so
//! neither an allocation nor a free walks a list of every free block (as the kernel's heap).

use crate::layout::{HEAP_BASE, HEAP_MAX_BYTES, PAGE_BYTES};
use crate::syscall;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use exo_abi::PageRights;
use spin::Mutex;
use talc::{OomHandler, Span, Talc};

/// Bytes bound by the first growth, at least: a program that allocates a little (most
/// commands) gets few pages, since each costs a zeroed frame and two calls, and another two
/// calls and a free when the program ends.
const FIRST_GROWTH_BYTES: u64 = 2 * PAGE_BYTES;
/// Bytes bound at a time, at most, unless one allocation wants more.
const MOST_GROWTH_BYTES: u64 = 1024 * 1024;

/// Talc's out-of-memory hook: binds more pages after the heap and extends the heap over them.
struct GrowOnOom {
    /// The heap as Talc last reported it (empty before the first growth).
    heap: Span,
    /// Bytes bound from [`HEAP_BASE`].
    bound: u64,
}

impl OomHandler for GrowOnOom {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let bound = talc.oom_handler.bound;
        let wanted = (layout.size() + layout.align()) as u64 + PAGE_BYTES;
        // As much again as the heap holds: a growing heap makes a logarithmic number of growths.
        let growth = bound.clamp(FIRST_GROWTH_BYTES, MOST_GROWTH_BYTES);
        let added = bind(bound, wanted.max(growth).next_multiple_of(PAGE_BYTES));
        if added == 0 {
            return Err(());
        }
        let whole = Span::from_base_size(HEAP_BASE as *mut u8, (bound + added) as usize);
        let old = talc.oom_handler.heap;
        // SAFETY: `whole` is the bound range from HEAP_BASE, used by nothing but this heap: its
        // first `bound` bytes are the heap Talc already has (`old`), the rest was just bound
        // writable to fresh frames of this environment (`bind`'s `page_map` succeeded, so those
        // pages were free).
        let heap = unsafe {
            if old.is_empty() {
                talc.claim(whole)?
            } else {
                talc.extend(old, whole)
            }
        };
        talc.oom_handler = GrowOnOom {
            heap,
            bound: bound + added,
        };
        Ok(())
    }
}

struct GrowingHeap {
    talc: Mutex<Talc<GrowOnOom>>,
}

#[global_allocator]
static ALLOCATOR: GrowingHeap = GrowingHeap {
    talc: Mutex::new(Talc::new(GrowOnOom {
        heap: Span::empty(),
        bound: 0,
    })),
};

/// Binds fresh frames to the `bytes` of heap after the `bound` bytes already there; returns
/// how many it bound (fewer when frames run out or the heap is at its limit).
fn bind(bound: u64, bytes: u64) -> u64 {
    let mut added = 0;
    while added < bytes && bound + added < HEAP_MAX_BYTES {
        let page = HEAP_BASE + bound + added;
        let Ok(frame) = syscall::frame_allocate(None) else {
            break;
        };
        if syscall::page_map(page, frame, PageRights::WRITABLE).is_err() {
            let _ = syscall::frame_free(frame);
            break;
        }
        added += PAGE_BYTES;
    }
    added
}

/// Bytes of heap bound so far.
pub fn bound_bytes() -> u64 {
    ALLOCATOR.talc.lock().oom_handler.bound
}

/// Whether the heap is in use at this instant (an exception inside the allocator).
pub fn is_busy() -> bool {
    ALLOCATOR.talc.is_locked()
}

// SAFETY: allocation is delegated to Talc, over memory bound writable to this environment's
// own frames before Talc is told of it (see `GrowOnOom`); the bound range only grows.
unsafe impl GlobalAlloc for GrowingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: Talc's `malloc` has no precondition beyond a valid layout.
        unsafe { self.talc.lock().malloc(layout) }.map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if let Some(pointer) = NonNull::new(pointer) {
            // SAFETY: the caller's contract: `pointer` came from `alloc` with `layout`.
            unsafe { self.talc.lock().free(pointer, layout) };
        }
    }
}
