//! File data: reads and writes, holes, truncation, a 64 MiB file, running out of space and
//! inodes, and persistence across mounts.

use super::*;
use crate::{BLOCK_SIZE, FsError, Ino, MAX_FILE_SIZE, MemoryDisk};
use alloc::format;

fn read_all(file_system: &mut TestFileSystem, ino: Ino) -> Vec<u8> {
    let size = file_system.stat(ino).unwrap().size as usize;
    let mut contents = vec![0xAA; size];
    assert_eq!(file_system.read(ino, 0, &mut contents), Ok(size));
    contents
}

#[test]
fn writes_and_reads_at_offsets_with_short_reads_at_the_end() {
    let mut file_system = new_file_system(512);
    let file = file_system.create("/f").unwrap();
    assert_eq!(file_system.write(file, 0, b"hello world"), Ok(11));
    assert_eq!(file_system.write(file, 6, b"there"), Ok(5));
    assert_eq!(file_system.write(file, 0, b""), Ok(0));
    let mut buffer = [0; 32];
    assert_eq!(file_system.read(file, 0, &mut buffer), Ok(11));
    assert_eq!(&buffer[..11], b"hello there");
    assert_eq!(file_system.read(file, 8, &mut buffer), Ok(3));
    assert_eq!(file_system.read(file, 11, &mut buffer), Ok(0));
    assert_eq!(file_system.read(file, 1 << 50, &mut buffer), Ok(0));

    let spanning = pattern(1, 0, 3 * BLOCK_SIZE + 17);
    assert_eq!(file_system.write(file, 4000, &spanning), Ok(spanning.len()));
    let contents = read_all(&mut file_system, file);
    assert_eq!(contents.len(), 4000 + spanning.len());
    assert_eq!(&contents[..11], b"hello there");
    assert!(contents[11..4000].iter().all(|&byte| byte == 0));
    assert_eq!(&contents[4000..], &spanning[..]);
    assert_eq!(file_system.stat(file).unwrap().blocks_used, 4);
    unmount_and_check(file_system, "offsets");
}

#[test]
fn holes_read_as_zeros_and_hold_no_blocks() {
    let mut file_system = new_file_system(512);
    let file = file_system.create("/sparse").unwrap();
    let far = 1 << 20;
    file_system.write(file, far, b"end").unwrap();
    let metadata = file_system.stat(file).unwrap();
    assert_eq!(metadata.size, far + 3);
    assert_eq!(
        metadata.blocks_used, 2,
        "the data block and the single indirect block"
    );
    let mut buffer = vec![0xFF; 3 * BLOCK_SIZE];
    assert_eq!(file_system.read(file, 100, &mut buffer), Ok(buffer.len()));
    assert!(buffer.iter().all(|&byte| byte == 0));

    let beyond_four_megabytes = 5 << 20;
    file_system
        .write(file, beyond_four_megabytes, b"double")
        .unwrap();
    assert_eq!(
        file_system.stat(file).unwrap().blocks_used,
        5,
        "plus double, second level, data"
    );
    let last_byte = MAX_FILE_SIZE - 1;
    assert_eq!(file_system.write(file, last_byte, b"xy"), Ok(1));
    assert_eq!(
        file_system.write(file, MAX_FILE_SIZE, b"x"),
        Err(FsError::FileTooLarge)
    );
    assert_eq!(
        file_system.truncate(file, MAX_FILE_SIZE + 1),
        Err(FsError::FileTooLarge)
    );
    let mut last = [0; 4];
    assert_eq!(file_system.read(file, last_byte, &mut last), Ok(1));
    assert_eq!(last[0], b'x');
    let file_system = remount(file_system);
    let mut file_system = file_system;
    file_system.truncate(file, 0).unwrap();
    assert_eq!(file_system.stat(file).unwrap().blocks_used, 0);
    unmount_and_check(file_system, "holes");
}

