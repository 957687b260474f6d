//! The directory index against the disk: names sharing a count, a directory changed at random
//! by every call that adds, removes or renames, damaged and duplicated records, all compared
//! with what the records say.

use super::*;
use crate::directory_index::count_of;
use crate::{DirEntry, FsError, Ino};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

/// `count` names of the form `{prefix}{number}` that share one count of the index.
fn names_sharing_a_count(prefix: &str, count: usize) -> Vec<String> {
    let first = format!("{prefix}0");
    let shared = count_of(first.as_bytes());
    (0..)
        .map(|number| format!("{prefix}{number}"))
        .filter(|name| count_of(name.as_bytes()) == shared)
        .take(count)
        .collect()
}

/// The entries of directory `ino` by name, as `read_dir` lists them.
fn listing(file_system: &mut TestFileSystem, ino: Ino) -> BTreeMap<Vec<u8>, Ino> {
    let mut entries = BTreeMap::new();
    let mut cursor = 0;
    while let Some((entry, next)) = file_system.read_dir(ino, cursor).unwrap() {
        let entry: DirEntry = entry;
        assert!(entries.insert(entry.name().to_vec(), entry.ino).is_none());
        cursor = next;
    }
    entries
}

/// The disk block holding directory `ino`'s first block.
fn first_directory_block(file_system: &mut TestFileSystem, ino: Ino) -> usize {
    file_system.read_inode(ino).unwrap().direct[0] as usize
}

#[test]
fn names_sharing_a_count_are_found_made_and_removed_as_the_records_say() {
    let mut file_system = new_file_system(512);
    file_system.mkdir("/d").unwrap();
    let names = names_sharing_a_count("n", 3);
    let paths: Vec<String> = names.iter().map(|name| format!("/d/{name}")).collect();
    // The first create searches the directory through and indexes it.
    let first = file_system.create(&paths[0]).unwrap();
    assert_eq!(file_system.lookup(&paths[1]), Err(FsError::NotFound));
    let second = file_system.create(&paths[1]).unwrap();
    assert_eq!(file_system.create(&paths[1]), Err(FsError::Exists));
    assert_eq!(file_system.lookup_or_create(&paths[0]), Ok((first, false)));
    // One name of the shared count goes: the other is still there, the first is not.
    file_system.unlink(&paths[0]).unwrap();
    assert_eq!(file_system.lookup(&paths[0]), Err(FsError::NotFound));
    assert_eq!(file_system.lookup(&paths[1]), Ok(second));
    assert_eq!(file_system.create(&paths[1]), Err(FsError::Exists));
    // A rename within the directory moves the name between counts and keeps the inode.
    file_system.rename(&paths[1], &paths[2]).unwrap();
    assert_eq!(file_system.lookup(&paths[1]), Err(FsError::NotFound));
    assert_eq!(file_system.lookup(&paths[2]), Ok(second));
    let again = file_system.create(&paths[1]).unwrap();
    assert_eq!(file_system.lookup(&paths[1]), Ok(again));
    let directory = file_system.lookup("/d").unwrap();
    assert_eq!(listing(&mut file_system, directory).len(), 2);
    unmount_and_check(file_system, "shared counts");
}

/// One call of the random workload on a name of `names` in `/d` or `/e`, its outcome checked
/// against `model` (each file's path and inode), which it then updates.
fn random_step(
    file_system: &mut TestFileSystem,
    model: &mut BTreeMap<String, Ino>,
    random: &mut SplitMix64,
    names: &[String],
) {
    let pick = |random: &mut SplitMix64| {
        let directory = if random.chance(1, 3) { "/e" } else { "/d" };
        format!(
            "{directory}/{}",
            names[random.below(names.len() as u64) as usize]
        )
    };
    let path = pick(random);
    match random.below(5) {
        0 => match file_system.create(&path) {
            Ok(ino) => assert!(model.insert(path, ino).is_none(), "made twice"),
            Err(error) => {
                assert_eq!(error, FsError::Exists, "{path}");
                assert!(model.contains_key(&path), "{path} refused but absent");
            }
        },
        1 => match file_system.unlink(&path) {
            Ok(()) => assert!(model.remove(&path).is_some(), "{path} removed but absent"),
            Err(error) => {
                assert_eq!(error, FsError::NotFound, "{path}");
                assert!(!model.contains_key(&path), "{path} present but not removed");
            }
        },
        2 => {
            let target = pick(random);
            match file_system.rename(&path, &target) {
                Ok(()) => {
                    let ino = model.remove(&path).expect("renamed but absent");
                    model.insert(target, ino);
                }
                Err(error) => {
                    assert_eq!(error, FsError::NotFound, "{path} -> {target}");
                    assert!(!model.contains_key(&path));
                }
            }
        }
        3 => {
            let (ino, is_new) = file_system.lookup_or_create(&path).unwrap();
            assert_eq!(is_new, !model.contains_key(&path), "{path}");
            assert_eq!(*model.entry(path).or_insert(ino), ino);
        }
        _ => assert_eq!(file_system.lookup(&path).ok(), model.get(&path).copied()),
    }
}

