//! How the block table reaches the disk: formatting, mounting (recovery from the two copies of
//! every table block), and committing one changed table block into its older copy.

use super::disk_format::{self, BlockBytes, PageAlignedBlock, TableKind, entry_owner};
use super::{
    BlockDevice, BlockTable, CopyState, DEFAULT_PRINCIPAL_TABLE_BLOCKS, DeviceError, FormatError,
    Layout, MountError, OWNERS_PER_TABLE_BLOCK, PRINCIPALS_PER_TABLE_BLOCK, PrincipalId,
};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec;
use alloc::vec::Vec;
use exo_abi::Error;

impl BlockTable {
    /// Formats `device` with a principal table of [`DEFAULT_PRINCIPAL_TABLE_BLOCKS`] blocks and
    /// returns its empty table. Every block's ownership on the disk is lost.
    pub fn format(device: &mut impl BlockDevice) -> Result<BlockTable, FormatError> {
        BlockTable::format_with(device, DEFAULT_PRINCIPAL_TABLE_BLOCKS)
    }

    /// Formats `device` with a principal table of `principal_table_blocks` logical blocks
    /// ([`PRINCIPALS_PER_TABLE_BLOCK`] principals each).
    pub fn format_with(
        device: &mut impl BlockDevice,
        principal_table_blocks: u64,
    ) -> Result<BlockTable, FormatError> {
        let layout = Layout::new(device.block_count(), principal_table_blocks)?;
        let table = BlockTable::empty(layout);
        // Erasing the superblock first makes a format cut short by a crash read as unformatted,
        // not as an old table over half-written new tables.
        device
            .write_block(0, &disk_format::zeroed_block())
            .and_then(|()| device.flush())
            .and_then(|()| table.write_every_copy(device))
            .and_then(|()| device.flush())
            .and_then(|()| device.write_block(0, &disk_format::encode_superblock(&layout)))
            .and_then(|()| device.flush())
            .map_err(FormatError::Device)?;
        Ok(table)
    }

    fn empty(layout: Layout) -> BlockTable {
        let principal_capacity = layout.principal_capacity() as usize;
        let first_copy = CopyState {
            current_slot: 0,
            sequence: 1,
        };
        let mut table = BlockTable {
            layout,
            principals: vec![None; principal_capacity],
            principal_by_credential: BTreeMap::new(),
            owner_entries: vec![0; layout.block_count as usize],
            owned_block_counts: vec![0; principal_capacity],
            free_block_counts: Vec::new(),
            principal_copies: vec![first_copy; layout.principal_table_blocks as usize],
            owner_copies: vec![first_copy; layout.owner_table_blocks as usize],
            bound_environments: vec![BTreeSet::new(); principal_capacity],
            bindings: BTreeMap::new(),
            is_read_only: false,
        };
        table.free_block_counts = table.count_free_blocks();
        table
    }

    /// Writes the current version into copy A (sequence 1) and copy B (sequence 0) of every
    /// table block, so that no copy left from an earlier format can look newer.
    fn write_every_copy(&self, device: &mut impl BlockDevice) -> Result<(), DeviceError> {
        for kind in [TableKind::Principals, TableKind::Owners] {
            for index in 0..self.layout.table_blocks(kind) {
                let mut block = self.encode_table_block(kind, index);
                for (slot, sequence) in [(0, 1), (1, 0)] {
                    disk_format::seal(&mut block, kind, index, sequence);
                    device.write_block(self.layout.copy_block(kind, index, slot), &block)?;
                }
            }
        }
        Ok(())
    }

    /// Reads the table from `device`, recovering from any crash: every table block is taken
    /// from its intact copy with the highest sequence number. No environment is bound.
    pub fn mount(device: &mut impl BlockDevice) -> Result<BlockTable, MountError> {
        let mut superblock = disk_format::zeroed_block();
        device
            .read_block(0, &mut superblock)
            .map_err(MountError::Device)?;
        let layout = disk_format::decode_superblock(&superblock, device.block_count())?;
        let mut table = BlockTable::empty(layout);
        for index in 0..layout.principal_table_blocks {
            let block = table.read_newest_copy(device, TableKind::Principals, index)?;
            table.load_principals(index, &block)?;
        }
        for index in 0..layout.owner_table_blocks {
            let block = table.read_newest_copy(device, TableKind::Owners, index)?;
            table.load_owners(index, &block)?;
        }
        table.index_loaded_state()?;
        Ok(table)
    }

    /// The newest intact copy of logical block `index` of table `kind`; records which copy
    /// it was so that the next update writes the other one.
    fn read_newest_copy(
        &mut self,
        device: &mut impl BlockDevice,
        kind: TableKind,
        index: u64,
    ) -> Result<Box<PageAlignedBlock>, MountError> {
        let mut newest: Option<(CopyState, Box<PageAlignedBlock>)> = None;
        for slot in [0, 1] {
            let mut block = disk_format::zeroed_block();
            let place = self.layout.copy_block(kind, index, slot);
            device
                .read_block(place, &mut block)
                .map_err(MountError::Device)?;
            let Some(sequence) = disk_format::unseal(&block, kind, index) else {
                continue;
            };
            if newest
                .as_ref()
                .is_none_or(|(copy, _)| sequence > copy.sequence)
            {
                let copy = CopyState {
                    current_slot: slot,
                    sequence,
                };
                newest = Some((copy, block));
            }
        }
        let Some((copy, block)) = newest else {
            return Err(MountError::Corrupt {
                block: self.layout.copy_block(kind, index, 0),
                reason: "neither copy of a table block is intact",
            });
        };
        match kind {
            TableKind::Principals => self.principal_copies[index as usize] = copy,
            TableKind::Owners => self.owner_copies[index as usize] = copy,
        }
        Ok(block)
    }

