//! Device failures: a failed write or flush stops the file system, and mounting again finds
//! the last durable state.

use super::*;
use crate::{Block, Disk, FsError, IoError, MIN_CACHE_SLOTS, MemoryDisk};

/// A memory disk whose writes and flushes fail while `is_failing` is set, and reads while
/// `are_reads_failing` is.
struct FailingDisk {
    inner: MemoryDisk,
    is_failing: bool,
    are_reads_failing: bool,
}

impl Disk for FailingDisk {
    fn block_count(&self) -> u64 {
        self.inner.block_count()
    }

    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), IoError> {
        if self.are_reads_failing {
            return Err(IoError::DeviceFailed);
        }
        self.inner.read(block, into)
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), IoError> {
        if self.is_failing {
            return Err(IoError::DeviceFailed);
        }
        self.inner.write(writes)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        if self.is_failing {
            return Err(IoError::DeviceFailed);
        }
        self.inner.flush()
    }
}

#[test]
fn a_failed_commit_stops_the_file_system_until_the_next_mount() {
    let disk = FailingDisk {
        inner: formatted_disk(512, FormatOptions::default()),
        is_failing: false,
        are_reads_failing: false,
    };
    let mut file_system = FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS)).unwrap();
    let kept = file_system.create("/kept").unwrap();
    file_system.write(kept, 0, b"durable").unwrap();
    file_system.sync().unwrap();

    file_system.create("/lost").unwrap();
    file_system.disk.is_failing = true;
    assert_eq!(file_system.sync(), Err(FsError::Io));
    assert_eq!(file_system.lookup("/kept"), Err(FsError::Io));
    assert_eq!(file_system.create("/other"), Err(FsError::Io));
    file_system.disk.is_failing = false;
    assert_eq!(file_system.sync(), Err(FsError::Io), "stays stopped");

    let (disk, cache) = file_system.into_parts();
    let mut inner = disk.inner;
    assert_clean(&mut inner, "after the failure");
    let mut file_system = FileSystem::mount(inner, cache).unwrap();
    let mut contents = [0; 7];
    let kept = file_system.lookup("/kept").unwrap();
    assert_eq!(file_system.read(kept, 0, &mut contents), Ok(7));
    assert_eq!(&contents, b"durable");
    unmount_and_check(file_system, "remounted");
}

#[test]
fn a_failed_read_fails_only_that_call() {
    let disk = FailingDisk {
        inner: formatted_disk(1024, FormatOptions::default()),
        is_failing: false,
        are_reads_failing: false,
    };
    let mut file_system = FileSystem::mount(disk, cache(MIN_CACHE_SLOTS)).unwrap();
    for index in 0..40 {
        file_system.mkdir(alloc::format!("/d{index}")).unwrap();
        file_system.create(alloc::format!("/d{index}/f")).unwrap();
    }
    file_system.sync().unwrap();
    file_system.disk.are_reads_failing = true;
    let results: Vec<_> = (0..40)
        .map(|index| file_system.lookup(alloc::format!("/d{index}/f")))
        .collect();
    assert!(results.contains(&Err(FsError::Io)));
    file_system.disk.are_reads_failing = false;
    assert!(file_system.lookup("/d0/f").is_ok());
    file_system.create("/d0/g").unwrap();
    let (disk, _) = file_system.unmount().unwrap();
    let mut inner = disk.inner;
    assert_clean(&mut inner, "after failed reads");
}

#[test]
fn a_disk_smaller_than_the_file_system_is_refused() {
    let file_system = new_file_system(512);
    let (disk, pages) = file_system.unmount().unwrap();
    let shorter = MemoryDisk::from_blocks(disk.blocks()[..511].to_vec());
    assert_eq!(
        FileSystem::mount(shorter, pages).err(),
        Some(FsError::Corrupt("file system larger than the disk"))
    );
}
