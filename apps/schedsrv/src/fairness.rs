//! The fairness run: two copies of the threaded server, owning 3 and 1 slots, each keeping
//! [`IN_FLIGHT`] short requests in progress for as long as the run lasts; over whole rounds
//! the requests they serve must be in the ratio of their slots.

use crate::threaded;
use crate::workload::{SHORT_ROUNDS, work};
use core::sync::atomic::{AtomicU64, Ordering};
use exo_abi::PageRights;
use exo_abi::upcall::Upcalls;
use libos_custom::threads::{self, Options};
use libos_posix::shared_words::SharedWords;
use libos_posix::syscall::{self, Capability};
use libos_posix::{bare, clock, exceptions, println};

/// Where the parent binds the page it shares with the two servers.
const PAGE: u64 = 0x5200_0000_0000;
/// Where the page appears in a server.
const SERVER_PAGE: u64 = 0x5300_0000_0000;
/// Words of the shared page: the stop flag, then per server a ready flag and a count.
const STOP: u64 = 0;
const READY: u64 = 8;
const SERVED: u64 = 16;
/// The servers' slots.
const SLOTS: [u64; 2] = [3, 1];
const MEASURE_MICROSECONDS: u64 = 3_000_000;
/// Most the measured share may differ from the slot share, in per mille (an even share would
/// be off by 333): runs give 985 to 1000, but one in the system tests fell outside 50 once
/// (the 3 s are the host's time, and the emulator's timer interrupts move with the host).
const TOLERANCE_PER_MILLE: u64 = 100;
const IN_FLIGHT: u64 = 8;

// SAFETY: the parent binds PAGE writable before it touches a word of it.
const PARENT_WORDS: SharedWords = unsafe { SharedWords::new(PAGE) };
// SAFETY: a server touches no word before `page_query` finds SERVER_PAGE bound, and the parent
// shares it writable.
const SERVER_WORDS: SharedWords = unsafe { SharedWords::new(SERVER_PAGE) };

/// Starts both servers, measures, stops them, and checks the ratio.
pub fn run(bench: bool) -> Result<(), &'static str> {
    let frame = syscall::frame_allocate(None).map_err(|_| "frame_allocate")?;
    syscall::page_map(PAGE, frame, PageRights::WRITABLE).map_err(|_| "page_map")?;
    let mut servers = [Capability::SELF; 2];
    for (index, slots) in SLOTS.iter().enumerate() {
        let args = alloc::format!("fair-worker {index} {slots}");
        servers[index] = bare::spawn(crate::NAME, &args).map_err(|_| "spawn a server")?;
        syscall::page_share(PAGE, servers[index], SERVER_PAGE, PageRights::WRITABLE)
            .map_err(|_| "page_share")?;
    }
    while (0..2).any(|index| PARENT_WORDS.read(READY + index) == 0) {
        syscall::sleep(1_000);
    }
    let start = [PARENT_WORDS.read(SERVED), PARENT_WORDS.read(SERVED + 1)];
    syscall::sleep(MEASURE_MICROSECONDS);
    let end = [PARENT_WORDS.read(SERVED), PARENT_WORDS.read(SERVED + 1)];
    PARENT_WORDS.write(STOP, 1);
    for server in servers {
        crate::wait_for(server)?;
    }
    let _ = syscall::page_unmap(PAGE);
    let _ = syscall::frame_free(frame);
    let served = [end[0] - start[0], end[1] - start[1]];
    if served[1] == 0 {
        return Err("fair: the one-slot server served nothing");
    }
    let share_per_mille = served[0] * 1000 / (3 * served[1]);
    if bench {
        println!("C3.fair fairness_3_to_1_share_per_mille {share_per_mille} per_mille");
    } else {
        println!(
            "{}: fair: {} requests with 3 slots, {} with 1: {}.{:03} of the slot ratio",
            crate::NAME,
            served[0],
            served[1],
            share_per_mille / 1000,
            share_per_mille % 1000
        );
    }
    if share_per_mille.abs_diff(1000) > TOLERANCE_PER_MILLE {
        return Err("fair: the requests served are not in the ratio of the slots");
    }
    Ok(())
}

/// This server's index in the shared page.
static INDEX: AtomicU64 = AtomicU64::new(0);
static IN_PROGRESS: AtomicU64 = AtomicU64::new(0);

/// One server of the run: its slots, then short requests on threads until told to stop.
pub fn worker(index: &str, slots: &str) -> i32 {
    let (Ok(index), Ok(slots)) = (index.parse::<u64>(), slots.parse::<u64>()) else {
        return 2;
    };
    INDEX.store(index, Ordering::Relaxed);
    while syscall::page_query(SERVER_PAGE).is_err() {
        syscall::sleep(1_000);
    }
    for _ in 0..slots {
        if syscall::slice_allocate(None).is_err() {
            return 3;
        }
    }
    let started = threads::start(Options {
        policy: threaded::policy("sjf").expect("a known policy"),
        capacity: IN_FLIGHT as usize + 1,
        stack_bytes: 16 * 1024,
        clock: clock::ticks,
        poll: keep_requests_in_flight,
    });
    let upcalls = exceptions::set_handler(threaded::on_upcall)
        .and_then(|()| syscall::set_upcalls(Upcalls::SLICE_EPILOGUE));
    if started.is_err() || upcalls.is_err() {
        return 4;
    }
    SERVER_WORDS.write(READY + index, 1);
    while threads::run_ready() == Ok(true) || SERVER_WORDS.read(STOP) == 0 {}
    let _ = syscall::set_upcalls(Upcalls::empty());
    match threads::stop() {
        Ok(_) => 0,
        Err(_) => 5,
    }
}

/// The poll function: new requests up to [`IN_FLIGHT`], until the stop flag.
fn keep_requests_in_flight() {
    while SERVER_WORDS.read(STOP) == 0 && IN_PROGRESS.load(Ordering::Acquire) < IN_FLIGHT {
        if threads::spawn(serve_one, 0, SHORT_ROUNDS).is_err() {
            return;
        }
        IN_PROGRESS.fetch_add(1, Ordering::AcqRel);
    }
}

fn serve_one(_: usize) {
    work(SHORT_ROUNDS, threads::yield_point);
    let index = INDEX.load(Ordering::Relaxed);
    threads::critical(|| SERVER_WORDS.increment(SERVED + index));
    IN_PROGRESS.fetch_sub(1, Ordering::AcqRel);
}
