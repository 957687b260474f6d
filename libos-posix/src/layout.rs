//! Where the library OS puts things in a process's address space. The kernel fixes nothing but
//! the user half; these addresses are this library's choice, the same in every process, so
//! that memory shared between processes has the same address in each.
//!
//! ```text
//! 0x0000_0000_0040_0000  the program's ELF segments (apps are linked here), below HEAP_BASE
//! 0x0000_0000_2000_0000  the heap, grown as it fills
//! 0x0000_0000_3000_0000  the world: state shared by every process of the library OS
//! 0x0000_0000_3f7f_f000  STACK_LIMIT, the lowest page the stack grows down to
//! 0x0000_0000_3fff_e000  the stack's first page, below STACK_TOP
//! 0x0000_0000_3fff_f000  the startup block a parent leaves for its child
//! 0x0800_0000_0000 ..    shadows of image data, heap and stack pages shared copy-on-write
//!                        with forked children
//! 0x5a00_0000_0000 ..    the file server's windows: each client's transfer page
//! 0x6100_0000_0000 ..    the receive rings of UDP sockets (see `udp`)
//! 0x6400_0000_0000       the receive ring of ARP requests (see `arp`)
//! 0x67ff_fffe_f000       the transfer page a process shares with the file server
//! 0x67ff_ffff_0000       scratch pages, bound for a moment while copying
//! 0x6800_0000_0000 ..    windows of program images kept between spawns (see `images`)
//! ```
//!
//! The transfer page, the scratch pages and the image windows are private to a process and
//! lie next to one another, so that a fork lists the bindings around them in two calls.
//!
//! The program, its heap, the world, the stack and the startup block lie in the first GiB,
//! under one entry of each of the two top levels of the page table, and the stack and the
//! startup block share a last-level table: a new address space needs fewer page-table pages
//! (each a zeroed frame that every spawn and fork pays for, and frees again when the child
//! ends) than with the stack at the top of the user half; a spawn of `true` zeroes four
//! fewer.
//!
//! A shadow is a second, read-only binding of a page's frame at the page's address with
//! [`SHADOW_BIT`] flipped. Children forked copy-on-write bind the shadow, not the page, so the
//! parent can move its own page to a copy without taking the child's away.

use crate::runtime::image;
use core::ops::Range;

/// Lowest address of the heap: the end of the area the kernel's loader plan allows a
/// program's segments (`exo_core::user_layout::IMAGE_END`).
pub const HEAP_BASE: u64 = exo_core::user_layout::IMAGE_END;
/// Most bytes the heap grows to.
pub const HEAP_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Where the world (see `world`) is bound in every process.
pub const WORLD_BASE: u64 = 0x3000_0000;
/// Most bytes the world's regions span; the gap above them to [`STACK_LIMIT`] stays unmapped.
pub const WORLD_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The page where a libOS parent leaves its child's startup block (see `startup`): the page
/// at [`STACK_TOP`], which shares its page table with the stack's first pages.
pub const STARTUP_ADDRESS: u64 = STACK_TOP;
const _: () = assert!(HEAP_BASE + HEAP_MAX_BYTES <= WORLD_BASE);
const _: () = assert!(WORLD_BASE + WORLD_MAX_BYTES < STACK_LIMIT);
const _: () = assert!(STARTUP_ADDRESS + PAGE_BYTES <= 1 << 30);
/// The page a process lends the file server for good, for the bytes of its requests (see
/// `file_client`); private to the process (a forked child connects with its own).
pub const TRANSFER_PAGE: u64 = SCRATCH_BASE - PAGE_BYTES;
/// Where the file server binds the transfer page of its first client; the others follow.
pub const FILE_SERVER_WINDOWS: u64 = 0x5a00_0000_0000;
/// The first of [`SCRATCH_PAGES`] pages this library binds for a moment to fill or copy a frame.
pub const SCRATCH_BASE: u64 = IMAGE_WINDOWS_BASE - SCRATCH_PAGES * PAGE_BYTES;
/// How many scratch pages there are.
pub const SCRATCH_PAGES: u64 = 16;
/// The first of [`IMAGE_WINDOWS`] windows of [`IMAGE_WINDOW_BYTES`] where this process keeps
/// the program images it spawned from (see `images`).
pub const IMAGE_WINDOWS_BASE: u64 = 0x6800_0000_0000;
/// How many image windows there are.
pub const IMAGE_WINDOWS: u64 = 8;
/// Bytes of one image window: a program whose segments span more is not loaded.
pub const IMAGE_WINDOW_BYTES: u64 = 1 << 36;
/// The first address above the stack (the kernel's choice for programs it loads, kept for
/// programs this library loads).
pub const STACK_TOP: u64 = exo_core::user_layout::STACK_TOP;
/// Bytes of stack a program this library loads starts with; the fault handler, registered
/// first thing at start, binds more as the stack grows, down to [`STACK_LIMIT`]. One page:
/// each page given at spawn costs a copy, a binding and a free (`true` needs no more).
pub const STACK_BYTES: u64 = PAGE_BYTES;
/// The lowest address the stack grows down to; a fault between here and the stack's lowest
/// page binds the missing pages.
pub const STACK_LIMIT: u64 = STACK_TOP - 8 * 1024 * 1024;
/// The bit flipped in a page's address to find its shadow.
pub const SHADOW_BIT: u64 = 1 << 43;
/// Bytes in a page.
pub const PAGE_BYTES: u64 = 4096;

