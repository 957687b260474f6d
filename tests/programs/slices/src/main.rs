//! The CPU time-slice vector seen from user mode.
//!
//! - `slices share`: two workers own 3 and 1 slots and count as fast as they can; over whole
//!   rounds their counts must be in ratio 3:1 within 5%.
//! - `slices epilogue`: two workers own 2 slots each and take the slot-end (epilogue) upcall; the
//!   polite one yields in its handler, the other spins there and is aborted, so it loses its
//!   next slot every time (the kernel's per-environment slice report shows it).
//! - `slices calls`: the refusals of the slice calls.
//!
//! The workers are this program spawned with the argument `worker`. Exits 0 when every check
//! passed.
#![no_std]
#![no_main]

use exo_abi::PageRights;
use exo_abi::slice::SLOTS_PER_ROUND;
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, ExceptionFrame, upcall};
use libos_posix::shared_words::SharedWords;
use libos_posix::syscall::Capability;
use libos_posix::{ExitReason, exceptions, println, syscall};
use test_support::checks;
use test_support::waiting::wait_for_page;

libos_posix::main!(main);

const NAME: &str = "slices";
/// Where the parent binds the page it shares with its workers.
const PAGE: u64 = 0x5000_0000_0000;
/// Where the page appears in a worker.
const WORKER_PAGE: u64 = 0x5100_0000_0000;
/// Words of the shared page: the stop flag, then per worker a ready flag and a counter.
const STOP: u64 = 0;
const READY: u64 = 8;
const COUNTER: u64 = 16;
/// How long the share check measures.
const MEASURE_MICROSECONDS: u64 = 3_000_000;
/// How long the epilogue check lets its workers run.
const EPILOGUE_RUN_MICROSECONDS: u64 = 1_000_000;
/// Most the measured share may differ from the slot share, in per mille.
const SHARE_TOLERANCE_PER_MILLE: u64 = 50;

/// The shared page as the parent binds it.
// SAFETY: the parent binds PAGE writable before it touches a word of it.
const PARENT_WORDS: SharedWords = unsafe { SharedWords::new(PAGE) };
/// The shared page as a worker sees it.
// SAFETY: a worker touches no word of it before `page_query` finds WORKER_PAGE bound, and the
// parent shares it writable.
const WORKER_WORDS: SharedWords = unsafe { SharedWords::new(WORKER_PAGE) };

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    let outcome = match (words.next(), words.next(), words.next()) {
        (Some("share"), None, None) => share(),
        (Some("epilogue"), None, None) => epilogue(),
        (Some("calls"), None, None) => calls(),
        (Some("worker"), Some(index), Some(mode)) => return worker(index, mode),
        _ => Err("usage: slices share|epilogue|calls"),
    };
    checks::report(NAME, outcome)
}

/// A worker: takes its slots (and for the epilogue modes, the epilogue upcall), reports ready,
/// then counts until told to stop.
fn worker(index: &str, mode: &str) -> i32 {
    let Ok(index) = index.parse::<u64>() else {
        return 2;
    };
    wait_for_page(WORKER_PAGE);
    let (slots, handler): (u64, Option<exceptions::Handler>) = match mode {
        "3" => (3, None),
        "1" => (1, None),
        "polite" => (2, Some(yield_in_epilogue)),
        "spinner" => (2, Some(spin_in_epilogue)),
        _ => return 2,
    };
    if let Some(handler) = handler {
        let enabled = exceptions::set_handler(handler)
            .and_then(|()| syscall::set_upcalls(Upcalls::SLICE_EPILOGUE));
        if enabled.is_err() {
            return 3;
        }
    }
    for _ in 0..slots {
        if syscall::slice_allocate(None).is_err() {
            return 4;
        }
    }
    WORKER_WORDS.write(READY + index, 1);
    while WORKER_WORDS.read(STOP) == 0 {
        WORKER_WORDS.increment(COUNTER + index);
    }
    0
}

/// Saves nothing, yields at once, and resumes the interrupted count in its next slot.
fn yield_in_epilogue(frame: &mut ExceptionFrame) -> bool {
    if frame.vector == upcall::SLICE_EPILOGUE {
        syscall::yield_now();
        return true;
    }
    false
}

/// Never yields: every slot end finds it still in its epilogue.
fn spin_in_epilogue(frame: &mut ExceptionFrame) -> bool {
    if frame.vector != upcall::SLICE_EPILOGUE {
        return false;
    }
    while WORKER_WORDS.read(STOP) == 0 {
        core::hint::spin_loop();
    }
    syscall::exit(0)
}

