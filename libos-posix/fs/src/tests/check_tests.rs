//! Damage the checker must report, and disks mount must refuse.

use super::*;
use crate::block::{get_u32, put_u32};
use crate::layout::{FORMAT_VERSION, Layout, SUPERBLOCK_BLOCK, Superblock};
use crate::{CheckReport, FsError, Ino, MIN_CACHE_SLOTS, MemoryDisk, check};
use alloc::string::String;

/// A disk with a directory, a file of a few blocks and an empty file, unmounted.
fn populated_disk() -> (MemoryDisk, Layout) {
    let mut file_system = new_file_system(512);
    file_system.mkdir("/d").unwrap();
    let file = file_system.create("/d/f").unwrap();
    file_system.write(file, 0, &[3; 3 * 4096]).unwrap();
    file_system.create("/empty").unwrap();
    let layout = file_system.layout;
    (unmount_and_check(file_system, "populated"), layout)
}

fn problems_after(damage: impl FnOnce(&mut MemoryDisk, &Layout)) -> CheckReport {
    let (mut disk, layout) = populated_disk();
    damage(&mut disk, &layout);
    let report = check(&mut disk).expect("check");
    assert!(!report.is_clean(), "damage went unnoticed");
    report
}

fn mentions(report: &CheckReport, words: &str) -> bool {
    report
        .problems
        .iter()
        .any(|problem: &String| problem.contains(words))
}

#[test]
fn a_clean_disk_reports_its_counts() {
    let (mut disk, _) = populated_disk();
    let report = check(&mut disk).unwrap();
    assert!(report.is_clean());
    assert_eq!(
        (report.files, report.directories, report.orphans),
        (2, 2, 0)
    );
    assert_eq!(
        report.used_blocks, 5,
        "root block, /d block, three data blocks"
    );
    assert!(!report.replayed_transaction);
}

#[test]
fn a_leaked_block_is_found() {
    let report = problems_after(|disk, layout| {
        let bitmap = &mut disk.blocks_mut()[layout.block_bitmap_start as usize];
        bitmap.0[50] |= 0x01;
    });
    assert!(
        mentions(&report, "marked used but not in use"),
        "{report:?}"
    );
}

#[test]
fn a_block_used_but_free_in_the_bitmap_is_found() {
    let report = problems_after(|disk, layout| {
        disk.blocks_mut()[layout.block_bitmap_start as usize]
            .0
            .fill(0);
    });
    assert!(mentions(&report, "in use but marked free"), "{report:?}");
}

#[test]
fn a_block_shared_by_two_inodes_is_found() {
    let report = problems_after(|disk, layout| {
        let (block, offset) = layout.inode_location(Ino(3));
        let table = &mut disk.blocks_mut()[block as usize].0;
        let first_pointer = get_u32(table, offset + 24);
        let (empty_block, empty_offset) = layout.inode_location(Ino(4));
        assert_eq!(empty_block, block);
        put_u32(table, empty_offset + 24, first_pointer);
        put_u32(table, empty_offset + 8, 1);
        put_u32(table, empty_offset + 16, 4096);
    });
    assert!(mentions(&report, "used twice"), "{report:?}");
}

#[test]
fn a_wrong_link_count_is_found() {
    let report = problems_after(|disk, layout| {
        let (block, offset) = layout.inode_location(Ino::ROOT);
        put_u32(&mut disk.blocks_mut()[block as usize].0, offset + 4, 7);
    });
    assert!(mentions(&report, "link count"), "{report:?}");
}

#[test]
fn an_entry_naming_a_free_inode_is_found() {
    let report = problems_after(|disk, layout| {
        let (block, offset) = layout.inode_location(Ino(4));
        disk.blocks_mut()[block as usize].0[offset..offset + 128].fill(0);
    });
    assert!(mentions(&report, "which is free"), "{report:?}");
}

#[test]
fn a_malformed_directory_record_is_found() {
    let report = problems_after(|disk, layout| {
        let root_block = layout.data_start as usize;
        put_u32(&mut disk.blocks_mut()[root_block].0, 4, 3);
    });
    assert!(mentions(&report, "record length"), "{report:?}");
}

