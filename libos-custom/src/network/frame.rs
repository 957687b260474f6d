//! Ethernet II, IPv4 and UDP: parsing a received frame, bounds-checked field by field against
//! hostile input, and writing the headers of a reply from scratch with full checksums.

use super::checksum;

/// Bytes of an Ethernet II header.
pub const ETHERNET_BYTES: usize = 14;
/// Bytes of an IPv4 header without options.
pub const IPV4_BYTES: usize = 20;
/// Bytes of a UDP header.
pub const UDP_BYTES: usize = 8;
/// Bytes of the headers of a reply (Ethernet, IPv4 without options, UDP): where its payload
/// starts.
pub const HEADERS_BYTES: usize = ETHERNET_BYTES + IPV4_BYTES + UDP_BYTES;
/// The Ethernet type of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// The IPv4 protocol number of UDP.
pub const PROTOCOL_UDP: u8 = 17;
/// The time to live of the datagrams sent.
pub const TIME_TO_LIVE: u8 = 64;
/// The IPv4 flags and fragment offset word of the datagrams sent: don't fragment.
pub const DONT_FRAGMENT: u16 = 0x4000;

/// One end of a UDP exchange: its Ethernet and IPv4 addresses and its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Ethernet address.
    pub mac: [u8; 6],
    /// IPv4 address.
    pub ip: [u8; 4],
    /// UDP port.
    pub port: u16,
}

/// A UDP datagram parsed in the frame it came in: both ends and the payload, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'frame> {
    /// Who sent it.
    pub source: Endpoint,
    /// Whom it was sent to.
    pub destination: Endpoint,
    /// The UDP payload, as long as the UDP header says (Ethernet padding excluded).
    pub payload: &'frame [u8],
}

/// Why a frame is not a UDP datagram this side accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than the headers it announces.
    Truncated,
    /// Not IPv4 in Ethernet II.
    NotIpv4,
    /// An IPv4 version other than 4 or a header length below 20 bytes.
    BadHeaderLength,
    /// An IPv4 total length shorter than its header or longer than the frame.
    BadTotalLength,
    /// A fragment (more fragments set, or an offset): this side does not reassemble.
    Fragment,
    /// Another protocol than UDP.
    NotUdp,
    /// A UDP length shorter than its header or longer than the IPv4 payload.
    BadUdpLength,
    /// The IPv4 header or the UDP checksum does not add up.
    BadChecksum,
}

/// The big-endian 16-bit word at `offset` of `bytes`, which the caller checked is in bounds.
pub(super) fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_be_bytes([bytes[offset], bytes[offset + 1]])
}

/// The `N` bytes at `offset` of `bytes`, which the caller checked are in bounds.
pub(super) fn array_at<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut array = [0; N];
    array.copy_from_slice(&bytes[offset..offset + N]);
    array
}

/// Parses `frame` as Ethernet II, IPv4 (options allowed, skipped) and UDP. The IPv4 header
/// checksum is checked, and the UDP checksum unless the sender left it out (zero). Never
/// panics: every offset is checked against the lengths before it is read.
pub fn parse(frame: &[u8]) -> Result<Datagram<'_>, FrameError> {
    if frame.len() < ETHERNET_BYTES + IPV4_BYTES {
        return Err(FrameError::Truncated);
    }
    if u16_at(frame, 12) != ETHERTYPE_IPV4 {
        return Err(FrameError::NotIpv4);
    }
    let ip = &frame[ETHERNET_BYTES..];
    let header_bytes = usize::from(ip[0] & 0x0F) * 4;
    if ip[0] >> 4 != 4 || header_bytes < IPV4_BYTES {
        return Err(FrameError::BadHeaderLength);
    }
    if ip.len() < header_bytes {
        return Err(FrameError::Truncated);
    }
    let total_bytes = usize::from(u16_at(ip, 2));
    if total_bytes < header_bytes || total_bytes > ip.len() {
        return Err(FrameError::BadTotalLength);
    }
    // More fragments (0x2000) or an offset: a piece of a datagram, not a datagram.
    if u16_at(ip, 6) & 0x3FFF != 0 {
        return Err(FrameError::Fragment);
    }
    if ip[9] != PROTOCOL_UDP {
        return Err(FrameError::NotUdp);
    }
    if checksum::checksum(&ip[..header_bytes]) != 0 {
        return Err(FrameError::BadChecksum);
    }
    let udp = &ip[header_bytes..total_bytes];
    if udp.len() < UDP_BYTES {
        return Err(FrameError::Truncated);
    }
    let udp_bytes = usize::from(u16_at(udp, 4));
    if udp_bytes < UDP_BYTES || udp_bytes > udp.len() {
        return Err(FrameError::BadUdpLength);
    }
    let udp = &udp[..udp_bytes];
    let source_ip = array_at(ip, 12);
    let destination_ip = array_at(ip, 16);
    if u16_at(udp, 6) != 0 {
        let sum = pseudo_header_sum(source_ip, destination_ip, udp_bytes as u16);
        if !checksum::fold(checksum::add_bytes(sum, udp)) != 0 {
            return Err(FrameError::BadChecksum);
        }
    }
    Ok(Datagram {
        source: Endpoint {
            mac: array_at(frame, 6),
            ip: source_ip,
            port: u16_at(udp, 0),
        },
        destination: Endpoint {
            mac: array_at(frame, 0),
            ip: destination_ip,
            port: u16_at(udp, 2),
        },
        payload: &udp[UDP_BYTES..],
    })
}

