//! The two ways the disk image can be started: legacy BIOS or UEFI (OVMF).

use std::fmt;

/// Debian's OVMF build, installed by `make setup` (package `ovmf`).
pub const OVMF_PATH: &str = "/usr/share/ovmf/OVMF.fd";

/// The firmware QEMU starts the disk image with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Firmware {
    /// SeaBIOS, QEMU's default; the image holds an MBR.
    #[default]
    Bios,
    /// OVMF; the image holds a GPT with an EFI system partition.
    Uefi,
}

impl Firmware {
    /// The lower-case name used in file names and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }
}

impl fmt::Display for Firmware {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}
