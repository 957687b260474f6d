//! Datagram sockets over the packet calls: what an ordinary socket layer gives a program.
//!
//! [`UdpSocket::bind`] claims a port with a downloaded filter and a receive ring of its own;
//! [`UdpSocket::recv_from`] copies the next frame out of the ring into the socket's frame
//! buffer (freeing its slot at once), checks its headers and checksums, and copies the payload into the caller's buffer;
//! [`UdpSocket::send_to`] copies the caller's payload into a frame, writes every header field
//! and both checksums, and sends it. Each call handles one datagram, as `recvfrom` and
//! `sendto` do. The protocol code (parsing, header writing) is the network manager's in
//! `libos_custom::network::frame`, so that the two paths differ only in how they use it.
//!
//! The Ethernet address of a peer comes from the datagrams it sent: a socket answers the
//! peers it heard from (on QEMU's user network every datagram comes through the gateway,
//! whose address this learns from the first one). The other way, the host side finds the
//! guest by ARP: every socket holds the program's [`ArpAnswerer`], which announces the guest's
//! address when the first socket is bound and answers the requests for it while
//! [`UdpSocket::recv_from`] waits, so that a server is reachable with nothing else running.

use crate::arp::ArpAnswerer;
use crate::net::ReceiveRing;
use crate::syscall;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use exo_abi::Error;
use exo_abi::packet::RING_SLOTS_MAX;
use libos_custom::filter::Predicate;
use libos_custom::network::frame::{self, Endpoint, HEADERS_BYTES};
use libos_custom::network::{FRAME_BYTES, PAYLOAD_BYTES_MAX};
use spin::Mutex;

/// The guest's Ethernet address: QEMU's default for its first network card.
pub const LOCAL_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/// The guest's IPv4 address on QEMU's user network.
pub const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
/// Slot pages of each socket's receive ring: datagrams that can wait to be received. The most
/// the kernel allows: a ring of 16 drops part of an unpaced burst from the host, and a fifth of
/// a run paced at half the echo rate now and then, which one of 64 did not (the README's
/// network figures).
pub const RECEIVE_SLOTS: u64 = 64;
const _: () = assert!(RECEIVE_SLOTS == RING_SLOTS_MAX);
/// Where the sockets' receive rings are bound, one after another, never reused.
const RINGS_START: u64 = 0x6100_0000_0000;
/// Address space each ring takes: its header page and its slots.
const RING_SPAN: u64 = (1 + RECEIVE_SLOTS) * crate::layout::PAGE_BYTES;
/// Most rings this program binds in its life.
const RINGS_MAX: u64 = 1024;
/// Most peers whose Ethernet address a socket remembers.
const NEIGHBOURS_MAX: usize = 16;

/// How a socket hands a finished frame on: [`syscall::packet_send`] unless
/// [`UdpSocket::set_send_frame`] says otherwise.
pub type SendFrame = fn(&[u8]) -> Result<(), Error>;

/// The ports this program's sockets hold, and how many rings it has bound.
static PORTS: Mutex<(Vec<u16>, u64)> = Mutex::new((Vec::new(), 0));

/// A UDP socket bound to a port of the guest's address.
#[derive(Debug)]
pub struct UdpSocket {
    ring: ReceiveRing,
    filter: u64,
    local: Endpoint,
    /// The frame a datagram is received into, then sent from.
    frame: Vec<u8>,
    /// Peers heard from: IPv4 address and Ethernet address, newest last.
    neighbours: Vec<([u8; 4], [u8; 6])>,
    send_frame: SendFrame,
    /// The program's ARP answering, held as long as the socket.
    arp: ArpAnswerer,
}

impl UdpSocket {
    /// Claims UDP port `port` of the guest's address for a new socket.
    ///
    /// Errors: [`Error::InvalidArgument`] for port 0; [`Error::Occupied`] when a socket of
    /// this program holds the port already (the kernel has no port namespace: across
    /// environments, the filter bound first wins); [`Error::NoMemory`] after
    /// 1,024 sockets bound in the program's life; those of `FilterLoad` and `PacketBind`
    /// (for the port, or for the first socket's [`ArpAnswerer`]).
    pub fn bind(port: u16) -> Result<UdpSocket, Error> {
        if port == 0 {
            return Err(Error::InvalidArgument);
        }
        let mut ports = PORTS.lock();
        if ports.0.contains(&port) {
            return Err(Error::Occupied);
        }
        if ports.1 == RINGS_MAX {
            return Err(Error::NoMemory);
        }
        let filter = syscall::filter_load(&Predicate::udp_destination_port(port).to_wasm())?;
        let address = RINGS_START + ports.1 * RING_SPAN;
        // The address range is spent even if the binding fails: some pages may be bound.
        ports.1 += 1;
        let bound = ReceiveRing::bind(filter, address, RECEIVE_SLOTS)
            .and_then(|ring| Ok((ring, ArpAnswerer::start()?)));
        let (ring, arp) = match bound {
            Ok(bound) => bound,
            Err(error) => {
                let _ = syscall::filter_unload(filter);
                return Err(error);
            }
        };
        ports.0.push(port);
        Ok(UdpSocket {
            ring,
            filter,
            local: Endpoint {
                mac: LOCAL_MAC,
                ip: LOCAL_IP.octets(),
                port,
            },
            frame: vec![0; FRAME_BYTES],
            neighbours: Vec::with_capacity(NEIGHBOURS_MAX),
            send_frame: syscall::packet_send,
            arp,
        })
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(LOCAL_IP, self.local.port)
    }

