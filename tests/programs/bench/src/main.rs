//! The benchmarks of the repository's `BENCHMARKS.md` (all but B11, the boot time, which the
//! boot tool measures), one line per figure, `ID name value unit`:
//! - B1 and its floor;
//! - B2: see `ipc_round_trip`;
//! - B3: re-protect a page, store to it, fault upcall, the handler makes it writable, resume;
//! - B8: see `demultiplexing`;
//! - B10: from a request for one frame to the request being over, with a worker that frees a
//!   frame in its revocation upcall (cooperative), and with one that ignores the request, so
//!   that the abort protocol takes the frame at a 1 us deadline (abort). The worker is this
//!   program spawned with the argument `worker polite` or `worker ignore`;
//! - B4, B5, B6, B7 and B9: see `library_os` (a child of the bench, in its own world), and
//!   B4, B5 and B9 again on the microkernel path (`B4.micro`...);
//! - C1: the database with its own buffer pool against the same tree in a file (the `pooldb`
//!   program's own rows: `pooldb bench custom`, `clock` and `posix`);
//! - C2: the log-structured store against a file per key and an append-only file (the `logkv`
//!   program's own rows);
//! - C3: the server that schedules its requests on user-level threads in its own slots against
//!   the same server run to completion and split into two processes (the `schedsrv` program's
//!   rows, in microseconds of the guest clock);
//! - C4: the UDP key-value server straight from its receive ring (in-place or copy-out
//!   replies) against the same store behind a datagram socket (the `udpkv` program's rows);
//! - B9's floor: raw sequential write (then flush) and read of 16 MiB of disk blocks through the
//!   block calls, 64 blocks per request, as cost per 4 KiB block and as MiB/s of the guest clock
//!   (at the rate the kernel measured it: in wall-clock mode the host's time; under
//!   `-icount shift=0` retired instructions plus the time the CPU halts for the disk).
//!
//! With the first argument `demultiplexing`, only B8 runs.
//!
//! With `profile=ROW` among the arguments, row ROW (B3, B8.N, or a library OS row) runs inside the
//! window `boot profile` counts (see `profile`).
//!
//! Each figure is the time-stamp-counter cost per operation of a loop of
//! operations, minus the cost per iteration of the same loop without the operation. Under
//! `-icount shift=0` the counter advances once per guest instruction (the boot tool passes
//! `icount` as the argument), so figures are instruction counts; otherwise they are cycles of
//! the host's emulated clock.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use exo_abi::PageRights;
use exo_abi::repossession::ResourceKind;
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, ExceptionFrame, KernelCounters, upcall};
use libos_posix::stopwatch::{Count, Elapsed, Stopwatch};
use libos_posix::syscall::Capability;
use libos_posix::{exceptions, println, syscall};

mod demultiplexing;
mod ipc_round_trip;
mod library_os;
mod profile;

libos_posix::main!(main);

const WARM_UP: u64 = 1_000;
pub const ITERATIONS: u64 = 100_000;

/// What the figures count, from the arguments (`icount`), set first thing in `main`.
static COUNTS_INSTRUCTIONS: AtomicBool = AtomicBool::new(false);

/// A span counted as this run's figures are.
fn stopwatch() -> Stopwatch {
    Stopwatch::start(if COUNTS_INSTRUCTIONS.load(Ordering::Relaxed) {
        Count::Instructions
    } else {
        Count::Cycles
    })
}

/// Average counter ticks per call of `operation` over [`ITERATIONS`] calls, after a warm-up.
fn ticks_per_iteration(operation: impl FnMut()) -> u64 {
    ticks_per(ITERATIONS, operation)
}

/// Average counter ticks per call of `operation` over `iterations` calls, after a warm-up of
/// a hundredth as many.
fn ticks_per(iterations: u64, mut operation: impl FnMut()) -> u64 {
    for _ in 0..iterations / 100 {
        operation();
    }
    let stopwatch = stopwatch();
    for _ in 0..iterations {
        operation();
    }
    stopwatch.ticks() / iterations
}

/// What the kernel counted per operation (see `exo_abi::KernelCounters`).
pub struct Counted {
    pub entries: u64,
    pub switches: u64,
    pub copied_bytes: u64,
}

/// As [`ticks_per`], and what the kernel counted per operation, the warm-up included.
fn counted_ticks_per(iterations: u64, operation: impl FnMut()) -> (u64, Counted) {
    let before = syscall::kernel_counters();
    let ticks = ticks_per(iterations, operation);
    let after = syscall::kernel_counters();
    let operations = iterations + iterations / 100;
    // Rounded to the nearest: a timer interrupt now and then is not the operation's.
    let per_operation = |count: u64| (count + operations / 2) / operations;
    let counted = Counted {
        // The second reading is an entry of its own.
        entries: per_operation(after.entries - before.entries - 1),
        switches: per_operation(after.switches - before.switches),
        copied_bytes: per_operation(
            after.copied_bytes - before.copied_bytes - size_of::<KernelCounters>() as u64,
        ),
    };
    (ticks, counted)
}

