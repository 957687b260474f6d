//! The buffer cache: the smallest cache, retiring and restoring slots, and cache sizes mount
//! refuses.

use super::namespace_tests::list;
use super::*;
use crate::cache::SlotCache;
use crate::{BLOCK_SIZE, CachedBlock, FsError, Ino, MAX_CACHE_SLOTS, MIN_CACHE_SLOTS};
use alloc::format;

/// Directories, multi-block files, renames, truncations and removals, checked as it goes.
fn busy_workload(file_system: &mut TestFileSystem, rounds: u64) {
    for round in 0..rounds {
        let directory = format!("/dir{round}");
        file_system.mkdir(&directory).unwrap();
        for index in 0..8u64 {
            let path = format!("{directory}/file{index}");
            let file = file_system.create(&path).unwrap();
            let data = pattern(
                round * 100 + index,
                0,
                (index as usize + 1) * 3 * BLOCK_SIZE + 5,
            );
            assert_eq!(file_system.write(file, 0, &data), Ok(data.len()));
            let mut back = vec![0; data.len()];
            assert_eq!(file_system.read(file, 0, &mut back), Ok(data.len()));
            assert!(back == data, "round {round} file {index}");
        }
        file_system
            .rename(format!("{directory}/file0"), format!("{directory}/renamed"))
            .unwrap();
        let truncated = file_system.lookup(format!("{directory}/file7")).unwrap();
        file_system.truncate(truncated, 100).unwrap();
        file_system.unlink(format!("{directory}/file3")).unwrap();
        if round > 0 {
            file_system
                .rename(
                    format!("/dir{}", round - 1),
                    format!("{directory}/previous"),
                )
                .unwrap();
        }
    }
}

#[test]
fn the_smallest_cache_still_works() {
    let disk = formatted_disk(4096, FormatOptions::default());
    let mut file_system = FileSystem::mount(disk, cache(MIN_CACHE_SLOTS)).unwrap();
    busy_workload(&mut file_system, 6);
    let mut file_system = remount(file_system);
    let last = file_system.lookup("/dir5").unwrap();
    assert_eq!(list(&mut file_system, last).len(), 8);
    let big = file_system.create("/big").unwrap();
    let data = pattern(9, 0, 300 * BLOCK_SIZE);
    assert_eq!(file_system.write(big, 0, &data), Ok(data.len()));
    let mut file_system = remount(file_system);
    let mut back = vec![0; data.len()];
    assert_eq!(file_system.read(big, 0, &mut back), Ok(data.len()));
    assert!(back == data, "read back through the smallest cache");
    file_system.unlink("/big").unwrap();
    unmount_and_check(file_system, "smallest cache");
}

#[test]
fn mount_refuses_caches_too_small_or_too_large() {
    let disk = formatted_disk(512, FormatOptions::default());
    let refused = FileSystem::mount(disk.clone(), cache(MIN_CACHE_SLOTS - 1));
    assert_eq!(refused.err(), Some(FsError::NoCache));
    let too_many = SlotCache::<Vec<CachedBlock>>::check_slot_count(MAX_CACHE_SLOTS + 1);
    assert_eq!(too_many, Err(FsError::InvalidArgument));
    assert!(FileSystem::mount(disk, cache(MIN_CACHE_SLOTS)).is_ok());
}

