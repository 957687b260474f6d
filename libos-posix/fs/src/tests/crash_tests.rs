//! Crash injection: a seeded random workload runs on a recording disk, then the power is cut
//! at hundreds of writes (keeping a random subset of the unflushed writes, sometimes tearing
//! the write in flight), and sometimes again during the recovery. Each time the checker must
//! find the disk clean, the mount must succeed, the namespace must be the one after some call
//! between the last completed sync and the cut, and every file not changed since that sync
//! must hold exactly its synced contents.

use super::crash_disk::{CrashImages, RecordingDisk};
use super::model::{FileId, Model, Namespace, Node};
use super::*;
use crate::{BLOCK_SIZE, FileSystem, FsError, Ino, Kind, MemoryDisk, check};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Disk size of the crash tests: small, so each crash image is cheap to copy.
const CRASH_DISK_BLOCKS: u64 = 1024;

/// Cache slots of the mount that recovers a crash image.
const RECOVERY_SLOTS: usize = 32;

/// Names the workload picks from, so that names collide often.
const NAMES: [&str; 5] = [
    "a",
    "b",
    "c",
    "d",
    "long-name-of-a-hundred-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// One call of the workload.
#[derive(Clone, Debug)]
enum Operation {
    Create(String),
    Mkdir(String),
    Write {
        path: String,
        offset: usize,
        length: usize,
    },
    Truncate {
        path: String,
        size: usize,
    },
    Rename {
        from: String,
        to: String,
    },
    Unlink(String),
    Rmdir(String),
    Sync,
    Fsync(String),
}

/// What a run of the workload did, for judging crash images.
struct Recording {
    /// Writes issued before each call started and after it returned.
    starts: Vec<usize>,
    ends: Vec<usize>,
    /// The namespace before any call (index 0) and after each call (index `call + 1`).
    namespaces: Vec<Namespace>,
    /// The file contents after each sync call, by call index.
    synced_contents: BTreeMap<usize, BTreeMap<FileId, Vec<u8>>>,
    /// The calls that changed each file's contents.
    changes: BTreeMap<FileId, Vec<usize>>,
}

fn pick<'a>(random: &mut SplitMix64, choices: &'a [String]) -> Option<&'a String> {
    (!choices.is_empty()).then(|| &choices[random.below(choices.len() as u64) as usize])
}

/// A new path: a random name in a random directory not too deep.
fn new_path(model: &Model, random: &mut SplitMix64) -> String {
    let directories: Vec<String> = model
        .directories()
        .into_iter()
        .filter(|directory| directory.matches('/').count() < 3)
        .collect();
    let directory = pick(random, &directories).unwrap();
    let name = NAMES[random.below(NAMES.len() as u64) as usize];
    format!("{directory}/{name}")
}

fn choose_operation(model: &Model, random: &mut SplitMix64) -> Operation {
    let files = model.files();
    let directories: Vec<String> = model.directories().into_iter().skip(1).collect();
    let roll = random.below(100);
    let file = pick(random, &files).cloned();
    match (roll, file) {
        (0..14, _) | (14..60, None) => Operation::Create(new_path(model, random)),
        (14..22, _) => Operation::Mkdir(new_path(model, random)),
        (22..47, Some(path)) => {
            let size = model.contents[&file_id(model, &path)].len();
            let offset = match random.below(10) {
                0..2 => size,
                _ => random.below(60_000) as usize,
            };
            let length = match random.below(10) {
                0..6 => 1 + random.below(300) as usize,
                _ => 1 + random.below(5 * BLOCK_SIZE as u64) as usize,
            };
            Operation::Write {
                path,
                offset,
                length,
            }
        }
        (47..54, Some(path)) => Operation::Truncate {
            path,
            size: random.below(50_000) as usize,
        },
        (54..68, _) if !model.paths().is_empty() => {
            let from = pick(random, &model.paths()).unwrap().clone();
            Operation::Rename {
                from,
                to: new_path(model, random),
            }
        }
        (68..78, Some(path)) => Operation::Unlink(path),
        (78..86, _) if !directories.is_empty() => {
            Operation::Rmdir(pick(random, &directories).unwrap().clone())
        }
        (86..91, Some(path)) => Operation::Fsync(path),
        (91..95, _) => Operation::Sync,
        _ => Operation::Create(new_path(model, random)),
    }
}

fn file_id(model: &Model, path: &str) -> FileId {
    match model.node(path) {
        Some(Node::File(id)) => id,
        other => panic!("{path} is {other:?}, not a file"),
    }
}

