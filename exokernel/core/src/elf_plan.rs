//! Checks an ELF executable and turns it into a load plan: which bytes go where, with which
//! rights. Everything the kernel needs to know about a program file is decided here, before it
//! allocates a single frame.

use crate::PAGE_SIZE;
use crate::user_layout::{IMAGE_END, IMAGE_START};
use alloc::vec::Vec;
use elf::ElfBytes;
use elf::abi::{EM_X86_64, ET_DYN, ET_EXEC, PF_W, PF_X, PT_LOAD};
use elf::endian::LittleEndian;

/// One loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address of the first byte.
    pub virtual_address: u64,
    /// Bytes the segment occupies in memory (the tail past `file_len` is zero).
    pub memory_len: u64,
    /// Offset of the segment's bytes in the file.
    pub file_offset: u64,
    /// Bytes copied from the file.
    pub file_len: u64,
    pub is_writable: bool,
    pub is_executable: bool,
}

impl Segment {
    /// Address of the first page the segment touches.
    pub fn first_page(&self) -> u64 {
        self.virtual_address & !(PAGE_SIZE - 1)
    }

    /// Address just past the last page the segment touches.
    pub fn end_page(&self) -> u64 {
        (self.virtual_address + self.memory_len).div_ceil(PAGE_SIZE) * PAGE_SIZE
    }
}

/// A checked program: its entry point and its segments, sorted by address, no two sharing a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    pub entry: u64,
    pub segments: Vec<Segment>,
}

/// Why a file is not a loadable program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Not a well-formed 64-bit little-endian ELF file.
    Malformed,
    /// Built for another machine than x86_64.
    WrongMachine,
    /// A position-independent executable; apps must be linked static (see the boot tool).
    PositionIndependent,
    /// Not an executable at all (object file, core dump...).
    NotExecutable,
    /// No loadable segment.
    NoSegments,
    /// A segment claims more file bytes than memory bytes, or file bytes past the file's end.
    BadFileRange,
    /// A segment lies (partly) outside the program region of the user half.
    OutsideUserImage,
    /// Two segments share a page.
    Overlap,
    /// A segment is both writable and executable.
    WritableAndExecutable,
    /// The entry point is not inside an executable segment.
    BadEntry,
}

/// Checks `file` and returns its load plan.
pub fn plan(file: &[u8]) -> Result<LoadPlan, ElfError> {
    plan_from_start(file, file.len() as u64)
}

/// The load plan of a file of `file_len` bytes that begins with `start`, which must hold the
/// ELF header and the program headers: a loader that reads segments straight to their frames
/// need not hold the whole file. The same checks as [`plan`], against `file_len`.
pub fn plan_from_start(start: &[u8], file_len: u64) -> Result<LoadPlan, ElfError> {
    if start.len() as u64 > file_len {
        return Err(ElfError::Malformed);
    }
    if (start.len() as u64) < file_len {
        return plan_parsed(&without_section_table(start)?, file_len);
    }
    plan_parsed(start, file_len)
}

/// Offsets in the ELF header of the section table's place and size, and of the program
/// header count.
const SECTION_TABLE_OFFSET: usize = 0x28;
const SECTION_COUNT: usize = 0x3c;
const PROGRAM_HEADER_COUNT: usize = 0x38;
/// The program header count that says the real count is in the first section header.
const COUNT_IN_SECTION_ZERO: u16 = 0xffff;

/// A copy of `start` whose header names no section table: a plan uses no section, and the
/// parser checks the table is inside the bytes it is given, which the table at the end of a
/// file is not. A file that keeps its program header count in its first section header
/// cannot be planned from its start.
fn without_section_table(start: &[u8]) -> Result<Vec<u8>, ElfError> {
    let count = start
        .get(PROGRAM_HEADER_COUNT..PROGRAM_HEADER_COUNT + 2)
        .ok_or(ElfError::Malformed)?;
    if u16::from_le_bytes([count[0], count[1]]) == COUNT_IN_SECTION_ZERO {
        return Err(ElfError::Malformed);
    }
    let mut copy = start.to_vec();
    copy.get_mut(SECTION_TABLE_OFFSET..SECTION_TABLE_OFFSET + 8)
        .ok_or(ElfError::Malformed)?
        .fill(0);
    copy.get_mut(SECTION_COUNT..SECTION_COUNT + 2)
        .ok_or(ElfError::Malformed)?
        .fill(0);
    Ok(copy)
}

