//! Host tests of ARP: the reply and the announcement byte for byte (written here field by
//! field, not with the code under test), the filter and the parser agreeing, and hostile
//! frames: cut short, mutated, random, for other addresses, from group or own addresses.

use super::{ARP_BYTES, Interface, announcement, reply_to, requests_for};
use proptest::prelude::*;

const GUEST: Interface = Interface {
    mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
    ip: [10, 0, 2, 15],
};
const GATEWAY: Interface = Interface {
    mac: [0x52, 0x55, 10, 0, 2, 2],
    ip: [10, 0, 2, 2],
};

/// An ARP frame written out in full: Ethernet `to` and `from`, then operation, sender and
/// target.
fn arp(to: [u8; 6], operation: u8, sender: &Interface, target: ([u8; 6], [u8; 4])) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&to);
    frame.extend_from_slice(&sender.mac);
    frame.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0, operation]);
    frame.extend_from_slice(&sender.mac);
    frame.extend_from_slice(&sender.ip);
    frame.extend_from_slice(&target.0);
    frame.extend_from_slice(&target.1);
    frame
}

/// `requester` asking, broadcast, who has `ip`.
fn request_from(requester: &Interface, ip: [u8; 4]) -> Vec<u8> {
    arp([0xFF; 6], 1, requester, ([0; 6], ip))
}

#[test]
fn a_request_for_the_address_gets_a_reply_to_its_sender() {
    let request = request_from(&GATEWAY, GUEST.ip);
    assert_eq!(request.len(), ARP_BYTES);
    let wanted = arp(GATEWAY.mac, 2, &GUEST, (GATEWAY.mac, GATEWAY.ip));
    assert_eq!(reply_to(&request, &GUEST).map(Vec::from), Some(wanted));
    assert!(requests_for(GUEST.ip).matches(&request));
}

#[test]
fn a_request_padded_to_the_ethernet_minimum_is_answered() {
    let mut request = request_from(&GATEWAY, GUEST.ip);
    request.resize(60, 0xAA);
    assert!(reply_to(&request, &GUEST).is_some());
    assert!(requests_for(GUEST.ip).matches(&request));
}

#[test]
fn the_announcement_is_a_broadcast_gratuitous_request() {
    let wanted = arp([0xFF; 6], 1, &GUEST, ([0; 6], GUEST.ip));
    assert_eq!(Vec::from(announcement(&GUEST)), wanted);
}

#[test]
fn requests_for_other_addresses_and_other_frames_are_passed_over() {
    let filter = requests_for(GUEST.ip);
    let passed_over = [
        ("another address", request_from(&GATEWAY, [10, 0, 2, 16])),
        (
            "a reply",
            arp(GUEST.mac, 2, &GATEWAY, (GUEST.mac, GUEST.ip)),
        ),
        (
            "operation 3",
            arp([0xFF; 6], 3, &GATEWAY, ([0; 6], GUEST.ip)),
        ),
        ("the own announcement", Vec::from(announcement(&GUEST))),
    ];
    for (what, frame) in &passed_over {
        assert_eq!(reply_to(frame, &GUEST), None, "{what}");
    }
    // The filter leaves the kernel's claim to the parser's checks only for the last.
    assert!(
        passed_over[..3]
            .iter()
            .all(|(_, frame)| !filter.matches(frame))
    );
    let mut from_group = request_from(&GATEWAY, GUEST.ip);
    from_group[22] |= 1;
    assert_eq!(reply_to(&from_group, &GUEST), None, "a group sender");
}

#[test]
fn every_field_that_is_not_an_address_is_checked() {
    let request = request_from(&GATEWAY, GUEST.ip);
    // Ethernet type, hardware type, protocol type, both lengths, operation.
    for offset in [12, 13, 14, 15, 16, 17, 18, 19, 20, 21] {
        let mut mutated = request.clone();
        mutated[offset] ^= 0x10;
        assert_eq!(reply_to(&mutated, &GUEST), None, "byte {offset} changed");
        assert!(!requests_for(GUEST.ip).matches(&mutated), "byte {offset}");
    }
}

#[test]
fn every_frame_cut_short_is_passed_over() {
    let request = request_from(&GATEWAY, GUEST.ip);
    for len in 0..ARP_BYTES {
        assert_eq!(reply_to(&request[..len], &GUEST), None, "{len} bytes");
        assert!(!requests_for(GUEST.ip).matches(&request[..len]), "{len}");
    }
}

#[test]
fn a_flood_from_many_requesters_answers_each_its_own() {
    for index in 0..10_000u32 {
        let [_, a, b, c] = index.to_be_bytes();
        let requester = Interface {
            mac: [0x02, 0, 0, a, b, c],
            ip: [10, a, b, c],
        };
        let reply = reply_to(&request_from(&requester, GUEST.ip), &GUEST).unwrap();
        assert_eq!(reply[..6], requester.mac);
        assert_eq!(
            reply[32..42],
            [&requester.mac[..], &requester.ip[..]].concat()[..]
        );
    }
}

proptest! {
    /// Random bytes never panic, and whatever is answered is a request for the address that
    /// the filter claims too, answered to its sender.
    #[test]
    fn random_frames_never_panic(mut frame in proptest::collection::vec(any::<u8>(), 0..80),
                                 arp_header in any::<bool>()) {
        if arp_header && frame.len() >= 22 {
            frame[12..22].copy_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
            if frame.len() >= 42 {
                frame[38..42].copy_from_slice(&GUEST.ip);
            }
        }
        if let Some(reply) = reply_to(&frame, &GUEST) {
            prop_assert!(requests_for(GUEST.ip).matches(&frame));
            prop_assert_eq!(&reply[..6], &frame[22..28]);
            prop_assert_eq!(&reply[32..42], &frame[22..32]);
        }
    }

    /// The filter and the parser agree on every request: the parser answers exactly what the
    /// filter claims, but for senders that are group addresses or the interface itself.
    #[test]
    fn the_filter_claims_what_the_parser_answers(
        sender_mac in any::<[u8; 6]>(),
        sender_ip in any::<[u8; 4]>(),
        target_ip in prop_oneof![Just(GUEST.ip), any::<[u8; 4]>()],
        operation in 0u8..4,
    ) {
        let sender = Interface { mac: sender_mac, ip: sender_ip };
        let frame = arp([0xFF; 6], operation, &sender, ([0; 6], target_ip));
        let claimed = requests_for(GUEST.ip).matches(&frame);
        let answerable = sender_mac[0] & 1 == 0 && sender_mac != GUEST.mac;
        prop_assert_eq!(reply_to(&frame, &GUEST).is_some(), claimed && answerable);
        prop_assert_eq!(claimed, operation == 1 && target_ip == GUEST.ip);
    }
}