/// Runs one call on the file system and the model; both must agree on its result. Returns
/// the file whose contents changed.
fn run_operation(
    file_system: &mut FileSystem<RecordingDisk, Vec<crate::CachedBlock>>,
    model: &mut Model,
    operation: &Operation,
    stream: u64,
) -> (Result<(), FsError>, Result<(), FsError>, Option<FileId>) {
    let unit = |result: Result<Ino, FsError>| result.map(|_| ());
    match operation {
        Operation::Create(path) => (
            unit(file_system.create(path)),
            model.make(path, false),
            None,
        ),
        Operation::Mkdir(path) => (unit(file_system.mkdir(path)), model.make(path, true), None),
        Operation::Write {
            path,
            offset,
            length,
        } => {
            let id = file_id(model, path);
            let data = pattern(stream, *offset as u64, *length);
            let ino = file_system.lookup(path).unwrap();
            let written = file_system.write(ino, *offset as u64, &data);
            model.write(id, *offset, &data);
            (
                written.map(|count| assert_eq!(count, *length)),
                Ok(()),
                Some(id),
            )
        }
        Operation::Truncate { path, size } => {
            let id = file_id(model, path);
            let ino = file_system.lookup(path).unwrap();
            model.truncate(id, *size);
            (file_system.truncate(ino, *size as u64), Ok(()), Some(id))
        }
        Operation::Rename { from, to } => {
            (file_system.rename(from, to), model.rename(from, to), None)
        }
        Operation::Unlink(path) => (file_system.unlink(path), model.unlink(path), None),
        Operation::Rmdir(path) => (file_system.rmdir(path), model.rmdir(path), None),
        Operation::Sync => (file_system.sync(), Ok(()), None),
        Operation::Fsync(path) => {
            let ino = file_system.lookup(path).unwrap();
            (file_system.fsync(ino), Ok(()), None)
        }
    }
}

/// Runs `call_count` random calls from a freshly formatted `base`.
fn record_workload(
    seed: u64,
    base: &MemoryDisk,
    slots: usize,
    call_count: usize,
) -> (Recording, Vec<super::crash_disk::DiskEvent>) {
    let mut random = SplitMix64::new(seed);
    let mut file_system = FileSystem::mount(RecordingDisk::new(base.clone()), cache(slots))
        .expect("mount the workload's disk");
    let mut model = Model::default();
    let mut recording = Recording {
        starts: Vec::new(),
        ends: Vec::new(),
        namespaces: Vec::from([model.namespace()]),
        synced_contents: BTreeMap::new(),
        changes: BTreeMap::new(),
    };
    for call in 0..call_count {
        let operation = choose_operation(&model, &mut random);
        recording.starts.push(file_system.disk.write_count);
        let stream = seed * 1_000_000 + call as u64;
        let (actual, expected, changed) =
            run_operation(&mut file_system, &mut model, &operation, stream);
        assert_eq!(actual, expected, "seed {seed}, call {call}: {operation:?}");
        recording.ends.push(file_system.disk.write_count);
        recording.namespaces.push(model.namespace());
        if let Some(id) = changed {
            recording.changes.entry(id).or_default().push(call);
        }
        if matches!(operation, Operation::Sync | Operation::Fsync(_)) {
            recording
                .synced_contents
                .insert(call, model.contents.clone());
        }
    }
    let (disk, _) = file_system.into_parts();
    (recording, disk.events)
}

/// What a mounted file system holds: every path, with a file's contents.
fn read_tree(file_system: &mut TestFileSystem, context: &str) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut tree = BTreeMap::new();
    let mut pending = Vec::from([(String::new(), Ino::ROOT)]);
    while let Some((path, directory)) = pending.pop() {
        let mut cursor = 0;
        while let Some((entry, next)) = file_system
            .read_dir(directory, cursor)
            .unwrap_or_else(|error| panic!("{context}: read_dir {path}: {error}"))
        {
            cursor = next;
            let child = format!("{path}/{}", String::from_utf8_lossy(entry.name()));
            match entry.kind {
                Kind::Directory => {
                    tree.insert(child.clone(), None);
                    pending.push((child, entry.ino));
                }
                Kind::File => {
                    let size = file_system.stat(entry.ino).unwrap().size as usize;
                    let mut contents = vec![0; size];
                    let read = file_system.read(entry.ino, 0, &mut contents);
                    assert_eq!(read, Ok(size), "{context}: reading {child}");
                    tree.insert(child, Some(contents));
                }
            }
        }
    }
    tree
}

