//! Where things live in an environment's user half when the kernel builds it from an ELF file.
//!
//! ```text
//! 0x0000_0000_0000_0000 .. IMAGE_START   never mapped (null pointers fault)
//! IMAGE_START .. IMAGE_END               the program's ELF segments
//! IMAGE_END .. STACK_TOP - STACK_BYTES   unmapped
//! STACK_TOP - STACK_BYTES .. STACK_TOP   the initial stack; the argument string sits at its top
//! STACK_TOP .. USER_END                  unmapped
//! ```
//!
//! Everything lies in the first GiB, so a new address space needs one page-table page per
//! level above the last (each a zeroed frame charged to the environment); a library OS keeps
//! the same layout for the programs it loads, so that the first GiB also holds its heap and
//! the state its processes share.

/// Lowest address an ELF segment may occupy.
pub const IMAGE_START: u64 = 0x1_0000;
/// First address above the region ELF segments may occupy.
pub const IMAGE_END: u64 = 0x2000_0000;
/// First address above the initial stack: the last page of the first GiB stays unmapped.
pub const STACK_TOP: u64 = 0x3fff_f000;
/// Size of the initial stack (16 pages); the page below it stays unmapped as a guard.
pub const STACK_BYTES: u64 = 16 * crate::PAGE_SIZE;
