//! An environment may load and unload filters for as long as it lives: unloading must give
//! back all the kernel memory a load took. This binary counts the heap bytes the test's own
//! thread allocated and did not free (per thread: the test harness's thread allocates at times
//! of its own choosing while the test runs).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use exo_filter::{Sandbox, Verdict};

/// The system allocator, keeping count per thread of the bytes allocated and not yet freed.
struct Counting;

thread_local! {
    /// Bytes this thread allocated minus those it freed (which another thread may have
    /// allocated, hence signed).
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count(change: isize) {
    // `try_with`: nothing to count while the thread's locals are being torn down.
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get() + change));
}

fn live_bytes() -> isize {
    LIVE_BYTES.with(Cell::get)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees hold; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc` above, that is from `System`, with this layout.
        unsafe { System.dealloc(pointer, layout) };
        count(-(layout.size() as isize));
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn unloading_a_filter_frees_what_loading_it_took() {
    let bytes = wat::parse_str(
        r#"(module
            (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
            (memory 1)
            (table 16 funcref)
            (func $a (result i32) (i32.const 1))
            (func $b (result i32) (i32.const 0))
            (elem (i32.const 0) $a $b)
            (func (export "run") (result i32)
                (i32.store (i32.const 0) (call $u8 (i32.const 0)))
                (call_indirect (result i32) (i32.load (i32.const 0)))))"#,
    )
    .expect("valid text");
    let sandbox = Sandbox::new();
    let load_run_unload = || {
        let mut filter = sandbox.load(&bytes).expect("loads");
        assert_eq!(filter.run(&[0]).verdict, Verdict::Match);
    };
    // The first rounds may fill caches that are kept on purpose.
    for _ in 0..3 {
        load_run_unload();
    }
    let before = live_bytes();
    for _ in 0..200 {
        load_run_unload();
    }
    let after = live_bytes();
    let kept = after - before;
    // Less than a byte per load: nothing of a filter outlives it.
    assert!(kept < 200, "200 loads kept {kept} bytes");

    // While loaded, a filter holds its page of memory and a little more (about 16 KB of
    // interpreter state on the host when this was written).
    let mut filter = sandbox.load(&bytes).expect("loads");
    filter.run(&[0]);
    let held = live_bytes() - after;
    assert!(held < 96 * 1024, "a loaded filter holds {held} bytes");
}
