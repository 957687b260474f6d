//! CRC-32 (the IEEE 802.3 polynomial, reflected, as zlib computes it), table-driven, written by
//! hand so that the crate keeps its one dependency.

/// The reflected IEEE polynomial.
const POLYNOMIAL: u32 = 0xEDB8_8320;

/// The remainder of each byte value, computed at compile time.
const TABLE: [u32; 256] = build_table();

const fn build_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut remainder = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            remainder = if remainder & 1 == 1 {
                (remainder >> 1) ^ POLYNOMIAL
            } else {
                remainder >> 1
            };
            bit += 1;
        }
        table[byte] = remainder;
        byte += 1;
    }
    table
}

/// A running checksum: feed it the pieces of a message in order, then read [`Crc32::value`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Crc32(u32);

impl Crc32 {
    pub(crate) fn new() -> Crc32 {
        Crc32(u32::MAX)
    }

    pub(crate) fn update(mut self, bytes: &[u8]) -> Crc32 {
        for &byte in bytes {
            self.0 = TABLE[((self.0 ^ u32::from(byte)) & 0xff) as usize] ^ (self.0 >> 8);
        }
        self
    }

    pub(crate) fn value(self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Crc32;

    #[test]
    fn matches_the_standard_check_value() {
        // The check value every CRC-32/ISO-HDLC implementation agrees on.
        assert_eq!(Crc32::new().update(b"123456789").value(), 0xCBF4_3926);
        assert_eq!(Crc32::new().update(b"").value(), 0);
        let split = Crc32::new().update(b"1234").update(b"56789").value();
        assert_eq!(split, 0xCBF4_3926);
    }
}
