//! Host tests of the network manager: checksums against a full recomputation, hostile frames,
//! the request format, the two reply policies against each other, and batching.

use super::checksum::{self, checksum};
use super::frame::{self, Endpoint, FrameError, HEADERS_BYTES};
use super::kv::{self, ErrorCode, KvStore};
use super::template::ReplyTemplate;
use super::{CopyOutReplies, FRAME_BYTES, InPlaceReplies, ReplyPolicy, UdpKvServer};
use proptest::prelude::*;

const SERVER: Endpoint = Endpoint {
    mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
    ip: [10, 0, 2, 15],
    port: 7000,
};
const CLIENT: Endpoint = Endpoint {
    mac: [0x52, 0x55, 10, 0, 2, 2],
    ip: [10, 0, 2, 2],
    port: 40_001,
};

/// A request frame from `CLIENT` to `SERVER` carrying `payload`.
fn request_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; HEADERS_BYTES + payload.len()];
    frame[HEADERS_BYTES..].copy_from_slice(payload);
    frame::write_headers(&mut frame, &CLIENT, &SERVER, payload.len());
    frame
}

fn request(id: u32, operation: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut payload = vec![0u8; kv::HEADER_BYTES + key.len() + value.len()];
    kv::write_request(&mut payload, id, operation, key, value);
    request_frame(&payload)
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (any::<[u8; 6]>(), any::<[u8; 4]>(), any::<u16>()).prop_map(|(mac, ip, port)| Endpoint {
        mac,
        ip,
        port,
    })
}

/// The one's complement sum the plain way: big-endian words one at a time, folded.
fn reference_sum(bytes: &[u8]) -> u16 {
    let mut sum = 0u64;
    for pair in bytes.chunks(2) {
        sum += u64::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    checksum::fold(sum)
}

proptest! {
    #[test]
    fn the_wide_sum_is_the_word_by_word_sum(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        start in any::<u16>(),
    ) {
        let folded = checksum::fold(checksum::add_bytes(u64::from(start), &bytes));
        let expected = checksum::fold(u64::from(start) + u64::from(reference_sum(&bytes)));
        prop_assert_eq!(folded, expected);
    }

    #[test]
    fn incremental_update_matches_a_full_recomputation(
        mut bytes in prop::collection::vec(any::<u8>(), 2..64),
        word in any::<prop::sample::Index>(),
        new in any::<u16>(),
    ) {
        let offset = word.index(bytes.len() / 2) * 2;
        let old = u16::from_be_bytes([bytes[offset], bytes[offset + 1]]);
        let before = checksum(&bytes);
        bytes[offset..offset + 2].copy_from_slice(&new.to_be_bytes());
        prop_assert_eq!(checksum::update(before, old, new), checksum(&bytes));
    }

    #[test]
    fn incremental_update_of_an_address_matches_a_full_recomputation(
        mut header in any::<[u8; 20]>(),
        new in any::<[u8; 4]>(),
    ) {
        let mut old = [0u8; 4];
        old.copy_from_slice(&header[16..20]);
        let before = checksum(&header);
        header[16..20].copy_from_slice(&new);
        prop_assert_eq!(checksum::update_u32(before, old, new), checksum(&header));
    }

    #[test]
    fn the_template_writes_the_headers_a_full_build_writes(
        server in endpoint(),
        client in endpoint(),
        payload in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut built = vec![0u8; HEADERS_BYTES + payload.len()];
        built[HEADERS_BYTES..].copy_from_slice(&payload);
        let mut patched = built.clone();
        frame::write_headers(&mut built, &server, &client, payload.len());
        ReplyTemplate::new(&server).write(&mut patched, &client, payload.len());
        prop_assert_eq!(&patched, &built);
        let parsed = frame::parse(&built).unwrap();
        prop_assert_eq!(parsed.source, server);
        prop_assert_eq!(parsed.destination, client);
        prop_assert_eq!(parsed.payload, &payload[..]);
    }

    #[test]
    fn random_frames_never_panic_either_policy(
        bytes in prop::collection::vec(any::<u8>(), 0..120),
        as_udp in any::<bool>(),
    ) {
        // Half the time, random bytes behind valid headers, so the request parser is reached.
        let frame = if as_udp { request_frame(&bytes) } else { bytes };
        let mut store = KvStore::new(4);
        let mut reply = vec![0u8; FRAME_BYTES];
        let in_place = InPlaceReplies::new(&SERVER).answer(&frame, &mut store, &mut reply);
        let copy_out = CopyOutReplies::new(&SERVER).answer(&frame, &mut store, &mut reply);
        prop_assert_eq!(in_place.is_some(), as_udp);
        prop_assert_eq!(copy_out.is_some(), as_udp);
    }

    #[test]
    fn both_policies_give_the_same_replies(
        operations in prop::collection::vec(
            (any::<bool>(), 0u8..6, prop::collection::vec(any::<u8>(), 0..40)), 1..40),
    ) {
        let mut in_place = UdpKvServer::new(InPlaceReplies::new(&SERVER), KvStore::new(4), 64);
        let mut copy_out = UdpKvServer::new(CopyOutReplies::new(&SERVER), KvStore::new(4), 64);
        for (id, (is_set, key, value)) in operations.iter().enumerate() {
            let frame = if *is_set {
                request(id as u32, kv::SET, &[b'a' + key], value)
            } else {
                request(id as u32, kv::GET, &[b'a' + key], &[])
            };
            prop_assert!(in_place.handle(&frame));
            prop_assert!(copy_out.handle(&frame));
        }
        prop_assert!(in_place.batch().frames().eq(copy_out.batch().frames()));
    }
}

/// The one reply `request` gets from a fresh server's `store`, parsed.
fn reply_payload(server: &mut UdpKvServer<InPlaceReplies>, frame: &[u8]) -> Vec<u8> {
    assert!(server.handle(frame));
    let mut replies = Vec::new();
    server
        .flush(|reply| -> Result<(), ()> {
            replies.push(reply.to_vec());
            Ok(())
        })
        .unwrap();
    assert_eq!(replies.len(), 1);
    let reply = frame::parse(&replies[0]).expect("a valid reply datagram");
    assert_eq!(reply.source, SERVER);
    assert_eq!(reply.destination, CLIENT);
    reply.payload.to_vec()
}

#[test]
fn sums_of_zeros_and_of_all_ones_stay_apart() {
    assert_eq!(checksum::add_bytes(0, &[0; 13]), 0);
    assert_eq!(checksum::fold(checksum::add_bytes(0, &[0xFF; 2])), 0xFFFF);
    assert_eq!(checksum::checksum(&[0xFF, 0xFF, 0, 0]), 0);
    // RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
    let example = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7];
    assert_eq!(checksum::fold(checksum::add_bytes(0, &example)), 0xDDF2);
}