fn plan_parsed(file: &[u8], file_len: u64) -> Result<LoadPlan, ElfError> {
    let elf = ElfBytes::<LittleEndian>::minimal_parse(file).map_err(|_| ElfError::Malformed)?;
    if elf.ehdr.class != elf::file::Class::ELF64 {
        return Err(ElfError::Malformed);
    }
    if elf.ehdr.e_machine != EM_X86_64 {
        return Err(ElfError::WrongMachine);
    }
    match elf.ehdr.e_type {
        ET_EXEC => {}
        ET_DYN => return Err(ElfError::PositionIndependent),
        _ => return Err(ElfError::NotExecutable),
    }
    let headers = elf.segments().ok_or(ElfError::NoSegments)?;
    let mut segments = Vec::new();
    for header in headers
        .iter()
        .filter(|header| header.p_type == PT_LOAD && header.p_memsz > 0)
    {
        let segment = Segment {
            virtual_address: header.p_vaddr,
            memory_len: header.p_memsz,
            file_offset: header.p_offset,
            file_len: header.p_filesz,
            is_writable: header.p_flags & PF_W != 0,
            is_executable: header.p_flags & PF_X != 0,
        };
        check_segment(&segment, file_len)?;
        segments.push(segment);
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    segments.sort_by_key(|segment| segment.virtual_address);
    if segments
        .windows(2)
        .any(|pair| pair[0].end_page() > pair[1].first_page())
    {
        return Err(ElfError::Overlap);
    }
    let entry = elf.ehdr.e_entry;
    let entry_is_code = segments.iter().any(|segment| {
        segment.is_executable
            && (segment.virtual_address..segment.virtual_address + segment.memory_len)
                .contains(&entry)
    });
    if !entry_is_code {
        return Err(ElfError::BadEntry);
    }
    Ok(LoadPlan { entry, segments })
}

fn check_segment(segment: &Segment, file_len: u64) -> Result<(), ElfError> {
    let file_end = segment.file_offset.checked_add(segment.file_len);
    if segment.file_len > segment.memory_len || file_end.is_none_or(|end| end > file_len) {
        return Err(ElfError::BadFileRange);
    }
    let memory_end = segment.virtual_address.checked_add(segment.memory_len);
    if segment.virtual_address < IMAGE_START || memory_end.is_none_or(|end| end > IMAGE_END) {
        return Err(ElfError::OutsideUserImage);
    }
    if segment.is_writable && segment.is_executable {
        return Err(ElfError::WritableAndExecutable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf_builder::{R, RW, RX, TestSegment, elf_file};
    use proptest::prelude::*;

    fn code(vaddr: u64) -> TestSegment {
        TestSegment {
            vaddr,
            memsz: 0x40,
            offset: 0,
            filesz: 0x40,
            flags: RX,
        }
    }

    #[test]
    fn plans_a_good_executable() {
        let data = TestSegment {
            vaddr: 0x402000,
            memsz: 0x2000,
            offset: 0x40,
            filesz: 0x10,
            flags: RW,
        };
        let plan = plan(&elf_file(
            ET_EXEC,
            EM_X86_64,
            0x400010,
            &[data, code(0x400000)],
        ))
        .unwrap();
        assert_eq!(plan.entry, 0x400010);
        assert_eq!(plan.segments.len(), 2);
        assert_eq!(plan.segments[0].virtual_address, 0x400000);
        assert!(plan.segments[0].is_executable && !plan.segments[0].is_writable);
        assert_eq!(plan.segments[1].end_page(), 0x404000);
    }

    #[test]
    fn refuses_what_is_not_a_static_x86_64_executable() {
        assert_eq!(plan(b"not an elf"), Err(ElfError::Malformed));
        assert_eq!(
            plan(&elf_file(ET_DYN, EM_X86_64, 0x400000, &[code(0x400000)])),
            Err(ElfError::PositionIndependent)
        );
        assert_eq!(
            plan(&elf_file(1, EM_X86_64, 0x400000, &[code(0x400000)])),
            Err(ElfError::NotExecutable)
        );
        assert_eq!(
            plan(&elf_file(ET_EXEC, 40, 0x400000, &[code(0x400000)])),
            Err(ElfError::WrongMachine)
        );
        assert_eq!(
            plan(&elf_file(ET_EXEC, EM_X86_64, 0x400000, &[])),
            Err(ElfError::NoSegments)
        );
    }

    #[test]
    fn refuses_bad_segments() {
        let cases = [
            (
                TestSegment {
                    vaddr: 0x400000,
                    memsz: 0x10,
                    offset: 0,
                    filesz: 0x20,
                    flags: RX,
                },
                ElfError::BadFileRange,
            ),
            (
                TestSegment {
                    vaddr: 0x400000,
                    memsz: 0x10,
                    offset: 0x10000,
                    filesz: 0x10,
                    flags: RX,
                },
                ElfError::BadFileRange,
            ),
            (
                TestSegment {
                    vaddr: u64::MAX - 0x10,
                    memsz: 0x40,
                    offset: 0,
                    filesz: 0x10,
                    flags: RX,
                },
                ElfError::OutsideUserImage,
            ),
            (
                TestSegment {
                    vaddr: 0x1000,
                    memsz: 0x10,
                    offset: 0,
                    filesz: 0x10,
                    flags: RX,
                },
                ElfError::OutsideUserImage,
            ),
            (
                TestSegment {
                    vaddr: 0xffff_8000_0000_0000,
                    memsz: 0x10,
                    offset: 0,
                    filesz: 0x10,
                    flags: RX,
                },
                ElfError::OutsideUserImage,
            ),
            (
                TestSegment {
                    vaddr: 0x400000,
                    memsz: 0x10,
                    offset: 0,
                    filesz: 0x10,
                    flags: RX | RW,
                },
                ElfError::WritableAndExecutable,
            ),
        ];
        for (segment, error) in cases {
            assert_eq!(
                plan(&elf_file(ET_EXEC, EM_X86_64, 0x400000, &[segment])),
                Err(error)
            );
        }
    }

    #[test]
    fn refuses_shared_pages_and_bad_entries() {
        let data = TestSegment {
            vaddr: 0x400800,
            memsz: 0x10,
            offset: 0,
            filesz: 0,
            flags: RW,
        };
        assert_eq!(
            plan(&elf_file(
                ET_EXEC,
                EM_X86_64,
                0x400000,
                &[code(0x400000), data]
            )),
            Err(ElfError::Overlap)
        );
        let data = TestSegment {
            vaddr: 0x500000,
            memsz: 0x10,
            offset: 0,
            filesz: 0,
            flags: R,
        };
        assert_eq!(
            plan(&elf_file(
                ET_EXEC,
                EM_X86_64,
                0x500000,
                &[code(0x400000), data]
            )),
            Err(ElfError::BadEntry)
        );
    }

    #[test]
    fn the_start_of_a_file_plans_as_the_whole_file() {
        let data = TestSegment {
            vaddr: 0x402000,
            memsz: 0x2000,
            offset: 0x1000,
            filesz: 0x10,
            flags: RW,
        };
        let mut file = elf_file(ET_EXEC, EM_X86_64, 0x400010, &[code(0x400000), data]);
        file.resize(0x1010, 0);
        let whole = plan(&file).unwrap();
        assert_eq!(plan_from_start(&file[..0x200], 0x1010), Ok(whole));
        // Segment bytes are checked against the file's length, not the start's.
        assert_eq!(
            plan_from_start(&file[..0x200], 0x1000),
            Err(ElfError::BadFileRange)
        );
        // A section table past the start (as linkers put it, at the end) is no obstacle.
        let mut with_sections = file.clone();
        with_sections[0x28..0x30].copy_from_slice(&0x1000u64.to_le_bytes());
        with_sections[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        with_sections[0x3c..0x3e].copy_from_slice(&1u16.to_le_bytes());
        with_sections.resize(0x1040, 0);
        assert!(plan(&with_sections).is_ok());
        assert!(plan_from_start(&with_sections[..0x200], 0x1040).is_ok());
        with_sections[0x38..0x3a].copy_from_slice(&0xffffu16.to_le_bytes());
        assert_eq!(
            plan_from_start(&with_sections[..0x200], 0x1040),
            Err(ElfError::Malformed)
        );
        // Program headers past the start cannot be read.
        assert_eq!(
            plan_from_start(&file[..0x50], 0x1010),
            Err(ElfError::Malformed)
        );
        assert_eq!(plan_from_start(&file, 0x100), Err(ElfError::Malformed));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = plan(&bytes);
        }

        #[test]
        fn corrupted_executables_never_panic_and_plans_stay_in_bounds(index in 0usize..176, value in any::<u8>()) {
            let mut file = elf_file(ET_EXEC, EM_X86_64, 0x400000, &[code(0x400000)]);
            file[index] = value;
            if let Ok(plan) = plan(&file) {
                for segment in plan.segments {
                    prop_assert!(segment.virtual_address >= IMAGE_START);
                    prop_assert!(segment.virtual_address + segment.memory_len <= IMAGE_END);
                    prop_assert!(segment.file_offset + segment.file_len <= file.len() as u64);
                }
            }
        }
    }
}
