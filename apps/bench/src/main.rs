//! Benchmarks of BENCHMARKS.md that this system can run so far (B1, its floor, and B3: re-protect
//! a page, store to it, fault upcall, the handler makes it writable, resume), one line per figure:
//! `ID name value unit`. Each figure is the time-stamp-counter cost per operation of a loop of
//! operations, minus the cost per iteration of the same loop without the operation. Under
//! `-icount shift=0` the counter advances once per guest instruction (the boot tool passes
//! `icount` as the argument), so figures are instruction counts; otherwise they are cycles of
//! the host's emulated clock.
#![no_std]
#![no_main]

use core::arch::x86_64::{__rdtscp, _mm_lfence};
use exo_abi::ExceptionFrame;
use exo_abi::page_rights::WRITABLE;
use libos_posix::{exceptions, println, syscall};

libos_posix::main!(main);

const WARM_UP: u64 = 1_000;
const ITERATIONS: u64 = 100_000;

fn timestamp() -> u64 {
    let mut processor = 0;
    // SAFETY: rdtscp and lfence only read the counter and order instructions.
    unsafe {
        let time = __rdtscp(&mut processor);
        _mm_lfence();
        time
    }
}

/// Average counter ticks per call of `operation` over [`ITERATIONS`] calls, after a warm-up.
fn ticks_per_iteration(mut operation: impl FnMut()) -> u64 {
    for _ in 0..WARM_UP {
        operation();
    }
    let start = timestamp();
    for _ in 0..ITERATIONS {
        operation();
    }
    (timestamp() - start) / ITERATIONS
}

fn floor_syscall() {
    syscall::raw(exo_abi::BENCH_FLOOR, [0; 6]);
}

/// The page B3 protects and touches.
const FAULT_PAGE: u64 = 0x5000_0000_0000;

/// B3's handler: make the page accessible, then resume the faulting store.
fn unprotect(_frame: &mut ExceptionFrame) -> bool {
    syscall::page_protect(FAULT_PAGE, WRITABLE).is_ok()
}

/// One B3 round: re-protect the page, store to it (fault, upcall, handler, resume).
fn protected_store() {
    let _ = syscall::page_protect(FAULT_PAGE, 0);
    // SAFETY: FAULT_PAGE is bound to a frame of this program; the store faults while it is
    // read-only and the handler makes it writable before the store is retried.
    unsafe { (FAULT_PAGE as *mut u64).write_volatile(1) };
}

/// Binds the B3 page and registers its handler.
fn prepare_fault_page() -> Result<(), exo_abi::Error> {
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(FAULT_PAGE, frame, WRITABLE)?;
    exceptions::set_handler(unprotect)
}

fn main(args: libos_posix::Args) -> i32 {
    let unit = if args.iter().any(|arg| arg == "icount") {
        "instructions"
    } else {
        "cycles"
    };
    let empty_loop = ticks_per_iteration(|| core::hint::black_box(()));
    let null = ticks_per_iteration(syscall::null);
    let floor = ticks_per_iteration(floor_syscall);
    println!("B1 null_syscall {} {unit}", null.saturating_sub(empty_loop));
    println!(
        "B1.floor syscall_sysret_pair {} {unit}",
        floor.saturating_sub(empty_loop)
    );
    if let Err(error) = prepare_fault_page() {
        println!("bench: cannot prepare B3: {}", error.describe());
        return 1;
    }
    let fault = ticks_per_iteration(protected_store);
    println!(
        "B3 user_fault_round_trip {} {unit}",
        fault.saturating_sub(empty_loop)
    );
    0
}
