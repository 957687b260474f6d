//! The Internet checksum (RFC 1071): the one's complement of the one's complement sum of
//! big-endian 16-bit words, and its incremental update when one word changes (RFC 1624).

/// Adds the big-endian 16-bit words of `bytes` to the unfolded sum `sum` (an odd last byte is
/// the high half of a word padded with zero). Sums of up to 2^32 words cannot overflow.
pub fn add_bytes(mut sum: u64, bytes: &[u8]) -> u64 {
    let (words, remainder) = bytes.as_chunks::<2>();
    for word in words {
        sum += u64::from(u16::from_be_bytes(*word));
    }
    if let [last] = remainder {
        sum += u64::from(*last) << 8;
    }
    sum
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
