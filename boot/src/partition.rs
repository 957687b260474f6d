//! The layout the boot tool gives the guest's disk: the kernel's block table at its start
//! (exo-core's [`BlockTable`]), and the library OS's file system on a partition
//! ([`posix_fs::partition`]) whose every block the table records as owned by the principal of
//! the library OS's credential, so that the library OS, presenting it, may read and write them.
//! The blocks between the table and the partition stay free, for programs that allocate raw
//! blocks.
//!
//! [`lay_out_new_disk`] formats a new disk; [`complete_layout`] formats whatever an older disk
//! lacks, when that destroys nothing.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, anyhow, bail};
use exo_core::block_table::{BlockOwner, BlockTable, Credential, MountError, PrincipalId};
use exo_core::environments::EnvId;
use posix_fs::FormatOptions;
use posix_fs::partition::{CREDENTIAL, DEFAULT_PARTITION_BLOCKS, FIRST_BLOCK};

use crate::block_image::{BlockImage, NonzeroBlocks};
use crate::disk_files::{mount_file_system, unmount_file_system};

/// The environment the boot tool binds to the library OS's principal while it works. Bindings
/// live only in memory (the disk keeps principals and owners), so any number does.
const HOST_ENVIRONMENT: EnvId = EnvId(0);

/// How the messages about a disk the boot tool will not change end.
const FRESH_DISK_HINT: &str = "(--fresh-disk recreates the disk, `boot disk format` too; both \
                               erase it)";

/// The directories a new file system starts with.
pub const INITIAL_DIRECTORIES: [&str; 2] = ["/bin", "/tmp"];

/// The partition of a disk of `disk_blocks` blocks: from [`FIRST_BLOCK`], of
/// [`DEFAULT_PARTITION_BLOCKS`] or up to the end of a smaller disk.
pub fn partition_blocks(disk_blocks: u64) -> Result<Range<u64>> {
    if disk_blocks <= FIRST_BLOCK {
        bail!(
            "a disk of {disk_blocks} blocks has no room for the file system, which starts at \
             block {FIRST_BLOCK} (the default disk has {} blocks)",
            FIRST_BLOCK + DEFAULT_PARTITION_BLOCKS
        );
    }
    Ok(FIRST_BLOCK..disk_blocks.min(FIRST_BLOCK + DEFAULT_PARTITION_BLOCKS))
}

/// The library OS's credential, as the block table takes it.
pub fn library_credential() -> Credential {
    Credential(CREDENTIAL)
}

/// The blocks that are not all zeros in a new disk's layout, by disk size: every new disk of a
/// size gets the same layout, and computing it takes a table update per partition block, which
/// tests that make many disks would otherwise repeat.
static NEW_DISK_LAYOUTS: Mutex<BTreeMap<u64, Arc<NonzeroBlocks>>> = Mutex::new(BTreeMap::new());

/// Gives `disk`, all zeros, the whole layout of [`complete_layout`], then syncs it. The layout
/// is computed in memory once per disk size and process (printing its steps), then copied.
pub fn lay_out_new_disk(disk: &BlockImage) -> Result<()> {
    let layout = {
        let mut layouts = NEW_DISK_LAYOUTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match layouts.get(&disk.block_count()) {
            Some(layout) => Arc::clone(layout),
            None => {
                let mut image = BlockImage::in_memory(disk.path(), disk.block_count());
                complete_layout(&mut image)?;
                let layout = Arc::new(image.nonzero_blocks_in_memory());
                layouts.insert(disk.block_count(), Arc::clone(&layout));
                layout
            }
        }
    };
    for (block, data) in layout.iter() {
        disk.write(*block, data)
            .with_context(|| format!("writing {}", disk.path().display()))?;
    }
    disk.sync()
}