#[test]
fn retired_slots_are_never_used_until_restored() {
    let disk = formatted_disk(2048, FormatOptions::default());
    let mut file_system = FileSystem::mount(disk, cache(64)).unwrap();
    let file = file_system.create("/f").unwrap();
    file_system
        .write(file, 0, &pattern(4, 0, 10 * BLOCK_SIZE))
        .unwrap();

    let mut retired = [0usize; 100];
    let count = file_system.retire_clean_slots(100, &mut retired);
    assert_eq!(count, 64 - MIN_CACHE_SLOTS);
    assert_eq!(file_system.usable_slots(), MIN_CACHE_SLOTS);
    assert_eq!(
        file_system.retire_clean_slots(100, &mut retired[count..]),
        0
    );

    busy_workload(&mut file_system, 3);
    let mut back = vec![0; 10 * BLOCK_SIZE];
    file_system.read(file, 0, &mut back).unwrap();
    assert!(back == pattern(4, 0, 10 * BLOCK_SIZE));

    for &slot in &retired[..count] {
        file_system.restore_slot(slot).unwrap();
    }
    assert_eq!(
        file_system.restore_slot(retired[0]),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(file_system.restore_slot(64), Err(FsError::InvalidArgument));
    assert_eq!(file_system.usable_slots(), 64);
    busy_workload(&mut file_system, 1);
    unmount_and_check(file_system, "retire and restore");
}

#[test]
fn retiring_skips_dirty_slots_and_respects_the_limit() {
    let disk = formatted_disk(2048, FormatOptions::default());
    let mut file_system = FileSystem::mount(disk, cache(40)).unwrap();
    let file = file_system.create("/dirty").unwrap();
    file_system
        .write(file, 0, &pattern(5, 0, 20 * BLOCK_SIZE))
        .unwrap();
    let mut retired = [0usize; 3];
    assert_eq!(file_system.retire_clean_slots(2, &mut retired), 2);
    assert_eq!(file_system.retire_clean_slots(10, &mut retired), 3);
    let mut many = [0usize; 40];
    let more = file_system.retire_clean_slots(40, &mut many);
    assert!(file_system.usable_slots() >= MIN_CACHE_SLOTS);
    assert!(
        more + 5 < 40 - MIN_CACHE_SLOTS,
        "dirty slots stay: only {more} more"
    );
    file_system.sync().unwrap();
    let after_sync = file_system.retire_clean_slots(40, &mut many);
    assert_eq!(
        file_system.usable_slots(),
        MIN_CACHE_SLOTS,
        "{after_sync} retired after sync"
    );
    let mut back = vec![0; 20 * BLOCK_SIZE];
    file_system.read(file, 0, &mut back).unwrap();
    assert!(back == pattern(5, 0, 20 * BLOCK_SIZE));
    assert!(file_system.lookup("/dirty").is_ok());
    assert_eq!(file_system.stat(Ino::ROOT).unwrap().links, 2);
    unmount_and_check(file_system, "retire dirty");
}

#[test]
fn the_file_system_value_is_small_and_its_table_lives_in_the_cache() {
    // Counters, four decoded inodes, 16 remembered names and 128 counts of one directory's
    // names; the slot table (12 bytes a slot) is in the pages.
    assert!(core::mem::size_of::<TestFileSystem>() < 2048);
    let disk = formatted_disk(8192, FormatOptions::default());
    let mut file_system = FileSystem::mount(disk, cache(4096)).unwrap();
    assert_eq!(file_system.usable_slots(), 4096);
    let file = file_system.create("/f").unwrap();
    let data = pattern(6, 0, 3000 * BLOCK_SIZE);
    assert_eq!(file_system.write(file, 0, &data), Ok(data.len()));
    let mut back = vec![0; data.len()];
    assert_eq!(file_system.read(file, 0, &mut back), Ok(data.len()));
    assert!(back == data);
    unmount_and_check(file_system, "large cache");
}

#[test]
fn the_slot_table_takes_one_page_up_to_307_slots() {
    let small = SlotCache::new(cache(307)).unwrap();
    assert_eq!(small.working_count(), 306);
    let larger = SlotCache::new(cache(308)).unwrap();
    assert_eq!(larger.working_count(), 306);
}

#[test]
fn short_lived_files_take_the_slots_their_predecessors_freed_not_cached_blocks() {
    let disk = formatted_disk(512, FormatOptions::default());
    let mut file_system = FileSystem::mount(disk, cache(64)).unwrap();
    let kept = file_system.create("/kept").unwrap();
    let data = pattern(6, 0, 32 * BLOCK_SIZE);
    file_system.write(kept, 0, &data).unwrap();
    file_system.sync().unwrap();
    let short_lived = |file_system: &mut TestFileSystem, round| {
        let file = file_system.create("/short").unwrap();
        file_system
            .write(file, 0, &pattern(round, 0, 1024))
            .unwrap();
        file_system.unlink("/short").unwrap();
    };
    // The first takes a slot from the clock; each later one the slot its predecessor freed.
    short_lived(&mut file_system, 0);
    let mut back = vec![0; data.len()];
    file_system.read(kept, 0, &mut back).unwrap();
    for round in 1..200 {
        short_lived(&mut file_system, round);
    }
    // (The rounds read inode table blocks as new inode numbers reach them.)
    let reads_before = file_system.disk.reads;
    file_system.read(kept, 0, &mut back).unwrap();
    assert!(back == data);
    assert_eq!(
        file_system.disk.reads, reads_before,
        "a block of the file was evicted"
    );
    let file_system = remount(file_system);
    unmount_and_check(file_system, "short-lived files");
}

/// Small files, each written in part into the buffer its predecessor's freed block left,
/// longest in the middle: the last one's block must reach the disk with zeros after its bytes,
/// not the earlier ones' bytes, however little of the buffer each write zeroed and whatever
/// else wrote into it; and a file grown past such a block's bytes reads zeros between.
#[test]
fn a_new_block_written_in_part_holds_zeros_after_its_bytes_whatever_its_buffer_held() {
    let disk = formatted_disk(512, FormatOptions::default());
    let mut file_system = FileSystem::mount(disk, cache(64)).unwrap();
    let rounds = [
        (100, 0x11u8),
        (3000, 0x22),
        (50, 0x33),
        (2000, 0x44),
        (10, 0x55),
    ];
    for (round, &(length, byte)) in rounds.iter().enumerate() {
        let file = file_system.create("/small").unwrap();
        assert_eq!(file_system.write(file, 0, &vec![byte; length]), Ok(length));
        if round + 1 < rounds.len() {
            // Once, the block written again past its first bytes, as an existing block.
            if round == 1 {
                assert_eq!(file_system.write(file, 3500, &[0x99; 5]), Ok(5));
            }
            file_system.unlink("/small").unwrap();
        }
    }
    let grown = file_system.create("/grown").unwrap();
    assert_eq!(file_system.write(grown, 0, &[0x66; 40]), Ok(40));
    assert_eq!(file_system.write(grown, 4000, &[0x77; 10]), Ok(10));
    let mut back = vec![0xFF; 4010];
    assert_eq!(file_system.read(grown, 0, &mut back), Ok(4010));
    assert!(back[..40].iter().all(|&byte| byte == 0x66));
    assert!(back[40..4000].iter().all(|&byte| byte == 0));
    let disk = unmount_and_check(file_system, "small files");
    let beginning_with = |byte: u8, length: usize| {
        disk.blocks()
            .iter()
            .filter(|block| block.0[..length].iter().all(|&value| value == byte))
            .collect::<Vec<_>>()
    };
    let [small] = beginning_with(0x55, 10)[..] else {
        panic!("one block begins with the last small file's bytes");
    };
    assert!(
        small.0[10..].iter().all(|&byte| byte == 0),
        "{:x?}",
        &small.0[10..64]
    );
}
