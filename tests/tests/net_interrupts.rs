//! The network device's receive interrupt. A storm of datagrams from the host into a receive
//! ring that is full (one slot, never read) starves nobody: an environment that computes keeps
//! most of its speed, a sleeper wakes on time, and the kernel's counts of received, delivered
//! and dropped frames agree with the ring's. Then a frame that arrives while an environment
//! computes, with no system call and no slot end to pick it up, reaches its ring at once (the
//! gateway's ARP reply, waited for by spinning on the ring).
#![forbid(unsafe_code)]

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;
use system_tests::{OutcomeAssertions, Scenario, free_udp_ports};

const SINK_PORT: u16 = 7100;
/// ARP requests the latency part sends to the gateway (`ROUNDS` in the program).
const LATENCY_ROUNDS: u64 = 32;
/// How long the spinner counts before the storm, and during it (milliseconds).
const QUIET_MILLISECONDS: u64 = 1_000;
const STORM_MILLISECONDS: u64 = 2_000;
/// How long the sink runs: past the storm, so that what is still in flight when the host
/// stops has arrived when it counts.
const SINK_MILLISECONDS: u64 = QUIET_MILLISECONDS + STORM_MILLISECONDS + 1_000;
/// Bytes of each datagram of the storm.
const PAYLOAD_BYTES: usize = 64;
const LINE_TIMEOUT: Duration = Duration::from_secs(120);
/// The least share of its quiet speed the spinner keeps during the storm.
const LEAST_SPEED_UNDER_STORM: f64 = 0.25;
/// How late a sleeper may wake under the storm: a few slots, far below a starved kernel's.
const LATEST_WAKE_MICROSECONDS: u64 = 100_000;
/// The median wait for a reply that lands while its receiver computes: well below the 4 ms
/// slot that polling at slot ends made it wait (2 ms on average).
const MEDIAN_REPLY_MICROSECONDS_MAX: u64 = 1_000;

/// The number after `label` in `line`.
fn number_after(line: &str, label: &str) -> u64 {
    let start = line
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line:?}"))
        + label.len();
    line[start..]
        .split(|character: char| !character.is_ascii_digit())
        .next()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
}

/// The first line of `serial` containing `text`.
fn line_with<'a>(serial: &'a str, text: &str) -> &'a str {
    serial
        .lines()
        .find(|line| line.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?}"))
}

#[test]
fn a_storm_into_a_full_ring_starves_nobody_and_a_frame_reaches_a_computing_environment_at_once() {
    let host_port = free_udp_ports(1)[0];
    let mut running = Scenario::new()
        .args(&format!(
            "net-interrupts:spin:{QUIET_MILLISECONDS}:{STORM_MILLISECONDS}& \
             net-interrupts:sink:{SINK_PORT}:{SINK_MILLISECONDS} net-interrupts:latency"
        ))
        .forward_udp(host_port, SINK_PORT)
        .instruction_clocked()
        .timeout(Duration::from_secs(300))
        .start();
    running.expect_line(
        &format!("net-interrupts: sink on port {SINK_PORT} ready"),
        LINE_TIMEOUT,
    );
    running.expect_line("net-interrupts: spin quiet: ", LINE_TIMEOUT);

    let is_storming = Arc::new(AtomicBool::new(true));
    let storm = {
        let is_storming = Arc::clone(&is_storming);
        thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("a host UDP socket");
            socket.connect(("127.0.0.1", host_port)).unwrap();
            let mut sent = 0u64;
            while is_storming.load(Ordering::Relaxed) {
                if socket.send(&[b'!'; PAYLOAD_BYTES]).is_ok() {
                    sent += 1;
                }
            }
            sent
        })
    };
    running.expect_line("net-interrupts: spin storm: ", LINE_TIMEOUT);
    is_storming.store(false, Ordering::Relaxed);
    let sent = storm.join().unwrap();
    let outcome = running.finish();
    outcome.assert_status(0);
    let serial = &outcome.serial;

    let quiet = number_after(line_with(serial, "spin quiet: "), "median ");
    let stormy = number_after(line_with(serial, "spin storm: "), "median ");
    let sink = line_with(serial, "net-interrupts: sink: ");
    let in_ring = number_after(sink, "sink: ");
    let sink_dropped = number_after(sink, "frame(s) in its ring, ");
    let latest_wake = number_after(sink, "the latest ");
    let kernel = line_with(serial, "frames received");
    let received = number_after(kernel, "net: ");
    let delivered = number_after(kernel, "received, ");
    let unclaimed = number_after(kernel, "delivered, ");
    let ring_full = number_after(kernel, "unclaimed, ");
    let ring_broken = number_after(kernel, "(ring full), ");
    let interrupts = number_after(kernel, "(ring broken); ");
    let latency = line_with(serial, "net-interrupts: latency: ");
    let replies = number_after(latency, "latency: ");
    let median_reply = number_after(latency, "median ");
    println!(
        "net_interrupts: host sent {sent} datagrams; spinner {stormy} loops per window in the \
         storm, {quiet} before ({:.0}%); sink woke at worst {latest_wake} us late; {kernel}; \
         {latency}",
        stormy as f64 * 100.0 / quiet as f64
    );

    assert!(
        sink_dropped > 0,
        "the storm never found the sink's ring full"
    );
    assert_eq!(
        in_ring, 1,
        "the sink's ring of one slot holds its first frame"
    );
    assert_eq!(
        received,
        delivered + unclaimed + ring_full + ring_broken,
        "every received frame is delivered, unclaimed or dropped"
    );
    assert_eq!(
        ring_full, sink_dropped,
        "the kernel's ring-full drops are the sink's"
    );
    assert!(
        received >= in_ring + sink_dropped && received - unclaimed <= sent + LATENCY_ROUNDS,
        "received {received}, of which {unclaimed} unclaimed, for {sent} datagrams and \
         {LATENCY_ROUNDS} ARP requests sent"
    );
    assert!(
        interrupts > 0,
        "no receive interrupt was taken in user mode"
    );
    assert!(
        stormy as f64 >= quiet as f64 * LEAST_SPEED_UNDER_STORM,
        "the spinner slowed from {quiet} to {stormy} loops per window under the storm"
    );
    assert!(
        latest_wake <= LATEST_WAKE_MICROSECONDS,
        "a sleeper woke {latest_wake} us late under the storm"
    );
    assert_eq!(replies, LATENCY_ROUNDS, "the gateway's replies: {latency}");
    assert!(
        median_reply <= MEDIAN_REPLY_MICROSECONDS_MAX,
        "a reply that arrives while its receiver computes waited {median_reply} us (median)"
    );
}
