//! The library OS's file system seen from the host: mounting it on a disk image, listing,
//! reading and writing files, and installing the guest's programs (the user's in `/bin`, the
//! tests' in `/tests`).

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use posix_fs::{CachedBlock, FileSystem, FsError, Ino, Kind, Metadata};

use crate::block_image::{BlockImage, PartitionDisk};
use crate::guest_build::GuestApp;
use crate::partition::partition_blocks;

/// Blocks of buffer cache the boot tool mounts with (4 MiB).
const CACHE_SLOTS: usize = 1024;

/// The directory the user's programs are installed in.
pub const PROGRAMS_DIRECTORY: &str = "/bin";
/// The directory the test and benchmark programs are installed in, on the disks of the runs
/// that boot them.
pub const TEST_PROGRAMS_DIRECTORY: &str = "/tests";

/// The file system on a disk image's partition, mounted on the host.
pub type HostFileSystem<'image> = FileSystem<PartitionDisk<'image>, Vec<CachedBlock>>;

/// Mounts the file system on the partition of `disk` (replaying its journal).
pub fn mount_file_system(disk: &BlockImage) -> Result<HostFileSystem<'_>> {
    let partition = partition_blocks(disk.block_count())?;
    let partition_disk = disk.partition(partition.start, partition.end - partition.start);
    FileSystem::mount(partition_disk, vec![CachedBlock::EMPTY; CACHE_SLOTS]).map_err(|error| {
        anyhow!(
            "mounting the file system on {}: {error}",
            disk.path().display()
        )
    })
}

/// Commits everything and unmounts the file system.
pub fn unmount_file_system(file_system: HostFileSystem<'_>) -> Result<()> {
    file_system
        .unmount()
        .map(drop)
        .map_err(|error| anyhow!("unmounting the file system: {error}"))
}

/// One line of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedEntry {
    /// The entry's name in its directory (a listed file's path when a file was listed).
    pub name: String,
    /// File or directory.
    pub kind: Kind,
    /// Bytes.
    pub size: u64,
}

impl ListedEntry {
    /// The entry as `ls -l` would show it, without what the file system does not keep:
    /// `d` or `-`, the size, the name.
    pub fn line(&self) -> String {
        let kind = match self.kind {
            Kind::Directory => 'd',
            Kind::File => '-',
        };
        format!("{kind} {:>10} {}", self.size, self.name)
    }
}

