//! Pre-made reply headers: everything a server's replies share is written and summed once;
//! each reply copies the headers and patches the client's addresses and the lengths, updating
//! the IPv4 checksum incrementally (RFC 1624) and starting the UDP checksum from the sum of
//! the fields that never change.

use super::checksum;
use super::frame::{self, ETHERNET_BYTES, Endpoint, HEADERS_BYTES, IPV4_BYTES, UDP_BYTES};

/// The headers of every reply from one server endpoint, with their sums.
#[derive(Debug, Clone)]
pub struct ReplyTemplate {
    /// The headers with the client's addresses, its port and the lengths all zero.
    headers: [u8; HEADERS_BYTES],
    /// The IPv4 header checksum of `headers`.
    ip_checksum: u16,
    /// The unfolded UDP checksum sum of the fields that never change: the server's address
    /// and the protocol from the pseudo-header, and the server's port.
    udp_constant_sum: u64,
}

impl ReplyTemplate {
    /// The template of the replies from `server`.
    pub fn new(server: &Endpoint) -> ReplyTemplate {
        let mut headers = [0u8; HEADERS_BYTES];
        let nobody = Endpoint {
            mac: [0; 6],
            ip: [0; 4],
            port: 0,
        };
        // The UDP length written here is patched per reply, so only the IPv4 part matters.
        frame::write_headers(&mut headers, server, &nobody, 0);
        headers[16..18].copy_from_slice(&[0, 0]);
        let ip = &mut headers[ETHERNET_BYTES..ETHERNET_BYTES + IPV4_BYTES];
        ip[10..12].copy_from_slice(&[0, 0]);
        let ip_checksum = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&ip_checksum.to_be_bytes());
        let udp = &mut headers[ETHERNET_BYTES + IPV4_BYTES..];
        udp[4..8].copy_from_slice(&[0, 0, 0, 0]);
        let udp_constant_sum =
            frame::pseudo_header_sum(server.ip, [0; 4], 0) + u64::from(server.port);
        ReplyTemplate {
            headers,
            ip_checksum,
            udp_constant_sum,
        }
    }

    /// Writes the headers of a reply to `to` carrying the `payload_bytes` already in
    /// `frame[HEADERS_BYTES..]`: the same bytes as [`frame::write_headers`] from the
    /// template's server.
    ///
    /// # Panics
    ///
    /// When `frame` is shorter than `HEADERS_BYTES + payload_bytes`.
    pub fn write(&self, frame: &mut [u8], to: &Endpoint, payload_bytes: usize) {
        let udp_bytes = (UDP_BYTES + payload_bytes) as u16;
        let total_bytes = udp_bytes + IPV4_BYTES as u16;
        frame[..HEADERS_BYTES].copy_from_slice(&self.headers);
        frame[0..6].copy_from_slice(&to.mac);
        frame[16..18].copy_from_slice(&total_bytes.to_be_bytes());
        frame[30..34].copy_from_slice(&to.ip);
        let ip_checksum = checksum::update(self.ip_checksum, 0, total_bytes);
        let ip_checksum = checksum::update_u32(ip_checksum, [0; 4], to.ip);
        frame[24..26].copy_from_slice(&ip_checksum.to_be_bytes());
        frame[36..38].copy_from_slice(&to.port.to_be_bytes());
        frame[38..40].copy_from_slice(&udp_bytes.to_be_bytes());
        // The UDP length counts twice: once in the pseudo-header, once in the header.
        let sum = self.udp_constant_sum
            + checksum::address_sum(to.ip)
            + u64::from(to.port)
            + 2 * u64::from(udp_bytes);
        let sum = checksum::add_bytes(sum, &frame[HEADERS_BYTES..HEADERS_BYTES + payload_bytes]);
        let udp_checksum = frame::udp_checksum_on_wire(!checksum::fold(sum));
        frame[40..42].copy_from_slice(&udp_checksum.to_be_bytes());
    }
}