#[test]
fn truncate_shrinks_frees_and_grows_with_zeros() {
    let mut file_system = new_file_system(1024);
    let file = file_system.create("/t").unwrap();
    let empty = file_system.statfs();
    let data = pattern(2, 0, 40 * BLOCK_SIZE);
    file_system.write(file, 0, &data).unwrap();
    assert_eq!(empty.free_blocks - file_system.statfs().free_blocks, 41);

    file_system.truncate(file, 5000).unwrap();
    assert_eq!(file_system.stat(file).unwrap().size, 5000);
    assert_eq!(file_system.stat(file).unwrap().blocks_used, 2);
    assert_eq!(empty.free_blocks - file_system.statfs().free_blocks, 2);

    file_system.truncate(file, 3 * BLOCK_SIZE as u64).unwrap();
    let contents = read_all(&mut file_system, file);
    assert_eq!(&contents[..5000], &data[..5000]);
    assert!(
        contents[5000..].iter().all(|&byte| byte == 0),
        "the cut tail reads as zeros"
    );
    assert_eq!(
        file_system.stat(file).unwrap().blocks_used,
        2,
        "growing leaves a hole"
    );

    file_system.truncate(file, 0).unwrap();
    assert_eq!(file_system.statfs().free_blocks, empty.free_blocks);
    file_system.truncate(file, 0).unwrap();
    let directory = file_system.mkdir("/d").unwrap();
    assert_eq!(
        file_system.truncate(directory, 0),
        Err(FsError::IsADirectory)
    );
    assert_eq!(
        file_system.write(directory, 0, b"x"),
        Err(FsError::IsADirectory)
    );
    assert_eq!(
        file_system.read(directory, 0, &mut [0; 4]),
        Err(FsError::IsADirectory)
    );
    unmount_and_check(file_system, "truncate");
}

#[test]
fn a_64_mib_file_round_trips_and_frees_completely() {
    const FILE_BYTES: u64 = 64 << 20;
    const CHUNK_BYTES: usize = 1 << 20;
    let disk = formatted_disk(
        17_500,
        FormatOptions {
            inode_count: Some(64),
            ..FormatOptions::default()
        },
    );
    let mut file_system = FileSystem::mount(disk, cache(256)).unwrap();
    let file = file_system.create("/big").unwrap();
    let empty = file_system.statfs();
    for offset in (0..FILE_BYTES).step_by(CHUNK_BYTES) {
        let chunk = pattern(64, offset, CHUNK_BYTES);
        assert_eq!(file_system.write(file, offset, &chunk), Ok(CHUNK_BYTES));
    }
    file_system.fsync(file).unwrap();
    let metadata = file_system.stat(file).unwrap();
    assert_eq!(metadata.size, FILE_BYTES);
    assert_eq!(metadata.blocks_used, 16_384 + 1 + 1 + 15);

    let mut file_system = remount(file_system);
    let mut buffer = vec![0; CHUNK_BYTES];
    for offset in (0..FILE_BYTES).step_by(CHUNK_BYTES) {
        assert_eq!(file_system.read(file, offset, &mut buffer), Ok(CHUNK_BYTES));
        assert!(
            buffer == pattern(64, offset, CHUNK_BYTES),
            "chunk at {offset} differs"
        );
    }
    file_system.unlink("/big").unwrap();
    assert_eq!(file_system.statfs().free_blocks, empty.free_blocks);
    unmount_and_check(file_system, "64 MiB");
}

#[test]
fn freed_blocks_are_reused() {
    let mut file_system = new_file_system(300);
    file_system.create("/again").unwrap();
    file_system.unlink("/again").unwrap();
    let total_free = file_system.statfs().free_blocks;
    for round in 0..10 {
        let file = file_system.create("/again").unwrap();
        let size = (total_free as usize - 10) * BLOCK_SIZE;
        assert_eq!(
            file_system.write(file, 0, &pattern(round, 0, size)),
            Ok(size),
            "round {round}"
        );
        file_system.unlink("/again").unwrap();
        assert_eq!(file_system.statfs().free_blocks, total_free);
    }
    unmount_and_check(file_system, "reuse");
}

