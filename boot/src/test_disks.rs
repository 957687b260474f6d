//! Helpers for the disk tests: scratch folders, small formatted disks, fake apps.

use std::fs;
use std::path::PathBuf;
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};

use posix_fs::partition::FIRST_BLOCK;

use crate::disk_image::{DiskOptions, DiskState, prepare_disk};
use crate::guest_build::GuestApp;

/// The size of a test disk: a partition of 2048 blocks (8 MiB) after the raw blocks.
pub const TEST_DISK_BLOCKS: u64 = FIRST_BLOCK + 2048;

/// A folder of its own for one test, removed with everything in it when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// A new, empty folder under the system's temporary folder.
    pub fn new(test_name: &str) -> ScratchDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("boot-disk-{test_name}-{}-{count}", process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        ScratchDir { path }
    }

    /// `name` inside the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// A disk of [`TEST_DISK_BLOCKS`] made by [`prepare_disk`], as before a first boot.
    pub fn new_disk(&self) -> PathBuf {
        let options = DiskOptions {
            path: self.join("disk.img"),
            blocks: TEST_DISK_BLOCKS,
            is_fresh: false,
        };
        assert_eq!(
            prepare_disk(&options).unwrap(),
            DiskState::Created {
                blocks: TEST_DISK_BLOCKS
            }
        );
        options.path
    }

    /// An app named `name` whose ELF file holds `bytes`.
    pub fn fake_app(&self, name: &str, bytes: &[u8]) -> GuestApp {
        let elf = self.join(&format!("{name}.elf"));
        fs::write(&elf, bytes).unwrap();
        GuestApp {
            name: name.to_owned(),
            elf,
        }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
