//! `boot disk`: the guest's disk image from the host: format it, list, read and write files of
//! the library OS's file system, and check it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::block_image::BlockImage;
use crate::disk_check::check_disk;
use crate::disk_files::{
    HostFileSystem, PROGRAMS_DIRECTORY, install_programs, list, mount_file_system, read_file,
    unmount_file_system, write_file,
};
use crate::disk_image::{DEFAULT_DISK_BLOCKS, DiskOptions, describe, prepare_disk};
use crate::guest_build::{Profile, build_guest};
use crate::partition::partition_blocks;
use crate::workspace::Workspace;

/// The exit code of `boot disk check` when it finds a problem.
pub const CHECK_FOUND_PROBLEMS: u8 = 1;

/// `boot disk`'s arguments: the disk, and what to do with it.
#[derive(Debug, Args)]
pub struct DiskCommandArgs {
    /// The disk image [default: target/images/blocks.img].
    #[arg(long, value_name = "PATH", global = true)]
    pub disk: Option<PathBuf>,
    #[command(subcommand)]
    pub command: DiskCommand,
}

/// What `boot disk` does.
#[derive(Debug, PartialEq, Eq, Subcommand)]
pub enum DiskCommand {
    /// Recreate the disk (erasing it): the kernel's block table, the library OS's file system
    /// with /bin and /tmp, and every app (built for the guest) in /bin.
    Format {
        /// The disk's size in 4096-byte blocks (the default is 128 MiB).
        #[arg(
            long,
            value_name = "N",
            default_value_t = DEFAULT_DISK_BLOCKS,
            value_parser = clap::value_parser!(u64).range(1..)
        )]
        blocks: u64,
        /// Install the apps of the release build.
        #[arg(long)]
        release: bool,
    },
    /// List a directory of the file system (type, size, name), or show one file.
    Ls {
        /// An absolute path on the disk.
        #[arg(default_value = "/")]
        path: String,
    },
    /// Write a file of the file system to standard output.
    Cat {
        /// An absolute path on the disk.
        path: String,
    },
    /// Copy a file out of the file system.
    Get {
        /// The file on the disk.
        path: String,
        /// Where to put it on the host.
        host_file: PathBuf,
    },
    /// Copy a host file into the file system, replacing a file there (into a directory, it
    /// keeps its name).
    Put {
        /// The file on the host.
        host_file: PathBuf,
        /// Where to put it on the disk.
        path: String,
    },
    /// Check the kernel's block table and the file system; exit with 1 when something is
    /// wrong.
    Check,
}

/// Runs `boot disk`; returns the exit code.
pub fn run(args: &DiskCommandArgs) -> Result<u8> {
    let disk = match &args.disk {
        Some(path) => path.clone(),
        None => DiskOptions::default_for(&Workspace::locate()?).path,
    };
    match &args.command {
        DiskCommand::Format { blocks, release } => {
            format(&disk, *blocks, Profile::from_release_flag(*release))
        }
        DiskCommand::Ls { path } => {
            let entries = with_files(&disk, |file_system| list(file_system, path))?;
            for entry in entries {
                println!("{}", entry.line());
            }
            Ok(0)
        }
        DiskCommand::Cat { path } => {
            let bytes = with_files(&disk, |file_system| read_file(file_system, path))?;
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .context("writing to standard output")?;
            Ok(0)
        }
        DiskCommand::Get { path, host_file } => {
            let bytes = with_files(&disk, |file_system| read_file(file_system, path))?;
            fs::write(host_file, bytes)
                .with_context(|| format!("writing {}", host_file.display()))?;
            Ok(0)
        }
        DiskCommand::Put { host_file, path } => {
            put(&disk, host_file, path)?;
            Ok(0)
        }
        DiskCommand::Check => {
            let check = check_disk(&disk)?;
            for line in &check.summary {
                println!("{line}");
            }
            for problem in &check.problems {
                println!("problem: {problem}");
            }
            if check.is_clean() {
                println!("clean");
                Ok(0)
            } else {
                println!("{} problems", check.problems.len());
                Ok(CHECK_FOUND_PROBLEMS)
            }
        }
    }
}

/// `boot disk format`: a fresh disk with every app of the guest build in `/bin`.
fn format(disk: &Path, blocks: u64, profile: Profile) -> Result<u8> {
    // A size without room for the partition is refused before the build, not after.
    partition_blocks(blocks)?;
    let workspace = Workspace::locate()?;
    let guest = build_guest(&workspace, profile)?;
    let options = DiskOptions {
        path: disk.to_owned(),
        blocks,
        is_fresh: true,
    };
    let state = prepare_disk(&options)?;
    eprintln!("{}", describe(disk, state));
    install_programs(disk, PROGRAMS_DIRECTORY, &guest.apps)?;
    Ok(0)
}

/// `boot disk put`: copies `host_file` to `path` on `disk` (into the directory `path` names, if
/// it names one); returns the file's path on the disk.
pub fn put(disk: &Path, host_file: &Path, path: &str) -> Result<String> {
    let bytes = fs::read(host_file).with_context(|| format!("reading {}", host_file.display()))?;
    let name = host_file
        .file_name()
        .with_context(|| format!("{} names no file", host_file.display()))?
        .to_string_lossy()
        .into_owned();
    let file = BlockImage::open(disk)?;
    let mut file_system = mount_file_system(&file)?;
    let written = write_file(&mut file_system, path, &name, &bytes)?;
    unmount_file_system(file_system)?;
    file.sync()?;
    Ok(written)
}

