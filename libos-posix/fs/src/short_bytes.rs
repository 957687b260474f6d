//! Comparing and hashing short byte strings (names and paths) a word at a time: the library's
//! `memcmp` takes some 45 instructions for a 7-byte path and a byte-at-a-time hash 6 a byte,
//! where loading up to 8 bytes as one word takes a few.

/// Bytes `start..start + 8` of `bytes` as a little-endian word.
fn word_at(bytes: &[u8], start: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[start..start + 8]);
    u64::from_le_bytes(word)
}

/// Bytes `start..start + 4` of `bytes` as a little-endian word.
fn half_word_at(bytes: &[u8], start: usize) -> u64 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[start..start + 4]);
    u64::from(u32::from_le_bytes(word))
}

/// A string of fewer than 8 bytes as one word: its first 4 and last 4 bytes (overlapping)
/// from 4 bytes on, else its bytes packed. Two strings of the same length are equal exactly
/// when their words are.
fn short_word(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    if len >= 4 {
        half_word_at(bytes, 0) | (half_word_at(bytes, len - 4) << 32)
    } else {
        bytes
            .iter()
            .fold(0, |word, &byte| (word << 8) | u64::from(byte))
    }
}

/// The words that cover `bytes` whole, each given to `take`: every 8 bytes, then the last 8
/// (overlapping the one before) when the length is not a multiple of 8; a string of fewer
/// than 8 bytes as its [`short_word`].
#[inline]
fn for_each_word(bytes: &[u8], mut take: impl FnMut(u64)) {
    let len = bytes.len();
    if len < 8 {
        take(short_word(bytes));
        return;
    }
    let mut start = 0;
    while start + 8 <= len {
        take(word_at(bytes, start));
        start += 8;
    }
    if start < len {
        take(word_at(bytes, len - 8));
    }
}

/// Whether `left` and `right` hold the same bytes.
#[inline]
pub(crate) fn same_bytes(left: &[u8], right: &[u8]) -> bool {
    let len = left.len();
    if len != right.len() {
        return false;
    }
    if len < 8 {
        return short_word(left) == short_word(right);
    }
    let mut start = 0;
    while start + 8 <= len {
        if word_at(left, start) != word_at(right, start) {
            return false;
        }
        start += 8;
    }
    start == len || word_at(left, len - 8) == word_at(right, len - 8)
}

/// Whether `bytes` holds a `/` or a NUL.
#[inline]
pub(crate) fn has_slash_or_nul(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const SLASHES: u64 = 0x2F2F_2F2F_2F2F_2F2F;
    // Nonzero when some byte of `word` is zero (exact about whether one is, not which).
    let has_zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS != 0;
    if bytes.len() < 4 {
        return bytes.iter().any(|&byte| byte == b'/' || byte == 0);
    }
    let mut found = false;
    // From 4 bytes on every word holds only the string's own bytes.
    for_each_word(bytes, |word| {
        found |= has_zero_byte(word) || has_zero_byte(word ^ SLASHES);
    });
    found
}

/// A 32-bit hash of `bytes` and `seed`, its high bits the best mixed.
#[inline]
pub(crate) fn hash(seed: u32, bytes: &[u8]) -> u32 {
    let mut hash = u64::from(seed) ^ ((bytes.len() as u64) << 32);
    for_each_word(bytes, |word| {
        hash = (hash ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        hash ^= hash >> 29;
    });
    (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of `len` bytes drawn from a small alphabet that includes the bytes whose
    /// packing could collide (0 and 0xFF), up to a few thousand of them.
    fn strings(len: usize) -> Vec<Vec<u8>> {
        let alphabet = [0u8, 1, b'a', 0xFF];
        let count = alphabet.len().pow(len.min(6) as u32);
        (0..count)
            .map(|mut number| {
                let mut string = vec![b'x'; len];
                for byte in string.iter_mut().take(6) {
                    *byte = alphabet[number % alphabet.len()];
                    number /= alphabet.len();
                }
                string
            })
            .collect()
    }

    #[test]
    fn same_bytes_agrees_with_slice_equality_at_every_length() {
        for len in 0..=20 {
            let all = strings(len);
            for (index, left) in all.iter().enumerate().step_by(7) {
                for right in all.iter().skip(index % 5).step_by(3) {
                    assert_eq!(same_bytes(left, right), left == right, "{left:?} {right:?}");
                }
            }
        }
        assert!(!same_bytes(b"abc", b"abcd"), "lengths differ");
        assert!(!same_bytes(b"abcdefghij", b"abcdefghik"));
        assert!(!same_bytes(b"xbcdefghij", b"abcdefghij"));
        assert!(same_bytes(b"", b""));
    }

    #[test]
    fn a_slash_or_a_nul_is_found_at_every_position_and_length() {
        for len in 0..=20 {
            assert!(!has_slash_or_nul(&vec![b'a'; len]));
            assert!(!has_slash_or_nul(&vec![0xFF; len]), "high bytes");
            assert!(
                !has_slash_or_nul(&vec![0x2E; len]),
                "the bytes next to a slash"
            );
            assert!(!has_slash_or_nul(&vec![0x30; len]));
            assert!(!has_slash_or_nul(&vec![0x01; len]));
            for position in 0..len {
                for bad in [b'/', 0] {
                    let mut bytes = vec![b'a'; len];
                    bytes[position] = bad;
                    assert!(
                        has_slash_or_nul(&bytes),
                        "len {len} byte {bad} at {position}"
                    );
                    let mut bytes = vec![0x81; len];
                    bytes[position] = bad;
                    assert!(
                        has_slash_or_nul(&bytes),
                        "len {len} byte {bad} at {position}"
                    );
                }
            }
        }
    }

    #[test]
    fn hash_depends_on_every_byte_the_length_and_the_seed() {
        for len in 1..=20 {
            let base = vec![b'n'; len];
            for position in 0..len {
                let mut changed = base.clone();
                changed[position] = b'm';
                assert_ne!(
                    hash(1, &base),
                    hash(1, &changed),
                    "len {len} byte {position}"
                );
            }
        }
        assert_ne!(hash(1, b"a"), hash(1, b"\0a"), "a leading zero byte");
        assert_ne!(hash(1, b"abc"), hash(1, b"abc\0"), "a trailing zero byte");
        assert_ne!(hash(1, b"abc"), hash(2, b"abc"));
    }

    #[test]
    fn hash_spreads_short_names_over_the_high_bits() {
        let mut seen = [0u32; 128];
        for number in 0..12_800u32 {
            let name = format!("file{number}");
            seen[(hash(0, name.as_bytes()) >> 25) as usize] += 1;
        }
        assert!(
            seen.iter().all(|&count| (50..150).contains(&count)),
            "{seen:?}"
        );
    }
}
