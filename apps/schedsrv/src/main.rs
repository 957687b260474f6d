//! A server that schedules its own requests inside its own CPU slices, against the same server
//! run to completion and split into two processes the kernel multiplexes.
//!
//! Every path serves the same open-loop schedule (`workload`): 2,000 requests arriving at fixed
//! times, 0.5% of them a thousand times longer than the rest, in the same 12 slots of the
//! kernel's round (all but every fourth, which stay best effort). It reports the latency of the
//! short requests (median and 99th percentile, in microseconds of guest time):
//!
//! - `schedsrv threads [sjf|fcfs] [noyield]`: a user-level thread per request
//!   (`libos_custom::threads`); long work yields at points every short request's worth (none
//!   with `noyield`, so that only the slot ends preempt it), and the slot-end upcall re-queues
//!   the running thread; the policy (shortest-first by default, or first come first served)
//!   picks who runs;
//! - `schedsrv rtc`: one request at a time, each to completion, in arrival order;
//! - `schedsrv split`: two processes, one serving the short requests and one the long, each in
//!   half of the slots, each run to completion;
//! - `schedsrv fair`: two copies of the threaded server, owning 3 and 1 slots, serve requests
//!   as fast as they can for 3 s; their request counts must be in ratio 3:1 within 5%.
//!
//! With `bench` first (`schedsrv bench`), every path runs and prints figure lines `C3.<path>
//! ...` for `make bench` (`sjf`, `sjfnoyield` and `fcfs` on threads, `rtc`, `split`, and
//! `fair` for the fairness run).
#![no_std]
#![no_main]

extern crate alloc;

mod fairness;
mod threaded;
mod workload;

use exo_abi::slice::SLOTS_PER_ROUND;
use libos_posix::{Args, bare, clock, println, syscall};
use workload::{REQUESTS, RUN, is_long, median_and_p99_microseconds, rounds, work};

libos_posix::main!(main);

const NAME: &str = "schedsrv";
/// Every fourth slot stays best effort, so the server's gaps are one slot long.
const BEST_EFFORT_EVERY: u64 = 4;
/// How long the split path's children have to start before the first arrival.
const SPLIT_START_MILLISECONDS: u64 = 200;

fn main(args: Args) -> i32 {
    let words: alloc::vec::Vec<&str> = args.iter().collect();
    let (bench, words) = match words.split_first() {
        Some((&"bench", rest)) => (true, rest),
        _ => (false, &words[..]),
    };
    let outcome = match words {
        [] if bench => run_all(),
        ["threads"] => threads("sjf", Yields::AtPoints, bench),
        ["threads", policy] => threads(policy, Yields::AtPoints, bench),
        ["threads", policy, "noyield"] => threads(policy, Yields::AtSlotEndsOnly, bench),
        ["rtc"] => run_to_completion(bench),
        ["split"] => split(bench),
        ["split-class", class, start, short_ticks, rate] => {
            split_class(class, [start, short_ticks, rate], bench)
        }
        ["fair"] => fairness::run(bench),
        ["fair-worker", index, slots] => return fairness::worker(index, slots),
        _ => Err("usage: schedsrv [bench] threads [sjf|fcfs] [noyield] | rtc | split | fair"),
    };
    match outcome {
        Ok(()) => 0,
        Err(why) => {
            println!("{NAME}: {why}");
            1
        }
    }
}

fn run_all() -> Result<(), &'static str> {
    threads("sjf", Yields::AtPoints, true)?;
    threads("sjf", Yields::AtSlotEndsOnly, true)?;
    threads("fcfs", Yields::AtPoints, true)?;
    run_to_completion(true)?;
    split(true)?;
    fairness::run(true)
}

/// The slots a server owns while it lives: freed when dropped.
struct OwnedSlots(alloc::vec::Vec<u64>);

impl OwnedSlots {
    /// The positions of the server's slots, every `stride`-th from `first` among those not
    /// kept best effort.
    fn take(first: usize, stride: usize) -> Result<OwnedSlots, &'static str> {
        let mut owned = OwnedSlots(alloc::vec::Vec::new());
        let positions = (0..SLOTS_PER_ROUND).filter(|position| position % BEST_EFFORT_EVERY != 0);
        for position in positions.skip(first).step_by(stride) {
            syscall::slice_allocate(Some(position))
                .map_err(|_| "a slot the server needs is taken (is another server running?)")?;
            owned.0.push(position);
        }
        Ok(owned)
    }
}

impl Drop for OwnedSlots {
    fn drop(&mut self) {
        for &position in &self.0 {
            let _ = syscall::slice_free(position);
        }
    }
}

/// Where long work gives the CPU up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Yields {
    AtPoints,
    AtSlotEndsOnly,
}