/// Spawns one worker per mode, shares the page into each and waits until all are ready.
fn start_workers(modes: &[&str]) -> Result<[Capability; 2], &'static str> {
    let frame = syscall::frame_allocate(None).map_err(|_| "frame_allocate")?;
    syscall::page_map(PAGE, frame, PageRights::WRITABLE).map_err(|_| "page_map")?;
    let mut workers = [Capability::SELF; 2];
    for (index, mode) in modes.iter().enumerate() {
        let mut args = [0u8; 32];
        let args = format_args_into(&mut args, index, mode);
        workers[index] = syscall::spawn(NAME, args).map_err(|_| "spawn worker")?;
        syscall::page_share(PAGE, workers[index], WORKER_PAGE, PageRights::WRITABLE)
            .map_err(|_| "page_share")?;
    }
    while (0..modes.len() as u64).any(|index| PARENT_WORDS.read(READY + index) == 0) {
        syscall::sleep(1_000);
    }
    Ok(workers)
}

/// Writes `worker INDEX MODE` into `buffer`.
fn format_args_into<'a>(buffer: &'a mut [u8; 32], index: usize, mode: &str) -> &'a str {
    let digit = [b'0' + index as u8];
    let parts: [&[u8]; 4] = [b"worker ", &digit, b" ", mode.as_bytes()];
    let mut length = 0;
    for part in parts {
        buffer[length..length + part.len()].copy_from_slice(part);
        length += part.len();
    }
    core::str::from_utf8(&buffer[..length]).unwrap_or("")
}

fn stop_workers(workers: [Capability; 2]) -> Result<(), &'static str> {
    PARENT_WORDS.write(STOP, 1);
    for worker in workers {
        match syscall::wait(worker) {
            Ok(ExitReason::Exited(0)) => {}
            _ => return Err("a worker failed"),
        }
    }
    Ok(())
}

/// The share check. This parent owns no slot, so it runs only in the slots the workers leave
/// free: it reads the counters at the same point of two rounds, and the window holds whole
/// rounds of both workers.
fn share() -> Result<(), &'static str> {
    let workers = start_workers(&["3", "1"])?;
    let start = [PARENT_WORDS.read(COUNTER), PARENT_WORDS.read(COUNTER + 1)];
    syscall::sleep(MEASURE_MICROSECONDS);
    let end = [PARENT_WORDS.read(COUNTER), PARENT_WORDS.read(COUNTER + 1)];
    stop_workers(workers)?;
    let counted = [end[0] - start[0], end[1] - start[1]];
    if counted[1] == 0 {
        return Err("the one-slot worker never ran");
    }
    let share_per_mille = counted[0] * 1000 / (3 * counted[1]);
    println!(
        "{NAME}: counted {} with 3 slots and {} with 1 slot: {}.{:03} of the slot ratio",
        counted[0],
        counted[1],
        share_per_mille / 1000,
        share_per_mille % 1000
    );
    if share_per_mille.abs_diff(1000) > SHARE_TOLERANCE_PER_MILLE {
        return Err("the CPU share is not proportional to the slots");
    }
    Ok(())
}

/// The epilogue check: both workers run for a while; the kernel reports their slices when
/// they end.
fn epilogue() -> Result<(), &'static str> {
    let workers = start_workers(&["polite", "spinner"])?;
    let id = |worker| syscall::capability_inspect(worker).map_or(0, |(id, _)| id);
    println!(
        "{NAME}: polite is env {}, spinner is env {}",
        id(workers[0]),
        id(workers[1])
    );
    syscall::sleep(EPILOGUE_RUN_MICROSECONDS);
    stop_workers(workers)
}

/// Refusals of the slice calls, and a slot freed and taken again by position.
fn calls() -> Result<(), &'static str> {
    /// What a call returned, what it should have, and what it was.
    type Check = (Result<(), Error>, Result<(), Error>, &'static str);
    let checks: [Check; 5] = [
        (
            syscall::slice_allocate(Some(SLOTS_PER_ROUND)).map(|_| ()),
            Err(Error::InvalidArgument),
            "allocating a slot past the round",
        ),
        (
            syscall::slice_free(0),
            Err(Error::PermissionDenied),
            "freeing a slot it does not own",
        ),
        (
            syscall::set_upcalls(Upcalls::SLICE_EPILOGUE),
            Err(Error::InvalidArgument),
            "enabling upcalls with no handler",
        ),
        (
            syscall::yield_to(syscall::environment_id()),
            Err(Error::InvalidArgument),
            "yielding to itself",
        ),
        (
            syscall::yield_to(4000),
            Err(Error::Unavailable),
            "yielding to no environment",
        ),
    ];
    for (got, expected, what) in checks {
        if got != expected {
            println!("{NAME}: {what}: got {got:?}, expected {expected:?}");
            return Err("a slice call was not refused as documented");
        }
    }
    let position = syscall::slice_allocate(None).map_err(|_| "slice_allocate")?;
    if syscall::slice_allocate(Some(position)) != Err(Error::Occupied) {
        return Err("a slot was allocated twice");
    }
    syscall::slice_free(position).map_err(|_| "slice_free")?;
    syscall::slice_allocate(Some(position)).map_err(|_| "slice_allocate by position")?;
    syscall::slice_free(position).map_err(|_| "slice_free")?;
    syscall::sleep(10_000);
    Ok(())
}