/// The entries of directory `path`, sorted by name; or the file `path` itself.
pub fn list(file_system: &mut HostFileSystem<'_>, path: &str) -> Result<Vec<ListedEntry>> {
    let ino = lookup(file_system, path)?;
    let metadata = stat(file_system, ino, path)?;
    if metadata.kind == Kind::File {
        return Ok(vec![ListedEntry {
            name: path.to_owned(),
            kind: metadata.kind,
            size: metadata.size,
        }]);
    }
    let mut entries = Vec::new();
    let mut cursor = 0;
    while let Some((entry, next)) = file_system
        .read_dir(ino, cursor)
        .map_err(|error| anyhow!("listing {path}: {error}"))?
    {
        let name = String::from_utf8_lossy(entry.name()).into_owned();
        let size = stat(file_system, entry.ino, &name)?.size;
        entries.push(ListedEntry {
            name,
            kind: entry.kind,
            size,
        });
        cursor = next;
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// The whole contents of file `path`.
pub fn read_file(file_system: &mut HostFileSystem<'_>, path: &str) -> Result<Vec<u8>> {
    let ino = lookup(file_system, path)?;
    let size = stat(file_system, ino, path)?.size;
    let mut bytes = vec![0; usize::try_from(size).context("the file is too large to read")?];
    let mut done = 0;
    while done < bytes.len() {
        let read = file_system
            .read(ino, done as u64, &mut bytes[done..])
            .map_err(|error| anyhow!("reading {path}: {error}"))?;
        if read == 0 {
            break;
        }
        done += read;
    }
    bytes.truncate(done);
    Ok(bytes)
}

/// Makes file `path` hold exactly `bytes`: creates it, or replaces the contents of the file
/// there. When `path` names a directory, the file goes into it, named `name_in_directory`.
/// Returns the file's path.
pub fn write_file(
    file_system: &mut HostFileSystem<'_>,
    path: &str,
    name_in_directory: &str,
    bytes: &[u8],
) -> Result<String> {
    let path = match lookup_kind(file_system, path)? {
        Some(Kind::Directory) => format!("{}/{name_in_directory}", path.trim_end_matches('/')),
        Some(Kind::File) | None => path.to_owned(),
    };
    let ino = match file_system.create(&path) {
        Ok(ino) => ino,
        Err(FsError::Exists) => {
            let ino = lookup(file_system, &path)?;
            file_system
                .truncate(ino, 0)
                .map_err(|error| anyhow!("emptying {path}: {error}"))?;
            ino
        }
        Err(error) => bail!("creating {path}: {error}"),
    };
    let mut done = 0;
    while done < bytes.len() {
        done += file_system
            .write(ino, done as u64, &bytes[done..])
            .map_err(|error| anyhow!("writing {path}: {error}"))?;
    }
    Ok(path)
}

/// What [`install_programs`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Installation {
    /// The directory installed into.
    pub directory: String,
    /// Programs written: new ones, and ones whose bytes changed.
    pub written: Vec<String>,
    /// Programs already there with the same bytes.
    pub unchanged: usize,
}

impl Installation {
    /// A line for the user saying what changed in the directory.
    pub fn describe(&self) -> String {
        let total = self.written.len() + self.unchanged;
        let directory = &self.directory;
        match self.written.len() {
            0 => format!("boot: the {total} programs in {directory} are up to date"),
            written if written == total => {
                format!("boot: installed {total} programs in {directory}")
            }
            written => format!(
                "boot: installed {written} of {total} programs in {directory} (the others \
                 were up to date): {}",
                self.written.join(", ")
            ),
        }
    }
}

/// Makes `directory` of the file system on `disk` hold every program of `programs` as
/// `directory/NAME`: writes the ones missing or different, leaves the rest of the file system as it
/// is, and syncs. Prints what it did.
pub fn install_programs(
    disk: &Path,
    directory: &str,
    programs: &[GuestApp],
) -> Result<Installation> {
    let disk = BlockImage::open(disk)?;
    let mut file_system = mount_file_system(&disk)?;
    let installation = install_into(&mut file_system, directory, programs)?;
    unmount_file_system(file_system)?;
    disk.sync()?;
    eprintln!("{}", installation.describe());
    Ok(installation)
}

fn install_into(
    file_system: &mut HostFileSystem<'_>,
    directory: &str,
    programs: &[GuestApp],
) -> Result<Installation> {
    match lookup_kind(file_system, directory)? {
        Some(Kind::Directory) => {}
        Some(Kind::File) => bail!("{directory} on the disk is a file"),
        None => {
            file_system
                .mkdir(directory)
                .map_err(|error| anyhow!("creating {directory}: {error}"))?;
        }
    }
    let mut installation = Installation {
        directory: directory.to_owned(),
        ..Installation::default()
    };
    for program in programs {
        let bytes = std::fs::read(&program.elf)
            .with_context(|| format!("reading the program {}", program.elf.display()))?;
        let path = format!("{directory}/{}", program.name);
        let is_current = match file_system.lookup(&path) {
            Ok(ino) => {
                let metadata = stat(file_system, ino, &path)?;
                if metadata.kind == Kind::Directory {
                    bail!(
                        "cannot install {}: {path} on the disk is a directory",
                        program.name
                    );
                }
                metadata.size == bytes.len() as u64 && read_file(file_system, &path)? == bytes
            }
            Err(FsError::NotFound) => false,
            Err(error) => bail!("{path}: {error}"),
        };
        if is_current {
            installation.unchanged += 1;
        } else {
            write_file(file_system, &path, &program.name, &bytes)?;
            installation.written.push(program.name.clone());
        }
    }
    Ok(installation)
}

fn lookup(file_system: &mut HostFileSystem<'_>, path: &str) -> Result<Ino> {
    file_system
        .lookup(path)
        .map_err(|error| anyhow!("{path}: {error}"))
}

/// The kind of what `path` names, or `None` when nothing is there.
fn lookup_kind(file_system: &mut HostFileSystem<'_>, path: &str) -> Result<Option<Kind>> {
    match file_system.lookup(path) {
        Ok(ino) => Ok(Some(stat(file_system, ino, path)?.kind)),
        Err(FsError::NotFound) => Ok(None),
        Err(error) => bail!("{path}: {error}"),
    }
}

fn stat(file_system: &mut HostFileSystem<'_>, ino: Ino, path: &str) -> Result<Metadata> {
    file_system
        .stat(ino)
        .map_err(|error| anyhow!("{path}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk_commands::put;
    use crate::test_disks::ScratchDir;
    use std::fs;

    /// Runs `action` on the file system of the disk at `path`, then unmounts it.
    fn on_files<T>(path: &Path, action: impl FnOnce(&mut HostFileSystem<'_>) -> T) -> T {
        let disk = BlockImage::open(path).unwrap();
        let mut file_system = mount_file_system(&disk).unwrap();
        let result = action(&mut file_system);
        unmount_file_system(file_system).unwrap();
        result
    }

    fn lines(path: &Path, directory: &str) -> Vec<String> {
        on_files(path, |file_system| {
            list(file_system, directory)
                .unwrap()
                .iter()
                .map(ListedEntry::line)
                .collect()
        })
    }

    #[test]
    fn programs_are_installed_in_bin_and_listed_and_read_back() {
        let scratch = ScratchDir::new("files-install");
        let disk = scratch.new_disk();
        let hello = scratch.fake_app("hello", b"\x7fELF hello");
        let large = vec![0x5a; 70_000];
        let shell = scratch.fake_app("sh", &large);

        let installation = install_programs(&disk, PROGRAMS_DIRECTORY, &[hello, shell]).unwrap();
        assert_eq!(installation.written, ["hello", "sh"]);
        assert_eq!(installation.unchanged, 0);
        assert_eq!(
            installation.describe(),
            "boot: installed 2 programs in /bin"
        );

        assert_eq!(
            lines(&disk, "/bin"),
            ["-         10 hello", "-      70000 sh"]
        );
        assert_eq!(lines(&disk, "/"), ["d       4096 bin", "d          0 tmp"]);
        assert_eq!(lines(&disk, "/bin/sh"), ["-      70000 /bin/sh"]);
        on_files(&disk, |file_system| {
            assert_eq!(
                read_file(file_system, "/bin/hello").unwrap(),
                b"\x7fELF hello"
            );
            assert_eq!(read_file(file_system, "/bin/sh").unwrap(), large);
            let missing = read_file(file_system, "/bin/nothing").unwrap_err();
            assert!(
                format!("{missing:#}").contains("/bin/nothing"),
                "{missing:#}"
            );
            assert!(read_file(file_system, "/bin").is_err());
        });
    }

    #[test]
    fn a_refresh_replaces_changed_programs_adds_new_ones_and_keeps_user_files() {
        let scratch = ScratchDir::new("files-refresh");
        let disk = scratch.new_disk();
        let first = [
            scratch.fake_app("cat", b"old cat, a long one"),
            scratch.fake_app("ls", b"ls"),
        ];
        install_programs(&disk, PROGRAMS_DIRECTORY, &first).unwrap();
        let notes = scratch.join("notes.txt");
        fs::write(&notes, "user data").unwrap();
        assert_eq!(put(&disk, &notes, "/tmp").unwrap(), "/tmp/notes.txt");
        fs::write(&notes, "mine").unwrap();
        assert_eq!(put(&disk, &notes, "/bin/mine").unwrap(), "/bin/mine");

        let unchanged = install_programs(&disk, PROGRAMS_DIRECTORY, &first).unwrap();
        assert!(unchanged.written.is_empty());
        assert_eq!(
            unchanged.describe(),
            "boot: the 2 programs in /bin are up to date"
        );

        let second = [
            scratch.fake_app("cat", b"new cat"),
            scratch.fake_app("ls", b"ls"),
            scratch.fake_app("wc", b"wc"),
        ];
        let refreshed = install_programs(&disk, PROGRAMS_DIRECTORY, &second).unwrap();
        assert_eq!(refreshed.written, ["cat", "wc"]);
        assert_eq!(refreshed.unchanged, 1);
        assert_eq!(
            refreshed.describe(),
            "boot: installed 2 of 3 programs in /bin (the others were up to date): cat, wc"
        );
        on_files(&disk, |file_system| {
            assert_eq!(read_file(file_system, "/bin/cat").unwrap(), b"new cat");
            assert_eq!(read_file(file_system, "/bin/mine").unwrap(), b"mine");
            assert_eq!(
                read_file(file_system, "/tmp/notes.txt").unwrap(),
                b"user data"
            );
        });
    }

    #[test]
    fn put_replaces_a_file_and_get_reads_it_back() {
        let scratch = ScratchDir::new("files-put");
        let disk = scratch.new_disk();
        let host_file = scratch.join("data.bin");
        let bytes: Vec<u8> = (0..100_000u32).map(|value| (value % 251) as u8).collect();
        fs::write(&host_file, &bytes).unwrap();
        assert_eq!(put(&disk, &host_file, "/tmp/data").unwrap(), "/tmp/data");
        on_files(&disk, |file_system| {
            assert_eq!(read_file(file_system, "/tmp/data").unwrap(), bytes);
        });
        fs::write(&host_file, b"short").unwrap();
        put(&disk, &host_file, "/tmp/data").unwrap();
        on_files(&disk, |file_system| {
            assert_eq!(read_file(file_system, "/tmp/data").unwrap(), b"short");
        });
        let error = put(&disk, &host_file, "/nowhere/data").unwrap_err();
        assert!(format!("{error:#}").contains("/nowhere/data"), "{error:#}");
    }

    #[test]
    fn a_program_cannot_replace_a_directory() {
        let scratch = ScratchDir::new("files-directory");
        let disk = scratch.new_disk();
        on_files(&disk, |file_system| file_system.mkdir("/bin/ls").unwrap());
        let error = install_programs(&disk, PROGRAMS_DIRECTORY, &[scratch.fake_app("ls", b"ls")])
            .unwrap_err();
        assert!(format!("{error:#}").contains("is a directory"), "{error:#}");
    }
}
