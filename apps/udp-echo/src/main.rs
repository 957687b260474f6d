//! UDP echo over downloaded packet filters, on QEMU user networking (guest address 10.0.2.15).
//!
//! - `udp-echo [-n COUNT] [-s SLOTS] PORT`: claims UDP datagrams to PORT with a filter built by
//!   `libos_custom::filter` and sends each back to where it came from; exits 0 after COUNT
//!   (without `-n`, runs until the machine powers off). Its receive ring has SLOTS slots
//!   ([`DEFAULT_SLOTS`] unless given; the kernel refuses more than [`RING_SLOTS_MAX`]). It
//!   answers ARP for the guest's address itself (`libos_posix::arp`, as every UDP server of
//!   the library OSes does), so that the host side can reach the guest with nothing else
//!   running.
//!
//! Each frame is answered from its own bytes: swapping the Ethernet, IPv4 and UDP source and
//! destination leaves both checksums valid, since each sums the same words.
#![no_std]
#![no_main]

use exo_abi::packet::RING_SLOTS_MAX;
use libos_custom::filter::Predicate;
use libos_posix::Options;
use libos_posix::arp::ArpAnswerer;
use libos_posix::net::ReceiveRing;
use libos_posix::{println, syscall};

libos_posix::main!(main);

const NAME: &str = "udp-echo";
/// Where the datagrams' receive ring is bound.
const ECHO_RING_ADDRESS: u64 = 0x6000_0000_0000;
/// Slots of the datagrams' ring unless `-s` says otherwise: the most the kernel allows, since
/// a ring of 16 drops part of an unpaced burst from the host that one of 64 takes whole.
const DEFAULT_SLOTS: u64 = RING_SLOTS_MAX;
/// Echoes printed one line each; the rest are only counted, since a console line costs far
/// more than an echo.
const ECHOES_PRINTED: u64 = 8;
/// Bytes of the Ethernet, IPv4 (without options) and UDP headers before the payload.
const HEADERS_BYTES: usize = 42;

fn main(args: libos_posix::Args) -> i32 {
    let outcome = match args.parse("n:s:") {
        Ok(options) if options.operands.len() == 1 => match parse(&options) {
            Some((port, count, slots)) => echo(port, count, slots),
            None => Err("PORT (1 to 65535), COUNT and SLOTS must be numbers"),
        },
        _ => Err("usage: udp-echo [-n COUNT] [-s SLOTS] PORT"),
    };
    match outcome {
        Ok(()) => 0,
        Err(reason) => {
            println!("{NAME}: {reason}");
            1
        }
    }
}

/// The port, the count (`None`: no end) and the ring's slots of `udp-echo [-n COUNT]
/// [-s SLOTS] PORT`.
fn parse(options: &Options) -> Option<(u16, Option<u64>, u64)> {
    let port = options.operands[0].parse().ok().filter(|&port| port != 0)?;
    let count = match options.value('n') {
        Some(count) => Some(count.parse().ok()?),
        None => None,
    };
    let slots = match options.value('s') {
        Some(slots) => slots.parse().ok()?,
        None => DEFAULT_SLOTS,
    };
    Some((port, count, slots))
}

fn echo(port: u16, count: Option<u64>, slots: u64) -> Result<(), &'static str> {
    let module = Predicate::udp_destination_port(port).to_wasm();
    let filter = syscall::filter_load(&module).map_err(|_| "filter refused")?;
    let mut ring = ReceiveRing::bind(filter, ECHO_RING_ADDRESS, slots)
        .map_err(|_| "cannot bind the receive ring")?;
    let arp = ArpAnswerer::start().map_err(|_| "cannot answer ARP")?;
    println!(
        "{NAME}: echoing UDP port {port} of 10.0.2.15 ({slots} ring slots), answering ARP for it"
    );
    println!("{NAME}: port {port} ready");
    let mut buffer = [0u8; 1514];
    let mut echoed = 0;
    let mut dropped_reported = 0;
    while count != Some(echoed) {
        arp.answer_pending();
        let Some(received) = ring.pending().next() else {
            // Losses are said once the ring is drained, so that saying them loses no more.
            let dropped = ring.dropped();
            if dropped != dropped_reported {
                println!("{NAME}: port {port}: {dropped} dropped with the ring full so far");
                dropped_reported = dropped;
            }
            // A frame for this environment ends the sleep.
            syscall::sleep(1_000_000);
            continue;
        };
        let len = received.len().min(buffer.len());
        buffer[..len].copy_from_slice(&received[..len]);
        ring.release(1);
        let frame = &mut buffer[..len];
        if frame.len() < HEADERS_BYTES {
            continue;
        }
        swap(frame, 0, 6, 6);
        swap(frame, 26, 30, 4);
        swap(frame, 34, 36, 2);
        syscall::packet_send(frame).map_err(|_| "send failed")?;
        echoed += 1;
        if echoed <= ECHOES_PRINTED {
            let text = core::str::from_utf8(&frame[HEADERS_BYTES..]).unwrap_or("(not UTF-8)");
            println!("{NAME}: port {port} echoed {text:?}");
        }
        if echoed == ECHOES_PRINTED {
            println!("{NAME}: port {port}: further echoes are counted, not printed");
        }
    }
    println!(
        "{NAME}: port {port} done: {echoed} echoed, {} dropped with the ring full",
        ring.dropped()
    );
    Ok(())
}

fn swap(frame: &mut [u8], first: usize, second: usize, len: usize) {
    for index in 0..len {
        frame.swap(first + index, second + index);
    }
}