/// The unfolded sum of the UDP pseudo-header: both addresses, the protocol, the UDP length.
pub fn pseudo_header_sum(source: [u8; 4], destination: [u8; 4], udp_bytes: u16) -> u64 {
    checksum::address_sum(source)
        + checksum::address_sum(destination)
        + u64::from(PROTOCOL_UDP)
        + u64::from(udp_bytes)
}

/// A UDP checksum as sent: zero means "none" on the wire, so a computed zero goes as 0xFFFF.
pub fn udp_checksum_on_wire(checksum: u16) -> u16 {
    if checksum == 0 { 0xFFFF } else { checksum }
}

/// Writes the Ethernet, IPv4 and UDP headers of a datagram of `payload_bytes` from `from` to
/// `to` into `frame[..HEADERS_BYTES]`, field by field, with the IPv4 checksum computed over
/// the header and the UDP checksum over the pseudo-header, the header and the payload already
/// in `frame[HEADERS_BYTES..][..payload_bytes]`. The IPv4 identification is 0 (don't
/// fragment is set). This is how a general stack builds every datagram; the network
/// manager's template does the same work with a copy and a few incremental updates.
///
/// # Panics
///
/// When `frame` is shorter than `HEADERS_BYTES + payload_bytes`.
pub fn write_headers(frame: &mut [u8], from: &Endpoint, to: &Endpoint, payload_bytes: usize) {
    let udp_bytes = (UDP_BYTES + payload_bytes) as u16;
    let total_bytes = (IPV4_BYTES + usize::from(udp_bytes)) as u16;
    frame[0..6].copy_from_slice(&to.mac);
    frame[6..12].copy_from_slice(&from.mac);
    frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let ip = &mut frame[ETHERNET_BYTES..ETHERNET_BYTES + IPV4_BYTES];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&total_bytes.to_be_bytes());
    ip[4..6].copy_from_slice(&0u16.to_be_bytes());
    ip[6..8].copy_from_slice(&DONT_FRAGMENT.to_be_bytes());
    ip[8] = TIME_TO_LIVE;
    ip[9] = PROTOCOL_UDP;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&from.ip);
    ip[16..20].copy_from_slice(&to.ip);
    let ip_checksum = checksum::checksum(ip);
    ip[10..12].copy_from_slice(&ip_checksum.to_be_bytes());
    let udp = &mut frame[ETHERNET_BYTES + IPV4_BYTES..HEADERS_BYTES + payload_bytes];
    udp[0..2].copy_from_slice(&from.port.to_be_bytes());
    udp[2..4].copy_from_slice(&to.port.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_bytes.to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    let sum = checksum::add_bytes(pseudo_header_sum(from.ip, to.ip, udp_bytes), udp);
    let udp_checksum = udp_checksum_on_wire(!checksum::fold(sum));
    udp[6..8].copy_from_slice(&udp_checksum.to_be_bytes());
}
