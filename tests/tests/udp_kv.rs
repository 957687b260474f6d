//! The UDP key-value server (`udpkv`) as a person runs it from the shell, on both paths: the
//! network manager straight from its receive ring, and the same store behind
//! `libos_posix::udp::UdpSocket`. Each runs alone in a boot of its own, nothing else having
//! told the host side where the guest is (each server answers ARP itself), so the first
//! datagram reaches it only if it does. A host client reaches each through a forwarded port: a
//! SET then a GET returns the value, a GET of a missing key says so, a garbage datagram and a
//! truncated request get error replies and the server goes on serving. Then the client
//! measures requests per second and the p99 round trip, one request at a time and with eight
//! outstanding, and prints them (host time under emulation: no assertion on them).
#![forbid(unsafe_code)]

use std::net::UdpSocket;
use std::time::{Duration, Instant};
use system_tests::{OutcomeAssertions, Running, Scenario, free_udp_ports};

const PATHS: [(&str, u16); 2] = [("custom", 7000), ("posix", 7001)];
const CORRECTNESS_REQUESTS: usize = 7;
const TIMED_REQUESTS: usize = 400;
const WINDOW: usize = 8;
const SERVED: usize = CORRECTNESS_REQUESTS + 2 * TIMED_REQUESTS;
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// A request of `libos_custom::network::kv`'s format.
fn request(id: u32, operation: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut bytes = id.to_be_bytes().to_vec();
    bytes.push(operation);
    bytes.push(key.len() as u8);
    bytes.extend_from_slice(&(value.len() as u16).to_be_bytes());
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(value);
    bytes
}

struct Client {
    socket: UdpSocket,
    next_id: u32,
}

impl Client {
    fn new(host_port: u16) -> Client {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a host UDP socket");
        socket.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        socket.connect(("127.0.0.1", host_port)).unwrap();
        Client { socket, next_id: 1 }
    }

    fn send(&mut self, operation: u8, key: &[u8], value: &[u8]) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.socket
            .send(&request(id, operation, key, value))
            .unwrap();
        id
    }

    fn receive(&self) -> Vec<u8> {
        let mut reply = [0u8; 2048];
        let len = self
            .socket
            .recv(&mut reply)
            .unwrap_or_else(|error| panic!("no reply: {error}"));
        reply[..len].to_vec()
    }

    /// Sends one request and returns its reply, checking that it answers that request.
    fn call(&mut self, operation: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
        let id = self.send(operation, key, value);
        let reply = self.receive();
        assert_eq!(
            reply[..4],
            id.to_be_bytes(),
            "the reply answers another request"
        );
        reply
    }

    /// Sends `raw` as it is and returns the reply.
    fn call_raw(&mut self, raw: &[u8]) -> Vec<u8> {
        self.socket.send(raw).unwrap();
        self.receive()
    }
}

/// Checks the replies of `path`: stores, finds, misses, refuses the malformed, goes on.
fn check_replies(path: &str, client: &mut Client) {
    assert_eq!(
        client.call(b'S', b"colour", b"blue")[4..8],
        *b"K\0\0\0",
        "{path}: SET"
    );
    let found = client.call(b'G', b"colour", b"");
    assert_eq!(found[4..], *b"V\0\0\x04blue", "{path}: GET after SET");
    let missing = client.call(b'G', b"shape", b"");
    assert_eq!(missing[4..], *b"N\0\0\0", "{path}: GET of a missing key");
    let garbage = client.call_raw(b"xyz");
    assert_eq!(garbage, *b"xyz\0E\x01\0\0", "{path}: a garbage datagram");
    let truncated = client.call_raw(&[0, 0, 0, 9, b'G', 9, 0, 0, b'k']);
    assert_eq!(
        truncated,
        [0, 0, 0, 9, b'E', 1, 0, 0],
        "{path}: a truncated request"
    );
    let too_long = client.call(b'S', &[b'k'; 65], b"v");
    assert_eq!(too_long[4..6], *b"E\x01", "{path}: a key too long");
    let found = client.call(b'G', b"colour", b"");
    assert_eq!(
        found[8..],
        *b"blue",
        "{path}: still serving after the malformed requests"
    );
}

/// Requests per second and p99 round trip, one request at a time.
fn one_at_a_time(client: &mut Client) -> (f64, Duration) {
    let mut round_trips = Vec::with_capacity(TIMED_REQUESTS);
    let started = Instant::now();
    for _ in 0..TIMED_REQUESTS {
        let sent = Instant::now();
        let reply = client.call(b'G', b"colour", b"");
        round_trips.push(sent.elapsed());
        assert_eq!(reply[4], b'V');
    }
    let rate = TIMED_REQUESTS as f64 / started.elapsed().as_secs_f64();
    round_trips.sort_unstable();
    (rate, round_trips[TIMED_REQUESTS * 99 / 100])
}

/// Requests per second with [`WINDOW`] requests outstanding.
fn windowed(client: &mut Client) -> f64 {
    let started = Instant::now();
    let mut sent = 0;
    while sent < WINDOW {
        client.send(b'G', b"colour", b"");
        sent += 1;
    }
    for _ in 0..TIMED_REQUESTS {
        assert_eq!(client.receive()[4], b'V');
        if sent < TIMED_REQUESTS {
            client.send(b'G', b"colour", b"");
            sent += 1;
        }
    }
    TIMED_REQUESTS as f64 / started.elapsed().as_secs_f64()
}

fn serve_and_measure(shell: &mut Running, path: &str, guest_port: u16, host_port: u16) {
    shell.command(
        &format!("udpkv {path} {guest_port} {SERVED}"),
        &format!("udpkv: {path} port {guest_port} ready"),
    );
    let mut client = Client::new(host_port);
    check_replies(path, &mut client);
    let (rate, p99) = one_at_a_time(&mut client);
    let windowed_rate = windowed(&mut client);
    println!(
        "udp_kv {path}: {rate:.0} requests/s one at a time (p99 round trip {:.3} ms), \
         {windowed_rate:.0} requests/s with {WINDOW} outstanding",
        p99.as_secs_f64() * 1000.0
    );
    shell.expect_line(
        &format!("udpkv: {path} port {guest_port} done: {SERVED} requests"),
        REPLY_TIMEOUT,
    );
}

#[test]
fn each_path_alone_answers_a_host_client_and_survives_malformed_requests() {
    for (path, guest) in PATHS {
        let host = free_udp_ports(1)[0];
        let mut shell = Scenario::new()
            .release()
            .timeout(Duration::from_secs(300))
            .forward_udp(host, guest)
            .start();
        shell.expect_line("init: file system mounted", BOOT_TIMEOUT);
        serve_and_measure(&mut shell, path, guest, host);
        if path == "posix" {
            shell.command(
                "udpkv posix 0 1",
                "PORT (1 to 65535) and COUNT must be numbers",
            );
            shell.command("udpkv", "usage: udpkv");
        }
        shell.send_line("poweroff");
        let outcome = shell.finish();
        outcome.assert_status(0);
    }
}
