//! Disk blocks as a protected resource: the persistent ownership table (`exo_core::block_table`)
//! kept on the disk itself, and the block system calls. Both the block and the page are checked
//! on every transfer (the block against the caller's owner, the page against the caller's
//! bindings: a page shared into it counts, which lets several processes of one library OS share
//! a buffer cache); then the disk moves the data by DMA straight between the block and the
//! bound frame.
//!
//! Transfers are synchronous (a block call returns once the device has completed every request
//! it made; the CPU halts meanwhile and runs nothing else), so a block has no pending request
//! when the abort protocol takes it.

use crate::kernel::Kernel;
use crate::kprintln;
use crate::pages::seen_binding;
use crate::platform::{DiskDirection, DiskFailure, Platform};
use crate::user_memory::{copy_entries_from_user, copy_from_user};
use alloc::vec::Vec;
use core::marker::PhantomData;
use exo_abi::{BLOCK_ANY, BLOCK_TRANSFERS_MAX, Error, PageRights};
use exo_core::block_table::{BlockDevice, BlockTable, Credential, DeviceError, MountError};
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner, FrameTable};
use exo_core::user_range::UserRange;

/// The block table's view of the disk: whole blocks through one kernel frame (the table's own
/// blocks are few and small, so a copy costs little there).
pub struct TableDisk<P: Platform> {
    bounce_frame: FrameNumber,
    platform: PhantomData<P>,
}

fn device_error(failure: Option<Result<(), DiskFailure>>) -> Result<(), DeviceError> {
    match failure {
        Some(Ok(())) => Ok(()),
        Some(Err(DiskFailure::OutOfRange)) => Err(DeviceError::OutOfRange),
        Some(Err(DiskFailure::Failed)) | None => Err(DeviceError::Failed),
    }
}

impl<P: Platform> BlockDevice for TableDisk<P> {
    fn block_count(&self) -> u64 {
        P::disk_blocks().unwrap_or(0)
    }

    fn read_block(&mut self, block: u64, buffer: &mut [u8; 4096]) -> Result<(), DeviceError> {
        device_error(P::disk_transfer(
            DiskDirection::Read,
            &[(block, self.bounce_frame)],
        ))?;
        P::with_frame_page(self.bounce_frame, |page| buffer.copy_from_slice(page));
        Ok(())
    }

    fn write_block(&mut self, block: u64, data: &[u8; 4096]) -> Result<(), DeviceError> {
        P::with_frame_page(self.bounce_frame, |page| page.copy_from_slice(data));
        device_error(P::disk_transfer(
            DiskDirection::Write,
            &[(block, self.bounce_frame)],
        ))
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        device_error(P::disk_flush())
    }
}

/// The block table and the disk it lives on.
pub struct Blocks<P: Platform> {
    pub table: BlockTable,
    pub disk: TableDisk<P>,
}

/// Mounts the block table of the disk, formatting a disk that has none; `None` without a disk
/// or when the table is damaged (a damaged table is never formatted over: that would give away
/// every owner's blocks).
pub fn mount<P: Platform>(frames: &mut FrameTable) -> Option<Blocks<P>> {
    P::disk_blocks()?;
    let bounce_frame = P::allocate_zeroed(frames, FrameOwner::Kernel).ok()?;
    let mut device = TableDisk {
        bounce_frame,
        platform: PhantomData,
    };
    let table = match BlockTable::mount(&mut device) {
        Ok(table) => table,
        Err(MountError::NotFormatted) => {
            kprintln!(
                P,
                "exokernel: blocks: formatting the disk's ownership table"
            );
            match BlockTable::format(&mut device) {
                Ok(table) => table,
                Err(error) => {
                    kprintln!(P, "exokernel: blocks: cannot format: {error:?}");
                    return None;
                }
            }
        }
        Err(error) => {
            kprintln!(P, "exokernel: blocks: ownership table unusable: {error:?}");
            return None;
        }
    };
    kprintln!(
        P,
        "exokernel: blocks: {} free of {} data blocks",
        table.free_count(),
        table.layout().data_block_count()
    );
    Some(Blocks {
        table,
        disk: device,
    })
}

fn blocks_of<P: Platform>(kernel: &mut Kernel<P>) -> Result<&mut Blocks<P>, Error> {
    kernel.blocks.as_mut().ok_or(Error::Unavailable)
}

/// [`exo_abi::Syscall::BlockCredential`].
pub fn block_credential<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
) -> Result<u64, Error> {
    let range = UserRange::new(address, 16)?;
    let mut credential = [0u8; 16];
    copy_from_user::<P>(kernel.current_address_space(), range, &mut credential)?;
    let blocks = blocks_of(kernel)?;
    let presentation =
        blocks
            .table
            .present_credential(&mut blocks.disk, caller, Credential(credential))?;
    Ok(u64::from(presentation.is_new))
}

/// [`exo_abi::Syscall::BlockAllocate`].
pub fn block_allocate<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    block: u64,
) -> Result<u64, Error> {
    let request = (block != BLOCK_ANY).then_some(block);
    let blocks = blocks_of(kernel)?;
    blocks.table.allocate(&mut blocks.disk, caller, request)
}

/// [`exo_abi::Syscall::BlockFree`].
pub fn block_free<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    block: u64,
) -> Result<u64, Error> {
    let blocks = blocks_of(kernel)?;
    blocks.table.free(&mut blocks.disk, caller, block)?;
    kernel.note_holdings_changed();
    Ok(0)
}

/// [`exo_abi::Syscall::BlockFlush`].
pub fn block_flush<P: Platform>(kernel: &mut Kernel<P>) -> Result<u64, Error> {
    blocks_of(kernel)?;
    match P::disk_flush() {
        Some(Ok(())) => Ok(0),
        _ => Err(Error::Unavailable),
    }
}

/// Which way a block transfer goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Disk to page: the page must be bound writable.
    Read,
    /// Page to disk.
    Write,
}

/// [`exo_abi::Syscall::BlockRead`] and [`exo_abi::Syscall::BlockWrite`]: checks every
/// `(block, page)` pair of the caller's list first, then moves them all.
pub fn block_transfer<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    list: u64,
    count: u64,
    direction: Direction,
) -> Result<u64, Error> {
    let pairs = copy_entries_from_user::<P, 2>(
        kernel.current_address_space(),
        list,
        count,
        BLOCK_TRANSFERS_MAX,
    )?;
    let transfers = pairs
        .iter()
        .map(|&[block, page]| Ok((block, checked_frame(kernel, caller, page, direction)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let blocks = blocks_of(kernel)?;
    for &(block, _) in &transfers {
        blocks.table.check_access(caller, block)?;
    }
    let direction = match direction {
        Direction::Read => DiskDirection::Read,
        Direction::Write => DiskDirection::Write,
    };
    match P::disk_transfer(direction, &transfers) {
        Some(Ok(())) => Ok(count),
        _ => Err(Error::Unavailable),
    }
}

/// The frame behind the caller's page at `address`: bound in its address space, or in a region
/// it borrows (writable, to read a block into it), whoever owns the frame. The binding is the secure binding: the caller
/// may write the frame through it, so the disk may too.
fn checked_frame<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    address: u64,
    direction: Direction,
) -> Result<FrameNumber, Error> {
    let binding = seen_binding(kernel, caller, address)?.ok_or(Error::BadAddress)?;
    if direction == Direction::Write || binding.rights.contains(PageRights::WRITABLE) {
        Ok(binding.frame)
    } else {
        Err(Error::PermissionDenied)
    }
}
