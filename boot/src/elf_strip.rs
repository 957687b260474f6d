//! An app's ELF cut to what loading it needs, for the ramdisk: the file up to the end of its
//! last segment, with no section table. The guest loads programs by their program headers only
//! (`exo_core::elf_plan`), and every byte of the ramdisk is read through the BIOS at boot and
//! copied into the file system's `/bin`; the symbol tables (half of a debug build) stay in the
//! build folder, where the profiler and debuggers read them.

use anyhow::{Result, anyhow};

/// Offsets in a 64-bit ELF header.
const PROGRAM_TABLE_OFFSET: usize = 0x20;
const SECTION_TABLE_OFFSET: usize = 0x28;
const PROGRAM_ENTRY_SIZE: usize = 0x36;
const PROGRAM_COUNT: usize = 0x38;
const SECTION_COUNT: usize = 0x3c;
const SECTION_NAMES_INDEX: usize = 0x3e;
const HEADER_BYTES: usize = 0x40;
/// Offsets in a 64-bit program header.
const SEGMENT_FILE_OFFSET: usize = 0x08;
const SEGMENT_FILE_SIZE: usize = 0x20;

/// `elf` without what follows its last segment's bytes, and with its header naming no section
/// table. Refuses what is not a little-endian 64-bit ELF file whose program headers lie
/// inside it.
pub fn loadable_part(elf: &[u8]) -> Result<Vec<u8>> {
    if elf.len() < HEADER_BYTES || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return Err(anyhow!("not a little-endian 64-bit ELF file"));
    }
    let table = read_u64(elf, PROGRAM_TABLE_OFFSET)? as usize;
    let entry_size = read_u16(elf, PROGRAM_ENTRY_SIZE)? as usize;
    let count = read_u16(elf, PROGRAM_COUNT)? as usize;
    let table_end = entry_size
        .checked_mul(count)
        .and_then(|bytes| bytes.checked_add(table))
        .filter(|&end| end <= elf.len())
        .ok_or_else(|| anyhow!("the program headers lie outside the file"))?;
    let mut end = table_end.max(HEADER_BYTES);
    for index in 0..count {
        let header = table + index * entry_size;
        let offset = read_u64(elf, header + SEGMENT_FILE_OFFSET)?;
        let size = read_u64(elf, header + SEGMENT_FILE_SIZE)?;
        let segment_end = offset
            .checked_add(size)
            .filter(|&segment_end| segment_end <= elf.len() as u64)
            .ok_or_else(|| anyhow!("segment {index} lies outside the file"))?;
        end = end.max(segment_end as usize);
    }
    let mut stripped = elf[..end].to_vec();
    stripped[SECTION_TABLE_OFFSET..SECTION_TABLE_OFFSET + 8].fill(0);
    stripped[SECTION_COUNT..SECTION_COUNT + 2].fill(0);
    stripped[SECTION_NAMES_INDEX..SECTION_NAMES_INDEX + 2].fill(0);
    Ok(stripped)
}

fn read_u16(bytes: &[u8], offset: usize) -> Result<u16> {
    bytes
        .get(offset..offset + 2)
        .map(|field| u16::from_le_bytes([field[0], field[1]]))
        .ok_or_else(|| anyhow!("the ELF file ends inside a header"))
}

fn read_u64(bytes: &[u8], offset: usize) -> Result<u64> {
    bytes
        .get(offset..offset + 8)
        .and_then(|field| field.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| anyhow!("the ELF file ends inside a header"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use exo_core::elf_builder::{RW, RX, TestSegment, static_executable};
    use exo_core::elf_plan;

    /// Code over the headers and the first bytes of content, data over the rest: 432 bytes.
    fn program() -> Vec<u8> {
        let code = TestSegment {
            vaddr: 0x40_0000,
            memsz: 0x100,
            offset: 0,
            filesz: 0x100,
            flags: RX,
        };
        let data = TestSegment {
            vaddr: 0x60_0100,
            memsz: 0x1000,
            offset: 0x100,
            filesz: 0xb0,
            flags: RW,
        };
        static_executable(0x40_0000, &[code, data])
    }

    #[test]
    fn symbols_after_the_segments_go_and_the_load_plan_stays() {
        let bare = program();
        let mut with_symbols = bare.clone();
        with_symbols.extend_from_slice(&[0xab; 5000]);
        let table = with_symbols.len() as u64;
        with_symbols.extend_from_slice(&[0; 64 * 3]);
        with_symbols[SECTION_TABLE_OFFSET..SECTION_TABLE_OFFSET + 8]
            .copy_from_slice(&table.to_le_bytes());
        with_symbols[SECTION_COUNT..SECTION_COUNT + 2].copy_from_slice(&3u16.to_le_bytes());
        with_symbols[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        with_symbols[SECTION_NAMES_INDEX..SECTION_NAMES_INDEX + 2]
            .copy_from_slice(&2u16.to_le_bytes());

        let stripped = loadable_part(&with_symbols).unwrap();
        assert_eq!(stripped.len(), bare.len());
        assert_eq!(
            elf_plan::plan(&stripped).unwrap(),
            elf_plan::plan(&with_symbols).unwrap()
        );
        assert_eq!(
            &stripped[SECTION_TABLE_OFFSET..SECTION_TABLE_OFFSET + 8],
            &[0; 8]
        );
        assert_eq!(loadable_part(&stripped).unwrap(), stripped);
    }

    #[test]
    fn what_is_not_a_whole_elf_file_is_refused() {
        let whole = program();
        assert!(loadable_part(b"\x7fELF pretend").is_err());
        assert!(loadable_part(&whole[..whole.len() - 1]).is_err());
        assert!(loadable_part(&whole[..0x50]).is_err());
        let mut big_endian = whole.clone();
        big_endian[5] = 2;
        assert!(loadable_part(&big_endian).is_err());
        let mut huge_count = whole;
        huge_count[PROGRAM_COUNT..PROGRAM_COUNT + 2].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(loadable_part(&huge_count).is_err());
    }
}
