//! A UDP key-value server (the request format of `libos_custom::network::kv`) on QEMU user
//! networking (guest address 10.0.2.15), two ways:
//!
//! - `udpkv custom PORT COUNT` and `udpkv copyout PORT COUNT`: the network manager of
//!   `libos_custom::network` straight from the receive ring its filter fills, replies sent in
//!   batches, with the in-place reply policy or the copy-out one;
//! - `udpkv posix PORT COUNT`: the same store behind `libos_posix::udp::UdpSocket`, one
//!   `recv_from` and one `send_to` a request.
//!
//! Each answers COUNT datagrams (malformed requests included: they get error replies), prints
//! what it did and exits 0. Each answers ARP for the guest's address while it serves
//! (`libos_posix::arp`), so the host side reaches it with nothing else running.
//!
//! `udpkv bench custom|copyout|posix [icount]` measures the cost per request (instructions
//! under `-icount`, else cycles) of GET hits, GET misses and SETs injected with `PacketInject`
//! (see `bench`) and prints figure lines `C4.<path> ...` for `make bench`.
#![no_std]
#![no_main]

extern crate alloc;

mod bench;

use alloc::vec::Vec;
use core::net::SocketAddrV4;
use exo_abi::Error;
use libos_custom::filter::Predicate;
use libos_custom::network::frame::Endpoint;
use libos_custom::network::kv::{KvStore, REPLY_BYTES_MAX};
use libos_custom::network::{
    CopyOutReplies, InPlaceReplies, PAYLOAD_BYTES_MAX, ReplyPolicy, UdpKvServer,
};
use libos_posix::arp::ArpAnswerer;
use libos_posix::net::ReceiveRing;
use libos_posix::udp::{LOCAL_IP, LOCAL_MAC, UdpSocket};
use libos_posix::{Args, println, syscall};

libos_posix::main!(main);

const NAME: &str = "udpkv";
/// Most keys the store holds.
pub const KEYS_MAX: usize = 4096;
/// Slot pages of the ring; also the most replies sent in one batch.
pub const RING_SLOTS: u64 = 16;
/// Where the ring-direct server binds its ring.
const RING_ADDRESS: u64 = 0x6000_0000_0000;

fn main(args: Args) -> i32 {
    let words: Vec<&str> = args.iter().collect();
    let outcome = match words.as_slice() {
        ["bench", path, rest @ ..] => bench::run(path, rest.contains(&"icount")),
        [path, port, count] => match (port.parse(), count.parse()) {
            (Ok(port), Ok(count)) if port != 0 => serve(path, port, count),
            _ => Err("PORT (1 to 65535) and COUNT must be numbers"),
        },
        _ => Err(
            "usage: udpkv custom|copyout|posix PORT COUNT | udpkv bench custom|copyout|posix [icount]",
        ),
    };
    match outcome {
        Ok(()) => 0,
        Err(reason) => {
            println!("{NAME}: {reason}");
            1
        }
    }
}

/// The server's own end: the guest's addresses and `port`.
pub fn server_endpoint(port: u16) -> Endpoint {
    Endpoint {
        mac: LOCAL_MAC,
        ip: LOCAL_IP.octets(),
        port,
    }
}

fn serve(path: &str, port: u16, count: u64) -> Result<(), &'static str> {
    let server = server_endpoint(port);
    match path {
        "custom" => serve_ring(InPlaceReplies::new(&server), path, port, count),
        "copyout" => serve_ring(CopyOutReplies::new(&server), path, port, count),
        "posix" => serve_socket(port, count),
        _ => Err("the path is custom, copyout or posix"),
    }
}

/// Claims `port` with a filter and binds the ring-direct server's ring to it.
pub fn bind_ring(port: u16, address: u64) -> Result<ReceiveRing, &'static str> {
    let module = Predicate::udp_destination_port(port).to_wasm();
    let filter = syscall::filter_load(&module).map_err(|_| "filter refused")?;
    ReceiveRing::bind(filter, address, RING_SLOTS).map_err(|_| "cannot bind the receive ring")
}

/// Answers the ARP requests waiting for `arp`, then every frame pending in `ring` (up to a
/// batch), releases their slots, then sends the replies through `send`; returns how many
/// frames it took from `ring`.
pub fn serve_batch<P: ReplyPolicy>(
    ring: &mut ReceiveRing,
    arp: &ArpAnswerer,
    server: &mut UdpKvServer<P>,
    send: impl FnMut(&[u8]) -> Result<(), Error>,
) -> Result<u64, Error> {
    arp.answer_pending();
    let mut taken = 0;
    for frame in ring.pending() {
        if server.is_batch_full() {
            break;
        }
        server.handle(frame);
        taken += 1;
    }
    ring.release(taken);
    server.flush(send)?;
    Ok(taken)
}

fn serve_ring<P: ReplyPolicy>(
    policy: P,
    path: &str,
    port: u16,
    count: u64,
) -> Result<(), &'static str> {
    let mut ring = bind_ring(port, RING_ADDRESS)?;
    let arp = ArpAnswerer::start().map_err(|_| "cannot answer ARP")?;
    let mut server = UdpKvServer::new(policy, KvStore::new(KEYS_MAX), RING_SLOTS as usize);
    println!("{NAME}: {path} port {port} ready");
    let mut handled = 0;
    while handled < count {
        let taken = serve_batch(&mut ring, &arp, &mut server, syscall::packet_send)
            .map_err(|_| "send failed")?;
        if taken == 0 {
            // A frame for this environment ends the sleep.
            syscall::sleep(1_000_000);
        }
        handled += taken;
    }
    println!(
        "{NAME}: {path} port {port} done: {handled} requests, {} dropped, {} keys",
        server.dropped(),
        server.store().len()
    );
    Ok(())
}

fn serve_socket(port: u16, count: u64) -> Result<(), &'static str> {
    let mut socket = UdpSocket::bind(port).map_err(|_| "cannot bind the socket")?;
    let mut store = KvStore::new(KEYS_MAX);
    let mut request = [0u8; PAYLOAD_BYTES_MAX];
    let mut reply = [0u8; REPLY_BYTES_MAX];
    println!("{NAME}: posix port {port} ready");
    let mut too_long = 0;
    for _ in 0..count {
        match serve_one(
            &mut socket,
            &mut store,
            &mut request,
            &mut reply,
            UdpSocket::send_to,
        ) {
            Ok(()) => {}
            Err(Error::TooLong) => too_long += 1,
            Err(_) => return Err("send failed"),
        }
    }
    println!(
        "{NAME}: posix port {port} done: {count} requests, {too_long} dropped, {} keys",
        store.len()
    );
    Ok(())
}

/// Receives one request on `socket`, answers it from `store` and sends the reply through
/// `send` (`UdpSocket::send_to`, or a wrapper of it).
pub fn serve_one(
    socket: &mut UdpSocket,
    store: &mut KvStore,
    request: &mut [u8],
    reply: &mut [u8],
    send: impl FnOnce(&mut UdpSocket, &[u8], SocketAddrV4) -> Result<usize, Error>,
) -> Result<(), Error> {
    let (len, from) = socket.recv_from(request)?;
    let reply_bytes = store.execute(&request[..len], reply);
    send(socket, &reply[..reply_bytes], from)?;
    Ok(())
}
