//! Downloaded filters without a network: wake-up predicates and hostile modules.
//!
//! - A consumer child sleeps in `SleepUntil` on a predicate over a word of a page its parent
//!   shares with it, built with `libos_custom::filter`; the parent writes the word later and the
//!   consumer wakes and finds it written. Twice: the predicate reading its input through the
//!   accessors, then from its own memory.
//! - Hostile modules are refused at load with their errors (too large, a foreign import, too
//!   much memory, not WebAssembly), or contained at run: an infinite loop, unbounded recursion,
//!   an out-of-bounds access and a garbage result each strike out, and the sleep on them ends
//!   with `NotFound` once the kernel unloads them; a `memory.grow` past the cap fails inside
//!   the filter.
//!
//! Run without arguments. Exits 0 when every check passed.
#![no_std]
#![no_main]

mod hostile_modules;

extern crate alloc;

use alloc::vec;
use exo_abi::PageRights;
use exo_abi::filter::MODULE_BYTES_MAX;
use exo_abi::{Error, Syscall};
use hostile_modules::{
    GROWS_PAST_CAP, IMPORTS_OTHER, MEMORY_TOO_BIG, READS_OUT_OF_BOUNDS, RECURSES, RETURNS_GARBAGE,
    SPINS,
};
use libos_custom::filter::{Comparison, Predicate};
use libos_posix::{ExitReason, println, syscall};
use test_support::checks::{Checker, report_run};
use test_support::waiting::wait_for_page;

libos_posix::main!(main);

const NAME: &str = "filters";
/// The page the parent shares with the consumer.
const PAGE: u64 = 0x5000_0000_0000;
/// Where the consumer binds it.
const CONSUMER_PAGE: u64 = 0x5100_0000_0000;
/// The value the producer stores.
const READY: u32 = 1;
/// How long the producer waits, after the consumer said it goes to sleep, before it stores.
const PRODUCER_DELAY_MICROSECONDS: u64 = 20_000;
/// The word (of u32s) where the consumer says it goes to sleep.
const SLEEPING: u64 = 1;

fn word(address: u64) -> u32 {
    // SAFETY: callers pass a page this environment has bound.
    unsafe { (address as *const u32).read_volatile() }
}

/// The consumer: sleeps until the word reaches READY, on the predicate in the form that reads
/// its input from its own memory when `in_memory`; exits 0 when it then reads it so.
fn consumer(in_memory: bool) -> i32 {
    let predicate = Predicate::new().word(0, Comparison::GreaterOrEqual, READY);
    let module = if in_memory {
        predicate.to_wasm_in_memory()
    } else {
        predicate.to_wasm()
    };
    let Ok(filter) = syscall::filter_load(&module) else {
        return 2;
    };
    wait_for_page(CONSUMER_PAGE);
    // SAFETY: CONSUMER_PAGE is bound writable (shared by the parent, checked above).
    unsafe {
        (CONSUMER_PAGE as *mut u32)
            .add(SLEEPING as usize)
            .write_volatile(1)
    };
    let mut sleeps = 0;
    while word(CONSUMER_PAGE) < READY {
        if syscall::sleep_until(filter, CONSUMER_PAGE, 4).is_err() {
            return 3;
        }
        sleeps += 1;
    }
    println!(
        "{NAME}: consumer woke after {sleeps} sleep(s) and read {}",
        word(CONSUMER_PAGE)
    );
    if sleeps == 0 { 4 } else { 0 }
}

fn wake_up(check: &mut Checker) -> Result<(), Error> {
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(PAGE, frame, PageRights::WRITABLE)?;
    for (what, arguments) in [
        ("the consumer", "consumer"),
        (
            "the consumer reading from its filter's memory",
            "consumer memory",
        ),
    ] {
        // SAFETY: PAGE is bound writable in this environment (above).
        unsafe {
            (PAGE as *mut u32).write_volatile(0);
            (PAGE as *mut u32).add(SLEEPING as usize).write_volatile(0);
        }
        let consumer = syscall::spawn(NAME, arguments)?;
        syscall::page_share(PAGE, consumer, CONSUMER_PAGE, PageRights::WRITABLE)?;
        while word(PAGE + SLEEPING * 4) == 0 {
            syscall::sleep(1_000);
        }
        syscall::sleep(PRODUCER_DELAY_MICROSECONDS);
        println!("{NAME}: producer stores {READY}");
        // SAFETY: as above.
        unsafe { (PAGE as *mut u32).write_volatile(READY) };
        check.expect(what, syscall::wait(consumer), Ok(ExitReason::Exited(0)));
    }
    Ok(())
}

fn refused_at_load(check: &mut Checker) {
    let huge = vec![0u8; MODULE_BYTES_MAX + 1];
    check.expect(
        "a huge module",
        syscall::filter_load(&huge),
        Err(Error::TooLong),
    );
    let refusals = [
        ("an import not on the whitelist", IMPORTS_OTHER),
        ("memory above the cap", MEMORY_TOO_BIG),
        ("bytes that are not WebAssembly", b"not wasm".as_slice()),
    ];
    for (what, module) in refusals {
        check.expect(
            what,
            syscall::filter_load(module),
            Err(Error::InvalidArgument),
        );
    }
    check.expect(
        "a kernel address",
        exo_abi::decode_result(syscall::raw(
            Syscall::FilterLoad.number(),
            [0xFFFF_8000_0000_0000, 64, 0, 0, 0, 0],
        )),
        Err(Error::BadAddress),
    );
}

fn contained_at_run(check: &mut Checker) -> Result<(), Error> {
    for (what, module) in [
        ("an infinite loop", SPINS),
        ("unbounded recursion", RECURSES),
        ("an out-of-bounds access", READS_OUT_OF_BOUNDS),
        ("a garbage result", RETURNS_GARBAGE),
    ] {
        let filter = syscall::filter_load(module)?;
        check.expect(
            what,
            syscall::sleep_until(filter, PAGE, 4),
            Err(Error::NotFound),
        );
        check.expect(
            "its unload",
            syscall::filter_unload(filter),
            Err(Error::NotFound),
        );
    }
    let grower = syscall::filter_load(GROWS_PAST_CAP)?;
    check.expect(
        "memory.grow past the cap fails inside the filter",
        syscall::sleep_until(grower, PAGE, 4),
        Ok(()),
    );
    check.expect(
        "an unknown filter",
        syscall::sleep_until(999, PAGE, 4),
        Err(Error::NotFound),
    );
    check.expect(
        "watching too many bytes",
        syscall::sleep_until(grower, PAGE, 65),
        Err(Error::TooLong),
    );
    check.expect(
        "watching across a page end",
        syscall::sleep_until(grower, PAGE + 4094, 4),
        Err(Error::BadAddress),
    );
    check.expect(
        "watching an unbound page",
        syscall::sleep_until(grower, CONSUMER_PAGE, 4),
        Err(Error::BadAddress),
    );
    check.expect("unloading it", syscall::filter_unload(grower), Ok(()));
    Ok(())
}

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "consumer" => return consumer(false),
        "consumer memory" => return consumer(true),
        _ => {}
    }
    let mut check = Checker::new(NAME);
    let run = wake_up(&mut check).and_then(|()| {
        refused_at_load(&mut check);
        contained_at_run(&mut check)
    });
    report_run(NAME, run.map(|()| check.failures()))
}