#[test]
fn running_out_of_space_fails_cleanly() {
    let mut file_system = new_file_system(200);
    let file = file_system.create("/fill").unwrap();
    let huge = vec![5u8; 400 * BLOCK_SIZE];
    let written = file_system.write(file, 0, &huge).unwrap();
    assert!(written > 0 && written < huge.len());
    assert_eq!(file_system.statfs().free_blocks, 0);
    assert_eq!(
        file_system.write(file, written as u64, b"more"),
        Err(FsError::NoSpace)
    );
    assert_eq!(read_all(&mut file_system, file), huge[..written]);

    let mut index = 0;
    let error = loop {
        match file_system.mkdir(format!("/{index:0>250}")) {
            Ok(_) => index += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(error, FsError::NoSpace, "after {index} directories");
    file_system.sync().unwrap();
    let (mut disk, cache) = file_system.into_parts();
    assert_clean(&mut disk, "full disk");
    let mut file_system = FileSystem::mount(disk, cache).unwrap();
    file_system.truncate(file, 0).unwrap();
    file_system.mkdir("/after").unwrap();
    assert_eq!(
        file_system.write(file, 0, &[1; 4 * BLOCK_SIZE]),
        Ok(4 * BLOCK_SIZE)
    );
    unmount_and_check(file_system, "space back");
}

#[test]
fn running_out_of_inodes_fails_cleanly() {
    let disk = formatted_disk(
        512,
        FormatOptions {
            inode_count: Some(32),
            ..FormatOptions::default()
        },
    );
    let mut file_system = FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS)).unwrap();
    assert_eq!(file_system.statfs().total_inodes, 31);
    for index in 0..30 {
        file_system.create(format!("/f{index}")).unwrap();
    }
    assert_eq!(file_system.create("/one-too-many"), Err(FsError::NoInodes));
    assert_eq!(file_system.mkdir("/one-too-many"), Err(FsError::NoInodes));
    assert_eq!(file_system.statfs().free_inodes, 0);
    let mut file_system = remount(file_system);
    file_system.unlink("/f3").unwrap();
    file_system.mkdir("/now-there-is-room").unwrap();
    unmount_and_check(file_system, "inodes");
}

/// A read of many blocks reaches the disk as a request per batch of blocks, not one per block:
/// 131 blocks with a hole of 30 are three batches, besides the single-indirect pointer block.
#[test]
fn a_long_read_reaches_the_disk_in_batches() {
    let mut file_system = new_file_system(1024);
    let file = file_system.create("/long").unwrap();
    let head = pattern(4, 0, 100 * BLOCK_SIZE);
    let tail = pattern(5, 0, BLOCK_SIZE);
    file_system.write(file, 0, &head).unwrap();
    file_system
        .write(file, 130 * BLOCK_SIZE as u64, &tail)
        .unwrap();
    file_system.sync().unwrap();
    let (disk, _) = file_system.into_parts();
    let disk_after = |read_the_file: bool| {
        let mut file_system = FileSystem::mount(disk.clone(), cache(512)).unwrap();
        let ino = file_system.lookup("/long").unwrap();
        let size = file_system.stat(ino).unwrap().size as usize;
        if read_the_file {
            let mut contents = vec![0xAA; size];
            assert_eq!(file_system.read(ino, 0, &mut contents), Ok(size));
            assert!(contents[..head.len()] == head[..], "the head");
            assert!(
                contents[head.len()..130 * BLOCK_SIZE]
                    .iter()
                    .all(|&byte| byte == 0)
            );
            assert!(contents[130 * BLOCK_SIZE..] == tail[..], "the tail");
        }
        file_system.into_parts().0
    };
    let (without, with) = (disk_after(false), disk_after(true));
    assert_eq!(with.reads - without.reads, 101 + 1);
    assert_eq!(with.read_requests - without.read_requests, 3 + 1);
}

