//! The QEMU command line: the reference machine of `BENCHMARKS.md` plus the debug-exit device,
//! the serial console, the boot image, the data disk and the network device.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::firmware::{Firmware, OVMF_PATH};

/// The QEMU binary, found on the `PATH`.
pub const QEMU_PROGRAM: &str = "qemu-system-x86_64";
/// The address the bootloader loads the kernel at (the kernel's `kernel_base`): gdb needs it to
/// place the kernel's symbols.
pub const KERNEL_LOAD_ADDRESS: u64 = 0xffff_ffff_8000_0000;
/// QEMU's gdb stub port for `-s`.
pub const GDB_PORT: u16 = 1234;
/// QEMU's id of the boot image's drive.
pub const BOOT_DRIVE_ID: &str = "boot";
/// QEMU's id of the data disk's drive, which the virtio-blk device names.
pub const DISK_DRIVE_ID: &str = "blocks";
/// QEMU's id of the character device behind the guest's serial port (QEMU's standard input and
/// output), which the serial port and, on a terminal, the monitor name.
pub const CONSOLE_CHARDEV_ID: &str = "console";
/// QEMU's id of the user-mode network back end, which the virtio-net device names.
pub const NET_BACKEND_ID: &str = "net0";
/// The guest's Ethernet address: QEMU's default for the first network device, given explicitly
/// so that it never changes.
pub const GUEST_MAC: &str = "52:54:00:12:34:56";
/// The guest's IPv4 address in QEMU's user-mode network (the first its DHCP server hands out),
/// to which forwarded ports lead.
pub const GUEST_IP: &str = "10.0.2.15";
/// The host's address in QEMU's user-mode network (the gateway), which answers ARP.
pub const GATEWAY_IP: &str = "10.0.2.2";

/// The machine: TCG (KVM is slower here), one CPU, 512 MiB, and no CPU features that change
/// how memory copies are counted (`erms`, `fsrm`) or that the kernel does not support (`la57`).
/// With 40 or more physical address bits QEMU's CPU model (an AMD one) announces a reserved
/// range just below 1 TiB, and the bootloader then maps all of physical memory up to it, half
/// a million 2 MiB pages (90 M instructions of the boot); 39 bits keep the map at 4 GiB.
#[rustfmt::skip]
pub const MACHINE_ARGS: &[&str] = &[
    "-accel", "tcg",
    "-cpu", "max,la57=off,erms=off,fsrm=off,phys-bits=39",
    "-smp", "1",
    "-m", "512M",
    // A triple fault then ends QEMU instead of rebooting forever.
    "-no-reboot",
    "-display", "none",
    // The kernel powers off with a status by writing it to port 0xf4.
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
];

/// How the guest's serial port is connected to QEMU's standard input and output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialMode {
    /// QEMU's standard input is a terminal, which QEMU puts in raw mode: every key reaches the
    /// guest as typed, Ctrl-C included (it raises no signal). The QEMU monitor shares the
    /// terminal: `Ctrl-A X` quits QEMU, `Ctrl-A C` switches between the serial port and the
    /// monitor, `Ctrl-A A` sends a `Ctrl-A` to the guest.
    Terminal,
    /// QEMU's standard input and output are pipes carrying the serial bytes unchanged, both
    /// ways; no monitor listens, so no byte has a meaning to QEMU, and the end of the input is
    /// only that: the guest receives nothing more.
    Piped,
}

/// Everything that shapes one QEMU run besides the serial mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QemuOptions {
    pub firmware: Firmware,
    pub image: PathBuf,
    /// A raw data disk attached as a virtio-blk PCI device, if any.
    pub disk: Option<PathBuf>,
    /// A virtio-net PCI device on QEMU's user-mode network, if any.
    pub net: Option<NetOptions>,
    /// Add `-icount shift=0`: the guest TSC then counts retired guest instructions.
    pub icount: bool,
    /// Add `-s -S`: wait for gdb on port 1234 before the first instruction.
    pub gdb: bool,
    /// Passed to QEMU unchanged, after every other argument.
    pub extra_args: Vec<String>,
}

/// The network device: QEMU's user-mode network (slirp: the guest is [`GUEST_IP`], the host
/// [`GATEWAY_IP`], no privileges needed), and the UDP ports forwarded to the guest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetOptions {
    pub udp_forwards: Vec<UdpForward>,
}

