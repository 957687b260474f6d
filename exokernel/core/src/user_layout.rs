//! Where things live in an environment's user half when the kernel builds it from an ELF file.
//!
//! ```text
//! 0x0000_0000_0000_0000 .. IMAGE_START   never mapped (null pointers fault)
//! IMAGE_START .. IMAGE_END               the program's ELF segments
//! STACK_TOP - STACK_BYTES .. STACK_TOP   the initial stack; the argument string sits at its top
//! STACK_TOP .. USER_END                  unmapped
//! ```

/// Lowest address an ELF segment may occupy.
pub const IMAGE_START: u64 = 0x1_0000;
/// First address above the region ELF segments may occupy.
pub const IMAGE_END: u64 = 0x7000_0000_0000;
/// First address above the initial stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_0000;
/// Size of the initial stack (16 pages); the page below it stays unmapped as a guard.
pub const STACK_BYTES: u64 = 16 * crate::PAGE_SIZE;