/// Prints what the kernel counted for row `id` `name`, as three figure lines.
pub fn print_counted(id: &str, name: &str, counted: &Counted) {
    println!(
        "{id} {name}_kernel_entries {} per_operation",
        counted.entries
    );
    println!("{id} {name}_switches {} per_operation", counted.switches);
    println!(
        "{id} {name}_kernel_copied_bytes {} per_operation",
        counted.copied_bytes
    );
}

fn floor_syscall() {
    syscall::raw(exo_abi::BENCH_FLOOR, [0; 6]);
}

/// The page B3 protects and touches.
const FAULT_PAGE: u64 = 0x5000_0000_0000;

/// B3's handler: make the page accessible, then resume the faulting store.
fn unprotect(_frame: &mut ExceptionFrame) -> bool {
    syscall::page_protect(FAULT_PAGE, PageRights::WRITABLE).is_ok()
}

/// One B3 round: re-protect the page, store to it (fault, upcall, handler, resume).
fn protected_store() {
    let _ = syscall::page_protect(FAULT_PAGE, PageRights::empty());
    // SAFETY: FAULT_PAGE is bound to a frame of this program; the store faults while it is
    // read-only and the handler makes it writable before the store is retried.
    unsafe { (FAULT_PAGE as *mut u64).write_volatile(1) };
}

/// Binds the B3 page and registers its handler.
fn prepare_fault_page() -> Result<(), exo_abi::Error> {
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(FAULT_PAGE, frame, PageRights::WRITABLE)?;
    exceptions::set_handler(unprotect)
}

/// Requests timed per B10 figure.
const REVOCATIONS: u64 = 1_000;
/// Frames the B10 worker holds to give back, one per request (warm-up included).
const SPARE_FRAMES: usize = 1_200;

/// The worker's spare frames, on its heap: in the bench's static data they would be pages
/// that every fork of the bench (B7) copies.
static SPARES: spin::Once<Box<[AtomicU64]>> = spin::Once::new();
static SPARE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// The cooperative worker's upcall: frees its newest spare frame per frame asked.
fn give_back_spare(frame: &mut ExceptionFrame) -> bool {
    match frame.vector {
        upcall::REVOCATION_REQUEST => {
            for _ in 0..frame.fault_address {
                let count = SPARE_COUNT.load(Ordering::Relaxed);
                let Some(newest) = count.checked_sub(1) else {
                    break;
                };
                let Some(spare) = SPARES.get().and_then(|spares| spares.get(newest)) else {
                    break;
                };
                let _ = syscall::frame_free(spare.load(Ordering::Relaxed));
                SPARE_COUNT.store(newest, Ordering::Relaxed);
            }
            true
        }
        upcall::REPOSSESSED => true,
        _ => false,
    }
}

/// The ignoring worker's upcall: resumes without giving anything back.
fn ignore_request(frame: &mut ExceptionFrame) -> bool {
    frame.vector == upcall::REVOCATION_REQUEST || frame.vector == upcall::REPOSSESSED
}

/// A B10 worker: takes its spare frames, enables the revocation upcalls, then hands the CPU
/// back to the bench (its parent, env 1) for ever.
fn worker(is_polite: bool) -> i32 {
    let spares = SPARES.call_once(|| (0..SPARE_FRAMES).map(|_| AtomicU64::new(0)).collect());
    for spare in spares.iter() {
        let Ok(frame) = syscall::frame_allocate(None) else {
            return 2;
        };
        spare.store(frame, Ordering::Relaxed);
    }
    SPARE_COUNT.store(SPARE_FRAMES, Ordering::Relaxed);
    let handler: exceptions::Handler = if is_polite {
        give_back_spare
    } else {
        ignore_request
    };
    let enabled = exceptions::set_handler(handler)
        .and_then(|()| syscall::set_upcalls(Upcalls::REVOCATION_REQUEST | Upcalls::REPOSSESSED));
    if enabled.is_err() {
        return 3;
    }
    while syscall::page_query(READY_PAGE).is_err() {
        syscall::yield_now();
    }
    // SAFETY: the bench has shared READY_PAGE writable into this worker (checked above).
    unsafe { ready_flag().write_volatile(1) };
    loop {
        let _ = syscall::yield_to(1);
    }
}