#[test]
fn a_directory_changed_at_random_agrees_with_its_model_at_every_step() {
    // Few names, many sharing a count, so that a count often covers a name gone or two.
    let mut names = names_sharing_a_count("s", 6);
    names.extend((0..40).map(|number| format!("name-of-some-length-{number}")));
    for seed in 1..=4 {
        let mut file_system = new_file_system(2048);
        let mut model = BTreeMap::new();
        let mut random = SplitMix64::new(seed);
        file_system.mkdir("/d").unwrap();
        file_system.mkdir("/e").unwrap();
        for step in 0..3000 {
            random_step(&mut file_system, &mut model, &mut random, &names);
            if step % 250 == 0 {
                for name in &names {
                    for directory in ["/d", "/e"] {
                        let path = format!("{directory}/{name}");
                        let found = file_system.lookup(&path).ok();
                        assert_eq!(found, model.get(&path).copied(), "seed {seed} step {step}");
                    }
                }
            }
        }
        for directory in ["/d", "/e"] {
            let ino = file_system.lookup(directory).unwrap();
            let listed = listing(&mut file_system, ino);
            let expected: BTreeMap<Vec<u8>, Ino> = model
                .iter()
                .filter_map(|(path, &ino)| {
                    let name = path.strip_prefix(directory)?.strip_prefix('/')?;
                    Some((name.as_bytes().to_vec(), ino))
                })
                .collect();
            assert_eq!(listed, expected, "seed {seed} {directory}");
        }
        unmount_and_check(file_system, "random directory");
    }
}

#[test]
fn a_damaged_directory_block_fails_the_call_rather_than_what_an_index_would_say() {
    let mut file_system = new_file_system(512);
    let directory = file_system.mkdir("/d").unwrap();
    file_system.create("/d/a").unwrap();
    file_system.create("/d/b").unwrap();
    let block = first_directory_block(&mut file_system, directory);
    let (mut disk, cache) = file_system.unmount().unwrap();
    // The second record's length runs past the block.
    let second = usize::from(crate::block::get_u16(&disk.blocks()[block].0, 4));
    crate::block::put_u16(&mut disk.blocks_mut()[block].0, second + 4, 4092);
    let mut file_system = FileSystem::mount(disk, cache).unwrap();
    assert!(matches!(
        file_system.create("/d/c"),
        Err(FsError::Corrupt(_))
    ));
    let (disk, cache) = file_system.into_parts();
    let mut file_system = FileSystem::mount(disk, cache).unwrap();
    assert!(matches!(
        file_system.lookup("/d/zz"),
        Err(FsError::Corrupt(_))
    ));
    assert!(matches!(
        file_system.lookup("/d/b"),
        Err(FsError::Corrupt(_))
    ));
}

#[test]
fn a_name_recorded_twice_on_the_disk_is_present_until_both_records_go() {
    let mut file_system = new_file_system(512);
    let directory = file_system.mkdir("/d").unwrap();
    let first = file_system.create("/d/a").unwrap();
    let second = file_system.create("/d/b").unwrap();
    let block = first_directory_block(&mut file_system, directory);
    let (mut disk, cache) = file_system.unmount().unwrap();
    // The record of `b` is renamed `a` on the disk: two records of one name.
    let second_offset = usize::from(crate::block::get_u16(&disk.blocks()[block].0, 4));
    assert_eq!(disk.blocks()[block].0[second_offset + 8], b'b');
    disk.blocks_mut()[block].0[second_offset + 8] = b'a';
    let mut file_system = FileSystem::mount(disk, cache).unwrap();
    // A miss reads the directory through and indexes both records.
    assert_eq!(file_system.lookup("/d/zz"), Err(FsError::NotFound));
    assert_eq!(file_system.lookup("/d/a"), Ok(first));
    file_system.unlink("/d/a").unwrap();
    assert_eq!(file_system.lookup("/d/a"), Ok(second), "the second record");
    assert_eq!(file_system.create("/d/a"), Err(FsError::Exists));
    file_system.unlink("/d/a").unwrap();
    assert_eq!(file_system.lookup("/d/a"), Err(FsError::NotFound));
    let made = file_system.create("/d/a").unwrap();
    assert_eq!(file_system.lookup("/d/a"), Ok(made));
    assert_eq!(listing(&mut file_system, directory).len(), 1);
    unmount_and_check(file_system, "a name twice");
}

#[test]
fn a_directory_freed_and_its_number_reused_starts_without_the_old_index() {
    let options = FormatOptions {
        inode_count: Some(16),
        ..FormatOptions::default()
    };
    let mut file_system = FileSystem::mount(formatted_disk(512, options), cache(32)).unwrap();
    let directory = file_system.mkdir("/d").unwrap();
    file_system.create("/d/a").unwrap();
    assert_eq!(file_system.lookup("/d/zz"), Err(FsError::NotFound));
    file_system.unlink("/d/a").unwrap();
    file_system.rmdir("/d").unwrap();
    // Allocation is next fit: directories are made and removed until the number comes round.
    let path = "/e";
    let mut tries = 0;
    while file_system.mkdir(path).unwrap() != directory {
        file_system.rmdir(path).unwrap();
        tries += 1;
        assert!(tries < 64, "the inode number never came round");
    }
    for name in ["a", "zz", "b"] {
        file_system.create(format!("{path}/{name}")).unwrap();
    }
    assert_eq!(listing(&mut file_system, directory).len(), 3);
    assert_eq!(
        file_system.create(format!("{path}/zz")),
        Err(FsError::Exists)
    );
    unmount_and_check(file_system, "a directory's number reused");
}
