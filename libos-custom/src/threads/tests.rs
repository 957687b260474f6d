//! The runtime's cooperative side on the host, against a fake clock that advances only when a
//! thread works (the slot-end side needs the kernel's upcall: the `schedsrv` program checks it
//! in the guest).

use super::*;
use crate::scheduling::{Fcfs, ShortestFirst};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex as TestMutex, MutexGuard};

/// The runtime is one per program: the tests take turns.
static TURN: TestMutex<()> = TestMutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

static CLOCK: AtomicU64 = AtomicU64::new(0);

fn clock() -> u64 {
    CLOCK.load(Ordering::SeqCst)
}

/// Work between two yield points, in clock units.
const YIELD_EVERY: u64 = 10;

/// `units` of work, yielding every [`YIELD_EVERY`].
fn work(units: u64) {
    for unit in 1..=units {
        CLOCK.fetch_add(1, Ordering::SeqCst);
        if unit % YIELD_EVERY == 0 {
            yield_point();
        }
    }
}

/// One request of the schedule: when it arrives, how long it works.
#[derive(Clone, Copy)]
struct Request {
    arrival: u64,
    cost: u64,
}

/// A long request first, then short ones every 50 units while it runs.
const SCHEDULE: [Request; 6] = [
    Request {
        arrival: 0,
        cost: 1_000,
    },
    Request {
        arrival: 5,
        cost: 10,
    },
    Request {
        arrival: 50,
        cost: 10,
    },
    Request {
        arrival: 100,
        cost: 10,
    },
    Request {
        arrival: 150,
        cost: 20,
    },
    Request {
        arrival: 1_500,
        cost: 10,
    },
];

static ADMITTED: AtomicUsize = AtomicUsize::new(0);
static FINISHED_AT: [AtomicU64; SCHEDULE.len()] = [const { AtomicU64::new(0) }; SCHEDULE.len()];

fn admit_arrivals() {
    while let Some(request) = SCHEDULE.get(ADMITTED.load(Ordering::SeqCst))
        && request.arrival <= clock()
    {
        let index = ADMITTED.fetch_add(1, Ordering::SeqCst);
        spawn(serve, index, request.cost).expect("room for every request");
    }
}

fn serve(index: usize) {
    work(SCHEDULE[index].cost);
    FINISHED_AT[index].store(clock(), Ordering::SeqCst);
}

/// Runs the schedule under `policy`; returns each request's latency and the counts.
fn run_schedule(policy: Box<dyn SchedulingPolicy>) -> (Vec<u64>, Counts) {
    CLOCK.store(0, Ordering::SeqCst);
    ADMITTED.store(0, Ordering::SeqCst);
    start(Options {
        policy,
        capacity: 8,
        stack_bytes: 256 * 1024,
        clock,
        poll: admit_arrivals,
    })
    .unwrap();
    while ADMITTED.load(Ordering::SeqCst) < SCHEDULE.len() {
        if !run_ready().unwrap() {
            // Idle until the next arrival, as the server sleeps.
            let next = SCHEDULE[ADMITTED.load(Ordering::SeqCst)].arrival;
            CLOCK.fetch_max(next, Ordering::SeqCst);
        }
    }
    while run_ready().unwrap() {}
    let counts = stop().unwrap();
    let latencies = SCHEDULE
        .iter()
        .zip(&FINISHED_AT)
        .map(|(request, finished)| finished.load(Ordering::SeqCst) - request.arrival)
        .collect();
    (latencies, counts)
}

#[test]
fn shortest_first_serves_short_requests_while_a_long_one_yields() {
    let _turn = take_turn();
    let (latencies, counts) = run_schedule(Box::new(ShortestFirst::with_capacity(8)));
    assert_eq!(counts.spawned, SCHEDULE.len() as u64);
    for (request, latency) in SCHEDULE.iter().zip(&latencies).skip(1) {
        // At most one yield interval of the long request before it, then its own work.
        assert!(
            *latency <= request.cost + YIELD_EVERY,
            "latencies {latencies:?}"
        );
    }
    // The long one did all its work, after the short ones' (1,000 + 50 units).
    assert_eq!(latencies[0], 1_050);
}

