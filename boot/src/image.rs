//! Packing the guest into a ramdisk and a bootable disk image.
//!
//! Images are named after a hash of everything that shapes them (firmware, profile, `boot.cfg`),
//! and written under a temporary name first, so that tests running in parallel with different
//! options never write the same file and a reader never sees a half-written image.

use std::fs;
use std::path::{Path, PathBuf};
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow};
use bootloader::{BootConfig, DiskImageBuilder};
use bootloader_boot_config::LevelFilter;
use exo_core::boot_config::FILE_NAME as BOOT_CFG_FILE_NAME;

use crate::boot_options::BootOptions;
use crate::elf_strip;
use crate::firmware::Firmware;
use crate::guest_build::{GuestApp, GuestBinaries, Profile};
use crate::workspace::Workspace;

/// Writes the disk image that boots `guest` with `options` under `firmware`; returns its path.
pub fn create_image(
    workspace: &Workspace,
    guest: &GuestBinaries,
    options: &BootOptions,
    firmware: Firmware,
) -> Result<PathBuf> {
    let boot_cfg = options.boot_cfg_text()?;
    warn_if_init_is_missing(guest, &options.init);
    let images_dir = workspace.images_dir();
    fs::create_dir_all(&images_dir)
        .with_context(|| format!("creating {}", images_dir.display()))?;
    let image = images_dir.join(image_file_name(firmware, guest.profile, &boot_cfg));
    let unique = unique_suffix();
    let ramdisk = image.with_extension(format!("{unique}.ramdisk"));
    let partial_image = image.with_extension(format!("{unique}.partial"));

    eprintln!("boot: writing {firmware} image {}", image.display());
    let programs = ramdisk_programs(guest, options);
    fs::write(&ramdisk, ramdisk_bytes(&programs, &boot_cfg)?)
        .with_context(|| format!("writing {}", ramdisk.display()))?;
    let kernel = image.with_extension(format!("{unique}.kernel"));
    let written = strip_kernel(&guest.kernel, &kernel)
        .and_then(|()| write_disk_image(&kernel, &ramdisk, firmware, &partial_image));
    let _ = fs::remove_file(&ramdisk);
    let _ = fs::remove_file(&kernel);
    written.and_then(|()| {
        fs::rename(&partial_image, &image)
            .with_context(|| format!("renaming to {}", image.display()))
    })?;
    Ok(image)
}

/// The image file name for these settings: `exo-<firmware>-<profile>-<hash>.img`.
pub fn image_file_name(firmware: Firmware, profile: Profile, boot_cfg: &str) -> String {
    let mut hash = Fnv1a::new();
    for part in [firmware.name(), profile.dir_name(), boot_cfg] {
        hash.write(part.as_bytes());
        hash.write(&[0]);
    }
    format!("exo-{firmware}-{profile}-{:016x}.img", hash.finish())
}

/// The programs the ramdisk carries for a boot with `options`. A boot to the shell
/// ([`boots_to_the_shell`]) carries only what runs before the file system is mounted (init,
/// and on the microkernel path the two servers), for the firmware reads every byte of the
/// image at boot and the shell's programs come from the file system's `/bin`. A boot that names its
/// programs (a test, a benchmark, `boot run --args ...`) carries every program, the test
/// programs included, since they start each other by name.
pub fn ramdisk_programs<'a>(guest: &'a GuestBinaries, options: &BootOptions) -> Vec<&'a GuestApp> {
    if !boots_to_the_shell(options) {
        return guest.programs().collect();
    }
    let needed: &[&str] = if options.args.trim() == "micro" {
        &[INIT, FILE_SERVER, PROCESS_SERVER]
    } else {
        &[INIT]
    };
    guest
        .programs()
        .filter(|program| needed.contains(&program.name.as_str()))
        .collect()
}

/// Whether `options` boot init to the shell (without arguments, or with `micro`), as
/// `make run` does, rather than to programs named on the command line.
pub fn boots_to_the_shell(options: &BootOptions) -> bool {
    options.init == INIT
        && options.self_test.is_none()
        && matches!(options.args.trim(), "" | "micro")
}

/// The program that starts the world and its shell.
const INIT: &str = "init";
/// The servers init starts from the ramdisk on the microkernel path.
const FILE_SERVER: &str = "file-server";
const PROCESS_SERVER: &str = "process-server";