/// Gives `disk` the whole layout, printing a line for each step it takes: formats the kernel's
/// block table when the disk has none, records every block of the partition as the library
/// OS's, and formats the file system (with [`INITIAL_DIRECTORIES`]) when the partition holds
/// none. Then syncs the file.
///
/// Nothing is formatted over data: a disk whose partition holds something while its blocks are
/// not all the library OS's, or whose table is damaged or of another size, is an error that
/// suggests `--fresh-disk`.
pub fn complete_layout(disk: &mut BlockImage) -> Result<()> {
    let partition = partition_blocks(disk.block_count())?;
    let has_file_system = !disk
        .is_zeroed(partition.start)
        .with_context(|| format!("reading {}", disk.path().display()))?;
    let mut table = mount_or_format_table(disk, has_file_system)?;
    let principal = table
        .present_credential(disk, HOST_ENVIRONMENT, library_credential())
        .map_err(|error| anyhow!("recording the library OS's principal: {error:?}"))?
        .principal;
    let missing = blocks_to_give(disk, &table, principal, &partition)?;
    if !missing.is_empty() {
        if has_file_system {
            bail!(
                "{} holds a file system whose blocks the kernel's table does not all give to the \
                 library OS {FRESH_DISK_HINT}",
                disk.path().display()
            );
        }
        eprintln!(
            "boot: giving blocks {}..{} of {} to the library OS",
            partition.start,
            partition.end,
            disk.name()
        );
        for block in missing {
            table
                .allocate(disk, HOST_ENVIRONMENT, Some(block))
                .map_err(|error| anyhow!("allocating block {block}: {error:?}"))?;
        }
    }
    if !has_file_system {
        format_file_system(disk, &partition)?;
    }
    disk.sync()
}

/// The disk's block table; a disk without one is formatted, unless its partition holds data
/// (then the table was lost, and formatting it would give that data to nobody).
fn mount_or_format_table(disk: &mut BlockImage, has_file_system: bool) -> Result<BlockTable> {
    match BlockTable::mount(disk) {
        Ok(table) => Ok(table),
        Err(MountError::NotFormatted) if !has_file_system => {
            eprintln!(
                "boot: formatting the kernel's block table on {} ({} blocks)",
                disk.name(),
                disk.block_count()
            );
            BlockTable::format(disk)
                .map_err(|error| anyhow!("formatting the kernel's block table: {error:?}"))
        }
        Err(MountError::NotFormatted) => bail!(
            "{} holds a file system but no kernel block table {FRESH_DISK_HINT}",
            disk.path().display()
        ),
        Err(error) => bail!(
            "the kernel's block table on {} is unusable: {error:?} {FRESH_DISK_HINT}",
            disk.path().display()
        ),
    }
}

/// The free blocks of `partition`, which `principal` lacks; an error when a block is the
/// kernel's or another principal's.
fn blocks_to_give(
    disk: &BlockImage,
    table: &BlockTable,
    principal: PrincipalId,
    partition: &Range<u64>,
) -> Result<Vec<u64>> {
    let mut missing = Vec::new();
    let mut taken = Vec::new();
    for block in partition.clone() {
        match table.owner(block) {
            Some(BlockOwner::Principal(owner)) if owner == principal => {}
            Some(BlockOwner::Free) => missing.push(block),
            _ => taken.push(block),
        }
    }
    if let (Some(first), Some(last)) = (taken.first(), taken.last()) {
        bail!(
            "{} blocks of the file system's partition on {}, from {first} to {last}, belong to \
             other principals {FRESH_DISK_HINT}",
            taken.len(),
            disk.path().display()
        );
    }
    Ok(missing)
}

