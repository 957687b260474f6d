//! Benchmarks of BENCHMARKS.md that this system can run so far, one line per figure:
//! `ID name value unit`. Each figure is the time-stamp-counter cost per operation of a loop of
//! operations, minus the cost per iteration of the same loop without the operation. Under
//! `-icount shift=0` the counter advances once per guest instruction (the boot tool passes
//! `icount` as the argument), so figures are instruction counts; otherwise they are cycles of
//! the host's emulated clock.
#![no_std]
#![no_main]

use core::arch::x86_64::{__rdtscp, _mm_lfence};
use libos_posix::{println, syscall};

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
    0
}
