//! The library OS's file system: journaled and crash-consistent, over any device of 4096-byte
//! blocks. It runs inside the library OS's processes (`no_std`, on a [`Disk`] that makes system
//! calls) and on the host, where the boot tool formats an image, installs files, and checks it.
//!
//! # Sharing
//!
//! The processes of the library OS share one [`FileSystem`] value, placed in memory mapped at
//! the same address in each. The value therefore holds no heap memory and no pointer into a
//! process's private memory: its disk is a zero-sized handle, its buffer cache is a slice of
//! [`CachedBlock`] pages the caller places in the shared region (the first of which hold the
//! cache's slot table), and the rest is under two kilobytes of fixed-size fields, small enough
//! to build on a process stack. Callers serialize calls with a lock of their own. A call may
//! allocate on the calling process's heap for its duration, but reads and writes of cached data
//! do not.
//!
//! # On-disk layout (block numbers; the format computes the sizes from the disk size)
//!
//! ```text
//! 0                 superblock: magic "POSIXFS\0", version, sizes and region starts, the orphan
//!                   list head, CRC-32C of the block
//! 1 .. 1+J          journal: a header block, then two log areas of (J-1)/2 blocks
//! .. +IB            inode bitmap (bit n: inode n in use; inode 0 reserved, always set)
//! .. +BB            block bitmap (bit n: data block n in use; it covers only the data region)
//! .. +IT            inode table: 128-byte inodes, 32 per block (inode 1 is the root)
//! .. block count    data: file data, directory blocks, indirect blocks
//! ```
//!
//! An inode holds its kind, link count, size, block count, 12 direct pointers, one single and
//! one double indirect pointer (32-bit block numbers, 1024 per indirect block: files up to
//! about 4 GiB, with holes), its parent (directories) and the next inode on the orphan list.
//! Directory blocks hold variable-length records (inode, length, name length, kind, name);
//! names are 1 to 255 bytes without `/` or NUL, and `.` and `..` are resolved by the path
//! walker, not stored. See [`MAX_FILE_SIZE`] and [`MAX_NAME_LEN`].
//!
//! # Crash consistency
//!
//! Metadata (superblock, bitmaps, inodes, directory and indirect blocks) changes only through
//! a redo journal; file data is written in place, before the transaction that makes it
//! reachable commits ("ordered" mode), so large writes are not written twice. Each call is a
//! sequence of steps, each leaving the file system consistent; a transaction groups whole
//! steps, and commits when it would outgrow its log area or the cache, and on `sync`/`fsync`.
//! A commit of transaction `n`:
//!
//! 1. writes all dirty file data in place, and the transaction's blocks into log area `n % 2`;
//! 2. flushes: data and log are durable, and so is the install of transaction `n - 1`;
//! 3. writes the journal header (sequence `n`, each logged block's home and CRC-32C, the
//!    header's own CRC-32C) and flushes: the transaction is durable;
//! 4. writes the blocks home, without a flush (the log covers them).
//!
//! Why a crash anywhere is safe: the header is valid only if it landed whole (its checksum),
//! and it is written only after its log blocks and the data they point to are durable; so a
//! valid header always describes a complete transaction, which mount replays (idempotently:
//! whole block images). A torn or older header means transaction `n` did not happen, and then
//! everything up to `n - 1` is at home (step 2 flushed it). A log area is overwritten only two
//! transactions later, after the header has moved on. Blocks freed by a transaction are not
//! reused until it commits, so in-place data writes never land on a block the committed state
//! still uses. Replaying a transaction that was already installed is harmless too: a block it
//! logs can hold newer contents only if a later transaction reused it, and that block is
//! reachable only if the later transaction committed, which would have replaced the header.
//! Unlinking a small file (four direct blocks at most) frees its blocks and inode in the step
//! that removes its name, so in one transaction. Any other unlink puts the inode on the orphan
//! list in the same step that removes its name; its blocks are then freed over further
//! transactions, and mount finishes the job after a crash.
//! Torn 4 KiB writes are tolerated: a torn header fails its checksum, a torn install is redone
//! from the log, a torn data write only hits data not yet synced. Mount replays onto the disk;
//! [`check`] replays into a private in-memory overlay and never writes.
//!
//! # Cache
//!
//! The buffer cache is the caller's [`CachedBlock`] slots (between [`MIN_CACHE_SLOTS`] and
//! [`MAX_CACHE_SLOTS`], each exactly one page); the first page (of up to 307; one page per 292
//! beyond) holds the slot table. Under memory pressure [`FileSystem::retire_clean_slots`] hands clean slots back and
//! [`FileSystem::restore_slot`] takes them again.
//!
//! # Memory of recent calls
//!
//! Besides the cache, the value keeps what the calls working in one directory look up again
//! and again: the directory path walked last, the last directory entries found or added (by
//! directory and name), the names of the directory searched through last (counted by a hash,
//! so that a create there needs no search), the last inodes decoded, and the cache slot freed
//! last (a new block takes it before the clock evicts a cached one). Each is kept true by the
//! calls that could make it false (see their modules), and a mount starts with none.
//!
//! # Semantics and limits
//!
//! Paths are absolute; see [`FileSystem::lookup`]. There are no permissions, owners or
//! timestamps, and no hard links beyond a directory's own. Removing the last link frees a file
//! at once: keeping an unlinked file open is the library OS's business. [`FileSystem::fsync`]
//! commits everything, like [`FileSystem::sync`]. On the host, [`MemoryDisk`] holds an image in
//! memory, [`format`] writes an empty file system and [`check`] verifies one.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod allocator;
mod block;
mod cache;
mod check;
mod crc;
mod directory;
mod directory_contents;
mod directory_index;
mod directory_memo;
mod errno;
mod error;
mod file_data;
mod file_map;
mod filesystem;
mod inode;
mod inode_memo;
mod journal;
mod layout;
mod memory_disk;
mod name_cache;
mod namespace;
pub mod partition;
pub mod service;
mod short_bytes;
mod transaction;

#[cfg(test)]
mod tests;

pub use block::{BLOCK_SIZE, Block, Disk, IoError, MAX_READ_BATCH, MAX_WRITE_BATCH};
pub use cache::{CachedBlock, MAX_CACHE_SLOTS, MIN_CACHE_SLOTS};
pub use check::{CheckReport, check};
pub use directory::{DirEntry, MAX_NAME_LEN};
pub use errno::Errno;
pub use error::FsError;
pub use file_data::ReadHint;
pub use filesystem::{FileSystem, FsStats, Metadata};
pub use inode::{Ino, Kind, MAX_FILE_BLOCKS, MAX_FILE_SIZE};
pub use layout::{
    DEFAULT_JOURNAL_BLOCKS, FORMAT_VERSION, FormatOptions, MAX_JOURNAL_BLOCKS, MIN_DATA_BLOCKS,
    MIN_DEFAULT_INODES, MIN_JOURNAL_BLOCKS, format,
};
pub use memory_disk::MemoryDisk;