#[test]
fn everything_synced_survives_remounts() {
    let mut file_system = new_file_system(1024);
    file_system.mkdir("/etc").unwrap();
    let config = file_system.create("/etc/config").unwrap();
    let data = pattern(3, 0, 9000);
    file_system.write(config, 0, &data).unwrap();
    file_system.sync().unwrap();
    let (disk, cache) = file_system.into_parts();
    let mut file_system = FileSystem::mount(disk, cache).unwrap();
    assert_eq!(file_system.lookup("/etc/config"), Ok(config));
    assert_eq!(read_all(&mut file_system, config), data);

    file_system.write(config, 100, b"changed").unwrap();
    file_system
        .rename("/etc/config", "/etc/config.old")
        .unwrap();
    let mut file_system = remount(file_system);
    let contents = read_all(&mut file_system, config);
    assert_eq!(&contents[100..107], b"changed");
    assert_eq!(file_system.lookup("/etc/config.old"), Ok(config));
    unmount_and_check(file_system, "persistence");
}

#[test]
fn unsynced_changes_may_vanish_but_the_disk_stays_consistent() {
    let mut file_system = new_file_system(512);
    file_system.create("/durable").unwrap();
    file_system.sync().unwrap();
    file_system.create("/maybe").unwrap();
    let (mut disk, cache) = file_system.into_parts();
    assert_clean(&mut disk, "unsynced");
    let mut file_system = FileSystem::mount(disk, cache).unwrap();
    assert!(file_system.lookup("/durable").is_ok());
    unmount_and_check(file_system, "unsynced remount");
}

#[test]
fn allocation_crosses_bitmap_blocks() {
    let options = FormatOptions {
        journal_blocks: Some(65),
        inode_count: Some(33_000),
    };
    let disk = formatted_disk(34_500, options);
    let mut file_system = FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS)).unwrap();
    assert_eq!(file_system.layout.block_bitmap_blocks, 2);
    assert_eq!(file_system.layout.inode_bitmap_blocks, 2);
    let empty = file_system.statfs();

    file_system.next_block_hint = 32_760;
    file_system.next_inode_hint = 32_760;
    let mut files = Vec::new();
    for index in 0..20 {
        let file = file_system.create(format!("/f{index}")).unwrap();
        let data = pattern(index, 0, 2 * BLOCK_SIZE);
        file_system.write(file, 0, &data).unwrap();
        files.push((file, data));
    }
    assert!(files.iter().any(|(file, _)| file.0 < 32_768));
    assert!(files.iter().any(|(file, _)| file.0 >= 32_768));
    let mut file_system = remount(file_system);
    assert_eq!(file_system.statfs().free_blocks, empty.free_blocks - 41);
    for (file, data) in &files {
        assert_eq!(&read_all(&mut file_system, *file), data);
    }
    for index in 0..20 {
        file_system.unlink(format!("/f{index}")).unwrap();
    }
    assert_eq!(file_system.statfs().free_inodes, empty.free_inodes);
    assert_eq!(file_system.statfs().free_blocks, empty.free_blocks - 1);
    unmount_and_check(file_system, "two bitmap blocks");
}

#[test]
fn an_image_round_trips_through_bytes() {
    let mut file_system = new_file_system(512);
    file_system.mkdir("/bin").unwrap();
    let program = file_system.create("/bin/program").unwrap();
    let data = pattern(11, 0, 10_000);
    file_system.write(program, 0, &data).unwrap();
    let (disk, pages) = file_system.unmount().unwrap();
    let image = disk.to_image();
    assert_eq!(image.len(), 512 * BLOCK_SIZE);
    assert!(MemoryDisk::from_image(&image[1..]).is_err());
    let mut copy = MemoryDisk::from_image(&image).unwrap();
    assert_clean(&mut copy, "image copy");
    let mut file_system = FileSystem::mount(copy, pages).unwrap();
    let program = file_system.lookup("/bin/program").unwrap();
    assert_eq!(read_all(&mut file_system, program), data);
}

