//! Environment address spaces: 4-level page tables whose kernel half is shared with the boot
//! page table and whose user half is built only from frames the environment owns.
//!
//! Page-table pages are reached through the bootloader's map of all physical memory.

use crate::memory::{frame_to_virtual, physical_to_virtual};
use core::cell::Cell;
use exo_abi::{Error, PageRights, PageUse};
use exo_core::PAGE_SIZE;
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner, FrameTable};
use exo_system::platform::{self, Access, UserEntry};
use x86_64::PhysAddr;
use x86_64::VirtAddr;
use x86_64::instructions::tlb;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags, PhysFrame};

/// First PML4 slot of the kernel half (address 0xffff_8000_0000_0000).
const KERNEL_HALF_FIRST_SLOT: usize = 256;

/// Marks a level-2 entry that points at another environment's last-level table (a borrowed
/// region, `exo_abi::Syscall::RegionShare`): this space never writes through it. One of the
/// bits the MMU leaves to software.
const BORROWED: PageTableFlags = PageTableFlags::BIT_9;

/// log2 of the bytes one last-level table maps: a region's.
const REGION_SHIFT: u32 = exo_abi::region::BYTES.trailing_zeros();

/// How many own last-level tables an address space remembers (a program's code, heap and
/// stacks lie in different regions).
const REMEMBERED_TABLES: usize = 8;

/// The bits the MMU sets in a leaf when the page is used.
const USAGE_FLAGS: PageTableFlags = PageTableFlags::ACCESSED.union(PageTableFlags::DIRTY);

/// The flags of the entries that lead to a user table.
const TABLE_FLAGS: PageTableFlags = PageTableFlags::PRESENT
    .union(PageTableFlags::WRITABLE)
    .union(PageTableFlags::USER_ACCESSIBLE);

static KERNEL_ROOT: spin::Once<FrameNumber> = spin::Once::new();

/// Records the boot page table, whose kernel half every address space shares.
pub fn init() {
    let (root, _) = Cr3::read();
    KERNEL_ROOT.call_once(|| root.start_address().as_u64() / PAGE_SIZE);
}

/// Switches to the kernel's own page table (no user half).
pub fn activate_kernel_root() {
    activate(*KERNEL_ROOT.get().expect("paging initialised"));
}

#[inline]
fn activate(root: FrameNumber) {
    // Frame numbers come from the frame table: always a physical address.
    let frame = PhysFrame::containing_address(PhysAddr::new_truncate(root * PAGE_SIZE));
    if Cr3::read().0 != frame {
        // SAFETY: `root` is the boot table or an address space built by `AddressSpace::new`,
        // both of which map the whole kernel half identically.
        unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    }
}

fn table_at(frame: FrameNumber) -> &'static mut PageTable {
    // SAFETY: `frame` is a page-table page (the boot PML4 or a frame the frame table gave to an
    // address space as `PageTableOf`), mapped by the physical-memory map, and the kernel runs on
    // one CPU with interrupts off, so no other reference to it is live.
    unsafe { &mut *(frame_to_virtual(frame) as *mut PageTable) }
}

/// Index of `address`'s entry in the table of `level` (4 = PML4, 1 = page table).
fn table_index(address: u64, level: u32) -> usize {
    ((address >> (12 + 9 * (level - 1))) & 0x1FF) as usize
}

/// An environment's page table.
#[derive(Debug)]
pub struct AddressSpace {
    root: FrameNumber,
    owner: EnvId,
    /// Region numbers (address / 2 MiB) and own last-level tables that walks reached, by the
    /// region number's low bits. An own table stays its region's until the space ends (only
    /// borrowed entries are ever cleared, and a used entry is never replaced), so a page of a
    /// remembered region skips the walk from the root.
    own_tables: [Cell<Option<(u64, FrameNumber)>>; REMEMBERED_TABLES],
}

impl platform::AddressSpace for AddressSpace {
    /// A new address space for `owner`: an empty user half and the kernel half of the boot
    /// table (not user-accessible at the top level).
    fn new(owner: EnvId, frames: &mut FrameTable) -> Result<AddressSpace, Error> {
        let root = allocate_zeroed(frames, FrameOwner::PageTableOf(owner))?;
        let kernel = table_at(*KERNEL_ROOT.get().expect("paging initialised"));
        let table = table_at(root);
        for slot in KERNEL_HALF_FIRST_SLOT..512 {
            let entry = &kernel[slot];
            let flags = entry.flags() & !PageTableFlags::USER_ACCESSIBLE;
            table[slot].set_addr(entry.addr(), flags);
        }
        Ok(AddressSpace {
            root,
            owner,
            own_tables: Default::default(),
        })
    }

    /// Makes this the active address space.
    #[inline]
    fn activate(&self) {
        activate(self.root);
    }

