//! The Internet checksum (RFC 1071): the one's complement of the one's complement sum of
//! big-endian 16-bit words, and its incremental update when one word changes (RFC 1624).

/// Adds the big-endian 16-bit words of `bytes` to the unfolded sum `sum` (an odd last byte is
/// the high half of a word padded with zero), as an amount congruent to their sum modulo
/// 0xFFFF and zero only when they are all zero, which is all a one's complement sum keeps.
///
/// Eight bytes at a time: the sum does not depend on byte order (RFC 1071, section 2), so the
/// bytes are added as little-endian 32-bit halves of 64-bit loads and the folded total is
/// swapped back once at the end.
pub fn add_bytes(sum: u64, bytes: &[u8]) -> u64 {
    let (chunks, tail) = bytes.as_chunks::<8>();
    let mut wide = 0u64;
    for chunk in chunks {
        let word = u64::from_le_bytes(*chunk);
        wide += (word & 0xFFFF_FFFF) + (word >> 32);
    }
    // The tail (under 8 bytes) by 4, 2 and 1: each piece starts at an even offset.
    let mut tail = tail;
    if let Some((piece, rest)) = tail.split_first_chunk::<4>() {
        wide += u64::from(u32::from_le_bytes(*piece));
        tail = rest;
    }
    if let Some((piece, rest)) = tail.split_first_chunk::<2>() {
        wide += u64::from(u16::from_le_bytes(*piece));
        tail = rest;
    }
    if let [last] = tail {
        wide += u64::from(*last);
    }
    sum + u64::from(fold(wide).swap_bytes())
}

/// The unfolded sum of an IPv4 address's two big-endian words.
pub fn address_sum(address: [u8; 4]) -> u64 {
    u64::from(u16::from_be_bytes([address[0], address[1]]))
        + u64::from(u16::from_be_bytes([address[2], address[3]]))
}

/// Folds an unfolded sum to 16 bits, carries added back in (one's complement addition).
pub fn fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

/// The checksum of `bytes`: the complement of their folded sum.
pub fn checksum(bytes: &[u8]) -> u16 {
    !fold(add_bytes(0, bytes))
}

/// The checksum after one 16-bit word it covers changes from `old` to `new`, without summing
/// the rest again: RFC 1624's equation 3, `HC' = ~(~HC + ~m + m')`, which (unlike the older
/// equation of RFC 1141) never yields the negative zero 0xFFFF for a sum that is not zero.
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    let sum = u64::from(!checksum) + u64::from(!old) + u64::from(new);
    !fold(sum)
}

/// As [`update`] for a 32-bit field (an IPv4 address): two words.
pub fn update_u32(checksum: u16, old: [u8; 4], new: [u8; 4]) -> u16 {
    let high = update(
        checksum,
        u16::from_be_bytes([old[0], old[1]]),
        u16::from_be_bytes([new[0], new[1]]),
    );
    update(
        high,
        u16::from_be_bytes([old[2], old[3]]),
        u16::from_be_bytes([new[2], new[3]]),
    )
}
