//! A [`BlockDevice`] over the kernel's block calls: disk blocks held by a durable owner (named
//! by a credential) that this app presents, moved by DMA straight between the disk and the
//! app's own pages. The kernel checks, on every transfer, that each block is the owner's and
//! each page is bound in the caller's address space; this side only numbers the blocks.

use crate::block_device::{Block, BlockDevice, DeviceError};
use alloc::vec::Vec;
use core::marker::PhantomData;
use exo_abi::syscall::Trap;
use exo_abi::{BLOCK_ANY, BLOCK_TRANSFERS_MAX, BlockTransfer, Error, stubs};

/// Device blocks `0..count` on disk blocks allocated to the app's owner, entering the kernel
/// through `T`.
#[derive(Debug)]
pub struct KernelBlocks<T: Trap> {
    /// The disk block behind each device block.
    disk_blocks: Vec<u64>,
    trap: PhantomData<T>,
}

impl<T: Trap> KernelBlocks<T> {
    /// Binds this environment to the durable owner named by `credential` (creating it if
    /// new; from then on the environment uses that owner's blocks and no other's) and
    /// allocates `count` free disk blocks to it, each reading as zeros. On an error the blocks
    /// allocated so far are freed again.
    ///
    /// Errors: those of `BlockCredential` and `BlockAllocate` (`NoMemory` when the disk has
    /// fewer than `count` free blocks).
    pub fn allocate(credential: &[u8; 16], count: usize) -> Result<KernelBlocks<T>, Error> {
        stubs::block_credential::<T>(credential.as_ptr() as u64)?;
        let mut blocks = KernelBlocks {
            disk_blocks: Vec::with_capacity(count),
            trap: PhantomData,
        };
        for _ in 0..count {
            match stubs::block_allocate::<T>(BLOCK_ANY) {
                Ok(block) => blocks.disk_blocks.push(block),
                Err(error) => {
                    // The allocation's own error is the one to report.
                    let _ = blocks.free();
                    return Err(error);
                }
            }
        }
        Ok(blocks)
    }

    /// The disk block behind each device block.
    pub fn disk_blocks(&self) -> &[u64] {
        &self.disk_blocks
    }

    /// Frees every block, durably.
    ///
    /// Errors: the first error of `BlockFree` (the others are still tried).
    pub fn free(self) -> Result<(), Error> {
        let mut outcome = Ok(());
        for &block in &self.disk_blocks {
            if let Err(error) = stubs::block_free::<T>(block) {
                outcome = outcome.and(Err(error));
            }
        }
        outcome
    }

    fn disk_block(&self, block: u64) -> Result<u64, DeviceError> {
        usize::try_from(block)
            .ok()
            .and_then(|index| self.disk_blocks.get(index))
            .copied()
            .ok_or(DeviceError::OutOfRange)
    }
}

