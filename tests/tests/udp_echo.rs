//! UDP echo through downloaded packet filters: datagrams sent from a host socket to two
//! forwarded ports reach two different environments, each claiming only its own port with a
//! filter, and each reply comes back to the host from the port it was sent to.
#![forbid(unsafe_code)]

use std::net::UdpSocket;
use std::time::Duration;
use system_tests::{OutcomeAssertions, Scenario, free_udp_ports};

const GUEST_PORTS: [u16; 2] = [7000, 7001];
const DATAGRAMS_PER_PORT: usize = 3;
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn two_environments_each_echo_only_their_own_port() {
    let host_ports = free_udp_ports(2);
    let mut scenario = Scenario::new()
        .args("udp-echo:arp& udp-echo:7000:3& udp-echo:7001:3")
        .timeout(Duration::from_secs(240));
    for (host, guest) in host_ports.iter().zip(GUEST_PORTS) {
        scenario = scenario.forward_udp(*host, guest);
    }
    let mut running = scenario.start();
    // The three environments start in the background, so their lines come in any order.
    let mut awaited = vec!["udp-echo: answering ARP".to_owned()];
    awaited.extend(GUEST_PORTS.map(|guest| format!("udp-echo: port {guest} ready")));
    while !awaited.is_empty() {
        let line = running.expect_line("udp-echo: ", BOOT_TIMEOUT);
        awaited.retain(|wanted| !line.contains(wanted.as_str()));
    }

    let socket = UdpSocket::bind("127.0.0.1:0").expect("a host UDP socket");
    socket.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    for (host, guest) in host_ports.iter().zip(GUEST_PORTS) {
        for number in 0..DATAGRAMS_PER_PORT {
            let message = format!("to {guest} number {number}");
            socket
                .send_to(message.as_bytes(), ("127.0.0.1", *host))
                .unwrap();
            let mut reply = [0u8; 256];
            let (len, from) = socket
                .recv_from(&mut reply)
                .unwrap_or_else(|error| panic!("no reply to {message:?}: {error}"));
            assert_eq!(
                from.port(),
                *host,
                "the reply to {message:?} came from elsewhere"
            );
            assert_eq!(&reply[..len], message.as_bytes());
        }
    }

    let outcome = running.finish();
    outcome.assert_status(0);
    for guest in GUEST_PORTS {
        for number in 0..DATAGRAMS_PER_PORT {
            outcome.assert_contains(&format!(
                "udp-echo: port {guest} echoed \"to {guest} number {number}\""
            ));
        }
        outcome.assert_contains(&format!("udp-echo: port {guest} done"));
    }
    let other = |guest| GUEST_PORTS.into_iter().find(|&port| port != guest).unwrap();
    for guest in GUEST_PORTS {
        let stolen = format!("udp-echo: port {guest} echoed \"to {}", other(guest));
        assert!(
            !outcome.serial.contains(&stolen),
            "port {guest}'s environment got another's datagram"
        );
    }
    outcome.assert_contains("exokernel: net: ");
}
