//! The datagram socket (`libos_posix::udp`): its refusals, and receiving a datagram this
//! process injects to its own port (`PacketInject` from a process other than init reaches
//! only its own filters).

use crate::Outcome;
use alloc::format;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use exo_abi::Error;
use libos_posix::syscall;
use libos_posix::udp::UdpSocket;

const PORT: u16 = 7200;
const SENDER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 40_000);

/// A frame from [`SENDER`] to the guest's `PORT` carrying `payload`, written here byte by
/// byte (not with the code the socket parses with), the UDP checksum left out.
fn datagram(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    frame.extend_from_slice(&[0x52, 0x55, 10, 0, 2, 2]);
    frame.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&SENDER.ip().octets());
    ip[16..20].copy_from_slice(&[10, 0, 2, 15]);
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
