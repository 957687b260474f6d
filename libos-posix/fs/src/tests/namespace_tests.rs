//! Paths, entries and their errors: lookup, create, mkdir, unlink, rmdir, rename, read_dir.

use super::*;
use crate::{BLOCK_SIZE, DirEntry, Errno, FsError, Ino, Kind, MAX_NAME_LEN};
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Every entry of directory `ino`, listed with `read_dir`.
pub(crate) fn list(file_system: &mut TestFileSystem, ino: Ino) -> Vec<DirEntry> {
    let mut entries = Vec::new();
    let mut cursor = 0;
    while let Some((entry, next)) = file_system.read_dir(ino, cursor).expect("read_dir") {
        entries.push(entry);
        cursor = next;
    }
    entries
}

fn names(file_system: &mut TestFileSystem, path: &str) -> BTreeSet<Vec<u8>> {
    let ino = file_system.lookup(path).expect("lookup");
    list(file_system, ino)
        .iter()
        .map(|entry| entry.name().to_vec())
        .collect()
}

#[test]
fn a_new_file_system_has_an_empty_root() {
    let mut file_system = new_file_system(512);
    assert_eq!(file_system.lookup("/"), Ok(Ino::ROOT));
    let root = file_system.stat(Ino::ROOT).unwrap();
    assert_eq!((root.kind, root.size, root.links), (Kind::Directory, 0, 2));
    assert_eq!(file_system.read_dir(Ino::ROOT, 0), Ok(None));
    unmount_and_check(file_system, "empty");
}

#[test]
fn create_makes_an_empty_file_once() {
    let mut file_system = new_file_system(512);
    let ino = file_system.create("/a").unwrap();
    assert_eq!(file_system.lookup("/a"), Ok(ino));
    let metadata = file_system.stat(ino).unwrap();
    assert_eq!(
        (
            metadata.kind,
            metadata.size,
            metadata.links,
            metadata.blocks_used
        ),
        (Kind::File, 0, 1, 0)
    );
    assert_eq!(file_system.create("/a"), Err(FsError::Exists));
    assert_eq!(file_system.mkdir("/a"), Err(FsError::Exists));
    assert_eq!(file_system.create("/"), Err(FsError::Exists));
    assert_eq!(file_system.mkdir("/."), Err(FsError::Exists));
    assert_eq!(file_system.create("/.."), Err(FsError::Exists));
    assert_eq!(file_system.create("/b/"), Err(FsError::IsADirectory));
    assert_eq!(file_system.create("/missing/b"), Err(FsError::NotFound));
    assert_eq!(file_system.create("/a/b"), Err(FsError::NotADirectory));
    unmount_and_check(file_system, "create");
}

#[test]
fn paths_resolve_slashes_dot_and_dot_dot() {
    let mut file_system = new_file_system(512);
    let directory = file_system.mkdir("/d").unwrap();
    let file = file_system.create("/d/f").unwrap();
    assert_eq!(file_system.lookup("//d///f"), Ok(file));
    assert_eq!(file_system.lookup("/d/./f"), Ok(file));
    assert_eq!(file_system.lookup("/d/../d/f"), Ok(file));
    assert_eq!(file_system.lookup("/d/"), Ok(directory));
    assert_eq!(file_system.lookup("/d/."), Ok(directory));
    assert_eq!(file_system.lookup("/d/.."), Ok(Ino::ROOT));
    assert_eq!(file_system.lookup("/.."), Ok(Ino::ROOT));
    assert_eq!(file_system.lookup("/../../d/.."), Ok(Ino::ROOT));
    assert_eq!(file_system.lookup("/d/f/"), Err(FsError::NotADirectory));
    assert_eq!(file_system.lookup("/d/f/."), Err(FsError::NotADirectory));
    assert_eq!(file_system.lookup("/d/f/x"), Err(FsError::NotADirectory));
    assert_eq!(file_system.lookup("/d/f/.."), Err(FsError::NotADirectory));
    assert_eq!(file_system.lookup("/nope/x"), Err(FsError::NotFound));
    assert_eq!(file_system.lookup("d/f"), Err(FsError::InvalidPath));
    assert_eq!(file_system.lookup(""), Err(FsError::InvalidPath));
    assert_eq!(file_system.lookup(b"/d\0/f"), Err(FsError::InvalidPath));
    assert_eq!(file_system.create(b"/x\0"), Err(FsError::InvalidPath));
}

