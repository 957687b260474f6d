//! Memory a device reaches by physical address, and the `virtio-drivers` crate's `Hal` on it.
//!
//! **The pool.** [`POOL_FRAMES`] physically contiguous frames, owned by [`FrameOwner::Kernel`],
//! taken from the frame table when the first device is found; every later device shares it (the
//! disk and the network device both carve from it). The virtqueues, the request headers, the
//! network device's packet buffers and any bounce buffer are carved from it, a page at a time.
//!
//! **The translation rule of [`KernelHal::share`].** A buffer the driver hands the device must be
//! kernel memory mapped in the active page table: a frame reached through the physical-memory
//! map (the data of every disk transfer: zero copy), the kernel heap (the crate's indirect
//! descriptor lists), the kernel stack (the crate's flush request) or the pool. Its physical
//! address is found by walking the active page table, page by page. When every page of the
//! buffer follows the previous one physically (always for a frame or for a buffer inside one
//! page), the device gets that address. Otherwise (a heap or stack buffer straddling two pages
//! the bootloader did not place side by side) the buffer is copied to a bounce page of the pool
//! and copied back by `unshare` if the device wrote it.

use crate::memory::physical_to_virtual;
use core::ptr::NonNull;
use exo_core::PAGE_SIZE;
use exo_core::frame_table::{FrameNumber, FrameOwner, FrameTable};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{PageTable, PageTableFlags};

/// Frames in the pool (at most 32: the pages in use are a `u32` bitmask). The disk needs 2 for
/// its virtqueue, 1 for request headers, and at most one bounce page per request in flight
/// (`virtio_blk::MAX_IN_FLIGHT`, 8: a request's indirect descriptor list, on the heap, when it
/// straddles two pages the bootloader did not place side by side): 11 at most. The network
/// device needs 4 for its two virtqueues and `virtio_net::BUFFER_PAGES` (16) for its receive and
/// transmit buffers: 20. Both together: 31, leaving 1 to spare.
pub const POOL_FRAMES: usize = 32;

/// Why the pool could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// No run of [`POOL_FRAMES`] free contiguous frames.
    NoContiguousMemory,
}

/// The pool: its first frame and which of its pages are handed out (bit `i`: page `i`).
struct Pool {
    first_frame: FrameNumber,
    in_use: u32,
}

const _: () = assert!(POOL_FRAMES <= u32::BITS as usize);

impl Pool {
    /// Takes `count` consecutive free pages; returns the index of the first.
    fn take(&mut self, count: usize) -> Option<usize> {
        if count == 0 || count > POOL_FRAMES {
            return None;
        }
        let mask = u32::MAX >> (u32::BITS as usize - count);
        let first = (0..=POOL_FRAMES - count).find(|&first| self.in_use & (mask << first) == 0)?;
        self.in_use |= mask << first;
        Some(first)
    }

    /// Returns `count` pages starting at page `first`.
    fn give_back(&mut self, first: usize, count: usize) {
        if count == 0 || first + count > POOL_FRAMES {
            return;
        }
        let mask = u32::MAX >> (u32::BITS as usize - count);
        self.in_use &= !(mask << first);
    }

    fn physical_start(&self) -> u64 {
        self.first_frame * PAGE_SIZE
    }
}

static POOL: spin::Mutex<Option<Pool>> = spin::Mutex::new(None);

/// Takes the pool's frames from the frame table, as the kernel's; does nothing when the pool
/// exists already (an earlier device set it up, and the caller shares it).
pub fn set_up_pool(frames: &mut FrameTable) -> Result<(), PoolError> {
    let mut pool = POOL.lock();
    if pool.is_some() {
        return Ok(());
    }
    let first_frame = frames
        .allocate_contiguous(POOL_FRAMES, FrameOwner::Kernel)
        .ok()
        .flatten()
        .ok_or(PoolError::NoContiguousMemory)?;
    *pool = Some(Pool {
        first_frame,
        in_use: 0,
    });
    Ok(())
}

/// Gives the pool's frames back to the frame table when nothing is carved from it (a device that
/// failed to start has released its queues, and no other device uses the pool); otherwise keeps
/// them, since a device may still reach them.
pub fn tear_down_pool(frames: &mut FrameTable) {
    let mut pool = POOL.lock();
    let Some(idle) = pool.take_if(|pool| pool.in_use == 0) else {
        return;
    };
    for frame in idle.first_frame..idle.first_frame + POOL_FRAMES as u64 {
        let _ = frames.free(frame, FrameOwner::Kernel);
    }
}