#[test]
fn set_then_get_returns_the_value_and_a_missing_key_says_so() {
    let mut server = UdpKvServer::new(InPlaceReplies::new(&SERVER), KvStore::new(8), 4);
    let stored = reply_payload(&mut server, &request(7, kv::SET, b"name", b"value"));
    assert_eq!(stored, [0, 0, 0, 7, kv::STORED, 0, 0, 0]);
    let found = reply_payload(&mut server, &request(8, kv::GET, b"name", &[]));
    assert_eq!(
        found,
        [&[0, 0, 0, 8, kv::FOUND, 0, 0, 5][..], b"value"].concat()
    );
    let missing = reply_payload(&mut server, &request(9, kv::GET, b"other", &[]));
    assert_eq!(missing, [0, 0, 0, 9, kv::NOT_FOUND, 0, 0, 0]);
    let replaced = reply_payload(&mut server, &request(10, kv::SET, b"name", b"v2"));
    assert_eq!(replaced[4], kv::STORED);
    let found = reply_payload(&mut server, &request(11, kv::GET, b"name", &[]));
    assert_eq!(&found[8..], b"v2");
}

#[test]
fn malformed_requests_get_error_replies() {
    let malformed = [ErrorCode::Malformed as u8];
    let mut server = UdpKvServer::new(InPlaceReplies::new(&SERVER), KvStore::new(1), 4);
    let mut long_value = vec![0u8; kv::HEADER_BYTES + 1 + kv::VALUE_BYTES_MAX + 1];
    kv::write_request(
        &mut long_value,
        5,
        kv::SET,
        b"k",
        &[1; kv::VALUE_BYTES_MAX + 1],
    );
    let cases: [(&str, Vec<u8>); 8] = [
        ("empty", vec![]),
        ("shorter than its header", vec![0, 0, 0, 1, b'G']),
        (
            "an unknown operation",
            vec![0, 0, 0, 2, b'X', 1, 0, 0, b'k'],
        ),
        ("an empty key", vec![0, 0, 0, 3, b'G', 0, 0, 0]),
        (
            "a value on a get",
            vec![0, 0, 0, 4, b'G', 1, 0, 1, b'k', b'v'],
        ),
        ("a value too long", long_value),
        (
            "a key length past the end",
            vec![0, 0, 0, 6, b'G', 9, 0, 0, b'k'],
        ),
        ("trailing bytes", vec![0, 0, 0, 7, b'G', 1, 0, 0, b'k', 0]),
    ];
    for (what, payload) in cases {
        let reply = reply_payload(&mut server, &request_frame(&payload));
        assert_eq!(reply[4], kv::ERROR, "{what}");
        assert_eq!(reply[5..6], malformed, "{what}");
        let id_bytes = payload.len().min(4);
        assert_eq!(
            reply[..id_bytes],
            payload[..id_bytes],
            "{what}: the id comes back"
        );
    }
    assert!(reply_payload(&mut server, &request(1, kv::SET, b"a", b"1"))[4] == kv::STORED);
    let full = reply_payload(&mut server, &request(2, kv::SET, b"b", b"2"));
    assert_eq!(full[4..6], [kv::ERROR, ErrorCode::Full as u8]);
    assert_eq!(server.store().len(), 1);
}

