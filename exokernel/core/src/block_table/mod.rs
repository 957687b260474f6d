//! The disk-block ownership table: which durable principal owns each disk block, kept on the disk
//! itself so that ownership survives a reboot, and updated so that a crash at any point leaves
//! every block owned by exactly one principal or free.
//!
//! # The scheme, and why not XN
//!
//! Xok's XN lets a libOS keep its own metadata format and teaches the kernel to read ownership
//! out of it through untrusted deterministic functions. This table is the simpler scheme the
//! architecture allows: the kernel keeps an explicit owner for every block in a region of the
//! disk that only it reads and writes, and owners are durable *principals* named by a secret
//! credential. A libOS keeps its own disk layout; it only has to ask for its blocks by number.
//!
//! # Principals and credentials
//!
//! A [`Credential`] is 128 bits chosen by the libOS (it should be random; the all-zero value is
//! refused). Presenting an unknown credential creates a principal; presenting a known one binds
//! the environment to that principal again, so after a reboot it owns its blocks again. Any
//! number of living environments may be bound to one principal at once (the processes of one
//! library OS sharing its disk, each presenting the libOS's credential), and each may use every
//! block of it; an environment is bound to at most one principal. Blocks are owned by
//! principals; the kernel asks whether an environment may use a block through the
//! environment's binding ([`BlockTable::check_access`]). [`BlockTable::release_environment`]
//! unbinds an ending environment; its blocks stay owned, and the other environments bound to
//! the principal keep using them.
//!
//! The credential is a bearer secret, like a capability: whoever presents it gets the blocks.
//! It is stored on the disk in the principal table, inside the kernel's table region, which no
//! environment can allocate, read or write ([`BlockTable::read_data`] and
//! [`BlockTable::write_data`] only reach data blocks the caller owns). When the principal table
//! is full, the slot of a principal that owns no block and is bound to no environment is reused;
//! such a principal has nothing to give back, so forgetting it loses nothing.
//!
//! # Layout (block numbers; P and O are the logical sizes of the two tables)
//!
//! ```text
//! 0                          superblock: magic, version, block count, where each region is
//! 1 .. 1+2P                  principal table, two copies (A, B) of each of its P blocks
//! 1+2P .. 1+2P+2O            owner table, two copies of each of its O blocks
//! 1+2P+2O .. block count     data blocks: the only blocks a principal can own
//! ```
//!
//! Copy A of logical block `i` of a table is at the table's start + 2i, copy B right after it.
//! A copy is a 32-byte header (magic, table kind, logical index, sequence number, CRC-32 of the
//! rest of the block) and a payload: 127 principal records of 32 bytes (in-use flag, reserved
//! zeros, credential), or 1016 owner entries of 4 bytes (0 for free, principal index + 1)
//! indexed by block number. Entries of the superblock and of table blocks are always 0.
//!
//! # Crash safety
//!
//! Each operation that changes the disk (create a principal, allocate, free or repossess one
//! block) changes exactly one logical table block. It writes the new version into the copy that
//! does *not* hold the current version, with a sequence number one higher, and flushes before it
//! returns success. A crash can leave that write complete (the new copy is intact and newest),
//! missing (the old copy is newest) or torn (the new copy fails its checksum, so the old one is
//! used; a torn write whose landed prefix holds every changed byte is simply the new version).
//! [`BlockTable::mount`] takes, for every logical block, the intact copy with the highest
//! sequence number. So every table block is either wholly old or wholly new, every operation is
//! either wholly done or not done, and an operation that returned success is always done.
//! Operations that change different blocks keep their order, because each one's flush completes
//! before the next one's write starts. A vectored allocation is a sequence of these atomic
//! steps: a crash leaves a prefix of it done.
//!
//! Formatting erases the superblock first, writes both copies of every table block, flushes and
//! only then writes and flushes the superblock, so a crash during a format leaves a disk that
//! mount reports as [`MountError::NotFormatted`].
//!
//! # Data
//!
//! Allocation writes zeros to the block and flushes *before* it records the new owner, so a
//! principal never reads what a previous owner left, even after a crash; the kernel need not
//! zero a block itself. Freeing and repossession leave the data in place (repossession is
//! forced, and the data is not the kernel's to change); it becomes unreachable until the next
//! allocation zeroes it. Data writes are not flushed by the table: a libOS that orders its own
//! writes needs the kernel to offer it [`BlockDevice::flush`].
//!
//! # Device failures
//!
//! A failed data read or write, or a failed zeroing, fails that call with
//! [`Error::Unavailable`] and changes nothing. A failed table write or flush leaves the disk in
//! doubt (it holds either the old or the new version of one block), so the table turns
//! read-only: every later call that would change the disk fails with [`Error::Unavailable`],
//! while checks, reads and writes of data keep using the last state known to be on the disk.
//! The next mount settles the doubt.