fn threads(policy_name: &str, yields: Yields, bench: bool) -> Result<(), &'static str> {
    let policy = threaded::policy(policy_name).ok_or("the policies are sjf and fcfs")?;
    let _slots = OwnedSlots::take(0, 1)?;
    RUN.plan(clock::ticks(), workload::short_request_ticks());
    let counts = threaded::serve(policy, yields == Yields::AtPoints)?;
    let rate = clock::ticks_per_millisecond();
    // Figure names are lowercase letters only.
    let suffix = if yields == Yields::AtPoints {
        ""
    } else {
        "noyield"
    };
    let path = alloc::format!("{policy_name}{suffix}");
    report(&path, bench, |_| true, rate)?;
    if !bench {
        println!(
            "{NAME}: a short request takes {} us alone; {} threads, {} switches, {} at slot ends, {} slot ends deferred",
            workload::short_request_ticks() * 1000 / rate,
            counts.spawned,
            counts.switches,
            counts.preemptions,
            counts.deferred
        );
    }
    Ok(())
}

fn run_to_completion(bench: bool) -> Result<(), &'static str> {
    let _slots = OwnedSlots::take(0, 1)?;
    RUN.plan(clock::ticks(), workload::short_request_ticks());
    serve_in_order(|_| true);
    report("rtc", bench, |_| true, clock::ticks_per_millisecond())?;
    Ok(())
}

/// Serves the requests `serves` accepts one at a time, in arrival order, each to completion.
fn serve_in_order(serves: impl Fn(usize) -> bool) {
    for index in (0..REQUESTS).filter(|&index| serves(index)) {
        while clock::ticks() < RUN.arrival(index) {
            core::hint::spin_loop();
        }
        work(rounds(index), || {});
        RUN.finish(index);
    }
}

/// Prints the short requests' latency (and the long ones' median) of the run just done, in
/// microseconds of a clock of `rate` ticks per millisecond; fails when a request of the class
/// `served` was never served.
fn report(
    path: &str,
    bench: bool,
    served: impl Fn(usize) -> bool,
    rate: u64,
) -> Result<(), &'static str> {
    let (short, long) = (RUN.latencies(false), RUN.latencies(true));
    let expected = (0..REQUESTS).filter(|&index| served(index)).count();
    let finished = (0..REQUESTS)
        .filter(|&index| served(index) && RUN.is_finished(index))
        .count();
    if finished != expected {
        return Err("a request was never served");
    }
    let (median, p99) = median_and_p99_microseconds(short, rate);
    let has_long = !long.is_empty();
    let (long_median, _) = median_and_p99_microseconds(long, rate);
    if bench {
        println!("C3.{path} short_request_latency_median {median} us");
        println!("C3.{path} short_request_latency_p99 {p99} us");
        if has_long {
            println!("C3.{path} long_request_latency_median {long_median} us");
        }
    } else if has_long {
        println!(
            "{NAME}: {path}: short requests: median {median} us, p99 {p99} us; long: median {long_median} us"
        );
    } else {
        println!("{NAME}: {path}: short requests: median {median} us, p99 {p99} us");
    }
    Ok(())
}

/// Two processes, each run to completion over one class; the short one reports.
fn split(bench: bool) -> Result<(), &'static str> {
    let rate = clock::ticks_per_millisecond();
    let start = clock::ticks() + SPLIT_START_MILLISECONDS * rate;
    let short_ticks = workload::short_request_ticks();
    let children = ["short", "long"].map(|class| {
        let mode = if bench { "bench " } else { "" };
        let args = alloc::format!("{mode}split-class {class} {start} {short_ticks} {rate}");
        bare::spawn(NAME, &args)
    });
    for child in children {
        wait_for(child.map_err(|_| "cannot spawn a split server")?)?;
    }
    Ok(())
}

/// One of the split servers; `numbers` are the first arrival, a short request's ticks and the
/// clock's rate, all the parent's, so that both servers plan the same schedule.
fn split_class(class: &str, numbers: [&str; 3], bench: bool) -> Result<(), &'static str> {
    let [Ok(start), Ok(short_ticks), Ok(rate)] = numbers.map(str::parse::<u64>) else {
        return Err("split-class: START, SHORT_TICKS and RATE must be numbers");
    };
    let long = match class {
        "short" => false,
        "long" => true,
        _ => return Err("split-class: the classes are short and long"),
    };
    let _slots = OwnedSlots::take(usize::from(long), 2)?;
    RUN.plan(start, short_ticks);
    serve_in_order(|index| is_long(index) == long);
    if !long {
        report("split", bench, |index| !is_long(index), rate)?;
    }
    Ok(())
}

fn wait_for(child: syscall::Capability) -> Result<(), &'static str> {
    match syscall::wait(child) {
        Ok(exo_abi::ExitReason::Exited(0)) => Ok(()),
        _ => Err("a server process failed"),
    }
}
