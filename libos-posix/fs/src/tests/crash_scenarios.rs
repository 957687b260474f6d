//! Crashes at every write of scenarios chosen to stress one mechanism each: blocks freed and
//! wanted again in one transaction, an unlink whose freeing spans transactions (the orphan
//! list), an unlink that frees a small file with its name, and a file whose writes and
//! truncation span transactions.

use super::crash_disk::{CrashImages, RecordingDisk};
use super::*;
use crate::{BLOCK_SIZE, CheckReport, FileSystem, FsError, Ino, MemoryDisk, check};
use alloc::format;

type RecordingFileSystem = FileSystem<RecordingDisk, Vec<CachedBlock>>;

const BLOCK_BYTES: u64 = BLOCK_SIZE as u64;

/// Runs `scenario` from `base` on a recording disk, then cuts the power at every write (half
/// the cuts tearing the write in flight). Each image must check clean, mount, satisfy `judge`,
/// and check clean after unmounting.
fn crash_at_every_write(
    name: &str,
    base: MemoryDisk,
    slots: usize,
    scenario: impl FnOnce(&mut RecordingFileSystem),
    mut judge: impl FnMut(&mut TestFileSystem, &CheckReport, &str),
) {
    let mut file_system =
        FileSystem::mount(RecordingDisk::new(base.clone()), cache(slots)).unwrap();
    scenario(&mut file_system);
    let (recording, _) = file_system.into_parts();
    let mut images = CrashImages::new(base, &recording.events);
    let mut random = SplitMix64::new(name.len() as u64);
    for cut in 0..=images.write_count() {
        let may_tear = cut % 2 == 1;
        let mut image = images.image_at(cut, &mut random, may_tear);
        let context = format!("{name}: cut at write {cut} (torn: {may_tear})");
        let report = check(&mut image).unwrap();
        assert!(report.is_clean(), "{context}: {:#?}", report.problems);
        let mut file_system = FileSystem::mount(image, cache(RECOVERY_SLOTS))
            .unwrap_or_else(|error| panic!("{context}: mount: {error}"));
        judge(&mut file_system, &report, &context);
        unmount_and_check(file_system, &context);
    }
}

const RECOVERY_SLOTS: usize = 32;

fn contents_of(file_system: &mut TestFileSystem, path: &str) -> Option<Vec<u8>> {
    let ino = file_system.lookup(path).ok()?;
    let mut contents = vec![0; file_system.stat(ino).unwrap().size as usize];
    file_system.read(ino, 0, &mut contents).unwrap();
    Some(contents)
}

#[test]
fn blocks_freed_by_a_transaction_are_not_reused_before_it_commits() {
    let options = FormatOptions {
        inode_count: Some(64),
        ..FormatOptions::default()
    };
    let mut file_system = FileSystem::mount(formatted_disk(200, options), cache(64)).unwrap();
    // An empty directory holding one block, then free blocks, then a full disk: a new file
    // would get the directory's block first if blocks freed by the running transaction were
    // reused at once, and its data, written in place before the commit, would land in a block
    // the committed state still reads as directory records.
    file_system.mkdir("/directory").unwrap();
    file_system.create("/directory/entry").unwrap();
    file_system.unlink("/directory/entry").unwrap();
    let gap = file_system.create("/gap").unwrap();
    file_system.write(gap, 0, &[3; 8 * BLOCK_SIZE]).unwrap();
    let filler = file_system.create("/filler").unwrap();
    let filler_data = pattern(7, 0, 200 * BLOCK_SIZE);
    let filled = file_system.write(filler, 0, &filler_data).unwrap();
    assert_eq!(file_system.statfs().free_blocks, 0);
    file_system.unlink("/gap").unwrap();
    let base = unmount_and_check(file_system, "setup");

    crash_at_every_write(
        "reuse",
        base,
        64,
        |file_system| {
            file_system.rmdir("/directory").unwrap();
            let second = file_system.create("/second").unwrap();
            let data = pattern(8, 0, 4 * BLOCK_SIZE);
            assert_eq!(file_system.write(second, 0, &data), Ok(data.len()));
            file_system.sync().unwrap();
        },
        |file_system, _, context| {
            let filler_now = contents_of(file_system, "/filler").unwrap();
            assert!(
                filler_now == filler_data[..filled],
                "{context}: filler changed"
            );
            if let Some(second) = contents_of(file_system, "/second") {
                let expected = pattern(8, 0, second.len());
                assert!(second == expected, "{context}: second file's contents");
            }
        },
    );
}