mod disk_format;
mod invariants;
mod persistence;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod memory_disk;
#[cfg(test)]
mod tests;

use crate::environments::EnvId;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;
use disk_format::{TableKind, entry_owner, owner_entry};
use exo_abi::Error;

pub use disk_format::{
    FORMAT_VERSION, Layout, MAX_BLOCK_COUNT, MAX_PRINCIPAL_TABLE_BLOCKS, OWNERS_PER_TABLE_BLOCK,
    PRINCIPALS_PER_TABLE_BLOCK,
};

/// Size of a disk block in bytes: one page, so a block is read into or written from one page.
pub const BLOCK_SIZE_BYTES: usize = 4096;

/// The principal table size [`BlockTable::format`] uses: 4 logical blocks, 508 principals.
pub const DEFAULT_PRINCIPAL_TABLE_BLOCKS: u64 = 4;

/// A disk the table lives on, addressed by block number. The kernel implements it over
/// virtio-blk; tests over memory.
pub trait BlockDevice {
    /// How many blocks the disk has.
    fn block_count(&self) -> u64;
    /// Reads block `block` into `buffer`.
    fn read_block(
        &mut self,
        block: u64,
        buffer: &mut [u8; BLOCK_SIZE_BYTES],
    ) -> Result<(), DeviceError>;
    /// Writes `data` to block `block`. It may reach the medium in any order relative to other
    /// writes until the next [`BlockDevice::flush`].
    fn write_block(&mut self, block: u64, data: &[u8; BLOCK_SIZE_BYTES])
    -> Result<(), DeviceError>;
    /// Returns once every write that completed before the call is on the medium.
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// Why a device request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The block number is beyond the disk.
    OutOfRange,
    /// The device reported an error or did not answer.
    Failed,
}

/// A durable secret naming a principal, chosen by the libOS. Its `Debug` form hides the bytes,
/// so that it never reaches a log.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Credential(pub [u8; 16]);

impl fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Credential(..)")
    }
}

/// A durable owner of blocks: the index of its record in the principal table. It stays the
/// same across reboots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrincipalId(pub u32);

/// The result of presenting a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Presentation {
    /// The principal the environment is now bound to.
    pub principal: PrincipalId,
    /// Whether the credential was unknown, so the principal was just created and owns nothing.
    pub is_new: bool,
}

/// The owner of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOwner {
    /// The superblock and the table blocks: never allocatable.
    Kernel,
    /// Nobody: it can be allocated.
    Free,
    /// A principal.
    Principal(PrincipalId),
}

/// What a repossession took, for the repossession vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repossession {
    /// The principal that owned the block.
    pub principal: PrincipalId,
    /// The living environments bound to that principal, in id order: the ones to tell.
    pub environments: Vec<EnvId>,
}

/// Why a disk could not be formatted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The disk has no room for a data block after the tables.
    TooSmall,
    /// The disk has more than [`MAX_BLOCK_COUNT`] blocks.
    TooLarge,
    /// The principal table size is 0 or over [`MAX_PRINCIPAL_TABLE_BLOCKS`].
    InvalidPrincipalTableSize,
    /// The device failed; the disk is left unformatted.
    Device(DeviceError),
}