    fn load_principals(&mut self, index: u64, block: &BlockBytes) -> Result<(), MountError> {
        let corrupt = |reason| MountError::Corrupt {
            block: self.layout.copy_block(TableKind::Principals, index, 0),
            reason,
        };
        let records = disk_format::decode_principals(block).map_err(corrupt)?;
        let first = (index * PRINCIPALS_PER_TABLE_BLOCK) as usize;
        for (slot, record) in self.principals[first..].iter_mut().zip(records) {
            *slot = record;
        }
        Ok(())
    }

    fn load_owners(&mut self, index: u64, block: &BlockBytes) -> Result<(), MountError> {
        let first = index * OWNERS_PER_TABLE_BLOCK;
        for (offset, entry) in disk_format::decode_owners(block).enumerate() {
            let block_number = first + offset as u64;
            let is_allowed = entry == 0
                || (self.layout.is_data_block(block_number)
                    && entry_owner(entry).is_some_and(|owner| self.is_in_use(owner)));
            if !is_allowed {
                return Err(MountError::Corrupt {
                    block: self.layout.copy_block(TableKind::Owners, index, 0),
                    reason: "an owner entry names no principal or a block that cannot be owned",
                });
            }
            if let Some(slot) = self.owner_entries.get_mut(block_number as usize) {
                *slot = entry;
            }
        }
        Ok(())
    }

    /// Builds the indexes (credentials, counts) from the loaded records.
    fn index_loaded_state(&mut self) -> Result<(), MountError> {
        for (index, principal) in self.principals.iter().enumerate() {
            let Some(credential) = principal else {
                continue;
            };
            let id = PrincipalId(index as u32);
            if self
                .principal_by_credential
                .insert(*credential, id)
                .is_some()
            {
                return Err(MountError::Corrupt {
                    block: self.principal_table_block_of(id),
                    reason: "two principals have the same credential",
                });
            }
        }
        for &entry in &self.owner_entries {
            if let Some(owner) = entry_owner(entry) {
                self.owned_block_counts[owner.0 as usize] += 1;
            }
        }
        self.free_block_counts = self.count_free_blocks();
        Ok(())
    }

    fn principal_table_block_of(&self, principal: PrincipalId) -> u64 {
        let index = u64::from(principal.0) / PRINCIPALS_PER_TABLE_BLOCK;
        self.layout.copy_block(TableKind::Principals, index, 0)
    }

    pub(super) fn count_free_blocks(&self) -> Vec<u64> {
        let mut counts = vec![0; self.layout.owner_table_blocks as usize];
        for block in self.layout.data_start..self.layout.block_count {
            if self.owner_entries[block as usize] == 0 {
                counts[(block / OWNERS_PER_TABLE_BLOCK) as usize] += 1;
            }
        }
        counts
    }

    /// Writes the in-memory version of logical block `index` of table `kind` into the copy that
    /// does not hold the current version, with the next sequence number, and flushes. A failure
    /// leaves the disk in doubt, so the table turns read-only; a read-only table writes nothing.
    pub(super) fn commit(
        &mut self,
        device: &mut impl BlockDevice,
        kind: TableKind,
        index: u64,
    ) -> Result<(), Error> {
        self.require_writable()?;
        let copies = match kind {
            TableKind::Principals => &self.principal_copies,
            TableKind::Owners => &self.owner_copies,
        };
        let current = copies[index as usize];
        let next = CopyState {
            current_slot: 1 - current.current_slot,
            sequence: current.sequence.checked_add(1).ok_or(Error::Unavailable)?,
        };
        let mut block = self.encode_table_block(kind, index);
        disk_format::seal(&mut block, kind, index, next.sequence);
        let place = self.layout.copy_block(kind, index, next.current_slot);
        let written = device
            .write_block(place, &block)
            .and_then(|()| device.flush());
        if written.is_err() {
            self.is_read_only = true;
            return Err(Error::Unavailable);
        }
        match kind {
            TableKind::Principals => self.principal_copies[index as usize] = next,
            TableKind::Owners => self.owner_copies[index as usize] = next,
        }
        Ok(())
    }

    /// Logical block `index` of table `kind` as the in-memory state says, header not sealed.
    fn encode_table_block(&self, kind: TableKind, index: u64) -> Box<PageAlignedBlock> {
        let mut block = disk_format::zeroed_block();
        match kind {
            TableKind::Principals => {
                let per_block = PRINCIPALS_PER_TABLE_BLOCK as usize;
                let first = (index as usize * per_block).min(self.principals.len());
                let end = (first + per_block).min(self.principals.len());
                disk_format::encode_principals(&mut block, &self.principals[first..end]);
            }
            TableKind::Owners => {
                let per_block = OWNERS_PER_TABLE_BLOCK as usize;
                let first = (index as usize * per_block).min(self.owner_entries.len());
                let end = (first + per_block).min(self.owner_entries.len());
                disk_format::encode_owners(&mut block, &self.owner_entries[first..end]);
            }
        }
        block
    }
}
