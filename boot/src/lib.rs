//! The boot tool as a library: builds the kernel and the apps for the guest, packs them into a
//! ramdisk and a disk image, and boots the image in QEMU, either attached to the terminal or with
//! the serial output captured (for the system tests and the benchmarks).
//!
//! The usual sequence is [`Workspace::locate`], [`build_guest`], [`create_image`],
//! [`prepare_disk`] (the data disk the kernel drives as virtio-blk), then [`run_interactive`] or
//! [`run_captured`] (or [`start_captured`], to read the serial output while the guest runs).

pub mod boot_options;
pub mod disk_image;
pub mod exit_codes;
pub mod figures;
pub mod firmware;
pub mod guest_build;
pub mod image;
pub mod outcome;
pub mod qemu_args;
pub mod qemu_run;
pub mod workspace;

pub use boot_options::BootOptions;
pub use disk_image::{DEFAULT_DISK_BLOCKS, DISK_BLOCK_BYTES, DiskOptions, DiskState, prepare_disk};
pub use exo_core::boot_config::{LogLevel, SelfTest};
pub use exo_core::guest_status;
pub use figures::is_figure_line;
pub use firmware::Firmware;
pub use guest_build::{APP_RUSTFLAGS, GuestApp, GuestBinaries, Profile, build_guest};
pub use image::{create_image, image_file_name};
pub use outcome::{Ending, Outcome};
pub use qemu_args::{NetOptions, QemuOptions, SerialMode, UdpForward, qemu_args};
pub use qemu_run::{CapturedRun, NoLine, QemuError, run_captured, run_interactive, start_captured};
pub use workspace::Workspace;
