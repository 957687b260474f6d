//! The guest's data disk, which the kernel drives as virtio-blk: a raw file of 4096-byte blocks,
//! created sparse when it is missing and kept across runs, so what the guest writes persists.
//! Before every boot it gets the layout of [`crate::partition`]: the kernel's block table and
//! the library OS's file system, formatted on a new disk and completed on an older one.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::block_image::BlockImage;
use crate::partition::{complete_layout, lay_out_new_disk, partition_blocks};
use crate::workspace::Workspace;

/// Bytes in one block of the disk (the kernel's block and page size).
pub const DISK_BLOCK_BYTES: u64 = 4096;
/// The size of a new disk unless told otherwise: 256 MiB, so that the library OS's partition
/// (32 MiB to 128 MiB) fits whole and the blocks outside it (some 40,000) stay free for
/// programs that lay out their own (`pooldb`'s and `logkv`'s stores, raw-block programs).
pub const DEFAULT_DISK_BLOCKS: u64 = 64 * 1024;
/// The default disk's file name, in the workspace's images folder.
pub const DEFAULT_DISK_FILE_NAME: &str = "blocks.img";

/// Which disk file a run attaches, and how to make it when it is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskOptions {
    /// The raw disk file.
    pub path: PathBuf,
    /// Its size in blocks when it is created.
    pub blocks: u64,
    /// Recreate it, erasing what it holds, even when it exists.
    pub is_fresh: bool,
}

impl DiskOptions {
    /// The default disk, `blocks.img` in the images folder (`target/images/`), of
    /// [`DEFAULT_DISK_BLOCKS`], kept.
    pub fn default_for(workspace: &Workspace) -> DiskOptions {
        DiskOptions {
            path: workspace.images_dir().join(DEFAULT_DISK_FILE_NAME),
            blocks: DEFAULT_DISK_BLOCKS,
            is_fresh: false,
        }
    }
}

/// How [`prepare_disk`] found the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskState {
    /// It was created (or recreated) with this many blocks.
    Created { blocks: u64 },
    /// It existed and was kept; it holds this many whole blocks.
    Kept { blocks: u64 },
}

/// Makes sure the disk file of `options` exists with its layout: removed first when
/// `is_fresh`, created sparse with `blocks` blocks when missing, kept otherwise; then given
/// whatever part of the kernel's block table and the library OS's file system it lacks
/// ([`complete_layout`], which prints a line for each step). The file system's `/bin` is
/// [`crate::disk_files::install_programs`]'s business.
pub fn prepare_disk(options: &DiskOptions) -> Result<DiskState> {
    if options.is_fresh || !options.path.exists() {
        // Refuse a size without room for the layout before making a file of it.
        partition_blocks(options.blocks)?;
    }
    let state = create_disk_file(options)?;
    let mut disk = BlockImage::open(&options.path)?;
    match state {
        DiskState::Created { .. } => lay_out_new_disk(&disk)?,
        DiskState::Kept { .. } => complete_layout(&mut disk)?,
    }
    Ok(state)
}

/// Makes sure the disk file of `options` exists: removed first when `is_fresh`, created sparse
/// (all zeros) with `blocks` blocks when missing, left untouched otherwise.
fn create_disk_file(options: &DiskOptions) -> Result<DiskState> {
    let path = &options.path;
    let bytes = disk_bytes(options.blocks)?;
    if options.is_fresh {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(error).context(format!("removing {}", path.display())),
        }
    }
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => {
            file.set_len(bytes)
                .with_context(|| format!("sizing {}", path.display()))?;
            Ok(DiskState::Created {
                blocks: options.blocks,
            })
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            let metadata =
                fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
            if !metadata.is_file() {
                bail!("the disk {} is not a file", path.display());
            }
            Ok(DiskState::Kept {
                blocks: metadata.len() / DISK_BLOCK_BYTES,
            })
        }
        Err(error) => Err(error).context(format!("creating {}", path.display())),
    }
}

/// The size of a disk of `blocks` blocks, which must be at least one.
fn disk_bytes(blocks: u64) -> Result<u64> {
    if blocks == 0 {
        bail!("a disk needs at least one block");
    }
    blocks
        .checked_mul(DISK_BLOCK_BYTES)
        .with_context(|| format!("{blocks} blocks of {DISK_BLOCK_BYTES} bytes is too large"))
}

/// A line for the user saying which disk a run uses.
pub fn describe(path: &Path, state: DiskState) -> String {
    match state {
        DiskState::Created { blocks } => {
            format!(
                "boot: created the disk {} ({blocks} blocks)",
                path.display()
            )
        }
        DiskState::Kept { blocks } => format!(
            "boot: using the disk {} ({blocks} blocks; --fresh-disk recreates it)",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process;

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!("boot-disk-test-{}", process::id()))
            .join(name)
    }

    #[test]
    fn a_missing_disk_file_is_created_sparse_and_then_kept() {
        let path = scratch("kept.img");
        let options = DiskOptions {
            path: path.clone(),
            blocks: 300,
            is_fresh: false,
        };
        assert_eq!(
            create_disk_file(&options).unwrap(),
            DiskState::Created { blocks: 300 }
        );
        assert_eq!(fs::metadata(&path).unwrap().len(), 300 * 4096);
        fs::write(&path, b"data the guest wrote").unwrap();
        let bigger = DiskOptions {
            blocks: 900,
            ..options.clone()
        };
        assert_eq!(
            create_disk_file(&bigger).unwrap(),
            DiskState::Kept { blocks: 0 },
            "an existing disk keeps its size and contents"
        );
        assert_eq!(fs::read(&path).unwrap(), b"data the guest wrote");
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_fresh_disk_file_is_recreated_with_zeros() {
        let path = scratch("fresh.img");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, [0xAA; 8192]).unwrap();
        let options = DiskOptions {
            path: path.clone(),
            blocks: 4,
            is_fresh: true,
        };
        assert_eq!(
            create_disk_file(&options).unwrap(),
            DiskState::Created { blocks: 4 }
        );
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4 * 4096);
        assert!(bytes.iter().all(|&byte| byte == 0));
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn impossible_sizes_are_refused() {
        let options = |blocks| DiskOptions {
            path: scratch("never.img"),
            blocks,
            is_fresh: false,
        };
        assert!(prepare_disk(&options(0)).is_err());
        assert!(prepare_disk(&options(u64::MAX / 2)).is_err());
        let too_small = prepare_disk(&options(8192)).unwrap_err();
        assert!(
            format!("{too_small:#}").contains("no room for the file system"),
            "{too_small:#}"
        );
        assert!(!scratch("never.img").exists());
    }

    #[test]
    fn the_default_disk_is_in_the_images_folder() {
        let workspace = Workspace::locate().unwrap();
        let options = DiskOptions::default_for(&workspace);
        assert_eq!(options.path, workspace.images_dir().join("blocks.img"));
        assert_eq!(options.blocks * DISK_BLOCK_BYTES, 256 * 1024 * 1024);
        assert!(!options.is_fresh);
    }
}