/// Average ticks from a request for one frame of `worker` to the request being over.
fn revocation_ticks(worker: Capability, deadline_microseconds: u64) -> Result<u64, Error> {
    let (worker_id, _) = syscall::capability_inspect(worker)?;
    let request = || -> Result<(), Error> {
        syscall::revoke(worker, ResourceKind::Frame, 1, deadline_microseconds)?;
        while syscall::revocation_query(worker, ResourceKind::Frame) != Err(Error::NotFound) {
            let _ = syscall::yield_to(worker_id);
        }
        Ok(())
    };
    for _ in 0..WARM_UP / 10 {
        request()?;
    }
    let stopwatch = stopwatch();
    for _ in 0..REVOCATIONS {
        request()?;
    }
    Ok(stopwatch.ticks() / REVOCATIONS)
}

/// A page the bench shares with each B10 worker, whose first word the worker sets when ready.
const READY_PAGE: u64 = 0x5100_0000_0000;

fn ready_flag() -> *mut u64 {
    READY_PAGE as *mut u64
}

/// Spawns a B10 worker and waits until it has taken its spare frames and enabled its upcalls.
fn start_worker(mode: &str) -> Result<Capability, Error> {
    if syscall::page_query(READY_PAGE).is_err() {
        let frame = syscall::frame_allocate(None)?;
        syscall::page_map(READY_PAGE, frame, PageRights::WRITABLE)?;
    }
    // SAFETY: READY_PAGE is bound writable in this environment (just above).
    unsafe { ready_flag().write_volatile(0) };
    let worker = syscall::spawn("bench", mode)?;
    syscall::page_share(READY_PAGE, worker, READY_PAGE, PageRights::WRITABLE)?;
    let (worker_id, _) = syscall::capability_inspect(worker)?;
    // SAFETY: as above.
    while unsafe { ready_flag().read_volatile() } == 0 {
        syscall::yield_to(worker_id)?;
    }
    Ok(worker)
}

/// B10, then the end of its workers (which never end by themselves), so that the rows after
/// run without them.
fn b10(unit: &str) -> Result<(), Error> {
    let polite = start_worker("worker polite")?;
    let cooperative = revocation_ticks(polite, 1_000_000)?;
    println!("B10 revocation_cooperative {cooperative} {unit}");
    let ignoring = start_worker("worker ignore")?;
    let abort = revocation_ticks(ignoring, 1)?;
    println!("B10 revocation_abort {abort} {unit}");
    for worker in [polite, ignoring] {
        syscall::kill_environment(worker, 0)?;
        syscall::wait(worker)?;
    }
    Ok(())
}

/// The credential of the bench's disk blocks.
const BENCH_CREDENTIAL: [u8; 16] = *b"bench-raw-blocks";
/// Where the bench binds the pages its block requests move.
const DISK_PAGES: u64 = 0x5200_0000_0000;
/// Blocks moved by the raw throughput rows: 16 MiB.
const RAW_BLOCKS: u64 = 4096;
const BLOCKS_PER_REQUEST: u64 = exo_abi::BLOCK_TRANSFERS_MAX;

/// Ticks per block of moving blocks `first ..` `first + RAW_BLOCKS` through `move_blocks`,
/// BLOCKS_PER_REQUEST at a time.
fn raw_ticks_per_block(
    first: u64,
    mut move_blocks: impl FnMut(&[exo_abi::BlockTransfer]) -> Result<(), Error>,
) -> Result<Elapsed, Error> {
    let mut list = [exo_abi::BlockTransfer::default(); BLOCKS_PER_REQUEST as usize];
    let stopwatch = stopwatch();
    for request in 0..RAW_BLOCKS / BLOCKS_PER_REQUEST {
        for (index, entry) in list.iter_mut().enumerate() {
            *entry = exo_abi::BlockTransfer {
                block: first + request * BLOCKS_PER_REQUEST + index as u64,
                page_address: DISK_PAGES + index as u64 * 4096,
            };
        }
        move_blocks(&list)?;
    }
    let elapsed = stopwatch.stop();
    Ok(Elapsed {
        ticks: elapsed.ticks / RAW_BLOCKS,
        clock_ticks: elapsed.clock_ticks / RAW_BLOCKS,
    })
}

/// MiB per second of the guest clock at `ticks` timestamp-counter ticks per 4 KiB block.
pub fn mib_per_second(ticks: u64) -> u64 {
    let ticks_per_second = libos_posix::clock::info().tsc_ticks_per_second;
    4096 * ticks_per_second / (ticks.max(1) * 1024 * 1024)
}