impl<T: Trap> BlockDevice for KernelBlocks<T> {
    fn block_count(&self) -> u64 {
        self.disk_blocks.len() as u64
    }

    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), DeviceError> {
        let transfer = BlockTransfer {
            block: self.disk_block(block)?,
            page_address: into as *mut Block as u64,
        };
        stubs::block_read::<T>(&raw const transfer as u64, 1).map_err(|_| DeviceError::Failed)?;
        Ok(())
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), DeviceError> {
        let mut transfers = Vec::with_capacity(writes.len().min(BLOCK_TRANSFERS_MAX as usize));
        for batch in writes.chunks(BLOCK_TRANSFERS_MAX as usize) {
            transfers.clear();
            for &(block, bytes) in batch {
                transfers.push(BlockTransfer {
                    block: self.disk_block(block)?,
                    page_address: bytes as *const Block as u64,
                });
            }
            stubs::block_write::<T>(transfers.as_ptr() as u64, transfers.len() as u64)
                .map_err(|_| DeviceError::Failed)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        stubs::block_flush::<T>().map_err(|_| DeviceError::Failed)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exo_abi::ipc::{MESSAGE_WORDS, Message};
    use exo_abi::{Syscall, encode_result};
    use std::cell::RefCell;
    use std::vec;

    /// A kernel that records each call and hands out blocks from 100 until told to refuse.
    struct FakeKernel;

    #[derive(Default)]
    struct Calls {
        made: Vec<(u64, [u64; 6])>,
        next_block: u64,
        blocks_left: u64,
    }

    std::thread_local! {
        static CALLS: RefCell<Calls> = RefCell::new(Calls::default());
    }

    impl Trap for FakeKernel {
        fn syscall(number: u64, arguments: [u64; 6]) -> u64 {
            CALLS.with_borrow_mut(|calls| {
                calls.made.push((number, arguments));
                let result = if number == Syscall::BlockAllocate.number() {
                    if calls.blocks_left == 0 {
                        Err(Error::NoMemory)
                    } else {
                        calls.blocks_left -= 1;
                        calls.next_block += 1;
                        Ok(99 + calls.next_block)
                    }
                } else if number == Syscall::BlockRead.number()
                    || number == Syscall::BlockWrite.number()
                {
                    Ok(arguments[1])
                } else {
                    Ok(0)
                };
                encode_result(result)
            })
        }

        fn syscall_with_message(number: u64, arguments: [u64; 6]) -> (u64, Message) {
            (Self::syscall(number, arguments), [0; MESSAGE_WORDS])
        }
    }

    fn calls_of(call: Syscall) -> Vec<[u64; 6]> {
        CALLS.with_borrow(|calls| {
            calls
                .made
                .iter()
                .filter(|(number, _)| *number == call.number())
                .map(|(_, arguments)| *arguments)
                .collect()
        })
    }

    fn fresh_kernel(blocks_left: u64) {
        CALLS.with_borrow_mut(|calls| {
            *calls = Calls {
                blocks_left,
                ..Calls::default()
            }
        });
    }

    #[test]
    fn blocks_are_numbered_in_allocation_order_and_moved_in_batches_of_the_most_a_call_takes() {
        fresh_kernel(200);
        let mut device = KernelBlocks::<FakeKernel>::allocate(&[7; 16], 130).unwrap();
        assert_eq!(calls_of(Syscall::BlockCredential).len(), 1);
        assert_eq!(device.block_count(), 130);
        assert_eq!(device.disk_blocks()[..2], [100, 101]);

        let mut page = Block::zeroed();
        assert_eq!(device.read(129, &mut page), Ok(()));
        assert_eq!(device.read(130, &mut page), Err(DeviceError::OutOfRange));
        let pages = vec![Block::zeroed(); 130];
        let writes: Vec<(u64, &Block)> = pages
            .iter()
            .enumerate()
            .map(|(index, page)| (index as u64, page))
            .collect();
        assert_eq!(device.write(&writes), Ok(()));
        let counts: Vec<u64> = calls_of(Syscall::BlockWrite)
            .iter()
            .map(|arguments| arguments[1])
            .collect();
        assert_eq!(counts, [64, 64, 2]);
        assert_eq!(
            device.write(&[(130, &pages[0])]),
            Err(DeviceError::OutOfRange)
        );
        assert_eq!(device.flush(), Ok(()));
        assert_eq!(device.free(), Ok(()));
        assert_eq!(calls_of(Syscall::BlockFree).len(), 130);
    }

    #[test]
    fn a_failed_allocation_frees_what_it_took() {
        fresh_kernel(5);
        assert_eq!(
            KernelBlocks::<FakeKernel>::allocate(&[7; 16], 8).map(|_| ()),
            Err(Error::NoMemory)
        );
        let freed: Vec<u64> = calls_of(Syscall::BlockFree)
            .iter()
            .map(|arguments| arguments[0])
            .collect();
        assert_eq!(freed, [100, 101, 102, 103, 104]);
    }
}