    /// Maps the user page at `page_address` to `frame` with `rights`, creating intermediate
    /// tables charged to the owner. The caller has checked that the owner may use `frame` and
    /// that `page_address` is a page-aligned user-half address.
    fn map(
        &mut self,
        page_address: u64,
        frame: FrameNumber,
        rights: PageRights,
        frames: &mut FrameTable,
    ) -> Result<(), Error> {
        debug_assert!(page_address < exo_abi::USER_END && page_address.is_multiple_of(PAGE_SIZE));
        let table = self.table_for(page_address, 1, frames)?;
        table[table_index(page_address, 1)]
            .set_addr(PhysAddr::new(frame * PAGE_SIZE), leaf_flags(rights));
        Ok(())
    }

    /// Removes the mapping of the user page at `page_address`, if any, and drops it from the TLB.
    fn unmap(&mut self, page_address: u64) {
        if let Some(entry) = self.leaf_entry(page_address) {
            entry.set_unused();
            self.invalidate(page_address);
        }
    }

    /// Changes the rights of the mapped user page at `page_address`.
    fn set_rights(&mut self, page_address: u64, rights: PageRights) {
        if let Some(entry) = self.leaf_entry(page_address)
            && !entry.is_unused()
        {
            // The usage bits stay: a pager's view of the page does not depend on its rights.
            let usage = entry.flags() & USAGE_FLAGS;
            entry.set_flags(leaf_flags(rights) | usage);
            self.invalidate(page_address);
        }
    }

    /// The accessed and dirty bits of the bound page at `page_address`, clearing those in
    /// `clear`.
    fn take_usage(&mut self, page_address: u64, clear: PageUse) -> PageUse {
        let Some(entry) = self.leaf_entry(page_address) else {
            return PageUse::empty();
        };
        if entry.is_unused() {
            return PageUse::empty();
        }
        let flags = entry.flags();
        let mut usage = PageUse::empty();
        let mut cleared = PageTableFlags::empty();
        for (flag, bit) in [
            (PageTableFlags::ACCESSED, PageUse::ACCESSED),
            (PageTableFlags::DIRTY, PageUse::DIRTY),
        ] {
            if flags.contains(flag) {
                usage |= bit;
                if clear.contains(bit) {
                    cleared |= flag;
                }
            }
        }
        if !cleared.is_empty() {
            entry.set_flags(flags - cleared);
            self.invalidate(page_address);
        }
        usage
    }

    /// The frame behind user address `address` if every level maps it present, user-accessible
    /// and, for [`Access::Write`], writable.
    fn translate_user(&self, address: u64, access: Access) -> Option<FrameNumber> {
        if address >= exo_abi::USER_END {
            return None;
        }
        let mut required = PageTableFlags::PRESENT | PageTableFlags::USER_ACCESSIBLE;
        if access == Access::Write {
            required |= PageTableFlags::WRITABLE;
        }
        // The entries above an own table are `TABLE_FLAGS`, which every access passes.
        if let Some(table) = self.cached_own_table(address) {
            return leaf_frame(&table_at(table)[table_index(address, 1)], required);
        }
        let mut table = table_at(self.root);
        for level in (2..=4).rev() {
            let entry = &table[table_index(address, level)];
            if !entry.flags().contains(required)
                || entry.flags().contains(PageTableFlags::HUGE_PAGE)
            {
                return None;
            }
            let next = entry.addr().as_u64() / PAGE_SIZE;
            if level == 2 && !entry.flags().contains(BORROWED) {
                self.remember_own_table(address, next);
            }
            table = table_at(next);
        }
        leaf_frame(&table[table_index(address, 1)], required)
    }

    /// Calls `visit` with every present entry of the user half, tables before what they map,
    /// so that the kernel can check its tables against the hardware's.
    fn walk_user_half(&self, visit: &mut dyn FnMut(UserEntry)) {
        walk_table(self.root, 4, 0, KERNEL_HALF_FIRST_SLOT, visit);
    }

    /// The last-level table of the region at `region_address`, own or borrowed.
    fn region_table(&self, region_address: u64) -> Option<FrameNumber> {
        let entry = self.region_entry(region_address)?;
        (!entry.is_unused()).then(|| entry.addr().as_u64() / PAGE_SIZE)
    }

    /// Points this space's level-2 entry of `region_address` at `table`, marked borrowed,
    /// writable or not (the MMU allows a write only where every level does).
    fn borrow_region(
        &mut self,
        region_address: u64,
        table: FrameNumber,
        is_writable: bool,
        frames: &mut FrameTable,
    ) -> Result<(), Error> {
        let directory = self.table_for(region_address, 2, frames)?;
        let entry = &mut directory[table_index(region_address, 2)];
        if !entry.is_unused() {
            return Err(Error::Occupied);
        }
        let mut flags = PageTableFlags::PRESENT | PageTableFlags::USER_ACCESSIBLE | BORROWED;
        if is_writable {
            flags |= PageTableFlags::WRITABLE;
        }
        entry.set_addr(PhysAddr::new(table * PAGE_SIZE), flags);
        Ok(())
    }