/// Why a disk could not be mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountError {
    /// Block 0 holds no superblock: the disk was never formatted, or a format did not finish.
    /// The kernel may format it.
    NotFormatted,
    /// The superblock is of a format version this code does not read.
    UnsupportedVersion(u32),
    /// The superblock was written for a disk of another size.
    SizeMismatch {
        /// The block count in the superblock.
        recorded_block_count: u64,
        /// The block count the device reports.
        device_block_count: u64,
    },
    /// The table is damaged beyond what a crash can do: `block` is the first block found bad
    /// (copy A of a table block whose two copies are both unreadable, or 0 for the superblock).
    Corrupt {
        /// The first bad block found.
        block: u64,
        /// What is wrong, for messages.
        reason: &'static str,
    },
    /// The device failed while the table was read.
    Device(DeviceError),
}

/// Which copy of a logical table block holds its current version, and that version's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CopyState {
    /// 0 for copy A, 1 for copy B.
    current_slot: u64,
    sequence: u64,
}

/// The ownership table: an in-memory copy of the on-disk table, plus the bindings of living
/// environments to principals (which are not durable). Every call that changes the disk is
/// given the device; checks need none.
#[cfg_attr(test, derive(Clone))]
pub struct BlockTable {
    layout: Layout,
    /// The credential of each principal, by principal index; `None` for an unused record.
    principals: Vec<Option<Credential>>,
    principal_by_credential: BTreeMap<Credential, PrincipalId>,
    /// The on-disk owner entry of every block number (see [`disk_format::owner_entry`]).
    owner_entries: Vec<u32>,
    /// Blocks owned by each principal, by principal index.
    owned_block_counts: Vec<u64>,
    /// Free data blocks covered by each owner table block, so that finding a free block skips
    /// full stretches of the disk.
    free_block_counts: Vec<u64>,
    principal_copies: Vec<CopyState>,
    owner_copies: Vec<CopyState>,
    /// The environments bound to each principal, by principal index.
    bound_environments: Vec<BTreeSet<EnvId>>,
    bindings: BTreeMap<EnvId, PrincipalId>,
    /// Set when a table write failed: the disk holds an unknown one of two versions.
    is_read_only: bool,
}

/// A summary: the full table is as large as the disk, and credentials are secret.
impl fmt::Debug for BlockTable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("BlockTable")
            .field("layout", &self.layout)
            .field("principals", &self.principal_by_credential.len())
            .field("free_count", &self.free_count())
            .field("bindings", &self.bindings)
            .field("is_read_only", &self.is_read_only)
            .finish()
    }
}

impl BlockTable {
    /// Binds `environment` to the principal named by `credential`, creating the principal
    /// (durably, before returning) if the credential is unknown.
    ///
    /// Other environments bound to the same principal stay bound: they share its blocks.
    ///
    /// Errors: [`Error::InvalidArgument`] for the all-zero credential, or when `environment` is
    /// already bound to another principal; [`Error::NoMemory`] when the credential is new and
    /// the principal table is full; [`Error::Unavailable`] when the disk failed or the table is
    /// read-only. Presenting the credential an environment is already bound to succeeds.
    pub fn present_credential(
        &mut self,
        device: &mut impl BlockDevice,
        environment: EnvId,
        credential: Credential,
    ) -> Result<Presentation, Error> {
        if credential.0 == [0; 16] {
            return Err(Error::InvalidArgument);
        }
        if let Some(&principal) = self.principal_by_credential.get(&credential) {
            self.bind(environment, principal)?;
            return Ok(Presentation {
                principal,
                is_new: false,
            });
        }
        if self.bindings.contains_key(&environment) {
            return Err(Error::InvalidArgument);
        }
        let principal = self.vacant_principal().ok_or(Error::NoMemory)?;
        self.create_principal(device, principal, credential)?;
        self.bind(environment, principal)?;
        Ok(Presentation {
            principal,
            is_new: true,
        })
    }