/// B9's floor: 16 MiB written (and flushed) then read, through the raw block calls.
fn raw_disk(unit: &str) -> Result<(), Error> {
    syscall::block_credential(&BENCH_CREDENTIAL)?;
    for index in 0..BLOCKS_PER_REQUEST {
        let frame = syscall::frame_allocate(None)?;
        syscall::page_map(DISK_PAGES + index * 4096, frame, PageRights::WRITABLE)?;
    }
    // A sequential run of blocks, allocated by number after the first free one.
    let first = syscall::block_allocate(None)?;
    for block in first + 1..first + RAW_BLOCKS {
        syscall::block_allocate(Some(block))?;
    }
    let write = raw_ticks_per_block(first, |list| {
        syscall::block_write(list)?;
        syscall::block_flush()
    })?;
    let read = raw_ticks_per_block(first, syscall::block_read)?;
    for (name, per_block) in [("write", write), ("read", read)] {
        let ticks = per_block.ticks;
        println!("B9.floor raw_sequential_{name} {ticks} {unit}_per_block");
        let rate = mib_per_second(per_block.clock_ticks);
        println!("B9.floor raw_sequential_{name}_rate {rate} MiB/s");
    }
    for block in first..first + RAW_BLOCKS {
        syscall::block_free(block)?;
    }
    Ok(())
}

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    let first = words.next();
    if first == Some("worker") {
        return worker(words.next() == Some("polite"));
    }
    if first == Some("echo-server") {
        return ipc_round_trip::echo_server();
    }
    let count = Count::from_arguments(args.iter());
    COUNTS_INSTRUCTIONS.store(count == Count::Instructions, Ordering::Relaxed);
    let unit = count.unit();
    if first == Some("files") {
        let path = if args.iter().any(|arg| arg == "micro") {
            library_os::Path::Microkernel
        } else {
            library_os::Path::LibraryOs
        };
        return match library_os::run(unit, path, profile::requested_row(&args)) {
            Ok(()) => 0,
            Err(error) => {
                println!("bench: library OS rows failed: {error}");
                1
            }
        };
    }
    if first == Some("demultiplexing") {
        return match demultiplexing::b8(unit, profile::requested_row(&args)) {
            Ok(()) => 0,
            Err(error) => {
                println!("bench: B8 failed: {}", error.describe());
                1
            }
        };
    }
    let empty_loop = ticks_per_iteration(|| core::hint::black_box(()));
    let null = ticks_per_iteration(syscall::null);
    let floor = ticks_per_iteration(floor_syscall);
    println!("B1 null_syscall {} {unit}", null.saturating_sub(empty_loop));
    println!(
        "B1.floor syscall_sysret_pair {} {unit}",
        floor.saturating_sub(empty_loop)
    );
    if let Err(error) = ipc_round_trip::b2(unit, empty_loop) {
        println!("bench: B2 failed: {}", error.describe());
        return 1;
    }
    if let Err(error) = prepare_fault_page() {
        println!("bench: cannot prepare B3: {}", error.describe());
        return 1;
    }
    let fault = profile::window(
        "B3",
        profile::requested_row(&args),
        ITERATIONS + ITERATIONS / 100,
        || ticks_per_iteration(protected_store),
    );
    println!(
        "B3 user_fault_round_trip {} {unit}",
        fault.saturating_sub(empty_loop)
    );
    exceptions::clear_handler();
    if let Err(error) = demultiplexing::b8(unit, profile::requested_row(&args)) {
        println!("bench: B8 failed: {}", error.describe());
        return 1;
    }
    if let Err(error) = raw_disk(unit) {
        println!("bench: B9 floor failed: {}", error.describe());
        return 1;
    }
    // Before the demos' rows: the network server's replies leave the machine, and the
    // emulator's answers to them keep arriving for a while after it ends.
    if let Err(error) = b10(unit) {
        println!("bench: B10 failed: {}", error.describe());
        return 1;
    }
    let mode = if unit == "instructions" { "icount" } else { "" };
    let mut rows = alloc::vec![
        ("bench", format!("files {mode}")),
        ("bench", format!("files micro {mode}")),
    ];
    // A profile counts one row of the system's own; the demos' rows take minutes of disk I/O.
    if profile::requested_row(&args).is_none() {
        for path in ["custom", "clock", "posix", "revocation"] {
            rows.push(("pooldb", format!("bench {path} {mode}")));
        }
        for path in ["custom", "files", "append"] {
            rows.push(("logkv", format!("bench {path} {mode}")));
        }
        rows.push(("schedsrv", "bench".into()));
        for path in ["custom", "copyout", "posix"] {
            rows.push(("udpkv", format!("bench {path} {mode}")));
        }
    }
    for (program, arguments) in rows {
        match syscall::spawn(program, arguments.trim_end()).and_then(syscall::wait) {
            Ok(exo_abi::ExitReason::Exited(0)) => {}
            Ok(reason) => {
                println!("bench: the rows of `{program} {arguments}` {reason}");
                return 1;
            }
            Err(error) => {
                println!(
                    "bench: cannot run `{program} {arguments}`: {}",
                    error.describe()
                );
                return 1;
            }
        }
    }
    syscall::power_off(0);
    0
}
