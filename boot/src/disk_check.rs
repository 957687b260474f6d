//! `boot disk check`: verifies a disk image without writing to it: the kernel's block table
//! (its own invariants, and that it is what a mount reads), that it gives every block of the
//! partition to the library OS, and the file system on the partition (posix-fs's checker).

use std::ops::Range;
use std::path::Path;

use anyhow::Result;
use exo_core::block_table::{BlockOwner, BlockTable};
use exo_core::environments::EnvId;

use crate::block_image::BlockImage;
use crate::partition::{library_credential, partition_blocks};

/// The environment the check binds to the library OS's principal, in memory only.
const CHECKING_ENVIRONMENT: EnvId = EnvId(0);

/// What [`check_disk`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskCheck {
    /// What was checked and what it holds, one line each.
    pub summary: Vec<String>,
    /// Every problem found; empty for a clean disk.
    pub problems: Vec<String>,
}

impl DiskCheck {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the disk image at `path`. Fails only when the file cannot be read at all; damage is
/// reported as problems.
pub fn check_disk(path: &Path) -> Result<DiskCheck> {
    let mut disk = BlockImage::open_read_only(path)?;
    let mut check = DiskCheck::default();
    check.summary.push(format!(
        "disk {}: {} blocks",
        path.display(),
        disk.block_count()
    ));
    let partition = match partition_blocks(disk.block_count()) {
        Ok(partition) => partition,
        Err(error) => {
            check.problems.push(format!("{error:#}"));
            return Ok(check);
        }
    };
    check_block_table(&mut disk, &partition, &mut check);
    check_file_system(&disk, &partition, &mut check);
    Ok(check)
}

fn check_block_table(disk: &mut BlockImage, partition: &Range<u64>, check: &mut DiskCheck) {
    let mut table = match BlockTable::mount(disk) {
        Ok(table) => table,
        Err(error) => {
            check.problems.push(format!(
                "the kernel's block table cannot be mounted: {error:?}"
            ));
            return;
        }
    };
    let layout = table.layout();
    check.summary.push(format!(
        "kernel block table: {} data blocks, {} free",
        layout.data_block_count(),
        table.free_count()
    ));
    if let Err(problem) = table.check_invariants() {
        check.problems.push(format!(
            "the kernel's block table is inconsistent: {problem}"
        ));
    }
    if let Err(problem) = table.check_against_disk(disk) {
        check.problems.push(format!(
            "the kernel's block table differs from the disk: {problem}"
        ));
    }
    // The file is read-only: presenting an unknown credential fails instead of recording it.
    let principal = match table.present_credential(disk, CHECKING_ENVIRONMENT, library_credential())
    {
        Ok(presentation) => presentation.principal,
        Err(_) => {
            check.problems.push(String::from(
                "the kernel's block table has no principal for the library OS's credential",
            ));
            return;
        }
    };
    let not_given = partition
        .clone()
        .filter(|&block| table.owner(block) != Some(BlockOwner::Principal(principal)))
        .count();
    if not_given == 0 {
        check.summary.push(format!(
            "partition: blocks {}..{}, all the library OS's",
            partition.start, partition.end
        ));
    } else {
        check.problems.push(format!(
            "{not_given} blocks of the partition ({}..{}) are not the library OS's",
            partition.start, partition.end
        ));
    }
}

fn check_file_system(disk: &BlockImage, partition: &Range<u64>, check: &mut DiskCheck) {
    let mut partition_disk = disk.partition(partition.start, partition.end - partition.start);
    match posix_fs::check(&mut partition_disk) {
        Ok(report) => {
            check.summary.push(format!(
                "file system: {} files, {} directories, {} blocks used, {} orphans{}",
                report.files,
                report.directories,
                report.used_blocks,
                report.orphans,
                if report.replayed_transaction {
                    ", a committed transaction to replay"
                } else {
                    ""
                }
            ));
            check.problems.extend(
                report
                    .problems
                    .into_iter()
                    .map(|problem| format!("file system: {problem}")),
            );
        }
        Err(error) => check
            .problems
            .push(format!("the file system cannot be checked: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk_files::{PROGRAMS_DIRECTORY, install_programs};
    use crate::test_disks::ScratchDir;
    use posix_fs::partition::FIRST_BLOCK;
    use std::fs;

    /// Replaces `from` with `to` (as long) wherever the disk at `path` holds it: in the blocks
    /// the file system uses, and in the journal's stale copies of them. Returns how many blocks
    /// changed.
    fn replace_everywhere(path: &Path, from: &[u8], to: &[u8]) -> usize {
        let disk = BlockImage::open(path).unwrap();
        let mut buffer = [0; 4096];
        let mut changed = 0;
        for block in 0..disk.block_count() {
            disk.read(block, &mut buffer).unwrap();
            if let Some(at) = buffer.windows(from.len()).position(|window| window == from) {
                buffer[at..at + to.len()].copy_from_slice(to);
                disk.write(block, &buffer).unwrap();
                changed += 1;
            }
        }
        changed
    }

    #[test]
    fn a_new_disk_with_programs_is_clean() {
        let scratch = ScratchDir::new("check-clean");
        let disk = scratch.new_disk();
        install_programs(
            &disk,
            PROGRAMS_DIRECTORY,
            &[scratch.fake_app("hello", b"hello")],
        )
        .unwrap();
        let check = check_disk(&disk).unwrap();
        assert!(check.is_clean(), "{check:#?}");
        assert_eq!(check.summary.len(), 4, "{check:#?}");
        assert!(check.summary[2].starts_with("partition: blocks 8192..10240"));
        assert!(check.summary[3].starts_with("file system: 1 files, 3 directories"));
    }

    #[test]
    fn a_damaged_directory_makes_the_check_fail() {
        let scratch = ScratchDir::new("check-directory");
        let disk = scratch.new_disk();
        install_programs(
            &disk,
            PROGRAMS_DIRECTORY,
            &[scratch.fake_app("zebra-app", b"z")],
        )
        .unwrap();
        assert!(replace_everywhere(&disk, b"zebra-app", b"zebra/app") > 0);

        let check = check_disk(&disk).unwrap();
        assert!(!check.is_clean());
        assert!(
            check
                .problems
                .iter()
                .all(|problem| problem.starts_with("file system: ")),
            "{check:#?}"
        );
    }

    #[test]
    fn a_partition_block_taken_from_the_library_os_makes_the_check_fail() {
        let scratch = ScratchDir::new("check-table");
        let path = scratch.new_disk();
        let mut disk = BlockImage::open(&path).unwrap();
        let mut table = BlockTable::mount(&mut disk).unwrap();
        table.repossess(&mut disk, FIRST_BLOCK + 3).unwrap();

        let check = check_disk(&path).unwrap();
        assert_eq!(
            check.problems,
            ["1 blocks of the partition (8192..10240) are not the library OS's"]
        );
    }

    #[test]
    fn checking_writes_nothing_even_when_the_principal_is_missing() {
        let scratch = ScratchDir::new("check-read-only");
        let path = scratch.join("table-only.img");
        fs::File::create(&path)
            .unwrap()
            .set_len(crate::test_disks::TEST_DISK_BLOCKS * 4096)
            .unwrap();
        BlockTable::format(&mut BlockImage::open(&path).unwrap()).unwrap();
        let before = fs::read(&path).unwrap();

        let check = check_disk(&path).unwrap();
        assert!(fs::read(&path).unwrap() == before, "the check wrote");
        assert_eq!(check.problems.len(), 2, "{check:#?}");
        assert!(check.problems[0].contains("no principal"), "{check:#?}");
        assert!(check.problems[1].contains("bad magic"), "{check:#?}");
    }

    #[test]
    fn a_blank_disk_is_reported_not_refused() {
        let scratch = ScratchDir::new("check-blank");
        let path = scratch.join("blank.img");
        fs::File::create(&path)
            .unwrap()
            .set_len(crate::test_disks::TEST_DISK_BLOCKS * 4096)
            .unwrap();
        let check = check_disk(&path).unwrap();
        assert!(check.problems[0].contains("NotFormatted"), "{check:#?}");
        assert!(check_disk(&scratch.join("missing.img")).is_err());
    }
}