    fn bind(&mut self, environment: EnvId, principal: PrincipalId) -> Result<(), Error> {
        match self.bindings.get(&environment) {
            Some(&bound) if bound == principal => return Ok(()),
            Some(_) => return Err(Error::InvalidArgument),
            None => {}
        }
        self.bound_environments[principal.0 as usize].insert(environment);
        self.bindings.insert(environment, principal);
        Ok(())
    }

    /// An unused principal record, else the record of a principal that owns nothing and is
    /// bound to nobody (forgetting it loses nothing).
    fn vacant_principal(&self) -> Option<PrincipalId> {
        let unused = self.principals.iter().position(Option::is_none);
        let forgettable = || {
            (0..self.principals.len()).find(|&index| {
                self.owned_block_counts[index] == 0 && self.bound_environments[index].is_empty()
            })
        };
        unused
            .or_else(forgettable)
            .map(|index| PrincipalId(index as u32))
    }

    fn create_principal(
        &mut self,
        device: &mut impl BlockDevice,
        principal: PrincipalId,
        credential: Credential,
    ) -> Result<(), Error> {
        let slot = principal.0 as usize;
        let previous = self.principals[slot];
        self.principals[slot] = Some(credential);
        let index = u64::from(principal.0) / PRINCIPALS_PER_TABLE_BLOCK;
        if let Err(error) = self.commit(device, TableKind::Principals, index) {
            self.principals[slot] = previous;
            return Err(error);
        }
        if let Some(forgotten) = previous {
            self.principal_by_credential.remove(&forgotten);
        }
        self.principal_by_credential.insert(credential, principal);
        Ok(())
    }

    /// Gives a data block to the principal `environment` is bound to: block `request` if it
    /// names one, else the lowest free block. The block is zeroed, durably, before it is
    /// recorded as owned, and the record is durable before this returns.
    ///
    /// Errors: [`Error::PermissionDenied`] when `environment` is bound to no principal;
    /// [`Error::InvalidArgument`] when `request` is beyond the disk or a table block;
    /// [`Error::Occupied`] when the named block is owned (by anyone, the caller included);
    /// [`Error::NoMemory`] when no data block is free; [`Error::Unavailable`] when the disk
    /// failed or the table is read-only.
    pub fn allocate(
        &mut self,
        device: &mut impl BlockDevice,
        environment: EnvId,
        request: Option<u64>,
    ) -> Result<u64, Error> {
        let principal = self
            .principal_of(environment)
            .ok_or(Error::PermissionDenied)?;
        let block = match request {
            Some(block) => self.named_free_block(block)?,
            None => self.lowest_free_block().ok_or(Error::NoMemory)?,
        };
        self.require_writable()?;
        // The zeros must be on the medium before the record is: otherwise a crash could leave
        // the new owner with the previous owner's data.
        device
            .write_block(block, &disk_format::zeroed_block())
            .and_then(|()| device.flush())
            .map_err(|_| Error::Unavailable)?;
        self.change_owner(device, block, Some(principal))?;
        Ok(block)
    }

    fn named_free_block(&self, block: u64) -> Result<u64, Error> {
        match self.owner(block) {
            Some(BlockOwner::Free) => Ok(block),
            Some(BlockOwner::Principal(_)) => Err(Error::Occupied),
            Some(BlockOwner::Kernel) | None => Err(Error::InvalidArgument),
        }
    }

    fn lowest_free_block(&self) -> Option<u64> {
        let stretch = self.free_block_counts.iter().position(|&count| count > 0)? as u64;
        let first = (stretch * OWNERS_PER_TABLE_BLOCK).max(self.layout.data_start);
        let end = ((stretch + 1) * OWNERS_PER_TABLE_BLOCK).min(self.layout.block_count);
        (first..end).find(|&block| self.owner_entries[block as usize] == 0)
    }

