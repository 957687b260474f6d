//! The QEMU command line: the reference machine of `BENCHMARKS.md` plus the debug-exit device,
//! the boot image and the data disk.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::firmware::{Firmware, OVMF_PATH};

/// The QEMU binary, found on the `PATH`.
pub const QEMU_PROGRAM: &str = "qemu-system-x86_64";
/// The address the bootloader loads the kernel at (the kernel's `kernel_base`): gdb needs it to
/// place the kernel's symbols.
pub const KERNEL_LOAD_ADDRESS: u64 = 0xffff_ffff_8000_0000;
/// QEMU's gdb stub port for `-s`.
pub const GDB_PORT: u16 = 1234;
/// QEMU's id of the data disk's drive, which the virtio-blk device names.
pub const DISK_DRIVE_ID: &str = "blocks";

/// The machine: TCG (KVM is slower here), one CPU, 512 MiB, and no CPU features that change
/// how memory copies are counted (`erms`, `fsrm`) or that the kernel does not support (`la57`).
#[rustfmt::skip]
const MACHINE_ARGS: &[&str] = &[
    "-accel", "tcg",
    "-cpu", "max,la57=off,erms=off,fsrm=off",
    "-smp", "1",
    "-m", "512M",
    // A triple fault then ends QEMU instead of rebooting forever.
    "-no-reboot",
    "-display", "none",
    // The kernel powers off with a status by writing it to port 0xf4.
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
];

/// Where the guest's serial port goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialMode {
    /// Serial and QEMU monitor multiplexed on the terminal (`Ctrl-A X` quits, `Ctrl-A C`
    /// switches to the monitor).
    Interactive,
    /// Serial to QEMU's standard output, which the caller reads through a pipe.
    Captured,
}

/// Everything that shapes one QEMU run besides the serial mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QemuOptions {
    pub firmware: Firmware,
    pub image: PathBuf,
    /// A raw data disk attached as a virtio-blk PCI device, if any.
    pub disk: Option<PathBuf>,
    /// Add `-icount shift=0`: the guest TSC then counts retired guest instructions.
    pub icount: bool,
    /// Add `-s -S`: wait for gdb on port 1234 before the first instruction.
    pub gdb: bool,
    /// Passed to QEMU unchanged, after every other argument.
    pub extra_args: Vec<String>,
}

impl QemuOptions {
    /// Plain options for booting `image` under `firmware`.
    pub fn new(firmware: Firmware, image: PathBuf) -> QemuOptions {
        QemuOptions {
            firmware,
            image,
            ..QemuOptions::default()
        }
    }
}

/// QEMU's arguments (without the program name).
pub fn qemu_args(options: &QemuOptions, serial: SerialMode) -> Vec<OsString> {
    let mut args: Vec<OsString> = MACHINE_ARGS.iter().map(OsString::from).collect();
    let serial_target = match serial {
        SerialMode::Interactive => "mon:stdio",
        SerialMode::Captured => "stdio",
    };
    args.extend(["-serial", serial_target].map(OsString::from));
    let mut drive = OsString::from("format=raw,file=");
    drive.push(&options.image);
    args.extend([OsString::from("-drive"), drive]);
    if let Some(disk) = &options.disk {
        args.extend(disk_args(disk));
    }
    if options.firmware == Firmware::Uefi {
        args.extend(["-bios", OVMF_PATH].map(OsString::from));
    }
    if options.icount {
        args.extend(["-icount", "shift=0"].map(OsString::from));
    }
    if options.gdb {
        args.extend(["-s", "-S"].map(OsString::from));
    }
    args.extend(options.extra_args.iter().map(OsString::from));
    args
}

/// The arguments attaching raw file `disk` as a virtio-blk PCI device: a drive without a
/// controller of its own (`if=none`), and the device that uses it.
pub fn disk_args(disk: &Path) -> [OsString; 4] {
    let mut drive = OsString::from("file=");
    drive.push(escape_option_value(disk.as_os_str()));
    drive.push(format!(",format=raw,if=none,id={DISK_DRIVE_ID}"));
    [
        OsString::from("-drive"),
        drive,
        OsString::from("-device"),
        OsString::from(format!("virtio-blk-pci,drive={DISK_DRIVE_ID}")),
    ]
}

