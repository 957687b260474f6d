//! Building small ELF executables on the host, for the tests of the loader and of the kernel
//! that runs what it loads.

use crate::PAGE_SIZE;
use alloc::vec;
use alloc::vec::Vec;
use elf::abi::{EM_X86_64, ET_EXEC, PT_LOAD};

/// One loadable segment of a test executable.
pub struct TestSegment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub flags: u32,
}

/// Segment flags: readable.
pub const R: u32 = 4;
/// Readable and executable.
pub const RX: u32 = 5;
/// Readable and writable.
pub const RW: u32 = 6;

/// A minimal ELF64 executable: header, program headers, then 0x100 bytes of content.
pub fn elf_file(e_type: u16, machine: u16, entry: u64, segments: &[TestSegment]) -> Vec<u8> {
    let phoff = 64u64;
    let mut file = vec![0u8; 64];
    file[..4].copy_from_slice(b"\x7fELF");
    file[4] = 2; // 64-bit
    file[5] = 1; // little-endian
    file[6] = 1; // version
    file[16..18].copy_from_slice(&e_type.to_le_bytes());
    file[18..20].copy_from_slice(&machine.to_le_bytes());
    file[20..24].copy_from_slice(&1u32.to_le_bytes());
    file[24..32].copy_from_slice(&entry.to_le_bytes());
    file[32..40].copy_from_slice(&phoff.to_le_bytes());
    file[52..54].copy_from_slice(&64u16.to_le_bytes());
    file[54..56].copy_from_slice(&56u16.to_le_bytes());
    file[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    for segment in segments {
        let mut header = vec![0u8; 56];
        header[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        header[4..8].copy_from_slice(&segment.flags.to_le_bytes());
        header[8..16].copy_from_slice(&segment.offset.to_le_bytes());
        header[16..24].copy_from_slice(&segment.vaddr.to_le_bytes());
        header[24..32].copy_from_slice(&segment.vaddr.to_le_bytes());
        header[32..40].copy_from_slice(&segment.filesz.to_le_bytes());
        header[40..48].copy_from_slice(&segment.memsz.to_le_bytes());
        header[48..56].copy_from_slice(&PAGE_SIZE.to_le_bytes());
        file.extend_from_slice(&header);
    }
    file.resize(file.len() + 0x100, 0xcc);
    file
}

/// A static x86_64 executable of `segments` entered at `entry`, as the loader accepts.
pub fn static_executable(entry: u64, segments: &[TestSegment]) -> Vec<u8> {
    elf_file(ET_EXEC, EM_X86_64, entry, segments)
}