/// Runs `action` on the file system of `disk` and leaves without writing anything more (a
/// journal replay at mount is the only write).
fn with_files<T>(
    disk: &Path,
    action: impl FnOnce(&mut HostFileSystem<'_>) -> Result<T>,
) -> Result<T> {
    let file = BlockImage::open(disk)?;
    let mut file_system = mount_file_system(&file)?;
    let result = action(&mut file_system);
    drop(file_system.into_parts());
    file.sync()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_disks::ScratchDir;
    use clap::Parser;
    use exo_core::block_table::BlockTable;
    use posix_fs::partition::FIRST_BLOCK;

    /// `boot disk ...` on its own.
    #[derive(Debug, Parser)]
    struct DiskCli {
        #[command(flatten)]
        args: DiskCommandArgs,
    }

    fn parse(words: &[&str]) -> DiskCommandArgs {
        DiskCli::try_parse_from(["disk"].iter().chain(words))
            .unwrap()
            .args
    }

    #[test]
    fn the_command_line_reads_every_subcommand() {
        let listing = parse(&["ls"]);
        assert_eq!(listing.disk, None);
        assert_eq!(listing.command, DiskCommand::Ls { path: "/".into() });
        let chosen = parse(&["ls", "/bin", "--disk", "d.img"]);
        assert_eq!(chosen.disk, Some(PathBuf::from("d.img")));
        assert_eq!(
            chosen.command,
            DiskCommand::Ls {
                path: "/bin".into()
            }
        );
        assert_eq!(
            parse(&["--disk", "d.img", "check"]).disk,
            Some(PathBuf::from("d.img"))
        );
        let expected = [
            (
                &["format"][..],
                DiskCommand::Format {
                    blocks: DEFAULT_DISK_BLOCKS,
                    release: false,
                },
            ),
            (
                &["format", "--blocks", "9000", "--release"],
                DiskCommand::Format {
                    blocks: 9000,
                    release: true,
                },
            ),
            (
                &["put", "notes.txt", "/tmp"],
                DiskCommand::Put {
                    host_file: "notes.txt".into(),
                    path: "/tmp".into(),
                },
            ),
            (
                &["get", "/tmp/notes.txt", "out.txt"],
                DiskCommand::Get {
                    path: "/tmp/notes.txt".into(),
                    host_file: "out.txt".into(),
                },
            ),
            (
                &["cat", "/bin/sh"],
                DiskCommand::Cat {
                    path: "/bin/sh".into(),
                },
            ),
        ];
        for (words, command) in expected {
            assert_eq!(parse(words).command, command, "{words:?}");
        }
        for words in [
            &["cat"][..],
            &["format", "--blocks", "0"],
            &["get", "/x"],
            &["mount"],
        ] {
            assert!(DiskCli::try_parse_from(["disk"].iter().chain(words)).is_err());
        }
    }

    #[test]
    fn put_then_get_copies_a_file_in_and_out() {
        let scratch = ScratchDir::new("commands-copy");
        let disk = scratch.new_disk();
        let run_on_disk = |command| {
            run(&DiskCommandArgs {
                disk: Some(disk.clone()),
                command,
            })
        };
        fs::write(scratch.join("in.txt"), "round trip\n").unwrap();
        let put = DiskCommand::Put {
            host_file: scratch.join("in.txt"),
            path: String::from("/tmp/copy.txt"),
        };
        assert_eq!(run_on_disk(put).unwrap(), 0);
        let get = DiskCommand::Get {
            path: String::from("/tmp/copy.txt"),
            host_file: scratch.join("out.txt"),
        };
        assert_eq!(run_on_disk(get).unwrap(), 0);
        assert_eq!(fs::read(scratch.join("out.txt")).unwrap(), b"round trip\n");
        let missing = DiskCommand::Get {
            path: String::from("/tmp/none"),
            host_file: scratch.join("none.txt"),
        };
        assert!(run_on_disk(missing).is_err());
        assert!(!scratch.join("none.txt").exists());
        let listing = DiskCommand::Ls {
            path: String::from("/tmp"),
        };
        assert_eq!(run_on_disk(listing).unwrap(), 0);
    }

    #[test]
    fn check_exits_with_1_when_the_disk_has_a_problem() {
        let scratch = ScratchDir::new("commands-check");
        let path = scratch.new_disk();
        let check = || {
            run(&DiskCommandArgs {
                disk: Some(path.clone()),
                command: DiskCommand::Check,
            })
            .unwrap()
        };
        assert_eq!(check(), 0);
        let mut disk = BlockImage::open(&path).unwrap();
        let mut table = BlockTable::mount(&mut disk).unwrap();
        table.repossess(&mut disk, FIRST_BLOCK).unwrap();
        assert_eq!(check(), CHECK_FOUND_PROBLEMS);
    }
}