#[test]
fn names_of_255_bytes_work_and_256_are_refused() {
    let mut file_system = new_file_system(512);
    let longest: Vec<u8> = (0..MAX_NAME_LEN)
        .map(|index| b'a' + (index % 26) as u8)
        .collect();
    let mut path = Vec::from(&b"/"[..]);
    path.extend_from_slice(&longest);
    let ino = file_system.create(&path).unwrap();
    assert_eq!(file_system.lookup(&path), Ok(ino));
    assert_eq!(list(&mut file_system, Ino::ROOT)[0].name(), &longest[..]);

    path.push(b'z');
    assert_eq!(file_system.create(&path), Err(FsError::NameTooLong));
    assert_eq!(file_system.mkdir(&path), Err(FsError::NameTooLong));
    assert_eq!(file_system.lookup(&path), Err(FsError::NameTooLong));
    path.extend_from_slice(b"/child");
    assert_eq!(file_system.create(&path), Err(FsError::NameTooLong));

    let odd_bytes = [b'/', 0xFF, b' ', 0xC3, 0xA9, b'.', b'.', b'\n'];
    let ino = file_system.create(odd_bytes).unwrap();
    assert_eq!(file_system.lookup(odd_bytes), Ok(ino));
    assert_eq!(
        file_system.create("/..."),
        Ok(file_system.lookup("/...").unwrap())
    );
    unmount_and_check(file_system, "names");
}

#[test]
fn deep_paths_resolve_down_and_back_up() {
    let mut file_system = new_file_system(1024);
    let mut path = String::new();
    for depth in 0..100 {
        path.push_str(&format!("/level{depth}"));
        file_system.mkdir(&path).unwrap();
    }
    let file = file_system.create(format!("{path}/leaf")).unwrap();
    assert_eq!(file_system.lookup(format!("{path}/leaf")), Ok(file));
    let up_to_root = "/..".repeat(100);
    assert_eq!(
        file_system.lookup(format!("{path}{up_to_root}")),
        Ok(Ino::ROOT)
    );
    let up_one = format!("{path}/../level99/leaf");
    assert_eq!(file_system.lookup(up_one), Ok(file));
    let file_system = remount(file_system);
    let mut file_system = file_system;
    assert_eq!(file_system.lookup(format!("{path}/leaf")), Ok(file));
    unmount_and_check(file_system, "deep");
}

#[test]
fn rmdir_removes_only_empty_directories() {
    let mut file_system = new_file_system(512);
    let directory = file_system.mkdir("/d").unwrap();
    assert_eq!(file_system.stat(Ino::ROOT).unwrap().links, 3);
    file_system.mkdir("/d/e").unwrap();
    assert_eq!(file_system.stat(directory).unwrap().links, 3);
    file_system.create("/f").unwrap();
    assert_eq!(file_system.rmdir("/d"), Err(FsError::NotEmpty));
    assert_eq!(file_system.rmdir("/f"), Err(FsError::NotADirectory));
    assert_eq!(file_system.rmdir("/"), Err(FsError::InvalidArgument));
    assert_eq!(file_system.rmdir("/d/."), Err(FsError::InvalidArgument));
    assert_eq!(file_system.rmdir("/d/e/.."), Err(FsError::InvalidArgument));
    assert_eq!(file_system.rmdir("/missing"), Err(FsError::NotFound));
    let free_inodes = file_system.statfs().free_inodes;
    file_system.rmdir("/d/e/").unwrap();
    assert_eq!(file_system.stat(directory).unwrap().links, 2);
    file_system.rmdir("/d").unwrap();
    assert_eq!(file_system.lookup("/d"), Err(FsError::NotFound));
    assert_eq!(file_system.stat(Ino::ROOT).unwrap().links, 2);
    assert_eq!(file_system.stat(directory), Err(FsError::NotFound));
    assert_eq!(file_system.statfs().free_inodes, free_inodes + 2);
    unmount_and_check(file_system, "rmdir");
}

