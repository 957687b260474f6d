//! UDP echo over downloaded packet filters, on QEMU user networking (guest address 10.0.2.15).
//!
//! - `udp-echo [-n COUNT] [-s SLOTS] PORT`: claims UDP datagrams to PORT with a filter built by
//!   `libos_custom::filter` and sends each back to where it came from; exits 0 after COUNT
//!   (without `-n`, runs until the machine powers off). Its receive ring has SLOTS slots
//!   ([`DEFAULT_SLOTS`] unless given; the kernel refuses more than [`RING_SLOTS_MAX`]). It
//!   answers ARP for the guest's address itself, so that the host side can reach the guest
//!   with nothing else running.
//! - `udp-echo arp`: only answers ARP requests for the guest's address (and announces it
//!   once), for another server that does not; it runs until the machine powers off.
//!
//! Each frame is answered from its own bytes: swapping the Ethernet, IPv4 and UDP source and
//! destination leaves both checksums valid, since each sums the same words.
#![no_std]
#![no_main]

use exo_abi::packet::RING_SLOTS_MAX;
use libos_custom::filter::{Predicate, Width};
use libos_posix::Options;
use libos_posix::net::ReceiveRing;
use libos_posix::{println, syscall};

libos_posix::main!(main);

const NAME: &str = "udp-echo";
/// The guest's MAC address: QEMU's default for its first network card.
const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/// The guest's IPv4 address on QEMU user networking.
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
/// Where the datagrams' receive ring is bound.
const ECHO_RING_ADDRESS: u64 = 0x6000_0000_0000;
/// Where the ARP requests' receive ring is bound.
const ARP_RING_ADDRESS: u64 = 0x6100_0000_0000;
/// Slots of the datagrams' ring unless `-s` says otherwise: the most the kernel allows, since
/// a ring of 16 drops part of an unpaced burst from the host that one of 64 takes whole.
const DEFAULT_SLOTS: u64 = RING_SLOTS_MAX;
/// Slots of the ARP requests' ring: requests come one at a time.
const ARP_SLOTS: u64 = 4;
/// Echoes printed one line each; the rest are only counted, since a console line costs far
/// more than an echo.
const ECHOES_PRINTED: u64 = 8;
const ETHERTYPE_ARP: u32 = 0x0806;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;
/// Bytes of the Ethernet, IPv4 (without options) and UDP headers before the payload.
const HEADERS_BYTES: usize = 42;

fn main(args: libos_posix::Args) -> i32 {
    let outcome = match args.parse("n:s:") {
        Ok(options) if options.operands == ["arp"] && options.given.is_empty() => answer_arp_only(),
        Ok(options) if options.operands.len() == 1 => match parse(&options) {
            Some((port, count, slots)) => echo(port, count, slots),
            None => Err("PORT (1 to 65535), COUNT and SLOTS must be numbers"),
        },
        _ => Err("usage: udp-echo [-n COUNT] [-s SLOTS] PORT | udp-echo arp"),
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

fn bind(predicate: &Predicate, address: u64, slots: u64) -> Result<ReceiveRing, &'static str> {
    let filter = syscall::filter_load(&predicate.to_wasm()).map_err(|_| "filter refused")?;
    ReceiveRing::bind(filter, address, slots).map_err(|_| "cannot bind the receive ring")
}

/// ARP requests for the guest's address, in a ring of their own, the guest announced once.
/// An announcement (sender and target both the guest) fills the host side's table at once.
fn start_answering_arp() -> Result<ReceiveRing, &'static str> {
    let requests_for_guest = Predicate::new()
        .field(12, Width::U16, 0xFFFF, ETHERTYPE_ARP)
        .field(20, Width::U16, 0xFFFF, u32::from(ARP_REQUEST))
        .field(38, Width::U32, u32::MAX, u32::from_be_bytes(GUEST_IP));
    let ring = bind(&requests_for_guest, ARP_RING_ADDRESS, ARP_SLOTS)?;
    let announcement = arp_frame(ARP_REQUEST, [0xFF; 6], [0; 6], GUEST_IP);
    syscall::packet_send(&announcement).map_err(|_| "send failed")?;
    Ok(ring)
}

/// Answers the ARP requests waiting in `ring`.
fn answer_arp(ring: &mut ReceiveRing) -> Result<(), &'static str> {
    let mut request = [0u8; 64];
    while let Some(len) = ring.receive(&mut request) {
        if len < 42 {
            continue;
        }
        let mut requester_mac = [0u8; 6];
        requester_mac.copy_from_slice(&request[22..28]);
        let mut requester_ip = [0u8; 4];
        requester_ip.copy_from_slice(&request[28..32]);
        let reply = arp_frame(ARP_REPLY, requester_mac, requester_mac, requester_ip);
        syscall::packet_send(&reply).map_err(|_| "send failed")?;
    }
    Ok(())
}

fn echo(port: u16, count: Option<u64>, slots: u64) -> Result<(), &'static str> {
    let mut ring = bind(
        &Predicate::udp_destination_port(port),
        ECHO_RING_ADDRESS,
        slots,
    )?;
    let mut arp = start_answering_arp()?;
    println!(
        "{NAME}: echoing UDP port {port} of 10.0.2.15 ({slots} ring slots), answering ARP for it"
    );
    println!("{NAME}: port {port} ready");
    let mut buffer = [0u8; 1514];
    let mut echoed = 0;
    let mut dropped_reported = 0;
    while count != Some(echoed) {
        answer_arp(&mut arp)?;
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

fn answer_arp_only() -> Result<(), &'static str> {
    let mut ring = start_answering_arp()?;
    println!("{NAME}: answering ARP for 10.0.2.15");
    loop {
        answer_arp(&mut ring)?;
        // A request for this environment ends the sleep.
        syscall::sleep(1_000_000);
    }
}

/// An ARP frame from the guest: operation `operation`, Ethernet destination `to`, target
/// hardware and protocol addresses `target_mac` and `target_ip`.
fn arp_frame(operation: u16, to: [u8; 6], target_mac: [u8; 6], target_ip: [u8; 4]) -> [u8; 42] {
    let mut frame = [0u8; 42];
    frame[0..6].copy_from_slice(&to);
    frame[6..12].copy_from_slice(&GUEST_MAC);
    frame[12..14].copy_from_slice(&(ETHERTYPE_ARP as u16).to_be_bytes());
    frame[14..16].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    frame[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    frame[18] = 6;
    frame[19] = 4;
    frame[20..22].copy_from_slice(&operation.to_be_bytes());
    frame[22..28].copy_from_slice(&GUEST_MAC);
    frame[28..32].copy_from_slice(&GUEST_IP);
    frame[32..38].copy_from_slice(&target_mac);
    frame[38..42].copy_from_slice(&target_ip);
    frame
}
