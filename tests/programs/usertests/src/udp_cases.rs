//! The datagram socket (`libos_posix::udp`): its refusals, receiving a datagram this process
//! injects to its own port (`PacketInject` from a process other than init reaches only its own
//! filters), and the ARP answering every socket holds (`libos_posix::arp`), fed hostile frames.

use crate::Outcome;
use alloc::format;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use exo_abi::Error;
use libos_posix::arp::{self, ArpAnswerer};
use libos_posix::syscall;
use libos_posix::udp::UdpSocket;

const PORT: u16 = 7200;
const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
const SENDER_MAC: [u8; 6] = [0x52, 0x55, 10, 0, 2, 2];
const SENDER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 40_000);

/// A frame from [`SENDER`] to the guest's `PORT` carrying `payload`, written here byte by
/// byte (not with the code the socket parses with), the UDP checksum left out.
fn datagram(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&GUEST_MAC);
    frame.extend_from_slice(&SENDER_MAC);
    frame.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&SENDER.ip().octets());
    ip[16..20].copy_from_slice(&GUEST_IP);
    let sum: u32 = ip
        .chunks(2)
        .map(|word| u32::from(u16::from_be_bytes([word[0], word[1]])))
        .sum();
    let folded = (sum & 0xFFFF) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!(folded as u16)).to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&SENDER.port().to_be_bytes());
    frame.extend_from_slice(&PORT.to_be_bytes());
    frame.extend_from_slice(&(total - 20).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(payload);
    frame
}

fn expect<T: core::fmt::Debug>(what: &str, got: Result<T, Error>, wanted: Error) -> Outcome {
    match got {
        Err(error) if error == wanted => Ok(()),
        other => Err(format!("{what}: {other:?}, not {wanted:?}")),
    }
}

fn inject(frame: &[u8]) -> Outcome {
    match syscall::packet_inject(frame) {
        Ok(true) => Ok(()),
        other => Err(format!("inject: {other:?}, not claimed")),
    }
}

/// Port 0 and a port held are refused; an unknown peer, a payload too long and a buffer too
/// short give errors; a malformed frame is passed over and the next datagram comes through;
/// the port is free again once its socket is dropped.
pub fn udp_socket() -> Outcome {
    expect("bind port 0", UdpSocket::bind(0), Error::InvalidArgument)?;
    let mut socket = UdpSocket::bind(PORT).map_err(|error| format!("bind: {error:?}"))?;
    expect("bind a held port", UdpSocket::bind(PORT), Error::Occupied)?;
    expect(
        "send to a stranger",
        socket.send_to(b"hi", SENDER),
        Error::NotFound,
    )?;
    let huge = [0u8; 1473];
    expect(
        "send too much",
        socket.send_to(&huge, SENDER),
        Error::TooLong,
    )?;

    inject(&datagram(b"a datagram of 28 bytes......"))?;
    let mut small = [0u8; 8];
    expect(
        "receive into 8 bytes",
        socket.recv_from(&mut small),
        Error::TooLong,
    )?;
    let mut truncated = datagram(b"cut short");
    truncated.truncate(40);
    inject(&truncated)?;
    inject(&datagram(b"hello"))?;
    let mut buffer = [0u8; 64];
    let received = socket.recv_from(&mut buffer);
    if received != Ok((5, SENDER)) || &buffer[..5] != b"hello" {
        return Err(format!("received {received:?}, not hello from {SENDER}"));
    }
    drop(socket);
    UdpSocket::bind(PORT)
        .map(drop)
        .map_err(|error| format!("bind after the drop: {error:?}"))
}

/// A broadcast ARP request from `sender_mac` at `sender_ip`: who has `target_ip`? Written
/// byte by byte.
fn arp_request(sender_mac: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&[0xFF; 6]);
    frame.extend_from_slice(&sender_mac);
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&sender_mac);
    frame.extend_from_slice(&sender_ip);
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target_ip);
    frame
}

fn expect_claim(what: &str, frame: &[u8], wanted: bool) -> Outcome {
    match syscall::packet_inject(frame) {
        Ok(claimed) if claimed == wanted => Ok(()),
        other => Err(format!("inject {what}: {other:?}, not Ok({wanted})")),
    }
}

fn expect_answered(what: &str, answerer: &ArpAnswerer, wanted: u64) -> Outcome {
    match answerer.answer_pending() {
        answered if answered == wanted => Ok(()),
        answered => Err(format!("{what}: {answered} answered, not {wanted}")),
    }
}

/// A socket answers ARP for the guest's address: a request for it is claimed and answered;
/// one for another address, and frames cut short, are not claimed; one from a group address
/// is claimed and not answered; a flood is answered no more than the ring's slots at a time
/// and the datagrams still come through. Once the last holder is dropped nothing is claimed,
/// and the next socket claims again.
pub fn arp_answering() -> Outcome {
    let request = arp_request(SENDER_MAC, SENDER.ip().octets(), GUEST_IP);
    let socket = UdpSocket::bind(PORT).map_err(|error| format!("bind: {error:?}"))?;
    let answerer = ArpAnswerer::start().map_err(|error| format!("start: {error:?}"))?;
    // Replies go out only through a network device: the guest's own announcement tells
    // whether there is one.
    let announcement = arp_request(GUEST_MAC, GUEST_IP, GUEST_IP);
    let sent = u64::from(syscall::packet_send(&announcement).is_ok());
    expect_claim("a request", &request, true)?;
    expect_answered("a request", &answerer, sent)?;
    expect_claim(
        "another address",
        &arp_request(SENDER_MAC, SENDER.ip().octets(), [10, 0, 2, 16]),
        false,
    )?;
    for len in [14, 20, 41] {
        expect_claim("a request cut short", &request[..len], false)?;
    }
    let mut group_sender = SENDER_MAC;
    group_sender[0] |= 1;
    let from_group = arp_request(group_sender, SENDER.ip().octets(), GUEST_IP);
    expect_claim("a request from a group", &from_group, true)?;
    expect_claim("the guest's own announcement", &announcement, true)?;
    expect_answered("a group sender and the guest itself", &answerer, 0)?;

    for _ in 0..100 {
        expect_claim("a flood", &request, true)?;
    }
    expect_answered("a flood", &answerer, arp::RING_SLOTS * sent)?;
    expect_answered("after the flood", &answerer, 0)?;
    inject(&datagram(b"after the flood"))?;
    let mut socket = socket;
    let mut buffer = [0u8; 64];
    match socket.recv_from(&mut buffer) {
        Ok((15, from)) if from == SENDER && &buffer[..15] == b"after the flood" => {}
        other => return Err(format!("after the flood: received {other:?}")),
    }

    drop(answerer);
    expect_claim("a request with a socket left", &request, true)?;
    drop(socket);
    expect_claim("a request with no socket", &request, false)?;
    let _socket = UdpSocket::bind(PORT).map_err(|error| format!("bind again: {error:?}"))?;
    expect_claim("a request to a socket bound again", &request, true)
}