/// Writes an empty file system on `partition`, with [`INITIAL_DIRECTORIES`].
fn format_file_system(disk: &BlockImage, partition: &Range<u64>) -> Result<()> {
    let blocks = partition.end - partition.start;
    eprintln!(
        "boot: formatting the file system on {} ({blocks} blocks)",
        disk.name()
    );
    posix_fs::format(
        &mut disk.partition(partition.start, blocks),
        FormatOptions::default(),
    )
    .map_err(|error| {
        anyhow!("formatting the file system on blocks {partition:?} of the disk: {error}")
    })?;
    let mut file_system = mount_file_system(disk)?;
    for directory in INITIAL_DIRECTORIES {
        file_system
            .mkdir(directory)
            .map_err(|error| anyhow!("creating {directory}: {error}"))?;
    }
    unmount_file_system(file_system)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk_files::list;
    use crate::test_disks::{ScratchDir, TEST_DISK_BLOCKS};
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    const OTHER_ENVIRONMENT: EnvId = EnvId(7);
    const OTHER_CREDENTIAL: Credential = Credential(*b"another-program!");

    /// A zeroed disk file of `blocks` blocks, with no layout.
    fn blank_disk(scratch: &ScratchDir, blocks: u64) -> BlockImage {
        let path = scratch.join("blank.img");
        fs::File::create(&path)
            .unwrap()
            .set_len(blocks * 4096)
            .unwrap();
        BlockImage::open(&path).unwrap()
    }

    /// The blocks of the partition the library OS's principal owns.
    fn library_blocks(disk: &mut BlockImage) -> Vec<u64> {
        let mut table = BlockTable::mount(disk).unwrap();
        let presentation = table
            .present_credential(disk, HOST_ENVIRONMENT, library_credential())
            .unwrap();
        assert!(!presentation.is_new, "the principal is on the disk");
        table.blocks_of(HOST_ENVIRONMENT)
    }

    #[test]
    fn the_partition_is_the_default_or_the_rest_of_a_smaller_disk() {
        assert_eq!(
            partition_blocks(crate::DEFAULT_DISK_BLOCKS).unwrap(),
            FIRST_BLOCK..FIRST_BLOCK + DEFAULT_PARTITION_BLOCKS
        );
        assert_eq!(
            partition_blocks(1 << 20).unwrap(),
            FIRST_BLOCK..FIRST_BLOCK + DEFAULT_PARTITION_BLOCKS
        );
        assert_eq!(
            partition_blocks(FIRST_BLOCK + 100).unwrap(),
            FIRST_BLOCK..FIRST_BLOCK + 100
        );
        assert!(partition_blocks(FIRST_BLOCK).is_err());
    }

    #[test]
    fn a_new_disk_gets_the_table_the_partition_and_an_empty_file_system() {
        let scratch = ScratchDir::new("partition-new");
        let path = scratch.new_disk();
        let mut disk = BlockImage::open(&path).unwrap();
        let partition = partition_blocks(TEST_DISK_BLOCKS).unwrap();
        assert_eq!(
            library_blocks(&mut disk),
            partition.clone().collect::<Vec<_>>()
        );
        let table = BlockTable::mount(&mut disk).unwrap();
        table.check_invariants().unwrap();
        let below_partition = FIRST_BLOCK - table.layout().data_start;
        assert_eq!(table.free_count(), below_partition, "raw blocks stay free");

        let mut file_system = crate::disk_files::mount_file_system(&disk).unwrap();
        let root: Vec<String> = list(&mut file_system, "/")
            .unwrap()
            .into_iter()
            .map(|entry| entry.name)
            .collect();
        assert_eq!(root, ["bin", "tmp"]);
        assert!(list(&mut file_system, "/bin").unwrap().is_empty());
        drop(file_system);

        let written_bytes = fs::metadata(&path).unwrap().blocks() * 512;
        assert!(
            written_bytes < 2 << 20,
            "the {} MiB disk stays sparse, yet {written_bytes} bytes are written",
            TEST_DISK_BLOCKS / 256
        );
    }

    #[test]
    fn completing_a_complete_disk_changes_nothing() {
        let scratch = ScratchDir::new("partition-complete");
        let path = scratch.new_disk();
        let before = fs::read(&path).unwrap();
        complete_layout(&mut BlockImage::open(&path).unwrap()).unwrap();
        assert!(fs::read(&path).unwrap() == before, "the disk changed");
    }

    #[test]
    fn an_old_disk_with_only_the_kernel_table_gets_its_file_system() {
        let scratch = ScratchDir::new("partition-old");
        let mut disk = blank_disk(&scratch, TEST_DISK_BLOCKS);
        let mut table = BlockTable::format(&mut disk).unwrap();
        table
            .present_credential(&mut disk, OTHER_ENVIRONMENT, OTHER_CREDENTIAL)
            .unwrap();
        let raw_block = table
            .allocate(&mut disk, OTHER_ENVIRONMENT, Some(FIRST_BLOCK - 1))
            .unwrap();

        complete_layout(&mut disk).unwrap();
        let partition = partition_blocks(TEST_DISK_BLOCKS).unwrap();
        assert_eq!(library_blocks(&mut disk), partition.collect::<Vec<_>>());
        let mut table = BlockTable::mount(&mut disk).unwrap();
        table
            .present_credential(&mut disk, OTHER_ENVIRONMENT, OTHER_CREDENTIAL)
            .unwrap();
        assert_eq!(table.blocks_of(OTHER_ENVIRONMENT), [raw_block]);
        crate::disk_files::mount_file_system(&disk).unwrap();
    }

    #[test]
    fn a_partition_block_of_another_principal_is_not_taken() {
        let scratch = ScratchDir::new("partition-taken");
        let mut disk = blank_disk(&scratch, TEST_DISK_BLOCKS);
        let mut table = BlockTable::format(&mut disk).unwrap();
        table
            .present_credential(&mut disk, OTHER_ENVIRONMENT, OTHER_CREDENTIAL)
            .unwrap();
        table
            .allocate(&mut disk, OTHER_ENVIRONMENT, Some(FIRST_BLOCK + 5))
            .unwrap();

        let error = format!("{:#}", complete_layout(&mut disk).unwrap_err());
        assert!(error.contains("belong to other principals"), "{error}");
        assert!(error.contains("--fresh-disk"), "{error}");
        assert!(disk.is_zeroed(FIRST_BLOCK).unwrap(), "no file system made");
    }

    #[test]
    fn a_file_system_without_a_kernel_table_is_not_formatted_over() {
        let scratch = ScratchDir::new("partition-no-table");
        let mut disk = blank_disk(&scratch, TEST_DISK_BLOCKS);
        let partition = partition_blocks(TEST_DISK_BLOCKS).unwrap();
        posix_fs::format(
            &mut disk.partition(partition.start, partition.end - partition.start),
            FormatOptions::default(),
        )
        .unwrap();

        let error = format!("{:#}", complete_layout(&mut disk).unwrap_err());
        assert!(error.contains("no kernel block table"), "{error}");
        assert!(error.contains("--fresh-disk"), "{error}");
        assert!(disk.is_zeroed(0).unwrap(), "no table made");
    }

    #[test]
    fn a_file_system_the_table_does_not_give_to_the_library_os_is_refused() {
        let scratch = ScratchDir::new("partition-not-given");
        let path = scratch.new_disk();
        let mut disk = BlockImage::open(&path).unwrap();
        let mut table = BlockTable::mount(&mut disk).unwrap();
        table
            .present_credential(&mut disk, HOST_ENVIRONMENT, library_credential())
            .unwrap();
        table
            .free(&mut disk, HOST_ENVIRONMENT, FIRST_BLOCK + 100)
            .unwrap();

        let error = format!("{:#}", complete_layout(&mut disk).unwrap_err());
        assert!(error.contains("does not all give"), "{error}");
    }

    #[test]
    fn a_disk_resized_under_its_table_is_refused() {
        let scratch = ScratchDir::new("partition-resized");
        let path = scratch.new_disk();
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len((TEST_DISK_BLOCKS + 8) * 4096)
            .unwrap();
        let error = format!(
            "{:#}",
            complete_layout(&mut BlockImage::open(&path).unwrap()).unwrap_err()
        );
        assert!(error.contains("unusable"), "{error}");
        assert!(error.contains("--fresh-disk"), "{error}");
    }
}