/// Judges the disk a crash at write `cut` left, and gives it back.
fn verify_crash_image(
    mut image: MemoryDisk,
    recording: &Recording,
    cut: usize,
    context: &str,
) -> MemoryDisk {
    let report = check(&mut image).unwrap_or_else(|error| panic!("{context}: check: {error}"));
    assert!(report.is_clean(), "{context}: {:#?}", report.problems);
    let mut file_system = FileSystem::mount(image, cache(RECOVERY_SLOTS))
        .unwrap_or_else(|error| panic!("{context}: mount: {error}"));
    let tree = read_tree(&mut file_system, context);

    // The state after the last sync that returned before the cut is durable; any state up to
    // the one after the last call that had started may have committed.
    let last_sync = (0..recording.ends.len())
        .filter(|&call| {
            recording.synced_contents.contains_key(&call) && recording.ends[call] <= cut
        })
        .max();
    let oldest_state = last_sync.map_or(0, |call| call + 1);
    let newest_state = recording
        .starts
        .iter()
        .filter(|&&start| start <= cut)
        .count();
    let empty = BTreeMap::new();
    let synced = last_sync.map_or(&empty, |call| &recording.synced_contents[&call]);
    let is_unchanged_since_sync = |id: FileId| {
        recording.changes.get(&id).is_none_or(|calls| {
            calls
                .iter()
                .all(|&call| call < oldest_state || call >= newest_state)
        })
    };
    let matches_state = |namespace: &Namespace| {
        namespace.len() == tree.len()
            && namespace
                .iter()
                .all(|(path, file)| match (file, tree.get(path)) {
                    (None, Some(None)) => true,
                    (Some(id), Some(Some(contents))) => {
                        !is_unchanged_since_sync(*id)
                            || contents == synced.get(id).unwrap_or(&Vec::new())
                    }
                    _ => false,
                })
    };
    let is_explained =
        (oldest_state..=newest_state).any(|state| matches_state(&recording.namespaces[state]));
    assert!(
        is_explained,
        "{context}: recovered {:?} is no state from {oldest_state} to {newest_state}",
        tree.keys().collect::<BTreeSet<_>>()
    );

    let stats = file_system.statfs();
    let (mut disk, _) = file_system
        .unmount()
        .unwrap_or_else(|error| panic!("{context}: unmount: {error}"));
    let report = check(&mut disk).unwrap();
    assert!(
        report.is_clean(),
        "{context}, after recovery: {:#?}",
        report.problems
    );
    assert_eq!(report.orphans, 0, "{context}: mount frees every orphan");
    assert_eq!(
        report.used_blocks,
        stats.total_blocks - stats.free_blocks,
        "{context}: free block count"
    );
    disk
}

/// Records a workload, then cuts the power at `cut_count` writes spread over it; at every
/// `recovery_crash_every`-th cut, also cuts the power during the recovery's own writes.
fn crash_workload(
    seed: u64,
    options: FormatOptions,
    slots: usize,
    call_count: usize,
    cut_count: usize,
) {
    let base = formatted_disk(CRASH_DISK_BLOCKS, options);
    let (recording, events) = record_workload(seed, &base, slots, call_count);
    let mut images = CrashImages::new(base, &events);
    let write_count = images.write_count();
    let mut random = SplitMix64::new(seed ^ 0xC0FF_EE00);
    let mut cuts: Vec<usize> = if write_count < cut_count {
        (0..=write_count).collect()
    } else {
        let mut chosen = BTreeSet::new();
        while chosen.len() < cut_count {
            chosen.insert(random.below(write_count as u64 + 1) as usize);
        }
        chosen.into_iter().collect()
    };
    cuts.sort_unstable();
    let mut image = formatted_disk(CRASH_DISK_BLOCKS, options);
    for (number, &cut) in cuts.iter().enumerate() {
        let may_tear = random.chance(1, 2);
        images.write_image_at(cut, &mut random, may_tear, &mut image);
        let context =
            format!("seed {seed}, cut at write {cut} of {write_count} (torn: {may_tear})");
        if number % 8 == 0 {
            crash_during_recovery(&image, &recording, cut, &mut random, &context);
        }
        image = verify_crash_image(image, &recording, cut, &context);
    }
}

/// Mounts and unmounts a crash image on a recording disk, then cuts the power somewhere in
/// those writes: the result must be as good as the image itself.
fn crash_during_recovery(
    image: &MemoryDisk,
    recording: &Recording,
    cut: usize,
    random: &mut SplitMix64,
    context: &str,
) {
    let file_system = FileSystem::mount(RecordingDisk::new(image.clone()), cache(RECOVERY_SLOTS))
        .unwrap_or_else(|error| panic!("{context}: mount: {error}"));
    let (recovery, _) = file_system.unmount().unwrap();
    let mut recovery_images = CrashImages::new(image.clone(), &recovery.events);
    let recovery_cut = random.below(recovery_images.write_count() as u64 + 1) as usize;
    let may_tear = random.chance(1, 2);
    let second_image = recovery_images.image_at(recovery_cut, random, may_tear);
    let context = format!("{context}, then at recovery write {recovery_cut}");
    verify_crash_image(second_image, recording, cut, &context);
}

#[test]
fn crashes_with_the_smallest_cache_and_journal() {
    let options = FormatOptions {
        journal_blocks: Some(33),
        inode_count: Some(128),
    };
    crash_workload(1, options, 16, 400, 350);
}

#[test]
fn crashes_with_a_medium_cache() {
    let options = FormatOptions {
        journal_blocks: Some(65),
        inode_count: Some(128),
    };
    crash_workload(2, options, 48, 400, 350);
}

#[test]
fn crashes_with_a_large_cache_and_group_commit() {
    crash_workload(3, FormatOptions::default(), 256, 400, 350);
}

#[test]
fn crashes_with_a_small_cache_and_default_journal() {
    crash_workload(4, FormatOptions::default(), 24, 400, 350);
}