/// A UDP port forwarded from the host's loopback interface to the guest: datagrams sent to
/// `127.0.0.1:host_port` reach the guest at [`GUEST_IP`]`:guest_port`, and the guest's replies
/// from that port go back to the sender. Written `HOST_PORT:GUEST_PORT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpForward {
    pub host_port: u16,
    pub guest_port: u16,
}

impl FromStr for UdpForward {
    type Err = String;

    fn from_str(text: &str) -> Result<UdpForward, String> {
        let port = |word: &str, which: &str| match word.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!(
                "`{text}`: the {which} port must be a number from 1 to 65535"
            )),
            Ok(port) => Ok(port),
        };
        let (host, guest) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not HOST_PORT:GUEST_PORT"))?;
        Ok(UdpForward {
            host_port: port(host, "host")?,
            guest_port: port(guest, "guest")?,
        })
    }
}

impl fmt::Display for UdpForward {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.host_port, self.guest_port)
    }
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
    args.extend(serial_args(serial));
    // The guest never writes its boot image; a snapshot drive takes no write lock, so tests
    // that boot the same image can run side by side. The image sits on an AHCI controller:
    // the firmware reads it there by DMA, where on the default IDE controller it reads every
    // word through an I/O port, which made the boot 30 to 40% longer (the kernel drives
    // neither controller).
    let mut drive = OsString::from("format=raw,snapshot=on,if=none,id=");
    drive.push(BOOT_DRIVE_ID);
    drive.push(",file=");
    drive.push(escape_option_value(options.image.as_os_str()));
    args.extend([OsString::from("-drive"), drive]);
    args.extend(
        [
            "-device",
            "ahci,id=ahci",
            "-device",
            &format!("ide-hd,drive={BOOT_DRIVE_ID},bus=ahci.0"),
        ]
        .map(OsString::from),
    );
    if let Some(disk) = &options.disk {
        args.extend(disk_args(disk));
    }
    if let Some(net) = &options.net {
        args.extend(net_args(net));
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

/// The arguments connecting the guest's first serial port to QEMU's standard input and output.
/// The `stdio` character device never raises a signal for Ctrl-C (`signal=off`); on a terminal
/// it is multiplexed with the monitor (`mux=on`), the serial port having the focus.
pub fn serial_args(serial: SerialMode) -> Vec<OsString> {
    let multiplexed = match serial {
        SerialMode::Terminal => ",mux=on",
        SerialMode::Piped => "",
    };
    let mut args = vec![
        OsString::from("-chardev"),
        OsString::from(format!(
            "stdio,id={CONSOLE_CHARDEV_ID}{multiplexed},signal=off"
        )),
        OsString::from("-serial"),
        OsString::from(format!("chardev:{CONSOLE_CHARDEV_ID}")),
    ];
    if serial == SerialMode::Terminal {
        args.extend([
            OsString::from("-mon"),
            OsString::from(format!("chardev={CONSOLE_CHARDEV_ID}")),
        ]);
    }
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

/// The arguments attaching the network device: a user-mode network back end with a
/// `hostfwd` rule per forwarded port (bound to the host's loopback interface only), and the
/// virtio-net PCI device on it, without option ROM (so the firmware never tries to boot from
/// the network).
pub fn net_args(net: &NetOptions) -> [OsString; 4] {
    let mut backend = format!("user,id={NET_BACKEND_ID}");
    for forward in &net.udp_forwards {
        backend.push_str(&format!(
            ",hostfwd=udp:127.0.0.1:{}-:{}",
            forward.host_port, forward.guest_port
        ));
    }
    [
        OsString::from("-netdev"),
        OsString::from(backend),
        OsString::from("-device"),
        OsString::from(format!(
            "virtio-net-pci,netdev={NET_BACKEND_ID},mac={GUEST_MAC},romfile="
        )),
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
    fn a_piped_bios_run_uses_the_reference_machine() {
        let options = QemuOptions::new(Firmware::Bios, PathBuf::from("/img/a.img"));
        let args = strings(qemu_args(&options, SerialMode::Piped));
        let expected = [
            "-accel",
            "tcg",
            "-cpu",
            "max,la57=off,erms=off,fsrm=off,phys-bits=39",
            "-smp",
            "1",
            "-m",
            "512M",
            "-no-reboot",
            "-display",
            "none",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-chardev",
            "stdio,id=console,signal=off",
            "-serial",
            "chardev:console",
            "-drive",
            "format=raw,snapshot=on,if=none,id=boot,file=/img/a.img",
            "-device",
            "ahci,id=ahci",
            "-device",
            "ide-hd,drive=boot,bus=ahci.0",
        ];
        assert_eq!(args, expected);
    }

    #[test]
    fn options_add_their_arguments_in_order() {
        let options = QemuOptions {
            firmware: Firmware::Uefi,
            image: PathBuf::from("u.img"),
            disk: Some(PathBuf::from("d.img")),
            net: Some(NetOptions::default()),
            icount: true,
            gdb: true,
            extra_args: vec!["-d".to_owned(), "int".to_owned()],
        };
        let args = strings(qemu_args(&options, SerialMode::Terminal));
        let tail = &args[args.iter().position(|arg| arg == "-chardev").unwrap()..];
        let expected = [
            "-chardev",
            "stdio,id=console,mux=on,signal=off",
            "-serial",
            "chardev:console",
            "-mon",
            "chardev=console",
            "-drive",
            "format=raw,snapshot=on,if=none,id=boot,file=u.img",
            "-device",
            "ahci,id=ahci",
            "-device",
            "ide-hd,drive=boot,bus=ahci.0",
            "-drive",
            "file=d.img,format=raw,if=none,id=blocks",
            "-device",
            "virtio-blk-pci,drive=blocks",
            "-netdev",
            "user,id=net0",
            "-device",
            "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,romfile=",
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
    fn a_terminal_shares_the_serial_port_with_the_monitor_and_ctrl_c_raises_no_signal() {
        let args = strings(serial_args(SerialMode::Terminal));
        let expected = [
            "-chardev",
            "stdio,id=console,mux=on,signal=off",
            "-serial",
            "chardev:console",
            "-mon",
            "chardev=console",
        ];
        assert_eq!(args, expected);
    }

    #[test]
    fn piped_serial_bytes_pass_unchanged_with_no_monitor_to_interpret_them() {
        let args = strings(serial_args(SerialMode::Piped));
        assert_eq!(
            args,
            [
                "-chardev",
                "stdio,id=console,signal=off",
                "-serial",
                "chardev:console"
            ]
        );
        assert!(!args.iter().any(|arg| arg == "-mon" || arg.contains("mux")));
    }

    #[test]
    fn the_disk_follows_the_boot_drive_as_a_virtio_blk_device() {
        let options = QemuOptions {
            disk: Some(PathBuf::from("/data/blocks.img")),
            ..QemuOptions::new(Firmware::Bios, PathBuf::from("/img/a.img"))
        };
        let args = strings(qemu_args(&options, SerialMode::Piped));
        let tail = &args[args.iter().position(|arg| arg == "-drive").unwrap()..];
        let expected = [
            "-drive",
            "format=raw,snapshot=on,if=none,id=boot,file=/img/a.img",
            "-device",
            "ahci,id=ahci",
            "-device",
            "ide-hd,drive=boot,bus=ahci.0",
            "-drive",
            "file=/data/blocks.img,format=raw,if=none,id=blocks",
            "-device",
            "virtio-blk-pci,drive=blocks",
        ];
        assert_eq!(tail, expected);
    }

    #[test]
    fn the_network_device_forwards_each_udp_port_from_the_loopback_interface() {
        let net = NetOptions {
            udp_forwards: vec![
                UdpForward {
                    host_port: 5555,
                    guest_port: 7,
                },
                UdpForward {
                    host_port: 6000,
                    guest_port: 6001,
                },
            ],
        };
        let options = QemuOptions {
            net: Some(net),
            ..QemuOptions::new(Firmware::Bios, PathBuf::from("/img/a.img"))
        };
        let args = strings(qemu_args(&options, SerialMode::Piped));
        let tail = &args[args.iter().position(|arg| arg == "-netdev").unwrap()..];
        let expected = [
            "-netdev",
            "user,id=net0,hostfwd=udp:127.0.0.1:5555-:7,hostfwd=udp:127.0.0.1:6000-:6001",
            "-device",
            "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,romfile=",
        ];
        assert_eq!(tail, expected);
    }

    #[test]
    fn udp_forwards_parse_and_print_as_host_colon_guest() {
        let forward: UdpForward = "5555:7".parse().unwrap();
        assert_eq!(
            forward,
            UdpForward {
                host_port: 5555,
                guest_port: 7
            }
        );
        assert_eq!(forward.to_string(), "5555:7");
        for bad in [
            "5555", "5555-7", ":7", "5555:", "0:7", "7:0", "65536:7", "a:b", "1:2:3",
        ] {
            assert!(bad.parse::<UdpForward>().is_err(), "{bad} parsed");
        }
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