/// The ramdisk: each of `programs` under its name (cut to its segments, `elf_strip`), then
/// `boot.cfg`.
pub fn ramdisk_bytes(programs: &[&GuestApp], boot_cfg: &str) -> Result<Vec<u8>> {
    let mut contents = Vec::new();
    for app in programs {
        let elf =
            fs::read(&app.elf).with_context(|| format!("reading app {}", app.elf.display()))?;
        let loadable =
            elf_strip::loadable_part(&elf).with_context(|| format!("app {}", app.elf.display()))?;
        contents.push((app.name.as_str(), loadable));
    }
    let mut files: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(name, elf)| (*name, elf.as_slice()))
        .collect();
    files.push((BOOT_CFG_FILE_NAME, boot_cfg.as_bytes()));
    exo_core::ramdisk::build(&files).map_err(|error| anyhow!("building the ramdisk: {error:?}"))
}

/// Writes to `into` the kernel as the image holds it: without debug information and symbol
/// tables (`llvm-objcopy --strip-all`, from the toolchain's llvm-tools), which are most of a
/// debug kernel and which gdb and the profiler read from the build folder instead. The section
/// table stays: the bootloader finds its configuration by section name.
fn strip_kernel(kernel: &Path, into: &Path) -> Result<()> {
    if !kernel.is_file() {
        return Err(anyhow!("no kernel at {}", kernel.display()));
    }
    let objcopy = llvm_objcopy()?;
    let status = process::Command::new(&objcopy)
        .arg("--strip-all")
        .arg(kernel)
        .arg(into)
        .status()
        .with_context(|| format!("running {}", objcopy.display()))?;
    if !status.success() {
        return Err(anyhow!(
            "{} failed on {}",
            objcopy.display(),
            kernel.display()
        ));
    }
    Ok(())
}

/// The toolchain's `llvm-objcopy` (the `llvm-tools` component, which `rust-toolchain.toml`
/// asks for).
fn llvm_objcopy() -> Result<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = process::Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .context("asking rustc for its sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let host_tools = fs::read_dir(sysroot.join("lib/rustlib"))
        .with_context(|| format!("reading {}/lib/rustlib", sysroot.display()))?;
    host_tools
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join("bin/llvm-objcopy"))
        .find(|tool| tool.is_file())
        .ok_or_else(|| anyhow!("no llvm-objcopy in the toolchain: rustup component add llvm-tools"))
}

/// The bootloader's own settings: quiet, and no frame-buffer log (slow under emulation).
pub fn bootloader_config() -> BootConfig {
    let mut config = BootConfig::default();
    config.frame_buffer_logging = false;
    config.serial_logging = true;
    config.log_level = LevelFilter::Warn;
    config
}

fn write_disk_image(kernel: &Path, ramdisk: &Path, firmware: Firmware, image: &Path) -> Result<()> {
    let mut builder = DiskImageBuilder::new(kernel.to_path_buf());
    builder.set_ramdisk(ramdisk.to_path_buf());
    builder.set_boot_config(&bootloader_config());
    let created = match firmware {
        Firmware::Bios => builder.create_bios_image(image),
        Firmware::Uefi => builder.create_uefi_image(image),
    };
    created.with_context(|| format!("creating the {firmware} image {}", image.display()))
}

fn warn_if_init_is_missing(guest: &GuestBinaries, init: &str) {
    if !guest.programs().any(|app| app.name == init) {
        eprintln!("boot: warning: no app called `{init}`; the kernel will report a bad boot");
    }
}