    /// Returns block `block`, owned by the principal `environment` is bound to, to the free
    /// pool, durably. Its data stays on the disk until the next allocation zeroes it.
    ///
    /// Errors: [`Error::PermissionDenied`] when `environment` is bound to no principal or its
    /// principal does not own the block (a free block included); [`Error::InvalidArgument`]
    /// when the block is beyond the disk or a table block; [`Error::Unavailable`] when the disk
    /// failed or the table is read-only.
    pub fn free(
        &mut self,
        device: &mut impl BlockDevice,
        environment: EnvId,
        block: u64,
    ) -> Result<(), Error> {
        self.check_access(environment, block)?;
        self.change_owner(device, block, None)
    }

    /// Takes block `block` from its owner by force, durably: it becomes free. Its data is not
    /// overwritten (the next allocation zeroes it). Returns whom it was taken from, for the
    /// repossession vector; breaking bindings of the block to pages is the kernel's part.
    ///
    /// Errors: [`Error::InvalidArgument`] when the block is beyond the disk or a table block;
    /// [`Error::NotFound`] when it is free; [`Error::Unavailable`] when the disk failed or the
    /// table is read-only.
    pub fn repossess(
        &mut self,
        device: &mut impl BlockDevice,
        block: u64,
    ) -> Result<Repossession, Error> {
        let principal = match self.owner(block) {
            Some(BlockOwner::Principal(principal)) => principal,
            Some(BlockOwner::Free) => return Err(Error::NotFound),
            Some(BlockOwner::Kernel) | None => return Err(Error::InvalidArgument),
        };
        self.change_owner(device, block, None)?;
        Ok(Repossession {
            principal,
            environments: self.environments_of(principal).collect(),
        })
    }

    fn require_writable(&self) -> Result<(), Error> {
        if self.is_read_only {
            Err(Error::Unavailable)
        } else {
            Ok(())
        }
    }

    /// Records `owner` for data block `block` on the disk, then in memory.
    fn change_owner(
        &mut self,
        device: &mut impl BlockDevice,
        block: u64,
        owner: Option<PrincipalId>,
    ) -> Result<(), Error> {
        let slot = block as usize;
        let previous = self.owner_entries[slot];
        self.owner_entries[slot] = owner_entry(owner);
        if let Err(error) = self.commit(device, TableKind::Owners, block / OWNERS_PER_TABLE_BLOCK) {
            self.owner_entries[slot] = previous;
            return Err(error);
        }
        let stretch = (block / OWNERS_PER_TABLE_BLOCK) as usize;
        match entry_owner(previous) {
            Some(before) => self.owned_block_counts[before.0 as usize] -= 1,
            None => self.free_block_counts[stretch] -= 1,
        }
        match owner {
            Some(after) => self.owned_block_counts[after.0 as usize] += 1,
            None => self.free_block_counts[stretch] += 1,
        }
        Ok(())
    }

    /// Whether `environment` may read and write block `block`: it must be bound to the
    /// principal that owns the block. The kernel checks the page side.
    ///
    /// Errors: [`Error::PermissionDenied`] when `environment` is bound to no principal or does
    /// not own the block; [`Error::InvalidArgument`] when the block is beyond the disk or a
    /// table block.
    pub fn check_access(&self, environment: EnvId, block: u64) -> Result<(), Error> {
        let principal = self
            .principal_of(environment)
            .ok_or(Error::PermissionDenied)?;
        match self.owner(block) {
            Some(BlockOwner::Principal(owner)) if owner == principal => Ok(()),
            Some(BlockOwner::Principal(_) | BlockOwner::Free) => Err(Error::PermissionDenied),
            Some(BlockOwner::Kernel) | None => Err(Error::InvalidArgument),
        }
    }

