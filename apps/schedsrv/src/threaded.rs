//! The server on user-level threads (`libos_custom::threads`): one thread per request, started
//! by the runtime's poll function as requests arrive, long work yielding at its yield points,
//! and the slot-end upcall re-queueing whatever runs when the kernel takes the CPU back.

use crate::workload::{RUN, rounds, work};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, Ordering};
use exo_abi::upcall::Upcalls;
use exo_abi::{ExceptionFrame, upcall};
use libos_custom::scheduling::{Fcfs, SchedulingPolicy, ShortestFirst};
use libos_custom::threads::{self, Counts, Options};
use libos_posix::{clock, exceptions, process, syscall};

/// Most requests in progress at once.
const THREADS: usize = 64;
const STACK_BYTES: usize = 16 * 1024;

/// The policies a run may choose, by name.
pub fn policy(name: &str) -> Option<Box<dyn SchedulingPolicy>> {
    match name {
        "sjf" => Some(Box::new(ShortestFirst::with_capacity(THREADS))),
        "fcfs" => Some(Box::new(Fcfs::with_capacity(THREADS))),
        _ => None,
    }
}

/// Whether long work yields at its yield points (otherwise only slot ends preempt it).
static YIELD_AT_POINTS: AtomicBool = AtomicBool::new(true);

/// Serves every request of [`RUN`] (planned already) on threads under `policy`, long work
/// yielding at its points when `yield_at_points`.
pub fn serve(
    policy: Box<dyn SchedulingPolicy>,
    yield_at_points: bool,
) -> Result<Counts, &'static str> {
    YIELD_AT_POINTS.store(yield_at_points, Ordering::Relaxed);
    threads::start(Options {
        policy,
        capacity: THREADS,
        stack_bytes: STACK_BYTES,
        clock: clock::ticks,
        poll: admit_arrivals,
    })
    .map_err(|_| "the thread runtime would not start")?;
    exceptions::set_handler(on_upcall).map_err(|_| "set_handler")?;
    syscall::set_upcalls(Upcalls::SLICE_EPILOGUE).map_err(|_| "set_upcalls")?;
    while let Some(arrival) = RUN.next_arrival() {
        // Waits for the next arrival in its own slots (the CPU is this server's there anyway,
        // and a sleep would wake only at a slot boundary), outside the runtime, where a slot
        // end may switch to a thread at once.
        while clock::ticks() < arrival {
            core::hint::spin_loop();
        }
        while threads::run_ready() == Ok(true) {}
    }
    while threads::run_ready() == Ok(true) {}
    let _ = syscall::set_upcalls(Upcalls::empty());
    exceptions::clear_handler();
    threads::stop().map_err(|_| "threads still alive at the end")
}

/// The runtime's poll function: a thread for each request that has arrived, while there is
/// room.
fn admit_arrivals() {
    while let Some(index) = RUN.admit(clock::ticks()) {
        if threads::spawn(serve_one, index, RUN.expected_ticks(index)).is_err() {
            RUN.readmit_later(index);
            return;
        }
    }
}

fn serve_one(index: usize) {
    let yield_point = if YIELD_AT_POINTS.load(Ordering::Relaxed) {
        threads::yield_point
    } else {
        || {}
    };
    work(rounds(index), yield_point);
    RUN.finish(index);
}

/// The slot-end upcall: yields the slot at once, as the kernel asks, and when the next slot
/// starts lets the policy choose which thread goes on.
pub fn on_upcall(frame: &mut ExceptionFrame) -> bool {
    if frame.vector != upcall::SLICE_EPILOGUE {
        return false;
    }
    threads::at_slot_end(frame, !process::is_inside_a_lock(), syscall::yield_now);
    true
}
