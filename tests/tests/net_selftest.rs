//! The net self-test: the kernel sends an ARP request for the gateway of QEMU's user-mode
//! network through the virtio-net device and polls until the reply arrives; then it echoes a UDP
//! datagram that the test sends through a forwarded host port while the guest runs. The disk
//! works beside the network device (they share the kernel's DMA pool).
#![forbid(unsafe_code)]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use system_tests::guest_status::SELF_TEST_FAILED;
use system_tests::{
    DEFAULT_DISK_BLOCKS, Firmware, GATEWAY_IP, GUEST_IP, GUEST_MAC, LogLevel, OutcomeAssertions,
    Scenario, SelfTest, free_udp_ports,
};

/// The UDP port the self-test echoes on (`ECHO_PORT` in `exokernel/kernel/src/selftest.rs`).
const ECHO_PORT: u16 = 7;
/// The gateway's Ethernet address in QEMU's user-mode network: `52:55` and its IPv4 address.
const GATEWAY_MAC: &str = "52:55:0a:00:02:02";

/// Boots the net self-test under `firmware` with a host port forwarded to the echo port, sends a
/// datagram once the guest listens, and checks that it comes back and that the guest says so.
fn echo_through_a_forwarded_port(firmware: Firmware) {
    let host_port = free_udp_ports(1)[0];
    let mut running = Scenario::new()
        .firmware(firmware)
        .self_test(SelfTest::Net)
        .forward_udp(host_port, ECHO_PORT)
        .start();
    let listening = format!("echoing one UDP datagram sent to {GUEST_IP}:{ECHO_PORT}");
    running.expect_line(&listening, Duration::from_secs(90));

    let socket = UdpSocket::bind(("127.0.0.1", 0)).expect("a host UDP socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("a read timeout");
    let payload = b"exokernel net self-test";
    let mut echo = None;
    let deadline = Instant::now() + Duration::from_secs(8);
    // Sent again each second, in case the first datagram arrives before the guest polls.
    while echo.is_none() && Instant::now() < deadline {
        socket
            .send_to(payload, ("127.0.0.1", host_port))
            .expect("sending to the forwarded port");
        let mut buffer = [0u8; 2048];
        if let Ok((length, _)) = socket.recv_from(&mut buffer) {
            echo = Some(buffer[..length].to_vec());
        }
    }

    let outcome = running.finish();
    outcome.assert_status(0);
    if echo.as_deref() != Some(&payload[..]) {
        outcome.fail(&format!("the host got {echo:?} back, expected {payload:?}"));
    }
    outcome.assert_line_order(&[
        &format!("exokernel: disk: virtio-blk, {DEFAULT_DISK_BLOCKS} blocks of 4096 bytes"),
        &format!("exokernel: net: virtio-net, mac {GUEST_MAC}"),
        "exokernel: ready, ",
        &format!("exokernel: self-test net: {GATEWAY_IP} is at {GATEWAY_MAC}"),
        &listening,
        &format!(
            "exokernel: self-test net: passed (the gateway answered ARP; echoed {} bytes to \
             {GATEWAY_IP}:",
            payload.len()
        ),
        "exokernel: tables consistent",
    ]);
}

#[test]
fn bios_boot_resolves_the_gateway_and_echoes_a_forwarded_datagram() {
    echo_through_a_forwarded_port(Firmware::Bios);
}

#[test]
fn uefi_boot_resolves_the_gateway_and_echoes_a_forwarded_datagram() {
    echo_through_a_forwarded_port(Firmware::Uefi);
}

// The test below chooses a log level of its own only so that its boot image differs from the
// BIOS one above: two QEMUs running at once cannot both open one image file for writing.

#[test]
fn without_a_network_device_the_kernel_goes_on_and_the_selftest_fails() {
    let outcome = Scenario::new()
        .self_test(SelfTest::Net)
        .log(LogLevel::Warn)
        .without_net()
        .run();
    outcome.assert_status(SELF_TEST_FAILED);
    outcome.assert_line_order(&[
        "exokernel: net: none",
        "exokernel: ready, ",
        "exokernel: self-test net: failed: no network device",
    ]);
}