#[test]
fn reads_and_writes_through_a_callback_hand_over_cache_blocks_in_order() {
    let mut file_system = new_file_system(512);
    let file = file_system.create("/f").unwrap();
    let data = pattern(2, 0, 2 * BLOCK_SIZE + 100);
    let mut given = 0;
    let mut pieces = Vec::new();
    let written = file_system.write_with(file, 50, data.len(), |bytes| {
        pieces.push(bytes.len());
        bytes.copy_from_slice(&data[given..given + bytes.len()]);
        given += bytes.len();
        Ok(())
    });
    assert_eq!(written, Ok(data.len()));
    assert_eq!(
        pieces,
        [BLOCK_SIZE - 50, BLOCK_SIZE, 150],
        "a block's worth at most"
    );
    let mut taken = Vec::new();
    let read = file_system.read_with(file, 0, 1 << 20, |bytes| {
        taken.extend_from_slice(bytes);
        Ok(())
    });
    assert_eq!(read, Ok(50 + data.len()), "cut at the end of the file");
    assert!(taken[..50].iter().all(|&byte| byte == 0), "the hole before");
    assert_eq!(&taken[50..], &data[..]);
    let mut calls = 0;
    let failed = file_system.read_with(file, 0, 3 * BLOCK_SIZE, |_| {
        calls += 1;
        if calls == 2 {
            Err(FsError::BadBuffer)
        } else {
            Ok(())
        }
    });
    assert_eq!(
        failed,
        Err(FsError::BadBuffer),
        "the taker's error ends the read"
    );
    unmount_and_check(file_system, "callbacks");
}

#[test]
fn a_write_whose_bytes_never_arrive_changes_old_blocks_not_at_all_and_adds_only_zeros() {
    let mut file_system = new_file_system(512);
    let file = file_system.create("/f").unwrap();
    let old = pattern(3, 0, BLOCK_SIZE + 10);
    file_system.write(file, 0, &old).unwrap();
    file_system.sync().unwrap();
    let mut file_system = remount(file_system);
    // A whole old block not in the cache, then part of one, then blocks past the end.
    let refuse = |_: &mut [u8]| Err(FsError::BadBuffer);
    assert_eq!(
        file_system.write_with(file, 0, BLOCK_SIZE, refuse),
        Err(FsError::BadBuffer)
    );
    assert_eq!(
        file_system.write_with(file, 5, 3, refuse),
        Err(FsError::BadBuffer)
    );
    assert_eq!(read_all(&mut file_system, file), old);
    // A whole block changed in the cache and not yet written back keeps its change.
    let mut old = old;
    old[..3].copy_from_slice(b"new");
    file_system.write(file, 0, b"new").unwrap();
    assert_eq!(
        file_system.write_with(file, 0, BLOCK_SIZE, refuse),
        Err(FsError::BadBuffer)
    );
    assert_eq!(read_all(&mut file_system, file), old);
    let mut calls = 0;
    let end = old.len() as u64;
    let added = file_system.write_with(file, 2 * BLOCK_SIZE as u64, 2 * BLOCK_SIZE, |bytes| {
        calls += 1;
        if calls == 1 {
            bytes.fill(7);
            Ok(())
        } else {
            Err(FsError::BadBuffer)
        }
    });
    assert_eq!(added, Err(FsError::BadBuffer));
    let contents = read_all(&mut file_system, file);
    assert_eq!(&contents[..old.len()], &old[..]);
    assert!(
        contents[end as usize..2 * BLOCK_SIZE]
            .iter()
            .all(|&byte| byte == 0)
    );
    assert!(
        contents[2 * BLOCK_SIZE..3 * BLOCK_SIZE]
            .iter()
            .all(|&byte| byte == 7)
    );
    assert!(
        contents[3 * BLOCK_SIZE..].iter().all(|&byte| byte == 0),
        "the added block: zeros"
    );
    assert_eq!(
        contents.len(),
        4 * BLOCK_SIZE,
        "no block lies past the size"
    );
    unmount_and_check(file_system, "refused bytes");
}

