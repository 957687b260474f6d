//! Where the program's image begins and ends, as the linker and its program headers say, and
//! whether the program may have made its code writable.

use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering};
use exo_abi::PageRights;
use exo_abi::region;
use exo_core::user_layout::IMAGE_END;

// SAFETY: the linker defines these symbols for every program; only their addresses are taken,
// never their contents read.
unsafe extern "C" {
    /// The program's ELF header, its first byte in memory (defined by the linker).
    static __ehdr_start: u8;
    /// The end of the code (defined by the linker).
    static _etext: u8;
    /// The end of the image, `.bss` included (defined by the linker).
    static _end: u8;
}

/// The program's first address (its ELF header's, which the first segment holds).
pub(crate) fn image_start() -> u64 {
    (&raw const __ehdr_start) as u64
}

/// The first address after the program's code.
pub(crate) fn code_end() -> u64 {
    (&raw const _etext) as u64
}

/// The first address after the program's image, `.bss` included.
pub(crate) fn image_end() -> u64 {
    (&raw const _end) as u64
}

/// The pages of the program's writable segment (`.data`, `.bss`), read from its program
/// headers, which linkers put in the image's first page (the loader needs them there too);
/// `None` unless it has exactly one (then a caller lists its bindings instead).
pub(crate) fn static_data_pages() -> Option<Range<u64>> {
    const PAGE_BYTES: usize = 4096;
    const PT_LOAD: u32 = 1;
    const PF_W: u32 = 2;
    // SAFETY: the image's first page holds the ELF header and is bound readable for as long as
    // the program runs (its first segment begins there); nothing writes it.
    let first_page = unsafe { core::slice::from_raw_parts(image_start() as *const u8, PAGE_BYTES) };
    let bytes = |at: usize, count: usize| first_page.get(at..at.checked_add(count)?);
    let word = |at: usize| Some(u64::from_le_bytes(bytes(at, 8)?.try_into().ok()?));
    let half = |at: usize| Some(u16::from_le_bytes(bytes(at, 2)?.try_into().ok()?));
    let quarter = |at: usize| Some(u32::from_le_bytes(bytes(at, 4)?.try_into().ok()?));
    let table = usize::try_from(word(0x20)?).ok()?;
    let (entry_bytes, count) = (usize::from(half(0x36)?), usize::from(half(0x38)?));
    let mut writable = None;
    for index in 0..count {
        let header = table.checked_add(index.checked_mul(entry_bytes)?)?;
        if quarter(header)? != PT_LOAD || quarter(header + 4)? & PF_W == 0 {
            continue;
        }
        if writable.is_some() {
            return None;
        }
        let (start, bytes) = (word(header + 16)?, word(header + 40)?);
        let end = start
            .checked_add(bytes)?
            .checked_next_multiple_of(PAGE_BYTES as u64)?;
        writable = Some(start & !(PAGE_BYTES as u64 - 1)..end);
    }
    writable
}

/// The regions that hold the program's code and read-only data, which the linker puts in
/// regions of their own (see the boot tool's `APP_RUSTFLAGS`).
pub(crate) fn code_regions() -> Range<u64> {
    let start = image_start() & !(region::BYTES - 1);
    start..code_end().next_multiple_of(region::BYTES)
}

/// Set once this process asks, through the library's calls, for a writable binding in its
/// code regions (a program that patches its code); never cleared, and inherited by a fork.
static CODE_MAY_BE_WRITABLE: AtomicBool = AtomicBool::new(false);

/// Notes a binding call about to give this process `rights` at `address`: the library's own
/// record of whether its code may be writable, which spares fork asking the kernel (a walk of
/// every code page the kernel loaded, one lookup each).
#[inline]
pub(crate) fn note_binding(address: u64, rights: PageRights) {
    // One comparison with a constant on the hot paths: the heap, the stack and the world lie
    // above the image area.
    if address < IMAGE_END {
        core::hint::cold_path();
        if rights.contains(PageRights::WRITABLE) && code_regions().contains(&address) {
            CODE_MAY_BE_WRITABLE.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether this process may have a writable binding in its code regions: false only when no
/// call of the library asked for one (a program that binds its pages with raw system calls
/// keeps the library from knowing; its forks then share its code as it is, whole).
pub(crate) fn code_may_be_writable() -> bool {
    CODE_MAY_BE_WRITABLE.load(Ordering::Relaxed)
}