    /// Clears the borrowed entry of `region_address` and flushes what it translated.
    fn return_region(&mut self, region_address: u64) {
        let Some(entry) = self.region_entry(region_address) else {
            return;
        };
        if entry.flags().contains(BORROWED) {
            entry.set_unused();
            let active_root = Cr3::read().0.start_address().as_u64() / PAGE_SIZE;
            if active_root == self.root {
                tlb::flush_all();
            }
        }
    }
}

impl AddressSpace {
    /// The table of `level` (1 or 2) that holds `address`'s entry, creating the missing tables
    /// above it charged to the owner. Refused with `Occupied` through a borrowed region (its
    /// table is another's), and with `NoMemory`, having changed nothing, when the tables it
    /// needs are not free.
    fn table_for(
        &mut self,
        address: u64,
        level: u32,
        frames: &mut FrameTable,
    ) -> Result<&'static mut PageTable, Error> {
        if level == 1
            && let Some(table) = self.cached_own_table(address)
        {
            return Ok(table_at(table));
        }
        let mut table = table_at(self.root);
        for upper in (level + 1..=4).rev() {
            let entry = &mut table[table_index(address, upper)];
            if entry.flags().contains(BORROWED) {
                return Err(Error::Occupied);
            }
            if entry.is_unused() {
                // Below a missing table every one is missing: `upper - level` are still to
                // take. Refused before the first is taken, so that a refusal changes nothing.
                if frames.free_count() < (upper - level) as usize {
                    return Err(Error::NoMemory);
                }
                let child = allocate_zeroed(frames, FrameOwner::PageTableOf(self.owner))?;
                entry.set_addr(PhysAddr::new(child * PAGE_SIZE), TABLE_FLAGS);
            }
            let next = entry.addr().as_u64() / PAGE_SIZE;
            if upper == 2 {
                self.remember_own_table(address, next);
            }
            table = table_at(next);
        }
        Ok(table)
    }

    /// The level-2 entry of the region at `region_address`, when the tables above it exist.
    fn region_entry(&self, region_address: u64) -> Option<&'static mut PageTableEntry> {
        if region_address >= exo_abi::USER_END {
            return None;
        }
        let mut table = table_at(self.root);
        for level in (3..=4).rev() {
            let entry = &table[table_index(region_address, level)];
            if entry.is_unused() {
                return None;
            }
            table = table_at(entry.addr().as_u64() / PAGE_SIZE);
        }
        Some(&mut table[table_index(region_address, 2)])
    }

    /// The last-level entry for a user page, when its page tables exist and are this space's
    /// own (never one of a borrowed region).
    fn leaf_entry(&mut self, page_address: u64) -> Option<&'static mut PageTableEntry> {
        let table = match self.cached_own_table(page_address) {
            Some(table) => table,
            None => {
                let entry = self.region_entry(page_address)?;
                if entry.is_unused() || entry.flags().contains(BORROWED) {
                    return None;
                }
                let table = entry.addr().as_u64() / PAGE_SIZE;
                self.remember_own_table(page_address, table);
                table
            }
        };
        Some(&mut table_at(table)[table_index(page_address, 1)])
    }

    /// The own last-level table of `address`'s region, when it is remembered.
    #[inline]
    fn cached_own_table(&self, address: u64) -> Option<FrameNumber> {
        let region = address >> REGION_SHIFT;
        match self.own_tables[region as usize % REMEMBERED_TABLES].get() {
            Some((remembered, table)) if remembered == region => Some(table),
            _ => None,
        }
    }

    /// Remembers `table` as the own last-level table of `address`'s region.
    #[inline]
    fn remember_own_table(&self, address: u64, table: FrameNumber) {
        let region = address >> REGION_SHIFT;
        self.own_tables[region as usize % REMEMBERED_TABLES].set(Some((region, table)));
    }

    /// Drops a stale translation of a page of this space: the active space may have one too
    /// when it borrows the page's region (at the same address), so the page is flushed
    /// whichever space is active; loading CR3 flushes the others' (non-global) translations.
    fn invalidate(&self, page_address: u64) {
        tlb::flush(VirtAddr::new(page_address));
    }
}