    /// Waits for the next datagram to this socket, copies its payload into `buffer` and
    /// returns its length and sender. Frames that are not well-formed UDP datagrams (bad
    /// lengths, checksums, fragments) are dropped on the way, and ARP requests for the guest's
    /// address answered.
    ///
    /// Errors: [`Error::TooLong`] when the payload does not fit in `buffer`; the datagram is
    /// dropped.
    pub fn recv_from(&mut self, buffer: &mut [u8]) -> Result<(usize, SocketAddrV4), Error> {
        loop {
            self.arp.answer_pending();
            let Some(received) = self.ring.pending().next() else {
                // A frame for this environment ends the sleep.
                syscall::sleep(1_000_000);
                continue;
            };
            let len = received.len().min(FRAME_BYTES);
            self.frame[..len].copy_from_slice(&received[..len]);
            self.ring.release(1);
            let Ok(datagram) = frame::parse(&self.frame[..len]) else {
                continue;
            };
            let source = datagram.source;
            let payload = datagram.payload;
            let target = buffer.get_mut(..payload.len()).ok_or(Error::TooLong)?;
            target.copy_from_slice(payload);
            let payload_bytes = payload.len();
            self.learn(source.ip, source.mac);
            let from = SocketAddrV4::new(Ipv4Addr::from(source.ip), source.port);
            return Ok((payload_bytes, from));
        }
    }

    /// Sends `payload` as one datagram to `to`; returns its length.
    ///
    /// Errors: [`Error::TooLong`] beyond the most one frame carries
    /// ([`PAYLOAD_BYTES_MAX`] bytes); [`Error::NotFound`] when `to`'s address was never heard
    /// from (its Ethernet address is unknown); those of `PacketSend` (or of the
    /// [`SendFrame`] set).
    pub fn send_to(&mut self, payload: &[u8], to: SocketAddrV4) -> Result<usize, Error> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(Error::TooLong);
        }
        let ip = to.ip().octets();
        let mac = self
            .neighbours
            .iter()
            .rev()
            .find(|(known, _)| *known == ip)
            .map(|&(_, mac)| mac)
            .ok_or(Error::NotFound)?;
        let peer = Endpoint {
            mac,
            ip,
            port: to.port(),
        };
        let len = HEADERS_BYTES + payload.len();
        self.frame[HEADERS_BYTES..len].copy_from_slice(payload);
        frame::write_headers(&mut self.frame, &self.local, &peer, payload.len());
        (self.send_frame)(&self.frame[..len])?;
        Ok(payload.len())
    }

    /// Hands the frames [`UdpSocket::send_to`] builds to `send_frame` instead of the kernel:
    /// for a program that measures its kernel calls, or records what it would send.
    pub fn set_send_frame(&mut self, send_frame: SendFrame) {
        self.send_frame = send_frame;
    }

    /// Frames this socket's ring dropped because it was full.
    pub fn dropped(&self) -> u64 {
        self.ring.dropped()
    }

    /// Remembers that `ip` is at `mac`, forgetting the oldest peer when full.
    fn learn(&mut self, ip: [u8; 4], mac: [u8; 6]) {
        if let Some(known) = self.neighbours.iter_mut().find(|(known, _)| *known == ip) {
            known.1 = mac;
            return;
        }
        if self.neighbours.len() == NEIGHBOURS_MAX {
            self.neighbours.remove(0);
        }
        self.neighbours.push((ip, mac));
    }
}

impl Drop for UdpSocket {
    /// Unloads the filter (the kernel stops delivering) and frees the port.
    fn drop(&mut self) {
        let _ = syscall::filter_unload(self.filter);
        PORTS.lock().0.retain(|&port| port != self.local.port);
    }
}
