//! The boot ramdisk: a flat archive of named files (the apps and `boot.cfg`) that the boot tool
//! writes and the kernel reads in place.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! offset 0   magic "EXORAMD1" (8 bytes)
//! offset 8   entry count (u32), then 4 reserved zero bytes
//! offset 16  entry table: per entry 64 bytes =
//!              name (48 bytes, UTF-8, zero padded), data offset (u64), data length (u64)
//! then       file data, each file starting at its data offset
//! ```

use core::str;

/// First eight bytes of every ramdisk.
pub const MAGIC: &[u8; 8] = b"EXORAMD1";
/// Longest file name, in bytes.
pub const NAME_MAX_BYTES: usize = 48;
const HEADER_BYTES: usize = 16;
const ENTRY_BYTES: usize = 64;

/// Why a ramdisk could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RamdiskError {
    /// Shorter than its header or entry table says.
    Truncated,
    /// The magic bytes are wrong.
    BadMagic,
    /// An entry's name is not UTF-8 or is empty.
    BadName,
    /// An entry's data lies outside the ramdisk.
    DataOutOfBounds,
}

/// A parsed ramdisk borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Ramdisk<'a> {
    bytes: &'a [u8],
    entry_count: usize,
}

/// One file in the ramdisk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamdiskFile<'a> {
    /// The file's name.
    pub name: &'a str,
    /// The file's contents.
    pub data: &'a [u8],
}

impl<'a> Ramdisk<'a> {
    /// Checks the header and every entry, so that later lookups cannot fail.
    pub fn parse(bytes: &'a [u8]) -> Result<Ramdisk<'a>, RamdiskError> {
        let header = bytes.get(..HEADER_BYTES).ok_or(RamdiskError::Truncated)?;
        if &header[..8] != MAGIC {
            return Err(RamdiskError::BadMagic);
        }
        let entry_count = read_u32(&header[8..12]) as usize;
        let table_end = entry_count
            .checked_mul(ENTRY_BYTES)
            .and_then(|table| table.checked_add(HEADER_BYTES))
            .ok_or(RamdiskError::Truncated)?;
        if table_end > bytes.len() {
            return Err(RamdiskError::Truncated);
        }
        let ramdisk = Ramdisk { bytes, entry_count };
        for index in 0..entry_count {
            ramdisk.entry(index)?;
        }
        Ok(ramdisk)
    }

    /// Every file, in archive order.
    pub fn files(&self) -> impl Iterator<Item = RamdiskFile<'a>> + '_ {
        (0..self.entry_count).filter_map(|index| self.entry(index).ok())
    }

    /// The file called `name`.
    pub fn find(&self, name: &str) -> Option<RamdiskFile<'a>> {
        self.files().find(|file| file.name == name)
    }

    fn entry(&self, index: usize) -> Result<RamdiskFile<'a>, RamdiskError> {
        let start = HEADER_BYTES + index * ENTRY_BYTES;
        let entry = &self.bytes[start..start + ENTRY_BYTES];
        let name_bytes = &entry[..NAME_MAX_BYTES];
        let name_len = name_bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(NAME_MAX_BYTES);
        let name = str::from_utf8(&name_bytes[..name_len]).map_err(|_| RamdiskError::BadName)?;
        if name.is_empty() {
            return Err(RamdiskError::BadName);
        }
        let offset = read_u64(&entry[48..56]);
        let len = read_u64(&entry[56..64]);
        let end = offset
            .checked_add(len)
            .ok_or(RamdiskError::DataOutOfBounds)?;
        let data = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(offset, end)| self.bytes.get(offset..end))
            .ok_or(RamdiskError::DataOutOfBounds)?;
        Ok(RamdiskFile { name, data })
    }
}

fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

/// Builds a ramdisk from named files (host side).
#[cfg(any(test, feature = "std"))]
pub fn build(files: &[(&str, &[u8])]) -> Result<alloc::vec::Vec<u8>, RamdiskError> {
    let mut out = alloc::vec::Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(files.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let mut data_offset = (HEADER_BYTES + files.len() * ENTRY_BYTES) as u64;
    for (name, data) in files {
        if name.is_empty() || name.len() > NAME_MAX_BYTES || name.contains('\0') {
            return Err(RamdiskError::BadName);
        }
        let mut name_field = [0u8; NAME_MAX_BYTES];
        name_field[..name.len()].copy_from_slice(name.as_bytes());
        out.extend_from_slice(&name_field);
        out.extend_from_slice(&data_offset.to_le_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        data_offset += data.len() as u64;
    }
    for (_, data) in files {
        out.extend_from_slice(data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn built_files_are_found() {
        let bytes = build(&[("hello", b"ELF..."), ("boot.cfg", b"init=hello\n")]).unwrap();
        let ramdisk = Ramdisk::parse(&bytes).unwrap();
        assert_eq!(ramdisk.find("hello").unwrap().data, b"ELF...");
        assert_eq!(ramdisk.find("boot.cfg").unwrap().data, b"init=hello\n");
        assert_eq!(ramdisk.find("missing"), None);
        assert_eq!(ramdisk.files().count(), 2);
    }

    #[test]
    fn rejects_bad_headers_and_entries() {
        assert_eq!(Ramdisk::parse(b"EXO").unwrap_err(), RamdiskError::Truncated);
        assert_eq!(
            Ramdisk::parse(&[0; 16]).unwrap_err(),
            RamdiskError::BadMagic
        );
        let mut bytes = build(&[("a", b"12345")]).unwrap();
        bytes[8] = 2;
        assert_eq!(Ramdisk::parse(&bytes).unwrap_err(), RamdiskError::Truncated);
        let mut bytes = build(&[("a", b"12345")]).unwrap();
        bytes[16 + 56] = 200;
        assert_eq!(
            Ramdisk::parse(&bytes).unwrap_err(),
            RamdiskError::DataOutOfBounds
        );
        assert_eq!(build(&[("", b"")]).unwrap_err(), RamdiskError::BadName);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Ramdisk::parse(&bytes).map(|ramdisk| ramdisk.files().count());
        }

        #[test]
        fn corrupted_ramdisks_never_panic(index in 0usize..200, value in any::<u8>()) {
            let mut bytes = build(&[("one", b"first file"), ("two", b"second")]).unwrap();
            let index = index % bytes.len();
            bytes[index] = value;
            let _ = Ramdisk::parse(&bytes).map(|ramdisk| ramdisk.files().count());
        }
    }
}
