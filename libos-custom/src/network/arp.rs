//! ARP (Ethernet and IPv4 only) for one address of this side's: which received frames ask
//! for it ([`requests_for`], a filter), the reply to one of them ([`reply_to`], checked
//! against hostile frames) and the announcement that tells the network the address is here
//! ([`announcement`]). Without answers the host side cannot send this side a datagram: it
//! asks who has the address before the first one, and drops what it holds if nobody says.
//!
//! Every frame is [`ARP_BYTES`] long: an Ethernet II header, then the 28 bytes of an ARP
//! packet for Ethernet addresses of 6 bytes and IPv4 addresses of 4.
//!
//! ```
//! use libos_custom::network::arp::{self, Interface};
//!
//! let guest = Interface { mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56], ip: [10, 0, 2, 15] };
//! let announcement = arp::announcement(&guest);
//! assert!(arp::requests_for(guest.ip).matches(&announcement));
//! // This side's own announcement, were it to come back, is no request to answer.
//! assert_eq!(arp::reply_to(&announcement, &guest), None);
//! ```

use super::frame::{ETHERNET_BYTES, array_at, u16_at};
use crate::filter::{Predicate, Width};

#[cfg(test)]
mod tests;

/// Bytes of an ARP frame: the Ethernet header and the ARP packet, no padding.
pub const ARP_BYTES: usize = ETHERNET_BYTES + 28;
/// The Ethernet type of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// The hardware type of Ethernet.
pub const HARDWARE_ETHERNET: u16 = 1;
/// The protocol type of IPv4 (its Ethernet type).
pub const PROTOCOL_IPV4: u16 = 0x0800;
/// The operation of a request: who has this address?
pub const REQUEST: u16 = 1;
/// The operation of a reply: this address is at this Ethernet address.
pub const REPLY: u16 = 2;
/// The Ethernet broadcast address.
pub const BROADCAST: [u8; 6] = [0xFF; 6];

/// Where each field lies in the frame.
const ETHERTYPE_OFFSET: usize = 12;
const HARDWARE_TYPE_OFFSET: usize = 14;
const PROTOCOL_TYPE_OFFSET: usize = 16;
/// The hardware address length byte, then the protocol address length byte.
const ADDRESS_LENGTHS_OFFSET: usize = 18;
const OPERATION_OFFSET: usize = 20;
const SENDER_MAC_OFFSET: usize = 22;
const SENDER_IP_OFFSET: usize = 28;
const TARGET_MAC_OFFSET: usize = 32;
const TARGET_IP_OFFSET: usize = 38;
/// 6-byte Ethernet addresses and 4-byte IPv4 addresses, as one big-endian word.
const ADDRESS_LENGTHS: u16 = 0x0604;

/// This side's addresses: the ones it answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    /// Ethernet address.
    pub mac: [u8; 6],
    /// IPv4 address.
    pub ip: [u8; 4],
}

/// A filter claiming the ARP requests for `ip`: Ethernet and IPv4 addresses of the usual
/// lengths, operation [`REQUEST`], target `ip`. [`reply_to`] checks the same fields again
/// (and a few more) on what it is given.
pub fn requests_for(ip: [u8; 4]) -> Predicate {
    let u16_field = |predicate: Predicate, offset: usize, value: u16| {
        predicate.field(offset as u32, Width::U16, 0xFFFF, u32::from(value))
    };
    let predicate = u16_field(Predicate::new(), ETHERTYPE_OFFSET, ETHERTYPE_ARP);
    let predicate = u16_field(predicate, HARDWARE_TYPE_OFFSET, HARDWARE_ETHERNET);
    let predicate = u16_field(predicate, PROTOCOL_TYPE_OFFSET, PROTOCOL_IPV4);
    let predicate = u16_field(predicate, ADDRESS_LENGTHS_OFFSET, ADDRESS_LENGTHS);
    let predicate = u16_field(predicate, OPERATION_OFFSET, REQUEST);
    predicate.field(
        TARGET_IP_OFFSET as u32,
        Width::U32,
        u32::MAX,
        u32::from_be_bytes(ip),
    )
}

/// The reply to `request` if it is an ARP request for `interface`'s address, else `None`.
/// Never panics, whatever `request` holds. Passed over: frames shorter than [`ARP_BYTES`]
/// (longer ones are padded, the padding ignored), other Ethernet types, hardware or protocol
/// types, address lengths and operations, requests for other addresses, and requests whose
/// sender is a group address (no reply can go to a group) or `interface` itself (its own
/// announcement, come back). A probe (sender IPv4 address 0.0.0.0) is answered as any request,
/// which tells the prober that the address is taken.
pub fn reply_to(request: &[u8], interface: &Interface) -> Option<[u8; ARP_BYTES]> {
    if request.len() < ARP_BYTES
        || u16_at(request, ETHERTYPE_OFFSET) != ETHERTYPE_ARP
        || u16_at(request, HARDWARE_TYPE_OFFSET) != HARDWARE_ETHERNET
        || u16_at(request, PROTOCOL_TYPE_OFFSET) != PROTOCOL_IPV4
        || u16_at(request, ADDRESS_LENGTHS_OFFSET) != ADDRESS_LENGTHS
        || u16_at(request, OPERATION_OFFSET) != REQUEST
        || array_at(request, TARGET_IP_OFFSET) != interface.ip
    {
        return None;
    }
    let requester = Interface {
        mac: array_at(request, SENDER_MAC_OFFSET),
        ip: array_at(request, SENDER_IP_OFFSET),
    };
    let is_group = requester.mac[0] & 1 == 1;
    if is_group || requester.mac == interface.mac {
        return None;
    }
    Some(frame(REPLY, interface, requester.mac, &requester))
}

/// A request from `interface`, broadcast, for the Ethernet address of `ip`.
pub fn request(interface: &Interface, ip: [u8; 4]) -> [u8; ARP_BYTES] {
    let target = Interface { mac: [0; 6], ip };
    frame(REQUEST, interface, BROADCAST, &target)
}

/// A gratuitous request for `interface`'s own address, broadcast: whoever keeps a table of
/// neighbours learns from it where the address is, before asking.
pub fn announcement(interface: &Interface) -> [u8; ARP_BYTES] {
    request(interface, interface.ip)
}

/// An ARP frame from `interface` to the Ethernet address `to`: operation `operation`, target
/// `target`.
fn frame(
    operation: u16,
    interface: &Interface,
    to: [u8; 6],
    target: &Interface,
) -> [u8; ARP_BYTES] {
    let mut frame = [0u8; ARP_BYTES];
    frame[0..6].copy_from_slice(&to);
    frame[6..12].copy_from_slice(&interface.mac);
    frame[ETHERTYPE_OFFSET..][..2].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    frame[HARDWARE_TYPE_OFFSET..][..2].copy_from_slice(&HARDWARE_ETHERNET.to_be_bytes());
    frame[PROTOCOL_TYPE_OFFSET..][..2].copy_from_slice(&PROTOCOL_IPV4.to_be_bytes());
    frame[ADDRESS_LENGTHS_OFFSET..][..2].copy_from_slice(&ADDRESS_LENGTHS.to_be_bytes());
    frame[OPERATION_OFFSET..][..2].copy_from_slice(&operation.to_be_bytes());
    frame[SENDER_MAC_OFFSET..][..6].copy_from_slice(&interface.mac);
    frame[SENDER_IP_OFFSET..][..4].copy_from_slice(&interface.ip);
    frame[TARGET_MAC_OFFSET..][..6].copy_from_slice(&target.mac);
    frame[TARGET_IP_OFFSET..][..4].copy_from_slice(&target.ip);
    frame
}
