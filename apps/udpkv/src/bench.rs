//! `udpkv bench PATH [icount]`: the cost per request of each path, from the request frame
//! entering the kernel to its reply leaving it.
//!
//! This program binds the path's server to a port and plays the client itself: each round it
//! injects [`RING_SLOTS`] request frames with `PacketInject` (which offers a frame from an
//! environment other than init to that environment's own filters only), then lets the server
//! take them all and send the replies. The figure is the time-stamp counter per request over
//! [`ROUNDS`] rounds, after one round of warm-up: GET of a key present (`udp_kv_get_hit`),
//! of a key absent (`udp_kv_get_miss`), and SET of a key present (`udp_kv_set`), keys of 8
//! bytes and values of [`VALUE_BYTES`].
//!
//! The `_library` rows are the library OS's own work: the same rounds again with each reply
//! frame dropped where it would go to `PacketSend` (`UdpSocket::set_send_frame` on the
//! socket), the time inside each `PacketInject` left out. Measured so, they are the same from
//! run to run. With the device in the loop they are not: the kernel calls cost the same on
//! every path but not from run to run (the driver waits for QEMU to take each frame, and how
//! long depends on how busy the host is), and the frames QEMU sends back for the replies (its
//! ICMP errors) come in while the library's code runs.

use crate::{KEYS_MAX, RING_SLOTS, bind_ring, serve_batch, serve_one, server_endpoint};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use exo_abi::Error;
use libos_custom::network::frame::{self, Endpoint, HEADERS_BYTES};
use libos_custom::network::kv::{self, KvStore, REPLY_BYTES_MAX};
use libos_custom::network::{
    CopyOutReplies, InPlaceReplies, PAYLOAD_BYTES_MAX, ReplyPolicy, UdpKvServer,
};
use libos_posix::arp::ArpAnswerer;
use libos_posix::clock::ticks;
use libos_posix::net::ReceiveRing;
use libos_posix::udp::{SendFrame, UdpSocket};
use libos_posix::{println, syscall};

/// The server's port in the bench.
const SERVER_PORT: u16 = 7100;
/// Where the ring-direct server's ring is bound.
const SERVER_RING_ADDRESS: u64 = 0x6300_0000_0000;
/// Distinct keys the requests name.
const KEYS: usize = 64;
/// Bytes of each value set and got.
pub const VALUE_BYTES: usize = 100;
/// Rounds of [`RING_SLOTS`] requests timed per figure.
pub const ROUNDS: u64 = 128;
/// The client the requests come from: QEMU's gateway.
const CLIENT: Endpoint = Endpoint {
    mac: [0x52, 0x55, 10, 0, 2, 2],
    ip: [10, 0, 2, 2],
    port: 40_000,
};

/// A request frame from [`CLIENT`] to `port`.
fn request_frame(port: u16, id: u32, operation: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; HEADERS_BYTES + kv::HEADER_BYTES + key.len() + value.len()];
    let payload_bytes = kv::write_request(&mut frame[HEADERS_BYTES..], id, operation, key, value);
    frame::write_headers(&mut frame, &CLIENT, &server_endpoint(port), payload_bytes);
    frame
}

/// The request frames of one kind, one per key: `prefix` names the keys.
fn requests(port: u16, operation: u8, prefix: u8) -> Vec<Vec<u8>> {
    let value = [b'v'; VALUE_BYTES];
    let value: &[u8] = if operation == kv::SET { &value } else { &[] };
    (0..KEYS)
        .map(|index| {
            let key = [
                prefix,
                b'-',
                b'k',
                b'e',
                b'y',
                b'0' + (index / 10) as u8,
                b'0' + (index % 10) as u8,
                b'!',
            ];
            request_frame(port, index as u32, operation, &key, value)
        })
        .collect()
}

/// Ticks spent inside the timed kernel calls (one thread: relaxed is enough).
static KERNEL_TICKS: AtomicU64 = AtomicU64::new(0);

/// Runs the kernel call `call`, adding its ticks to [`KERNEL_TICKS`].
fn in_kernel<T>(call: impl FnOnce() -> T) -> T {
    let start = ticks();
    let result = call();
    KERNEL_TICKS.fetch_add(ticks() - start, Ordering::Relaxed);
    result
}

/// A server under measurement.
trait Path {
    /// Takes the `count` requests injected into its ring and hands their reply frames to
    /// `send`.
    fn serve(&mut self, count: u64, send: SendFrame) -> Result<(), Error>;
}

/// The network manager on its own ring, answering ARP as `udpkv custom` does.
struct RingDirect<P: ReplyPolicy> {
    ring: ReceiveRing,
    arp: ArpAnswerer,
    server: UdpKvServer<P>,
}

impl<P: ReplyPolicy> Path for RingDirect<P> {
    fn serve(&mut self, count: u64, send: SendFrame) -> Result<(), Error> {
        let mut served = 0;
        while served < count {
            match serve_batch(&mut self.ring, &self.arp, &mut self.server, send)? {
                0 => return Err(Error::NotFound),
                taken => served += taken,
            }
        }
        Ok(())
    }
}

/// The same store behind a socket.
struct Socket {
    socket: UdpSocket,
    store: KvStore,
    request: Vec<u8>,
    reply: Vec<u8>,
}