#[test]
fn unlink_removes_files_and_frees_their_blocks() {
    let mut file_system = new_file_system(512);
    file_system.mkdir("/d").unwrap();
    let file = file_system.create("/d/f").unwrap();
    let before = file_system.statfs();
    file_system.write(file, 0, &[7; 20_000]).unwrap();
    assert!(file_system.statfs().free_blocks < before.free_blocks);
    assert_eq!(file_system.unlink("/d"), Err(FsError::IsADirectory));
    assert_eq!(file_system.unlink("/"), Err(FsError::IsADirectory));
    assert_eq!(file_system.unlink("/d/.."), Err(FsError::IsADirectory));
    assert_eq!(file_system.unlink("/d/f/"), Err(FsError::NotADirectory));
    assert_eq!(file_system.unlink("/d/g"), Err(FsError::NotFound));
    file_system.unlink("/d/f").unwrap();
    assert_eq!(file_system.lookup("/d/f"), Err(FsError::NotFound));
    assert_eq!(file_system.stat(file), Err(FsError::NotFound));
    assert_eq!(file_system.statfs().free_blocks, before.free_blocks);
    assert_eq!(file_system.statfs().free_inodes, before.free_inodes + 1);
    unmount_and_check(file_system, "unlink");
}

#[test]
fn rename_moves_files_and_keeps_their_data() {
    let mut file_system = new_file_system(512);
    file_system.mkdir("/d").unwrap();
    let file = file_system.create("/a").unwrap();
    file_system.write(file, 0, b"contents").unwrap();
    file_system.rename("/a", "/b").unwrap();
    assert_eq!(file_system.lookup("/a"), Err(FsError::NotFound));
    assert_eq!(file_system.lookup("/b"), Ok(file));
    file_system.rename("/b", "/d/c").unwrap();
    assert_eq!(file_system.lookup("/d/c"), Ok(file));
    let mut buffer = [0; 8];
    assert_eq!(file_system.read(file, 0, &mut buffer), Ok(8));
    assert_eq!(&buffer, b"contents");
    file_system.rename("/d/c", "/d/c").unwrap();
    file_system.rename("/d/c", "/d/./c").unwrap();
    assert_eq!(file_system.lookup("/d/c"), Ok(file));
    assert_eq!(file_system.rename("/missing", "/x"), Err(FsError::NotFound));
    assert_eq!(
        file_system.rename("/d/c", "/missing/x"),
        Err(FsError::NotFound)
    );
    assert_eq!(
        file_system.rename("/d/c/", "/x"),
        Err(FsError::NotADirectory)
    );
    assert_eq!(
        file_system.rename("/d/c", "/x/"),
        Err(FsError::NotADirectory)
    );
    assert_eq!(file_system.rename("/", "/x"), Err(FsError::InvalidArgument));
    assert_eq!(file_system.rename("/d", "/"), Err(FsError::InvalidArgument));
    assert_eq!(
        file_system.rename("/d/.", "/x"),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(
        file_system.rename("/d/c", "/d/.."),
        Err(FsError::InvalidArgument)
    );
    unmount_and_check(file_system, "rename files");
}

#[test]
fn rename_replaces_a_file_and_frees_it() {
    let mut file_system = new_file_system(512);
    let kept = file_system.create("/kept").unwrap();
    file_system.write(kept, 0, b"new").unwrap();
    let before_old = file_system.statfs();
    let replaced = file_system.create("/old").unwrap();
    file_system.write(replaced, 0, &[1; 10_000]).unwrap();
    file_system.rename("/kept", "/old").unwrap();
    assert_eq!(file_system.lookup("/old"), Ok(kept));
    assert_eq!(file_system.lookup("/kept"), Err(FsError::NotFound));
    assert_eq!(file_system.stat(replaced), Err(FsError::NotFound));
    assert_eq!(file_system.statfs(), before_old);
    let mut buffer = [0; 8];
    assert_eq!(file_system.read(kept, 0, &mut buffer), Ok(3));
    unmount_and_check(file_system, "rename over a file");
}

#[test]
fn rename_of_directories_follows_the_rules() {
    let mut file_system = new_file_system(512);
    let a = file_system.mkdir("/a").unwrap();
    file_system.mkdir("/a/b").unwrap();
    let empty = file_system.mkdir("/empty").unwrap();
    let full = file_system.mkdir("/full").unwrap();
    file_system.create("/full/x").unwrap();
    file_system.create("/file").unwrap();

    assert_eq!(
        file_system.rename("/a", "/a/b/c"),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(
        file_system.rename("/a", "/a/x"),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(
        file_system.rename("/a", "/a/b"),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(file_system.rename("/a", "/full"), Err(FsError::NotEmpty));
    assert_eq!(
        file_system.rename("/a", "/file"),
        Err(FsError::NotADirectory)
    );
    assert_eq!(
        file_system.rename("/file", "/empty"),
        Err(FsError::IsADirectory)
    );

    file_system.rename("/a", "/empty").unwrap();
    assert_eq!(file_system.lookup("/empty"), Ok(a));
    assert_eq!(file_system.stat(empty), Err(FsError::NotFound));
    assert_eq!(file_system.stat(Ino::ROOT).unwrap().links, 4);

    file_system.rename("/empty", "/full/moved").unwrap();
    assert_eq!(file_system.lookup("/full/moved/b/../.."), Ok(full));
    assert_eq!(file_system.stat(full).unwrap().links, 3);
    assert_eq!(file_system.stat(Ino::ROOT).unwrap().links, 3);
    file_system.rename("/full/moved/b", "/b").unwrap();
    assert_eq!(file_system.lookup("/b/.."), Ok(Ino::ROOT));
    assert_eq!(file_system.stat(a).unwrap().links, 2);
    unmount_and_check(file_system, "rename directories");
}

#[test]
fn rename_into_a_subdirectory_of_itself_is_refused_even_when_the_target_exists() {
    let mut file_system = new_file_system(512);
    file_system.mkdir("/a").unwrap();
    file_system.mkdir("/a/b").unwrap();
    file_system.mkdir("/a/b/c").unwrap();
    assert_eq!(
        file_system.rename("/a", "/a/b/c"),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(file_system.rename("/a/b", "/a"), Err(FsError::NotEmpty));
    unmount_and_check(file_system, "rename into itself");
}

#[test]
fn directories_with_hundreds_of_entries_span_blocks() {
    let options = FormatOptions {
        inode_count: Some(1024),
        ..FormatOptions::default()
    };
    let disk = formatted_disk(2048, options);
    let mut file_system = FileSystem::mount(disk, cache(DEFAULT_TEST_SLOTS)).unwrap();
    let directory = file_system.mkdir("/many").unwrap();
    let name_of = |index: usize| format!("entry-{index}-{}", "x".repeat(index % 200));
    for index in 0..600 {
        file_system
            .create(format!("/many/{}", name_of(index)))
            .unwrap();
    }
    let size = file_system.stat(directory).unwrap().size;
    assert!(
        size >= 13 * 4096,
        "600 entries reach the single indirect block: {size} bytes"
    );
    let listed = names(&mut file_system, "/many");
    let expected: BTreeSet<Vec<u8>> = (0..600).map(|index| name_of(index).into_bytes()).collect();
    assert_eq!(listed, expected);
    assert_eq!(list(&mut file_system, directory).len(), 600);

    for index in (0..600).step_by(2) {
        file_system
            .unlink(format!("/many/{}", name_of(index)))
            .unwrap();
    }
    let odd: BTreeSet<Vec<u8>> = (1..600)
        .step_by(2)
        .map(|index| name_of(index).into_bytes())
        .collect();
    assert_eq!(names(&mut file_system, "/many"), odd);
    for index in (0..600).step_by(2) {
        file_system
            .create(format!("/many/{}", name_of(index)))
            .unwrap();
    }
    assert_eq!(
        file_system.stat(directory).unwrap().size,
        size,
        "freed space is reused"
    );
    assert_eq!(names(&mut file_system, "/many"), expected);
    for index in 0..600 {
        file_system
            .unlink(format!("/many/{}", name_of(index)))
            .unwrap();
    }
    assert!(list(&mut file_system, directory).is_empty());
    file_system.rmdir("/many").unwrap();
    unmount_and_check(file_system, "many entries");
}

#[test]
fn read_dir_lists_each_entry_once_with_its_kind() {
    let mut file_system = new_file_system(512);
    let file = file_system.create("/f").unwrap();
    let directory = file_system.mkdir("/d").unwrap();
    let entries = list(&mut file_system, Ino::ROOT);
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .any(|entry| entry.name() == b"f" && entry.kind == Kind::File && entry.ino == file)
    );
    assert!(entries.iter().any(|entry| entry.name() == b"d"
        && entry.kind == Kind::Directory
        && entry.ino == directory));
    assert_eq!(file_system.read_dir(directory, 0), Ok(None));
    assert_eq!(file_system.read_dir(file, 0), Err(FsError::NotADirectory));
    assert_eq!(file_system.read_dir(Ino::ROOT, 1 << 40), Ok(None));
    assert_eq!(
        file_system.read_dir(Ino(0), 0),
        Err(FsError::InvalidArgument)
    );
}

#[test]
fn stat_refuses_bad_inode_numbers() {
    let mut file_system = new_file_system(512);
    assert_eq!(file_system.stat(Ino(0)), Err(FsError::InvalidArgument));
    assert_eq!(
        file_system.stat(Ino(u32::MAX)),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(file_system.stat(Ino(5)), Err(FsError::NotFound));
    assert_eq!(file_system.fsync(Ino(5)), Err(FsError::NotFound));
}

#[test]
fn errors_describe_themselves_like_posix() {
    assert_eq!(FsError::NotFound.describe(), "No such file or directory");
    assert_eq!(format!("{}", FsError::NotEmpty), "Directory not empty");
    assert_eq!(
        format!("{}", FsError::Corrupt("bad magic")),
        "Structure needs cleaning: bad magic"
    );
}

#[test]
fn each_error_is_a_library_error_code_with_its_message() {
    assert_eq!(Errno::from(FsError::Exists), Errno::Exists);
    assert_eq!(Errno::from(FsError::InvalidPath), Errno::InvalidArgument);
    assert_eq!(Errno::from(FsError::NoInodes), Errno::NoSpace);
    assert_eq!(Errno::from(FsError::Corrupt("bad magic")), Errno::Io);
    assert_eq!(Errno::from(FsError::NoCache), Errno::NoMemory);
    assert_eq!(FsError::Exists.describe(), Errno::Exists.describe());
    assert_eq!(
        FsError::NoInodes.describe(),
        "No space left on device (no free inodes)"
    );
    assert_eq!(format!("{}", Errno::NotFound), "No such file or directory");
}

#[test]
fn lookup_or_create_finds_what_lookup_finds_and_makes_what_create_makes() {
    let mut file_system = new_file_system(512);
    let directory = file_system.mkdir("/dir").unwrap();
    let file = file_system.create("/dir/old").unwrap();
    assert_eq!(file_system.lookup_or_create("/"), Ok((Ino::ROOT, false)));
    assert_eq!(file_system.lookup_or_create("/dir"), Ok((directory, false)));
    assert_eq!(
        file_system.lookup_or_create("/dir/."),
        Ok((directory, false))
    );
    assert_eq!(
        file_system.lookup_or_create("/dir/.."),
        Ok((Ino::ROOT, false))
    );
    assert_eq!(file_system.lookup_or_create("/dir/old"), Ok((file, false)));
    assert_eq!(
        file_system.lookup_or_create("/dir/old/"),
        Err(FsError::NotADirectory)
    );
    assert_eq!(
        file_system.lookup_or_create("/dir/new/"),
        Err(FsError::IsADirectory)
    );
    assert_eq!(
        file_system.lookup_or_create("/missing/new"),
        Err(FsError::NotFound)
    );
    assert_eq!(
        file_system.lookup_or_create("/dir/old/new"),
        Err(FsError::NotADirectory)
    );
    assert_eq!(
        file_system.lookup_or_create("relative"),
        Err(FsError::InvalidPath)
    );
    let long = format!("/dir/{}", "n".repeat(MAX_NAME_LEN + 1));
    assert_eq!(
        file_system.lookup_or_create(&long),
        Err(FsError::NameTooLong)
    );
    let (made, is_new) = file_system.lookup_or_create("/dir/new").unwrap();
    assert!(is_new);
    assert_eq!(file_system.lookup("/dir/new"), Ok(made));
    let metadata = file_system.stat(made).unwrap();
    assert_eq!(
        (metadata.kind, metadata.size, metadata.links),
        (Kind::File, 0, 1)
    );
    assert_eq!(file_system.lookup_or_create("/dir/new"), Ok((made, false)));
    assert_eq!(
        names(&mut file_system, "/dir"),
        BTreeSet::from([b"old".to_vec(), b"new".to_vec()])
    );
    unmount_and_check(file_system, "lookup_or_create");
}

#[test]
fn unlinking_small_and_large_files_gives_back_every_block_and_inode() {
    let mut file_system = new_file_system(512);
    // The root's first block, which stays when the names go.
    file_system.create("/kept").unwrap();
    let before = file_system.statfs();
    // One block; four (the most freed with the name); five (freed through the orphan list);
    // and a file with a hole among its direct blocks.
    for (name, blocks) in [
        ("one", &[0u64][..]),
        ("four", &[0, 1, 2, 3]),
        ("five", &[0, 1, 2, 3, 4]),
        ("holes", &[1, 9]),
    ] {
        let path = format!("/{name}");
        let file = file_system.create(&path).unwrap();
        for &block in blocks {
            let offset = block * BLOCK_SIZE as u64;
            file_system
                .write(file, offset, &pattern(block, offset, 100))
                .unwrap();
        }
        assert_eq!(
            file_system.stat(file).unwrap().blocks_used as usize,
            blocks.len()
        );
        file_system.unlink(&path).unwrap();
        assert_eq!(file_system.lookup(&path), Err(FsError::NotFound));
        assert_eq!(file_system.statfs(), before, "{name}");
    }
    unmount_and_check(file_system, "small unlinks");
}

#[test]
fn names_found_once_follow_every_later_removal_rename_and_reuse() {
    let options = FormatOptions {
        inode_count: Some(16),
        ..FormatOptions::default()
    };
    let mut file_system = FileSystem::mount(formatted_disk(512, options), cache(32)).unwrap();
    let directory = file_system.mkdir("/d").unwrap();
    let first = file_system.create("/d/a").unwrap();
    let second = file_system.create("/d/b").unwrap();
    assert_eq!(file_system.lookup("/d/a"), Ok(first));
    // A rename onto a found name changes the inode its record names.
    file_system.rename("/d/b", "/d/a").unwrap();
    assert_eq!(file_system.lookup("/d/a"), Ok(second));
    assert_eq!(file_system.lookup("/d/b"), Err(FsError::NotFound));
    // A name removed and made again names the new file.
    file_system.unlink("/d/a").unwrap();
    assert_eq!(file_system.lookup("/d/a"), Err(FsError::NotFound));
    let third = file_system.create("/d/a").unwrap();
    assert_eq!(file_system.lookup("/d/a"), Ok(third));
    // A directory emptied, removed, and its inode number taken by a new directory: the old
    // directory's names are not the new one's.
    file_system.unlink("/d/a").unwrap();
    file_system.rmdir("/d").unwrap();
    // Allocation is next fit: directories are made until the number comes round again.
    let mut made = 0;
    while file_system.mkdir(format!("/e{made}")).unwrap() != directory {
        made += 1;
        assert!(made < 64, "the inode number never came round");
    }
    file_system.rename(format!("/e{made}"), "/e").unwrap();
    assert_eq!(file_system.lookup("/e/a"), Err(FsError::NotFound));
    assert_eq!(
        file_system
            .lookup_or_create("/e/a")
            .map(|(_, is_new)| is_new),
        Ok(true)
    );
    // A directory moved elsewhere keeps its names; its old place has none.
    file_system.mkdir("/f").unwrap();
    let moved = file_system.lookup("/e/a").unwrap();
    file_system.rename("/e", "/f/e").unwrap();
    assert_eq!(file_system.lookup("/f/e/a"), Ok(moved));
    assert_eq!(file_system.lookup("/e/a"), Err(FsError::NotFound));
    let mut file_system = remount(file_system);
    assert_eq!(file_system.lookup("/f/e/a"), Ok(moved));
    assert_eq!(file_system.lookup("/d/a"), Err(FsError::NotFound));
    unmount_and_check(file_system, "names");
}

#[test]
fn a_directory_path_walked_before_names_nothing_once_a_directory_on_it_goes() {
    let mut file_system = new_file_system(512);
    file_system.mkdir("/a").unwrap();
    file_system.mkdir("/a/x").unwrap();
    file_system.create("/a/x/../f").unwrap();
    // The rename walks `/a/x/../` itself; afterwards no `x` is there to go through.
    file_system.rename("/a/x", "/a/x/../y").unwrap();
    assert_eq!(file_system.create("/a/x/../g"), Err(FsError::NotFound));
    assert_eq!(file_system.lookup("/a/y/../f").map(|_| ()), Ok(()));
    // The same with a removal.
    file_system.create("/a/y/../h").unwrap();
    file_system.rmdir("/a/y/../y").unwrap();
    assert_eq!(file_system.unlink("/a/y/../h"), Err(FsError::NotFound));
    file_system.unlink("/a/h").unwrap();
    // A removed directory's path, walked last, names nothing.
    file_system.unlink("/a/f").unwrap();
    file_system.rmdir("/a").unwrap();
    assert_eq!(file_system.lookup("/a"), Err(FsError::NotFound));
    assert_eq!(file_system.create("/a/f"), Err(FsError::NotFound));
    unmount_and_check(file_system, "directory paths");
}
