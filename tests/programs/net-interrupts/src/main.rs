//! The network device's receive interrupt seen from user mode (`tests/tests/net_interrupts.rs`).
//!
//! - `net-interrupts sink PORT MILLISECONDS`: announces the guest's address (so that QEMU's
//!   user-mode network forwards datagrams to it), claims the UDP datagrams to PORT into a ring
//!   of one slot that it never reads, so that a storm from the host finds the ring full, and
//!   for MILLISECONDS sleeps [`SINK_NAP_MICROSECONDS`] at a time, measuring how late each
//!   sleep ends: the kernel keeps its timer under the storm. Then prints what its ring holds
//!   and what it dropped.
//! - `net-interrupts spin QUIET STORM`: counts loops as fast as it can, in windows of
//!   [`WINDOW_MILLISECONDS`], for QUIET milliseconds and then for STORM milliseconds (the
//!   test's host side starts its storm when the first part ends), and prints the median loops
//!   of a window in each part: an environment that computes keeps running under the storm.
//! - `net-interrupts latency`: asks the gateway of QEMU's user-mode network for its Ethernet
//!   address [`ROUNDS`] times and each time, without a system call, spins on its ring until
//!   the reply lands; prints the median and the longest wait. A frame that arrives while an
//!   environment computes reaches its ring without waiting for the end of the slot.
//!
//! Exits 0 when it could do what it was asked (the test judges the figures).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::hint::black_box;
use exo_abi::slice::SLOT_LENGTH_MICROSECONDS;
use libos_custom::filter::{Predicate, Width};
use libos_custom::network::arp;
use libos_posix::arp::GUEST;
use libos_posix::net::ReceiveRing;
use libos_posix::time::{Duration, Instant};
use libos_posix::{println, syscall};

libos_posix::main!(main);

const NAME: &str = "net-interrupts";
/// The gateway of QEMU user networking, which answers ARP.
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];
/// Where the receive ring is bound.
const RING_ADDRESS: u64 = 0x6000_0000_0000;
/// How long the sink sleeps at a time.
const SINK_NAP_MICROSECONDS: u64 = 10_000;
/// The spinner's unit of measure, in milliseconds.
const WINDOW_MILLISECONDS: u64 = 50;
/// Loops between two looks at the clock.
const LOOPS_PER_LOOK: u64 = 256;
/// Round trips to the gateway.
const ROUNDS: usize = 32;
/// How long a reply is waited for before it counts as lost.
const REPLY_WAIT: Duration = Duration::from_millis(200);

fn main(args: libos_posix::Args) -> i32 {
    let operands: Vec<&str> = args.iter().collect();
    let outcome = match operands.as_slice() {
        ["sink", port, milliseconds] => match (port.parse(), milliseconds.parse()) {
            (Ok(port), Ok(milliseconds)) => sink(port, milliseconds),
            _ => Err("PORT and MILLISECONDS must be numbers"),
        },
        ["spin", quiet, storm] => match (quiet.parse(), storm.parse()) {
            (Ok(quiet), Ok(storm)) => {
                let median = median_window_loops(quiet);
                println!("{NAME}: spin quiet: median {median} loops per window");
                let median = median_window_loops(storm);
                println!("{NAME}: spin storm: median {median} loops per window");
                Ok(())
            }
            _ => Err("QUIET and STORM must be numbers"),
        },
        ["latency"] => latency(),
        _ => Err("usage: net-interrupts sink PORT MILLISECONDS | spin QUIET STORM | latency"),
    };
    match outcome {
        Ok(()) => 0,
        Err(reason) => {
            println!("{NAME}: {reason}");
            1
        }
    }
}

fn bind(predicate: &Predicate, slots: u64) -> Result<ReceiveRing, &'static str> {
    let filter = syscall::filter_load(&predicate.to_wasm()).map_err(|_| "filter refused")?;
    ReceiveRing::bind(filter, RING_ADDRESS, slots).map_err(|_| "cannot bind the receive ring")
}