#[test]
fn a_hinted_read_of_the_same_block_sees_every_change_since() {
    let mut file_system = new_file_system(512);
    let file = file_system.create("/hinted").unwrap();
    file_system
        .write(file, 0, &pattern(2, 0, BLOCK_SIZE))
        .unwrap();
    let mut hint = crate::ReadHint::EMPTY;
    let mut buffer = vec![0; BLOCK_SIZE];
    for _ in 0..3 {
        assert_eq!(
            file_system.read_hinted(&mut hint, file, 0, &mut buffer),
            Ok(BLOCK_SIZE)
        );
        assert_eq!(buffer, pattern(2, 0, BLOCK_SIZE));
    }

    file_system.write(file, 10, b"changed").unwrap();
    assert_eq!(
        file_system.read_hinted(&mut hint, file, 0, &mut buffer[..20]),
        Ok(20)
    );
    assert_eq!(&buffer[10..17], b"changed");

    file_system.truncate(file, 12).unwrap();
    assert_eq!(
        file_system.read_hinted(&mut hint, file, 0, &mut buffer),
        Ok(12)
    );
    assert_eq!(
        file_system.read_hinted(&mut hint, file, 12, &mut buffer),
        Ok(0)
    );

    let other = file_system.create("/other").unwrap();
    file_system.write(other, 0, b"other file").unwrap();
    assert_eq!(
        file_system.read_hinted(&mut hint, other, 0, &mut buffer),
        Ok(10)
    );
    assert_eq!(&buffer[..10], b"other file");
    assert_eq!(
        file_system.read_hinted(&mut hint, file, 0, &mut buffer),
        Ok(12)
    );
    assert_eq!(&buffer[..12], &[&pattern(2, 0, 10)[..], b"ch"].concat()[..]);
    unmount_and_check(file_system, "hinted");
}

#[test]
fn a_hinted_read_fails_once_the_file_system_has_failed_and_survives_a_forged_hint() {
    let mut file_system = new_file_system(512);
    let file = file_system.create("/f").unwrap();
    file_system.write(file, 0, b"bytes").unwrap();
    let mut hint = crate::ReadHint::EMPTY;
    let mut buffer = [0; 8];
    assert_eq!(
        file_system.read_hinted(&mut hint, file, 0, &mut buffer),
        Ok(5)
    );
    file_system.has_failed = true;
    assert_eq!(
        file_system.read_hinted(&mut hint, file, 0, &mut buffer),
        Err(FsError::Io)
    );
    file_system.has_failed = false;

    let mut forged = hint;
    forged.slot = usize::MAX;
    assert_eq!(
        file_system.read_hinted(&mut forged, file, 0, &mut buffer),
        Ok(5)
    );
    assert_eq!(&buffer[..5], b"bytes");
}

/// A small deterministic generator for the randomized test below.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn hinted_reads_always_read_what_plain_reads_do() {
    // A small cache, so that reads of other blocks evict the hinted one.
    let disk = formatted_disk(2048, FormatOptions::default());
    let mut file_system: TestFileSystem =
        FileSystem::mount(disk, cache(crate::MIN_CACHE_SLOTS + 8)).unwrap();
    let files = [
        file_system.create("/a").unwrap(),
        file_system.create("/b").unwrap(),
    ];
    let mut hints = [crate::ReadHint::EMPTY; 2];
    let mut state = 0x2545_F491_4F6C_DD1D;
    for round in 0..4_000 {
        let file = files[(next_random(&mut state) % 2) as usize];
        let offset = next_random(&mut state) % (12 * BLOCK_SIZE as u64);
        let length = (next_random(&mut state) % (2 * BLOCK_SIZE as u64)) as usize;
        match next_random(&mut state) % 8 {
            0 => {
                let bytes = pattern(round, 0, length);
                file_system.write(file, offset, &bytes).unwrap();
            }
            1 => file_system.truncate(file, offset).unwrap(),
            _ => {
                let reader = (next_random(&mut state) % 2) as usize;
                let mut hinted = vec![0xEE; length];
                let mut plain = vec![0xDD; length];
                let count = file_system.read_hinted(&mut hints[reader], file, offset, &mut hinted);
                assert_eq!(
                    count,
                    file_system.read(file, offset, &mut plain),
                    "round {round}"
                );
                let count = count.unwrap();
                assert_eq!(hinted[..count], plain[..count], "round {round}");
            }
        }
    }
    unmount_and_check(file_system, "hinted random");
}
