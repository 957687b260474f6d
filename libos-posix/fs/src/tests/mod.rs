//! Tests of the file system on memory disks: every call and error, large files, small caches,
//! damage the checker must find, and crashes injected at every kind of write.

mod cache_tests;
mod check_tests;
mod crash_disk;
mod crash_scenarios;
mod crash_tests;
mod data_tests;
mod directory_index_tests;
mod failure_tests;
mod model;
mod namespace_tests;
mod service_tests;

use crate::{CachedBlock, FileSystem, FormatOptions, MemoryDisk, check, format};
use alloc::vec;
use alloc::vec::Vec;

/// The file system every test mounts: a memory disk and a cache in a vector.
pub(crate) type TestFileSystem = FileSystem<MemoryDisk, Vec<CachedBlock>>;

/// Cache slots most tests use.
pub(crate) const DEFAULT_TEST_SLOTS: usize = 128;

/// A cache of `slots` empty slots.
pub(crate) fn cache(slots: usize) -> Vec<CachedBlock> {
    vec![CachedBlock::EMPTY; slots]
}

/// A freshly formatted memory disk of `block_count` blocks.
pub(crate) fn formatted_disk(block_count: u64, options: FormatOptions) -> MemoryDisk {
    let mut disk = MemoryDisk::new(block_count);
    format(&mut disk, options).expect("format");
    disk
}

/// A freshly formatted file system of `block_count` blocks, mounted with the default cache.
pub(crate) fn new_file_system(block_count: u64) -> TestFileSystem {
    let disk = formatted_disk(block_count, FormatOptions::default());
    FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS)).expect("mount")
}

/// Unmounts, checks the disk and mounts it again.
pub(crate) fn remount(file_system: TestFileSystem) -> TestFileSystem {
    let (mut disk, cache) = file_system.unmount().expect("unmount");
    assert_clean(&mut disk, "remount");
    FileSystem::mount(disk, cache).expect("mount again")
}

/// Unmounts and checks the disk.
pub(crate) fn unmount_and_check(file_system: TestFileSystem, context: &str) -> MemoryDisk {
    let (mut disk, _) = file_system.unmount().expect("unmount");
    assert_clean(&mut disk, context);
    disk
}

/// Fails unless the checker finds nothing wrong.
pub(crate) fn assert_clean(disk: &mut MemoryDisk, context: &str) {
    let report = check(disk).expect("check");
    assert!(report.is_clean(), "{context}: {:#?}", report.problems);
}

/// A small, fast, seeded generator (SplitMix64), so every run makes the same choices.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }
}

/// Deterministic contents: byte `i` of the stream named `stream` starting at `offset`.
pub(crate) fn pattern(stream: u64, offset: u64, length: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(length);
    let mut position = offset;
    while bytes.len() < length {
        let word = SplitMix64::new(stream ^ (position / 8).wrapping_mul(0x2545_F491_4F6C_DD1D))
            .next_u64()
            .to_le_bytes();
        let within = (position % 8) as usize;
        let take = (8 - within).min(length - bytes.len());
        bytes.extend_from_slice(&word[within..within + take]);
        position += take as u64;
    }
    bytes
}