#[test]
fn a_foreign_disk_or_version_is_refused() {
    let (mut disk, _) = populated_disk();
    disk.blocks_mut()[SUPERBLOCK_BLOCK as usize].0[0] = b'X';
    assert_eq!(
        check(&mut disk).err(),
        Some(FsError::Corrupt("bad magic: not a posix-fs file system"))
    );
    let refused = FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS));
    assert_eq!(
        refused.err(),
        Some(FsError::Corrupt("bad magic: not a posix-fs file system"))
    );

    let (mut disk, _) = populated_disk();
    let superblock = &mut disk.blocks_mut()[SUPERBLOCK_BLOCK as usize];
    put_u32(&mut superblock.0, 8, FORMAT_VERSION + 1);
    let refused = FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS));
    assert_eq!(
        refused.err(),
        Some(FsError::Corrupt("unsupported on-disk format version"))
    );

    let blank = MemoryDisk::new(512);
    assert!(FileSystem::mount(blank, cache(DEFAULT_TEST_SLOTS)).is_err());
}

#[test]
fn a_damaged_superblock_is_reported() {
    let (mut disk, _) = populated_disk();
    let superblock = &mut disk.blocks_mut()[SUPERBLOCK_BLOCK as usize];
    superblock.0[100] ^= 1;
    assert!(Superblock::decode(superblock).is_err());
    let report = check(&mut disk).unwrap();
    assert!(mentions(&report, "superblock"), "{report:?}");
    assert!(FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS)).is_err());
}

#[test]
fn format_refuses_disks_too_small_and_bad_options() {
    let mut tiny = MemoryDisk::new(40);
    assert_eq!(
        format(&mut tiny, FormatOptions::default()),
        Err(FsError::InvalidArgument)
    );
    let mut disk = MemoryDisk::new(4096);
    let options = FormatOptions {
        journal_blocks: Some(10),
        ..FormatOptions::default()
    };
    assert_eq!(format(&mut disk, options), Err(FsError::InvalidArgument));
}

/// Walks every directory and reads every file, ignoring errors: damage may fail calls, never
/// panic.
fn exercise(file_system: &mut TestFileSystem) {
    let mut pending = Vec::from([Ino::ROOT]);
    let mut visited = 0;
    while let Some(directory) = pending.pop() {
        visited += 1;
        if visited > 200 {
            return;
        }
        let mut cursor = 0;
        while let Ok(Some((entry, next))) = file_system.read_dir(directory, cursor) {
            cursor = next;
            if entry.kind == crate::Kind::Directory {
                pending.push(entry.ino);
            } else {
                let mut buffer = [0; 8192];
                let _ = file_system.read(entry.ino, 0, &mut buffer);
                let _ = file_system.write(entry.ino, 100, b"scribble");
                let _ = file_system.truncate(entry.ino, 10);
            }
        }
    }
    let _ = file_system.create("/new");
    let _ = file_system.rename("/d", "/e");
    let _ = file_system.unlink("/empty");
    let _ = file_system.sync();
}

#[test]
fn random_damage_is_reported_or_refused_but_never_panics() {
    let (pristine, layout) = populated_disk();
    // The blocks whose first bytes hold the most structure: the first inodes, both directory
    // blocks, the block bitmap.
    let dense_blocks = [
        layout.inode_table_start,
        layout.data_start,
        layout.data_start + 1,
        layout.block_bitmap_start,
    ];
    let mut random = SplitMix64::new(99);
    for _ in 0..400 {
        let mut disk = pristine.clone();
        for _ in 0..1 + random.below(8) {
            let (block, byte) = if random.chance(1, 2) {
                let block = dense_blocks[random.below(dense_blocks.len() as u64) as usize];
                (block, random.below(300))
            } else {
                (random.below(layout.data_start + 8), random.below(4096))
            };
            disk.blocks_mut()[block as usize].0[byte as usize] = random.below(256) as u8;
        }
        let _ = check(&mut disk);
        if let Ok(mut file_system) = FileSystem::mount(disk, cache(MIN_CACHE_SLOTS)) {
            exercise(&mut file_system);
            let _ = file_system.unmount();
        }
    }
}