#[test]
fn hostile_frames_are_refused_for_what_they_are() {
    let good = request(1, kv::GET, b"k", &[]);
    assert!(frame::parse(&good).is_ok());
    for len in 0..good.len() {
        assert!(frame::parse(&good[..len]).is_err(), "cut to {len} bytes");
    }
    let with = |offset: usize, bytes: &[u8]| {
        let mut frame = good.clone();
        frame[offset..offset + bytes.len()].copy_from_slice(bytes);
        frame::parse(&frame).map(|_| ())
    };
    assert_eq!(with(12, &[0x86, 0xDD]), Err(FrameError::NotIpv4));
    assert_eq!(with(14, &[0x44]), Err(FrameError::BadHeaderLength));
    assert_eq!(with(14, &[0x65]), Err(FrameError::BadHeaderLength));
    assert_eq!(with(14, &[0x4F]), Err(FrameError::Truncated));
    assert_eq!(with(16, &[0xFF, 0xFF]), Err(FrameError::BadTotalLength));
    assert_eq!(with(16, &[0, 19]), Err(FrameError::BadTotalLength));
    assert_eq!(with(20, &[0x20, 0]), Err(FrameError::Fragment));
    assert_eq!(with(20, &[0x40, 0x08]), Err(FrameError::Fragment));
    assert_eq!(with(23, &[6]), Err(FrameError::NotUdp));
    assert_eq!(with(22, &[1]), Err(FrameError::BadChecksum));
    assert_eq!(with(38, &[0, 7]), Err(FrameError::BadUdpLength));
    assert_eq!(with(38, &[0xFF, 0xFF]), Err(FrameError::BadUdpLength));
    assert_eq!(with(HEADERS_BYTES, &[9]), Err(FrameError::BadChecksum));
    // A sender may leave the UDP checksum out; Ethernet padding after the datagram is fine.
    assert_eq!(with(40, &[0, 0]), Ok(()));
    let mut padded = good.clone();
    padded.resize(60, 0);
    assert_eq!(
        frame::parse(&padded).map(|datagram| datagram.payload.len()),
        Ok(9)
    );
}

#[test]
fn a_full_batch_drops_until_flushed_and_a_failed_send_empties_it() {
    let mut server = UdpKvServer::new(InPlaceReplies::new(&SERVER), KvStore::new(8), 2);
    let get = request(1, kv::GET, b"k", &[]);
    assert!(server.handle(&get));
    assert!(!server.handle(&[0u8; 10]), "not a datagram");
    assert!(server.handle(&get));
    assert!(server.is_batch_full());
    assert!(!server.handle(&get), "no room");
    assert_eq!(server.dropped(), 2);
    let mut sent = 0;
    assert_eq!(
        server.flush(|_| -> Result<(), ()> {
            sent += 1;
            Ok(())
        }),
        Ok(2)
    );
    assert_eq!(sent, 2);
    assert!(server.batch().is_empty());
    assert!(server.handle(&get));
    assert!(server.handle(&get));
    assert_eq!(server.flush(|_| Err("device gone")), Err("device gone"));
    assert!(server.batch().is_empty());
}