fn sink(port: u16, milliseconds: u64) -> Result<(), &'static str> {
    let ring = bind(&Predicate::udp_destination_port(port), 1)?;
    syscall::packet_send(&arp::announcement(&GUEST)).map_err(|_| "send failed")?;
    println!("{NAME}: sink on port {port} ready");
    let start = Instant::now();
    let (mut naps, mut latest) = (0u64, Duration::ZERO);
    while start.elapsed() < Duration::from_millis(milliseconds) {
        let asleep = Instant::now();
        syscall::sleep(SINK_NAP_MICROSECONDS);
        let late = asleep
            .elapsed()
            .saturating_sub(Duration::from_micros(SINK_NAP_MICROSECONDS));
        latest = latest.max(late);
        naps += 1;
    }
    println!(
        "{NAME}: sink: {} frame(s) in its ring, {} dropped with the ring full; {naps} naps, \
         the latest {} us late",
        ring.pending().count(),
        ring.dropped(),
        latest.as_micros()
    );
    Ok(())
}

/// Counts loops for `milliseconds` in windows of [`WINDOW_MILLISECONDS`]; returns the median
/// count of a window.
fn median_window_loops(milliseconds: u64) -> u64 {
    let window = Duration::from_millis(WINDOW_MILLISECONDS);
    let start = Instant::now();
    let mut window_start = start;
    let mut windows = Vec::new();
    let (mut loops, mut counter) = (0u64, 0u64);
    while start.elapsed() < Duration::from_millis(milliseconds) {
        for _ in 0..LOOPS_PER_LOOK {
            counter = black_box(counter.wrapping_add(1));
        }
        loops += LOOPS_PER_LOOK;
        if window_start.elapsed() >= window {
            windows.push(loops);
            loops = 0;
            window_start = Instant::now();
        }
    }
    windows.sort_unstable();
    windows.get(windows.len() / 2).copied().unwrap_or(loops)
}

fn latency() -> Result<(), &'static str> {
    let replies_from_gateway = Predicate::new()
        .field(12, Width::U16, 0xFFFF, u32::from(arp::ETHERTYPE_ARP))
        .field(20, Width::U16, 0xFFFF, u32::from(arp::REPLY))
        .field(28, Width::U32, u32::MAX, u32::from_be_bytes(GATEWAY_IP))
        .field(38, Width::U32, u32::MAX, u32::from_be_bytes(GUEST.ip));
    let mut ring = bind(&replies_from_gateway, 4)?;
    let request = arp::request(&GUEST, GATEWAY_IP);
    let mut waits = Vec::with_capacity(ROUNDS);
    // The clock's rate is read once, by a system call, before anything is measured.
    let _ = Instant::now().elapsed();
    for _ in 0..ROUNDS {
        let sent = Instant::now();
        syscall::packet_send(&request).map_err(|_| "send failed")?;
        // No system call from here until the reply is in the ring: only the device's
        // interrupt (or the end of the slot) can put it there.
        let arrived = loop {
            if ring.pending().next().is_some() {
                break true;
            }
            if sent.elapsed() > REPLY_WAIT {
                break false;
            }
            core::hint::spin_loop();
        };
        if arrived {
            waits.push(sent.elapsed());
        }
        let pending = ring.pending().count() as u64;
        ring.release(pending);
    }
    waits.sort_unstable();
    let median = waits.get(waits.len() / 2).copied().unwrap_or(REPLY_WAIT);
    let longest = waits.last().copied().unwrap_or(REPLY_WAIT);
    println!(
        "{NAME}: latency: {} of {ROUNDS} replies while spinning, median {} us, longest {} us \
         (a slot is {SLOT_LENGTH_MICROSECONDS} us)",
        waits.len(),
        median.as_micros(),
        longest.as_micros()
    );
    Ok(())
}