/// `value` with every comma doubled, as QEMU's option syntax needs inside a value.
fn escape_option_value(value: &OsStr) -> OsString {
    let mut escaped = Vec::with_capacity(value.len());
    for &byte in value.as_bytes() {
        escaped.push(byte);
        if byte == b',' {
            escaped.push(b',');
        }
    }
    OsString::from_vec(escaped)
}

/// The gdb command that attaches to a QEMU started with `gdb: true` and knows the kernel's
/// symbols.
pub fn gdb_command(kernel_elf: &std::path::Path) -> String {
    format!(
        "gdb -ex 'add-symbol-file {} -o {KERNEL_LOAD_ADDRESS:#x}' -ex 'target remote :{GDB_PORT}'",
        kernel_elf.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn a_captured_bios_run_uses_the_reference_machine() {
        let options = QemuOptions::new(Firmware::Bios, PathBuf::from("/img/a.img"));
        let args = strings(qemu_args(&options, SerialMode::Captured));
        let expected = [
            "-accel",
            "tcg",
            "-cpu",
            "max,la57=off,erms=off,fsrm=off",
            "-smp",
            "1",
            "-m",
            "512M",
            "-no-reboot",
            "-display",
            "none",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial",
            "stdio",
            "-drive",
            "format=raw,file=/img/a.img",
        ];
        assert_eq!(args, expected);
    }

    #[test]
    fn options_add_their_arguments_in_order() {
        let options = QemuOptions {
            firmware: Firmware::Uefi,
            image: PathBuf::from("u.img"),
            disk: Some(PathBuf::from("d.img")),
            icount: true,
            gdb: true,
            extra_args: vec!["-d".to_owned(), "int".to_owned()],
        };
        let args = strings(qemu_args(&options, SerialMode::Interactive));
        let tail = &args[args.iter().position(|arg| arg == "-serial").unwrap()..];
        let expected = [
            "-serial",
            "mon:stdio",
            "-drive",
            "format=raw,file=u.img",
            "-drive",
            "file=d.img,format=raw,if=none,id=blocks",
            "-device",
            "virtio-blk-pci,drive=blocks",
            "-bios",
            OVMF_PATH,
            "-icount",
            "shift=0",
            "-s",
            "-S",
            "-d",
            "int",
        ];
        assert_eq!(tail, expected);
    }

    #[test]
    fn the_disk_follows_the_boot_drive_as_a_virtio_blk_device() {
        let options = QemuOptions {
            disk: Some(PathBuf::from("/data/blocks.img")),
            ..QemuOptions::new(Firmware::Bios, PathBuf::from("/img/a.img"))
        };
        let args = strings(qemu_args(&options, SerialMode::Captured));
        let tail = &args[args.iter().position(|arg| arg == "-drive").unwrap()..];
        let expected = [
            "-drive",
            "format=raw,file=/img/a.img",
            "-drive",
            "file=/data/blocks.img,format=raw,if=none,id=blocks",
            "-device",
            "virtio-blk-pci,drive=blocks",
        ];
        assert_eq!(tail, expected);
    }

    #[test]
    fn commas_in_the_disk_path_are_doubled() {
        let args = strings(disk_args(Path::new("/a,b/c,,d.img")).to_vec());
        assert_eq!(
            args[1],
            "file=/a,,b/c,,,,d.img,format=raw,if=none,id=blocks"
        );
    }

    #[test]
    fn the_gdb_hint_offsets_the_kernel_symbols() {
        let hint = gdb_command(std::path::Path::new("/k/exokernel"));
        assert_eq!(
            hint,
            "gdb -ex 'add-symbol-file /k/exokernel -o 0xffffffff80000000' -ex 'target remote :1234'"
        );
    }
}