/// A suffix no other writer in this or another process uses at the same time.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// 64-bit FNV-1a: a fixed hash, so names stay the same across runs and toolchains.
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Fnv1a {
        Fnv1a(Self::OFFSET_BASIS)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(Self::PRIME);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exo_core::ramdisk::Ramdisk;

    #[test]
    fn fnv1a_matches_its_published_test_vectors() {
        let hash_of = |bytes: &[u8]| {
            let mut hash = Fnv1a::new();
            hash.write(bytes);
            hash.finish()
        };
        assert_eq!(hash_of(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash_of(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash_of(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn different_options_give_different_image_names() {
        let cfg = |args: &str| {
            BootOptions {
                args: args.to_owned(),
                ..BootOptions::default()
            }
            .boot_cfg_text()
            .unwrap()
        };
        let hello = image_file_name(Firmware::Bios, Profile::Debug, &cfg("hello"));
        assert!(hello.starts_with("exo-bios-debug-") && hello.ends_with(".img"));
        assert_eq!(
            hello,
            image_file_name(Firmware::Bios, Profile::Debug, &cfg("hello"))
        );
        let others = [
            image_file_name(Firmware::Uefi, Profile::Debug, &cfg("hello")),
            image_file_name(Firmware::Bios, Profile::Release, &cfg("hello")),
            image_file_name(Firmware::Bios, Profile::Debug, &cfg("hostile-null")),
        ];
        for other in others {
            assert_ne!(hello, other);
        }
    }

    /// A guest whose programs are fake files named after them (no build needed).
    fn fake_guest(apps: &[&str], test_programs: &[&str]) -> GuestBinaries {
        let program = |name: &&str| GuestApp {
            name: (*name).to_owned(),
            elf: PathBuf::from(format!("/nonexistent/{name}")),
        };
        GuestBinaries {
            profile: Profile::Debug,
            kernel: PathBuf::from("/nonexistent/exokernel"),
            apps: apps.iter().map(program).collect(),
            test_programs: test_programs.iter().map(program).collect(),
        }
    }

    fn names(programs: Vec<&GuestApp>) -> Vec<&str> {
        programs
            .iter()
            .map(|program| program.name.as_str())
            .collect()
    }

    #[test]
    fn a_boot_to_the_shell_carries_only_what_runs_before_the_file_system() {
        let guest = fake_guest(
            &[
                "file-server",
                "init",
                "process-server",
                "schedsrv",
                "sh",
                "true",
            ],
            &["bench", "hostile-null"],
        );
        let shell = BootOptions::default();
        assert_eq!(names(ramdisk_programs(&guest, &shell)), ["init"]);
        let micro = BootOptions {
            args: "micro".to_owned(),
            ..BootOptions::default()
        };
        assert_eq!(
            names(ramdisk_programs(&guest, &micro)),
            ["file-server", "init", "process-server"]
        );
        let every_program = [
            "file-server",
            "init",
            "process-server",
            "schedsrv",
            "sh",
            "true",
            "bench",
            "hostile-null",
        ];
        let test = BootOptions {
            args: "hostile-null true".to_owned(),
            ..BootOptions::default()
        };
        assert_eq!(names(ramdisk_programs(&guest, &test)), every_program);
        let bench = BootOptions {
            init: "bench".to_owned(),
            ..BootOptions::default()
        };
        assert_eq!(names(ramdisk_programs(&guest, &bench)), every_program);
        let self_test = BootOptions {
            self_test: Some(exo_core::boot_config::SelfTest::Smap),
            ..BootOptions::default()
        };
        assert_eq!(names(ramdisk_programs(&guest, &self_test)), every_program);
    }

    #[test]
    fn the_ramdisk_holds_its_programs_cut_to_their_segments_and_boot_cfg() {
        let dir = std::env::temp_dir().join(format!("boot-ramdisk-test-{}", process::id()));
        fs::create_dir_all(&dir).unwrap();
        let elf = dir.join("hello");
        let program = exo_core::elf_builder::static_executable(
            0x40_0000,
            &[exo_core::elf_builder::TestSegment {
                vaddr: 0x40_0000,
                memsz: 0x100,
                offset: 0,
                filesz: 0x100,
                flags: exo_core::elf_builder::RX,
            }],
        );
        let mut with_symbols = program.clone();
        with_symbols.extend_from_slice(b"symbols the guest never reads");
        fs::write(&elf, &with_symbols).unwrap();
        let hello = GuestApp {
            name: "hello".to_owned(),
            elf,
        };
        let bytes = ramdisk_bytes(&[&hello], "init=hello\n").unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let ramdisk = Ramdisk::parse(&bytes).unwrap();
        assert_eq!(ramdisk.find("hello").unwrap().data, &program[..0x100]);
        assert_eq!(ramdisk.find("boot.cfg").unwrap().data, b"init=hello\n");
    }

    #[test]
    fn the_bootloader_stays_quiet_and_off_the_frame_buffer() {
        let config = bootloader_config();
        assert!(!config.frame_buffer_logging);
        assert!(config.serial_logging);
        assert_eq!(config.log_level, LevelFilter::Warn);
    }
}