#[test]
fn fcfs_keeps_short_requests_behind_the_long_one() {
    let _turn = take_turn();
    let (latencies, counts) = run_schedule(Box::new(Fcfs::with_capacity(8)));
    assert_eq!(latencies[0], 1_000, "latencies {latencies:?}");
    // The short ones that arrived during the long one finish only after it, in order.
    assert_eq!(latencies[1], 1_000 + 10 - 5, "latencies {latencies:?}");
    assert_eq!(latencies[4], 1_050 - 150, "latencies {latencies:?}");
    assert_eq!(latencies[5], 10);
    // Yield points switched nothing: one switch into each request, and back to main after the
    // fifth and the sixth.
    assert_eq!(counts.switches, SCHEDULE.len() as u64 + 2);
}

fn noop(_: usize) {}

#[test]
fn the_runtime_refuses_what_it_cannot_do() {
    let _turn = take_turn();
    assert_eq!(spawn(noop, 0, 1), Err(Error::NotStarted));
    assert_eq!(run_ready(), Err(Error::NotStarted));
    assert_eq!(stop(), Err(Error::NotStarted));
    let options = || Options {
        policy: Box::new(Fcfs::with_capacity(2)),
        capacity: 2,
        stack_bytes: 64 * 1024,
        clock,
        poll: || {},
    };
    start(options()).unwrap();
    assert_eq!(start(options()), Err(Error::AlreadyStarted));
    spawn(noop, 0, 1).unwrap();
    spawn(noop, 1, 1).unwrap();
    assert_eq!(spawn(noop, 2, 1), Err(Error::Full));
    assert_eq!(stop(), Err(Error::Busy));
    assert!(run_ready().unwrap());
    assert!(!run_ready().unwrap());
    // The ended threads' room is free again.
    spawn(noop, 3, 1).unwrap();
    assert!(run_ready().unwrap());
    assert_eq!(stop().map(|counts| counts.spawned), Ok(3));
}

fn run_ready_from_a_thread(_: usize) {
    assert_eq!(run_ready(), Err(Error::Busy));
}

#[test]
fn only_the_main_thread_lends_the_cpu() {
    let _turn = take_turn();
    start(Options {
        policy: Box::new(ShortestFirst::with_capacity(1)),
        capacity: 1,
        stack_bytes: 256 * 1024,
        clock,
        poll: || {},
    })
    .unwrap();
    spawn(run_ready_from_a_thread, 0, 1).unwrap();
    assert!(run_ready().unwrap());
    stop().unwrap();
}

#[test]
fn a_slot_end_inside_a_critical_section_or_where_the_app_forbids_waits() {
    let _turn = take_turn();
    start(Options {
        policy: Box::new(Fcfs::with_capacity(1)),
        capacity: 1,
        stack_bytes: 64 * 1024,
        clock,
        poll: || {},
    })
    .unwrap();
    spawn(noop, 0, 1).unwrap();
    let mut frame = ExceptionFrame::default();
    assert!(!critical(|| at_slot_end(&mut frame, true, || {})));
    assert!(!at_slot_end(&mut frame, false, || {}));
    let switch_address = context::switch as *const () as u64;
    frame.registers.rip = switch_address + 4;
    assert!(!at_slot_end(&mut frame, true, || {}));
    assert_eq!(counts().map(|counts| counts.deferred), Ok(3));
    assert_eq!(
        frame,
        ExceptionFrame {
            registers: UserRegisters {
                rip: switch_address + 4,
                ..UserRegisters::default()
            },
            ..ExceptionFrame::default()
        }
    );
    // The deferred switch happened at the end of the section: on the main thread, a yield
    // point does nothing, so the thread is still ready.
    assert!(run_ready().unwrap());
    stop().unwrap();
}
