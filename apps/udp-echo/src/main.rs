//! UDP echo over downloaded packet filters, on QEMU user networking (guest address 10.0.2.15).
//!
//! - `udp-echo PORT COUNT`: claims UDP datagrams to PORT with a filter built by
//!   `libos_custom::filter`, sends each back to where it came from, and exits 0 after COUNT.
//! - `udp-echo arp`: answers ARP requests for the guest's address (and announces it once), so
//!   that the host side can reach the guest; it runs until the machine powers off.
//!
//! Each frame is answered from its own bytes: swapping the Ethernet, IPv4 and UDP source and
//! destination leaves both checksums valid, since each sums the same words.
#![no_std]
#![no_main]

use libos_custom::filter::{Predicate, Width};
use libos_posix::net::ReceiveRing;
use libos_posix::{println, syscall};

libos_posix::main!(main);

const NAME: &str = "udp-echo";
/// The guest's MAC address: QEMU's default for its first network card.
const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/// The guest's IPv4 address on QEMU user networking.
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
/// Where the receive ring is bound.
const RING_ADDRESS: u64 = 0x6000_0000_0000;
const RING_SLOTS: u64 = 16;
const ETHERTYPE_ARP: u32 = 0x0806;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;

fn main(args: libos_posix::Args) -> i32 {
    let mut words = args.iter();
    let outcome = match (words.next(), words.next()) {
        (Some("arp"), None) => answer_arp(),
        (Some(port), Some(count)) => match (port.parse(), count.parse()) {
            (Ok(port), Ok(count)) => echo(port, count),
            _ => Err("PORT and COUNT must be numbers"),
        },
        _ => Err("usage: udp-echo PORT COUNT | udp-echo arp"),
    };
    match outcome {
        Ok(()) => 0,
        Err(reason) => {
            println!("{NAME}: {reason}");
            1
        }
    }
}

fn bind(predicate: &Predicate) -> Result<ReceiveRing, &'static str> {
    let filter = syscall::filter_load(&predicate.to_wasm()).map_err(|_| "filter refused")?;
    ReceiveRing::bind(filter, RING_ADDRESS, RING_SLOTS).map_err(|_| "cannot bind the receive ring")
}

/// Waits for the next frame of `ring` into `buffer`; returns its length.
fn next_frame(ring: &mut ReceiveRing, buffer: &mut [u8]) -> usize {
    loop {
        if let Some(len) = ring.receive(buffer) {
            return len;
        }
        // A frame for this environment ends the sleep.
        syscall::sleep(1_000_000);
    }
}

fn echo(port: u16, count: u64) -> Result<(), &'static str> {
    let mut ring = bind(&Predicate::udp_destination_port(port))?;
    println!("{NAME}: port {port} ready");
    let mut buffer = [0u8; 1514];
    for _ in 0..count {
        let len = next_frame(&mut ring, &mut buffer);
        let frame = &mut buffer[..len];
        swap(frame, 0, 6, 6);
        swap(frame, 26, 30, 4);
        swap(frame, 34, 36, 2);
        syscall::packet_send(frame).map_err(|_| "send failed")?;
        let payload = frame.get(42..).unwrap_or_default();
        let text = core::str::from_utf8(payload).unwrap_or("(not UTF-8)");
        println!("{NAME}: port {port} echoed {text:?}");
    }
    println!("{NAME}: port {port} done");
    Ok(())
}

fn swap(frame: &mut [u8], first: usize, second: usize, len: usize) {
    for index in 0..len {
        frame.swap(first + index, second + index);
    }
}

fn answer_arp() -> Result<(), &'static str> {
    let requests_for_guest = Predicate::new()
        .field(12, Width::U16, 0xFFFF, ETHERTYPE_ARP)
        .field(20, Width::U16, 0xFFFF, u32::from(ARP_REQUEST))
        .field(38, Width::U32, u32::MAX, u32::from_be_bytes(GUEST_IP));
    let mut ring = bind(&requests_for_guest)?;
    // An announcement (sender and target both the guest) fills the host side's table at once.
    let announcement = arp_frame(ARP_REQUEST, [0xFF; 6], [0; 6], GUEST_IP);
    syscall::packet_send(&announcement).map_err(|_| "send failed")?;
    println!("{NAME}: answering ARP for 10.0.2.15");
    let mut buffer = [0u8; 1514];
    loop {
        let len = next_frame(&mut ring, &mut buffer);
        if len < 42 {
            continue;
        }
        let mut requester_mac = [0u8; 6];
        requester_mac.copy_from_slice(&buffer[22..28]);
        let mut requester_ip = [0u8; 4];
        requester_ip.copy_from_slice(&buffer[28..32]);
        let reply = arp_frame(ARP_REPLY, requester_mac, requester_mac, requester_ip);
        syscall::packet_send(&reply).map_err(|_| "send failed")?;
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