impl Path for Socket {
    fn serve(&mut self, count: u64, send: SendFrame) -> Result<(), Error> {
        self.socket.set_send_frame(send);
        for _ in 0..count {
            let (request, reply) = (&mut self.request, &mut self.reply);
            let send = UdpSocket::send_to;
            serve_one(&mut self.socket, &mut self.store, request, reply, send)?;
        }
        Ok(())
    }
}

/// `PacketSend`, timed.
fn timed_packet_send(frame: &[u8]) -> Result<(), Error> {
    in_kernel(|| syscall::packet_send(frame))
}

/// Drops a reply frame: the library rows are measured without the device.
fn discard(_frame: &[u8]) -> Result<(), Error> {
    Ok(())
}

/// What one request costs: all of it, and the library OS's own work.
#[derive(Clone, Copy)]
struct Cost {
    total: u64,
    library: u64,
}

/// Injects `frames` round after round, the first one untimed, `path` taking each round's
/// requests and handing the replies to `send`; returns the ticks per request, and those
/// outside the timed kernel calls.
fn per_request(frames: &[Vec<u8>], path: &mut dyn Path, send: SendFrame) -> Result<Cost, Error> {
    let mut next = frames.iter().cycle();
    let mut round = |next: &mut dyn Iterator<Item = &Vec<u8>>| {
        for _ in 0..RING_SLOTS {
            let frame = next.next().ok_or(Error::NotFound)?;
            if !in_kernel(|| syscall::packet_inject(frame))? {
                return Err(Error::NotFound);
            }
        }
        path.serve(RING_SLOTS, send)
    };
    round(&mut next)?;
    KERNEL_TICKS.store(0, Ordering::Relaxed);
    let start = ticks();
    for _ in 0..ROUNDS {
        round(&mut next)?;
    }
    let total = ticks() - start;
    let library = total.saturating_sub(KERNEL_TICKS.load(Ordering::Relaxed));
    let requests = ROUNDS * RING_SLOTS;
    Ok(Cost {
        total: total / requests,
        library: library / requests,
    })
}

/// How long the emulator's answers to the replies sent (one ICMP error each, from QEMU's
/// gateway) take to arrive and be dropped, waited for before a library measurement.
const QUIET_MICROSECONDS: u64 = 1_000_000;

/// The cost of `frames` on `path`: the total with the replies sent, the library's work with
/// them dropped (the same work but the send, with no device, and nothing coming back from it,
/// to interrupt the library's window: the answers to the sent replies come in during a wait
/// between the two).
fn cost(frames: &[Vec<u8>], path: &mut dyn Path) -> Result<Cost, Error> {
    let total = per_request(frames, path, timed_packet_send)?.total;
    syscall::sleep(QUIET_MICROSECONDS);
    let library = per_request(frames, path, discard)?.library;
    Ok(Cost { total, library })
}

/// Runs the bench of `path` and prints its figure lines.
pub fn run(path: &str, is_icount: bool) -> Result<(), &'static str> {
    let unit = if is_icount { "instructions" } else { "cycles" };
    let server = server_endpoint(SERVER_PORT);
    let figures = match path {
        "custom" => measure(&mut ring_direct(InPlaceReplies::new(&server))?),
        "copyout" => measure(&mut ring_direct(CopyOutReplies::new(&server))?),
        "posix" => measure(&mut Socket {
            socket: UdpSocket::bind(SERVER_PORT).map_err(|_| "cannot bind the socket")?,
            store: KvStore::new(KEYS_MAX),
            request: vec![0; PAYLOAD_BYTES_MAX],
            reply: vec![0; REPLY_BYTES_MAX],
        }),
        _ => return Err("the path is custom, copyout or posix"),
    };
    let figures = match figures {
        Ok(figures) => figures,
        Err(Error::Unavailable) => {
            // Booted without a network device (`boot bench --no-net`): nothing to send through.
            println!("udpkv: bench {path}: no network device, so no C4 rows");
            return Ok(());
        }
        Err(error) => {
            println!("udpkv: bench {path}: {}", error.describe());
            return Err("the bench failed");
        }
    };
    for (name, cost) in figures {
        println!("C4.{path} udp_kv_{name} {} {unit}", cost.total);
        println!("C4.{path} udp_kv_{name}_library {} {unit}", cost.library);
    }
    Ok(())
}

fn ring_direct<P: ReplyPolicy>(policy: P) -> Result<RingDirect<P>, &'static str> {
    Ok(RingDirect {
        ring: bind_ring(SERVER_PORT, SERVER_RING_ADDRESS)?,
        arp: ArpAnswerer::start().map_err(|_| "cannot answer ARP")?,
        server: UdpKvServer::new(policy, KvStore::new(KEYS_MAX), RING_SLOTS as usize),
    })
}

/// The three figures of one path: SETs first (a first pass stores every key, so that the
/// SET timed is an overwrite), then GET hits, then GET misses.
fn measure(path: &mut dyn Path) -> Result<[(&'static str, Cost); 3], Error> {
    let sets = requests(SERVER_PORT, kv::SET, b'h');
    per_request(&sets, path, discard)?;
    let set = cost(&sets, path)?;
    let get_hit = cost(&requests(SERVER_PORT, kv::GET, b'h'), path)?;
    let get_miss = cost(&requests(SERVER_PORT, kv::GET, b'm'), path)?;
    Ok([("get_hit", get_hit), ("get_miss", get_miss), ("set", set)])
}