/// The regions of memory that is writable by nature, and so may be shared copy-on-write: the
/// image's data, the heap and the stack. A shadow is outside all of them.
fn copy_on_write_regions() -> [(u64, u64); 3] {
    [
        image_data(),
        (HEAP_BASE, HEAP_BASE + HEAP_MAX_BYTES),
        (STACK_LIMIT, STACK_TOP),
    ]
}

/// The pages of the program's writable segments: from the page after its code to the end of
/// its image (the linker places data after code, each segment on pages of its own).
fn image_data() -> (u64, u64) {
    (
        image::code_end().next_multiple_of(PAGE_BYTES),
        image::image_end().next_multiple_of(PAGE_BYTES),
    )
}

/// Whether the page at `address` is writable by nature (image data, heap or stack), so that a
/// read-only binding of it there is copy-on-write sharing.
pub fn is_copy_on_write_region(address: u64) -> bool {
    copy_on_write_regions()
        .iter()
        .any(|&(start, end)| (start..end).contains(&address))
}

/// The shadow address of the page at `address`.
pub fn shadow_of(address: u64) -> u64 {
    address ^ SHADOW_BIT
}

/// Whether `address` is in a shadow region.
pub fn is_shadow(address: u64) -> bool {
    is_copy_on_write_region(shadow_of(address)) && !is_copy_on_write_region(address)
}

/// Whether `address` is one of the scratch pages.
pub fn is_scratch(address: u64) -> bool {
    (SCRATCH_BASE..SCRATCH_BASE + SCRATCH_PAGES * PAGE_BYTES).contains(&address)
}

/// Whether `address` is in one of the image windows.
pub fn is_image_window(address: u64) -> bool {
    (IMAGE_WINDOWS_BASE..IMAGE_WINDOWS_BASE + IMAGE_WINDOWS * IMAGE_WINDOW_BYTES).contains(&address)
}

/// The pages that belong to this process alone, so that a forked child does not get them: the
/// scratch pages, the transfer page and the kept program images, in address order.
pub fn private_ranges() -> [Range<u64>; 3] {
    [
        TRANSFER_PAGE..TRANSFER_PAGE + PAGE_BYTES,
        SCRATCH_BASE..SCRATCH_BASE + SCRATCH_PAGES * PAGE_BYTES,
        IMAGE_WINDOWS_BASE..IMAGE_WINDOWS_BASE + IMAGE_WINDOWS * IMAGE_WINDOW_BYTES,
    ]
}

const _: () = assert!(
    TRANSFER_PAGE + PAGE_BYTES == SCRATCH_BASE
        && SCRATCH_BASE + SCRATCH_PAGES * PAGE_BYTES == IMAGE_WINDOWS_BASE
);

/// Whether the page at `address` is in one of the [`private_ranges`].
pub fn is_private(address: u64) -> bool {
    private_ranges()
        .iter()
        .any(|range| range.contains(&address))
}

/// The address of scratch page `index`.
pub fn scratch_page(index: u64) -> u64 {
    debug_assert!(index < SCRATCH_PAGES);
    SCRATCH_BASE + index * PAGE_BYTES
}