    /// Reads block `block`, which `environment` must own ([`BlockTable::check_access`]), into
    /// `buffer` (a page the kernel checked the environment has bound writable). A device failure gives
    /// [`Error::Unavailable`].
    pub fn read_data(
        &self,
        device: &mut impl BlockDevice,
        environment: EnvId,
        block: u64,
        buffer: &mut [u8; BLOCK_SIZE_BYTES],
    ) -> Result<(), Error> {
        self.check_access(environment, block)?;
        device
            .read_block(block, buffer)
            .map_err(|_| Error::Unavailable)
    }

    /// Writes `data` (a page the kernel checked the environment has bound) to block `block`, which
    /// `environment` must own. Not flushed: the data is durable after the next device flush.
    /// A device failure gives [`Error::Unavailable`].
    pub fn write_data(
        &self,
        device: &mut impl BlockDevice,
        environment: EnvId,
        block: u64,
        data: &[u8; BLOCK_SIZE_BYTES],
    ) -> Result<(), Error> {
        self.check_access(environment, block)?;
        device
            .write_block(block, data)
            .map_err(|_| Error::Unavailable)
    }

    /// Unbinds `environment` (it ended); its principal keeps its blocks, and can be bound
    /// again by presenting its credential. Returns the principal it was bound to.
    pub fn release_environment(&mut self, environment: EnvId) -> Option<PrincipalId> {
        let principal = self.bindings.remove(&environment)?;
        self.bound_environments[principal.0 as usize].remove(&environment);
        Some(principal)
    }

    /// The owner of `block`, or `None` beyond the disk.
    pub fn owner(&self, block: u64) -> Option<BlockOwner> {
        let entry = *self.owner_entries.get(usize::try_from(block).ok()?)?;
        if !self.layout.is_data_block(block) {
            return Some(BlockOwner::Kernel);
        }
        Some(entry_owner(entry).map_or(BlockOwner::Free, BlockOwner::Principal))
    }

    /// The principal `environment` is bound to.
    pub fn principal_of(&self, environment: EnvId) -> Option<PrincipalId> {
        self.bindings.get(&environment).copied()
    }

    /// The living environments bound to `principal`, in id order.
    pub fn environments_of(&self, principal: PrincipalId) -> impl Iterator<Item = EnvId> + '_ {
        self.bound_environments
            .get(principal.0 as usize)
            .into_iter()
            .flatten()
            .copied()
    }

    /// The blocks owned by the principal `environment` is bound to, in increasing order
    /// (none when it is unbound). Takes time proportional to the disk.
    pub fn blocks_of(&self, environment: EnvId) -> Vec<u64> {
        self.principal_of(environment)
            .map_or_else(Vec::new, |principal| self.blocks_of_principal(principal))
    }

    /// The blocks owned by `principal`, in increasing order (none for a principal not in use).
    pub fn blocks_of_principal(&self, principal: PrincipalId) -> Vec<u64> {
        if !self.is_in_use(principal) {
            return Vec::new();
        }
        let entry = owner_entry(Some(principal));
        (self.layout.data_start..self.layout.block_count)
            .filter(|&block| self.owner_entries[block as usize] == entry)
            .collect()
    }

    /// How many blocks the principal `environment` is bound to owns (0 when unbound).
    pub fn count_owned_by(&self, environment: EnvId) -> u64 {
        self.principal_of(environment)
            .and_then(|principal| self.owned_block_counts.get(principal.0 as usize))
            .copied()
            .unwrap_or(0)
    }

    /// How many data blocks are free.
    pub fn free_count(&self) -> u64 {
        self.free_block_counts.iter().sum()
    }

    /// Where everything lies on the disk.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether a table write failed, so that changes are refused until the next mount.
    pub fn is_read_only(&self) -> bool {
        self.is_read_only
    }

    fn is_in_use(&self, principal: PrincipalId) -> bool {
        self.principals
            .get(principal.0 as usize)
            .is_some_and(Option::is_some)
    }
}