#[test]
fn an_unlink_spanning_transactions_is_finished_by_the_next_mount() {
    let options = FormatOptions {
        journal_blocks: Some(33),
        inode_count: Some(64),
    };
    let mut file_system = FileSystem::mount(formatted_disk(1024, options), cache(16)).unwrap();
    let doomed = file_system.create("/doomed").unwrap();
    let kept = file_system.create("/kept").unwrap();
    // Interleaved blocks: freeing the first file's blocks makes no runs, so the transaction
    // fills its list of freed ranges and commits in the middle of the unlink.
    for block in 0..150 {
        let offset = block * BLOCK_BYTES;
        file_system
            .write(doomed, offset, &pattern(1, offset, BLOCK_SIZE))
            .unwrap();
        file_system
            .write(kept, offset, &pattern(2, offset, BLOCK_SIZE))
            .unwrap();
    }
    let base = unmount_and_check(file_system, "setup");
    let doomed_data = pattern(1, 0, 150 * BLOCK_SIZE);
    let kept_data = pattern(2, 0, 150 * BLOCK_SIZE);

    let mut cuts_with_orphans = 0;
    crash_at_every_write(
        "orphan",
        base,
        16,
        |file_system| {
            file_system.unlink("/doomed").unwrap();
            file_system.create("/after").unwrap();
            file_system.sync().unwrap();
        },
        |file_system, report, context| {
            cuts_with_orphans += usize::from(report.orphans > 0);
            assert!(
                contents_of(file_system, "/kept").unwrap() == kept_data,
                "{context}"
            );
            if let Some(doomed_now) = contents_of(file_system, "/doomed") {
                assert!(doomed_now == doomed_data, "{context}: half-unlinked file");
            }
            assert_eq!(file_system.stat(Ino::ROOT).unwrap().links, 2, "{context}");
        },
    );
    assert!(cuts_with_orphans > 0, "no crash fell inside the unlink");
}

#[test]
fn an_unlink_freeing_a_small_file_with_its_name_is_whole_or_not_at_all() {
    let mut file_system =
        FileSystem::mount(formatted_disk(256, FormatOptions::default()), cache(16)).unwrap();
    // The root's first block, which stays when the name goes.
    file_system.create("/kept").unwrap();
    let empty = file_system.statfs();
    let small = file_system.create("/small").unwrap();
    let data = pattern(4, 0, 3 * BLOCK_SIZE + 7);
    file_system.write(small, 0, &data).unwrap();
    let with_file = file_system.statfs();
    let base = unmount_and_check(file_system, "setup");

    crash_at_every_write(
        "small unlink",
        base,
        16,
        |file_system| {
            file_system.unlink("/small").unwrap();
            file_system.sync().unwrap();
        },
        |file_system, report, context| {
            assert_eq!(report.orphans, 0, "{context}: the orphan list was used");
            match contents_of(file_system, "/small") {
                Some(contents) => {
                    assert!(contents == data, "{context}: contents");
                    assert_eq!(file_system.statfs(), with_file, "{context}");
                }
                None => assert_eq!(file_system.statfs(), empty, "{context}"),
            }
        },
    );
}

#[test]
fn writes_and_truncations_spanning_transactions_leave_a_prefix() {
    let options = FormatOptions {
        journal_blocks: Some(33),
        inode_count: Some(64),
    };
    let base = formatted_disk(2048, options);
    // Sparse blocks in the double indirect region (each needs its own indirect block, so the
    // transaction fills), then a sequential run; all in increasing order.
    let sparse = (0..16u64).map(|index| 1036 + index * 1024);
    let sequential = (1036 + 16 * 1024)..(1036 + 16 * 1024 + 48);
    let written_blocks: Vec<u64> = sparse.chain(sequential).collect();
    let last_block = *written_blocks.last().unwrap();
    let kept_blocks = 1036 + 8 * 1024;

    let scenario_blocks = written_blocks.clone();
    crash_at_every_write(
        "prefix",
        base,
        16,
        |file_system| {
            let file = file_system.create("/file").unwrap();
            for &block in &scenario_blocks {
                let offset = block * BLOCK_BYTES;
                file_system
                    .write(file, offset, &pattern(3, offset, BLOCK_SIZE))
                    .unwrap();
            }
            file_system.fsync(file).unwrap();
            file_system
                .truncate(file, kept_blocks * BLOCK_BYTES)
                .unwrap();
            file_system.fsync(file).unwrap();
        },
        |file_system, _, context| {
            let Ok(file) = file_system.lookup("/file") else {
                return;
            };
            let size = file_system.stat(file).unwrap().size;
            assert!(size.is_multiple_of(BLOCK_BYTES) && size <= (last_block + 1) * BLOCK_BYTES);
            let mut block = vec![0; BLOCK_SIZE];
            for &file_block in written_blocks
                .iter()
                .filter(|&&file_block| file_block * BLOCK_BYTES < size)
            {
                let offset = file_block * BLOCK_BYTES;
                assert_eq!(file_system.read(file, offset, &mut block), Ok(BLOCK_SIZE));
                assert!(
                    block == pattern(3, offset, BLOCK_SIZE),
                    "{context}: block {file_block}"
                );
                if offset + 2 * BLOCK_BYTES <= size && !written_blocks.contains(&(file_block + 1)) {
                    file_system
                        .read(file, offset + BLOCK_BYTES, &mut block)
                        .unwrap();
                    assert!(
                        block.iter().all(|&byte| byte == 0),
                        "{context}: hole after {file_block}"
                    );
                }
            }
            assert_eq!(file_system.write(file, size, b"still writable"), Ok(14));
            assert_ne!(file_system.truncate(file, 0), Err(FsError::Io));
        },
    );
}
