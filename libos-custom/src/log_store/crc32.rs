//! CRC-32 (the IEEE 802.3 polynomial, reflected, as zlib computes it), sixteen bytes a table
//! step.

use crc::{CRC_32_ISO_HDLC, Crc, Digest, Table};

static IEEE: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// A running checksum: feed it the pieces of a message in order, then read [`Crc32::value`].
#[derive(Clone)]
pub(crate) struct Crc32(Digest<'static, u32, Table<16>>);

impl Crc32 {
    pub(crate) fn new() -> Crc32 {
        Crc32(IEEE.digest())
    }

    pub(crate) fn update(mut self, bytes: &[u8]) -> Crc32 {
        self.0.update(bytes);
        self
    }

    pub(crate) fn value(self) -> u32 {
        self.0.finalize()
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
