//! Device registers in the kernel half: every PCI memory BAR a driver uses is mapped, uncached,
//! into a window of kernel virtual addresses of its own.
//!
//! The bootloader's map of physical memory covers only the first 4 GiB (and RAM above), and it
//! is write-back cacheable; OVMF puts 64-bit BARs far above RAM (near 896 GiB under QEMU), so
//! device memory gets its own mapping with PCD and PWT set (uncacheable with the default PAT,
//! Intel SDM vol. 3A, 12.12.3), whatever its address.
//!
//! The window is one top-level (PML4) slot of the boot page table that the bootloader left
//! unused. Every address space copies the kernel half's top-level entries when it is created,
//! so device memory must be mapped at boot, before the first environment exists; after that,
//! mappings inside the window's slot are seen by every address space.

use crate::arch::paging;
use crate::memory::physical_to_virtual;
use alloc::vec::Vec;
use core::ptr::NonNull;
use exo_core::PAGE_SIZE;
use exo_core::frame_table::{FrameOwner, FrameTable};
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

/// First top-level slot of the kernel half (address `0xffff_8000_0000_0000`).
const KERNEL_HALF_FIRST_SLOT: u64 = 256;
/// Bytes one top-level slot maps.
const SLOT_BYTES: u64 = 1 << 39;

/// Why device memory could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Every top-level slot of the kernel half is in use.
    NoFreeSlot,
    /// The window is full.
    WindowFull,
    /// No free frame for a page table.
    NoMemory,
    /// A page of the window was mapped already (the window's bookkeeping is wrong).
    AlreadyMapped,
    /// The range is empty or runs past the 52 bits of a physical address.
    BadRange,
}

/// Device memory mapped in the window.
#[derive(Clone, Copy, Debug)]
struct DeviceMapping {
    physical_start: u64,
    bytes: u64,
    virtual_start: u64,
}

/// The window: where the next mapping goes, and what is mapped.
struct Window {
    next_virtual: u64,
    end_virtual: u64,
    mappings: Vec<DeviceMapping>,
}

static WINDOW: spin::Mutex<Option<Window>> = spin::Mutex::new(None);

/// Maps the `bytes` of device memory at `physical_start` (a BAR) into the window, uncached, with
/// page tables charged to the kernel. Call at boot, before the first environment is created.
pub fn map(physical_start: u64, bytes: u64, frames: &mut FrameTable) -> Result<(), MapError> {
    paging::activate_kernel_root();
    let mut window = WINDOW.lock();
    if window.is_none() {
        *window = Some(open_window()?);
    }
    let window = window.as_mut().expect("opened above");
    let physical_end = physical_start
        .checked_add(bytes)
        .filter(|&end| bytes > 0 && PhysAddr::try_new(end).is_ok())
        .ok_or(MapError::BadRange)?;
    let first_page = physical_start & !(PAGE_SIZE - 1);
    let page_count = (physical_end - first_page).div_ceil(PAGE_SIZE);
    let virtual_first_page = window.next_virtual;
    let virtual_end = page_count
        .checked_mul(PAGE_SIZE)
        .and_then(|window_bytes| virtual_first_page.checked_add(window_bytes))
        .filter(|&end| end <= window.end_virtual)
        .ok_or(MapError::WindowFull)?;
    let mut mapper = kernel_mapper();
    let mut allocator = KernelFrames(frames);
    let flags = PageTableFlags::PRESENT
        | PageTableFlags::WRITABLE
        | PageTableFlags::NO_EXECUTE
        | PageTableFlags::NO_CACHE
        | PageTableFlags::WRITE_THROUGH;
    for index in 0..page_count {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(
            virtual_first_page + index * PAGE_SIZE,
        ));
        let frame = PhysFrame::containing_address(PhysAddr::new(first_page + index * PAGE_SIZE));
        // SAFETY: `frame` is device memory, not RAM, so no Rust object lives there, and `page`
        // lies in the window, which nothing else maps; the new entry only adds a translation.
        let mapped = unsafe { mapper.map_to(page, frame, flags, &mut allocator) };
        mapped.map_err(map_error)?.flush();
    }
    window.next_virtual = virtual_end;
    window.mappings.push(DeviceMapping {
        physical_start,
        bytes,
        virtual_start: virtual_first_page + (physical_start - first_page),
    });
    Ok(())
}

/// The kernel virtual address of the `bytes` of device memory at `physical_start`, when a single
/// earlier [`map`] covered all of them.
pub fn virtual_address(physical_start: u64, bytes: usize) -> Option<NonNull<u8>> {
    let window = WINDOW.lock();
    let physical_end = physical_start.checked_add(bytes as u64)?;
    let mapping = window.as_ref()?.mappings.iter().find(|mapping| {
        physical_start >= mapping.physical_start
            && physical_end <= mapping.physical_start + mapping.bytes
    })?;
    let address = mapping.virtual_start + (physical_start - mapping.physical_start);
    NonNull::new(address as *mut u8)
}

/// Claims the first unused top-level slot of the kernel half.
fn open_window() -> Result<Window, MapError> {
    let root = root_table();
    let slot = (KERNEL_HALF_FIRST_SLOT..512)
        .find(|&slot| root[slot as usize].is_unused())
        .ok_or(MapError::NoFreeSlot)?;
    // Kernel-half addresses are sign-extended: bits 63..48 copy bit 47, which is set.
    let start = 0xffff_0000_0000_0000 | (slot * SLOT_BYTES);
    Ok(Window {
        next_virtual: start,
        // The slot's last page stays unused, so that `end_virtual` does not overflow.
        end_virtual: start + (SLOT_BYTES - PAGE_SIZE),
        mappings: Vec::new(),
    })
}

fn root_table() -> &'static PageTable {
    let (root, _) = Cr3::read();
    // SAFETY: CR3 holds the active top-level table, a RAM frame the physical-memory map covers;
    // it is only read here.
    unsafe { &*(physical_to_virtual(root.start_address().as_u64()) as *const PageTable) }
}

/// A mapper over the active (boot) page table.
fn kernel_mapper() -> OffsetPageTable<'static> {
    let (root, _) = Cr3::read();
    let offset = VirtAddr::new(physical_to_virtual(0) as u64);
    // SAFETY: the physical-memory map covers all RAM at `offset`, and the root is the active
    // table; the kernel runs on one CPU with interrupts off and the window lock held, so nothing
    // else changes page tables while the mapper lives (it lives for one `map` call).
    unsafe {
        let table = &mut *(physical_to_virtual(root.start_address().as_u64()) as *mut PageTable);
        OffsetPageTable::new(table, offset)
    }
}

fn map_error<S: x86_64::structures::paging::PageSize>(
    error: x86_64::structures::paging::mapper::MapToError<S>,
) -> MapError {
    use x86_64::structures::paging::mapper::MapToError;
    match error {
        MapToError::FrameAllocationFailed => MapError::NoMemory,
        MapToError::ParentEntryHugePage | MapToError::PageAlreadyMapped(_) => {
            MapError::AlreadyMapped
        }
    }
}

/// Page-table frames for the window, taken from the frame table as the kernel's.
struct KernelFrames<'a>(&'a mut FrameTable);

// SAFETY: every frame returned was free in the frame table and is now the kernel's, so it is
// unused RAM that nothing else will hand out.
unsafe impl FrameAllocator<Size4KiB> for KernelFrames<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let frame = self.0.allocate(FrameOwner::Kernel).ok().flatten()?;
        Some(PhysFrame::containing_address(PhysAddr::new(
            frame * PAGE_SIZE,
        )))
    }
}