/// Carves `count` zeroed pages from the pool: their physical address and kernel pointer.
pub fn allocate_pages(count: usize) -> Option<(PhysAddr, NonNull<u8>)> {
    let mut pool = POOL.lock();
    let pool = pool.as_mut()?;
    let first = pool.take(count)?;
    let physical = pool.physical_start() + first as u64 * PAGE_SIZE;
    let pointer = NonNull::new(physical_to_virtual(physical))?;
    // SAFETY: the pages belong to the pool (kernel frames covered by the physical-memory map)
    // and were just marked in use, so no one else refers to them.
    unsafe { core::ptr::write_bytes(pointer.as_ptr(), 0, count * PAGE_SIZE as usize) };
    Some((physical, pointer))
}

/// Returns `count` pages starting at `physical` to the pool. The device they were lent to must
/// no longer reach them (its request completed, or the device was reset).
pub fn free_pages(physical: PhysAddr, count: usize) {
    let mut pool = POOL.lock();
    if let Some(pool) = pool.as_mut()
        && let Some(offset) = physical.checked_sub(pool.physical_start())
    {
        pool.give_back((offset / PAGE_SIZE) as usize, count);
    }
}

/// The physical address of kernel virtual address `address` in the active page table.
fn translate(address: u64) -> Option<u64> {
    let (root, _) = Cr3::read();
    let mut table_physical = root.start_address().as_u64();
    for level in (1..=4u32).rev() {
        // SAFETY: page-table pages are RAM frames the physical-memory map covers; they are only
        // read here, on one CPU with interrupts off.
        let table = unsafe { &*(physical_to_virtual(table_physical) as *const PageTable) };
        let entry = &table[((address >> (12 + 9 * (level - 1))) & 0x1FF) as usize];
        if !entry.flags().contains(PageTableFlags::PRESENT) {
            return None;
        }
        let is_leaf =
            level == 1 || (level <= 3 && entry.flags().contains(PageTableFlags::HUGE_PAGE));
        if is_leaf {
            let page_bytes = 1u64 << (12 + 9 * (level - 1));
            let page_start = entry.addr().as_u64() & !(page_bytes - 1);
            return Some(page_start + (address & (page_bytes - 1)));
        }
        table_physical = entry.addr().as_u64();
    }
    None
}

/// The physical address of the buffer at `start`, when all its `bytes` are physically
/// contiguous.
fn contiguous_physical(start: u64, bytes: usize) -> Option<u64> {
    let physical_start = translate(start)?;
    let end = start + bytes as u64;
    let mut page = start & !(PAGE_SIZE - 1);
    loop {
        page += PAGE_SIZE;
        if page >= end {
            return Some(physical_start);
        }
        if translate(page)? != physical_start + (page - start) {
            return None;
        }
    }
}

/// The `virtio-drivers` hardware abstraction: DMA memory from the pool, device registers from
/// the MMIO window, buffers translated (or bounced) as the module documentation says.
#[derive(Debug)]
pub struct KernelHal;

// SAFETY: `dma_alloc` hands out zeroed, page-aligned pool pages that nothing else uses until
// `dma_dealloc`; `mmio_phys_to_virt` returns the window's mapping of that very device memory;
// `share` returns an address at which the device sees the buffer's bytes (or a bounce copy).
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // Physical address 0 tells the crate that the allocation failed.
        allocate_pages(pages).unwrap_or((0, NonNull::dangling()))
    }

    unsafe fn dma_dealloc(physical: PhysAddr, _pointer: NonNull<u8>, pages: usize) -> i32 {
        free_pages(physical, pages);
        0
    }

    unsafe fn mmio_phys_to_virt(physical: PhysAddr, bytes: usize) -> NonNull<u8> {
        // The driver maps every memory BAR of the device before the crate asks for any of them,
        // and the crate asks only for ranges inside a BAR.
        crate::arch::mmio::virtual_address(physical, bytes)
            .expect("device memory is mapped before the transport asks for it")
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let start = buffer.cast::<u8>().as_ptr() as u64;
        if let Some(physical) = contiguous_physical(start, buffer.len()) {
            return physical;
        }
        let pages = buffer.len().div_ceil(PAGE_SIZE as usize);
        let (physical, bounce) = allocate_pages(pages)
            .expect("the pool holds a bounce page for every request the driver keeps in flight");
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the caller guarantees `buffer` is valid and unaliased during the call; the
            // bounce pages were just carved for this copy and are at least as long.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    buffer.cast::<u8>().as_ptr(),
                    bounce.as_ptr(),
                    buffer.len(),
                )
            };
        }
        physical
    }

    unsafe fn unshare(physical: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let start = buffer.cast::<u8>().as_ptr() as u64;
        if contiguous_physical(start, buffer.len()) == Some(physical) {
            return;
        }
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: `physical` is the bounce copy `share` made of this buffer (a pool page
            // covered by the physical-memory map), and the caller guarantees `buffer` is valid
            // and unaliased during the call.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    physical_to_virtual(physical),
                    buffer.cast::<u8>().as_ptr(),
                    buffer.len(),
                )
            };
        }
        free_pages(physical, buffer.len().div_ceil(PAGE_SIZE as usize));
    }
}
