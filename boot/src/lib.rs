//! The boot tool as a library: builds the kernel and the apps for the guest, packs them into a
//! ramdisk and a disk image, and boots the image in QEMU, either attached to the terminal or with
//! the serial output captured (for the system tests and the benchmarks).
//!
//! The usual sequence is [`Workspace::locate`], [`build_guest`], [`create_image`],
//! [`prepare_disk`] (the data disk the kernel drives as virtio-blk, with the kernel's block table
//! and the library OS's file system) and [`install_programs`] (the user's programs in its `/bin`, the tests' in `/tests`), then
//! [`run_interactive`] or [`run_captured`] (or [`start_captured`], to read the serial output
//! while the guest runs). [`disk_commands`] reads and writes the disk's files from the host.
#![forbid(unsafe_code)]

pub mod bench_report;
pub mod block_image;
pub mod boot_options;
pub mod boot_time;
pub mod chart;
pub mod compare;
pub mod disk_check;
pub mod disk_commands;
pub mod disk_files;
pub mod disk_image;
pub mod elf_strip;
pub mod exit_codes;
pub mod figures;
pub mod firmware;
pub mod guest_build;
pub mod image;
pub mod initramfs;
pub mod instruction_profile;
pub mod linux;
pub mod outcome;
pub mod partition;
pub mod qemu_args;
pub mod qemu_run;
pub mod workspace;

#[cfg(test)]
mod test_disks;

pub use boot_options::BootOptions;
pub use disk_files::{PROGRAMS_DIRECTORY, TEST_PROGRAMS_DIRECTORY, install_programs};
pub use disk_image::{DEFAULT_DISK_BLOCKS, DISK_BLOCK_BYTES, DiskOptions, DiskState, prepare_disk};
pub use exo_core::boot_config::{LogLevel, SelfTest};
pub use exo_core::guest_status;
pub use figures::is_figure_line;
pub use firmware::Firmware;
pub use guest_build::{APP_RUSTFLAGS, GuestApp, GuestBinaries, Profile, build_guest};
pub use image::{boots_to_the_shell, create_image, image_file_name};
pub use outcome::{Ending, Outcome};
pub use qemu_args::{NetOptions, QemuOptions, SerialMode, UdpForward, qemu_args};
pub use qemu_run::{CapturedRun, NoLine, QemuError, run_captured, run_interactive, start_captured};
pub use workspace::Workspace;
