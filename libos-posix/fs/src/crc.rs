//! CRC-32C (Castagnoli), the checksum of the journal and the superblock: it tells a block that
//! landed whole from one a crash tore or never wrote.

use crc::{CRC_32_ISCSI, Crc, Table};

/// CRC-32C, a byte a table step: every program links the file system, and a 16-lane table
/// (16 KiB) in each made spawning one dearer by 3% (B6) for a journal that checksums a few
/// blocks per commit.
static CASTAGNOLI: Crc<u32, Table<1>> = Crc::<u32, Table<1>>::new(&CRC_32_ISCSI);

/// The CRC-32C of `bytes`.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    CASTAGNOLI.checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::crc32c;

    #[test]
    fn matches_the_published_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }
}