fn walk_table(
    table: FrameNumber,
    level: u32,
    base_address: u64,
    slots: usize,
    visit: &mut dyn FnMut(UserEntry),
) {
    for (slot, entry) in table_at(table).iter().enumerate().take(slots) {
        if entry.is_unused() {
            continue;
        }
        let address = base_address + ((slot as u64) << (12 + 9 * (level - 1)));
        let frame = entry.addr().as_u64() / PAGE_SIZE;
        if level == 2 && entry.flags().contains(BORROWED) {
            visit(UserEntry::Borrowed {
                region_address: address,
                table: frame,
                is_writable: entry.flags().contains(PageTableFlags::WRITABLE),
            });
        } else if level == 1 {
            let flags = entry.flags();
            let mut rights = PageRights::empty();
            rights.set(
                PageRights::WRITABLE,
                flags.contains(PageTableFlags::WRITABLE),
            );
            rights.set(
                PageRights::EXECUTABLE,
                !flags.contains(PageTableFlags::NO_EXECUTE),
            );
            visit(UserEntry::Leaf {
                page_address: address,
                frame,
                rights,
            });
        } else {
            visit(UserEntry::Table(frame));
            walk_table(frame, level - 1, address, 512, visit);
        }
    }
}

/// The frame a last-level `entry` maps, when its flags hold every one of `required`.
#[inline]
fn leaf_frame(entry: &PageTableEntry, required: PageTableFlags) -> Option<FrameNumber> {
    let flags = entry.flags();
    (flags.contains(required) && !flags.contains(PageTableFlags::HUGE_PAGE))
        .then(|| entry.addr().as_u64() / PAGE_SIZE)
}

/// Leaf flags of a user mapping with `rights`.
fn leaf_flags(rights: PageRights) -> PageTableFlags {
    let mut flags = PageTableFlags::PRESENT | PageTableFlags::USER_ACCESSIBLE;
    if rights.contains(PageRights::WRITABLE) {
        flags |= PageTableFlags::WRITABLE;
    }
    if !rights.contains(PageRights::EXECUTABLE) {
        flags |= PageTableFlags::NO_EXECUTE;
    }
    flags
}

/// Allocates a frame to `owner` and fills it with zeros.
pub fn allocate_zeroed(frames: &mut FrameTable, owner: FrameOwner) -> Result<FrameNumber, Error> {
    let frame = frames
        .allocate(owner)
        .ok()
        .flatten()
        .ok_or(Error::NoMemory)?;
    zero_frame(frame);
    Ok(frame)
}

/// Fills a frame that was just allocated with zeros, so no data crosses between owners.
pub fn zero_frame(frame: FrameNumber) {
    // SAFETY: the caller just allocated the frame, so nothing else refers to it, and the
    // physical map covers it.
    unsafe { core::ptr::write_bytes(frame_to_virtual(frame), 0, PAGE_SIZE as usize) };
}

/// Runs `access` on the contents of frame `frame`, which the kernel tracks for an environment
/// (the caller checked its owner).
pub fn with_frame_page<T>(frame: FrameNumber, access: impl FnOnce(&mut [u8; 4096]) -> T) -> T {
    // SAFETY: the physical map covers every frame; no Rust reference aliases a tracked frame's
    // contents, and user code does not run while the kernel does (one CPU).
    let page = unsafe { &mut *(frame_to_virtual(frame) as *mut [u8; 4096]) };
    access(page)
}

/// Copies `bytes` into frame `frame` at `offset`; the caller owns the frame and
/// `offset + bytes.len()` is at most a page.
pub fn write_to_frame(frame: FrameNumber, offset: usize, bytes: &[u8]) {
    assert!(offset + bytes.len() <= PAGE_SIZE as usize);
    let destination = physical_to_virtual(frame * PAGE_SIZE + offset as u64);
    // SAFETY: checked above that the range stays inside the frame, which the physical map covers
    // and which no Rust reference aliases.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), destination, bytes.len()) };
}

/// The kernel's address of byte `offset` of frame `frame`, which must be inside the frame.
pub fn frame_byte_address(frame: FrameNumber, offset: usize) -> *mut u8 {
    assert!(offset < PAGE_SIZE as usize);
    physical_to_virtual(frame * PAGE_SIZE + offset as u64)
}

/// Copies `bytes.len()` bytes of frame `frame`, from `offset`, into `bytes`; the caller owns the
/// frame and `offset + bytes.len()` is at most a page.
pub fn read_from_frame(frame: FrameNumber, offset: usize, bytes: &mut [u8]) {
    assert!(offset + bytes.len() <= PAGE_SIZE as usize);
    let source = physical_to_virtual(frame * PAGE_SIZE + offset as u64);
    // SAFETY: checked above that the range stays inside the frame, which the physical map covers
    // and which no Rust reference aliases.
    unsafe { core::ptr::copy_nonoverlapping(source, bytes.as_mut_ptr(), bytes.len()) };
}
