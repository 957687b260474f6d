//! Linux in the same emulated machine, for `boot compare`: Debian's kernel package (installed by
//! `make compare` through apt-get, never downloaded from elsewhere), booted with the benchmark
//! program `boot/linux-bench` as init from an initramfs, under the same QEMU machine and
//! instruction counter as the exokernel.

use crate::figures::figure_lines;
use crate::guest_build::{cargo_program, run_cargo};
use crate::initramfs::Initramfs;
use crate::qemu_args::{MACHINE_ARGS, QEMU_PROGRAM};
use crate::workspace::Workspace;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{fs, thread};

/// Where Debian installs its kernels.
const KERNELS_DIR: &str = "/boot";
/// The host target the benchmark program is built for, linked statically.
const HOST_TARGET: &str = "x86_64-unknown-linux-gnu";
const BENCH_PACKAGE: &str = "linux-bench";

/// The newest Debian kernel installed (`/boot/vmlinuz-*`), if any.
pub fn installed_kernel() -> Option<PathBuf> {
    let mut kernels: Vec<PathBuf> = fs::read_dir(KERNELS_DIR)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("vmlinuz-"))
        })
        .collect();
    kernels.sort();
    kernels.pop()
}

/// Builds the benchmark program, statically linked, and returns its path.
pub fn build_bench_program(workspace: &Workspace) -> Result<PathBuf> {
    let target_dir = workspace.target_dir().join("linux-bench");
    let mut command = Command::new(cargo_program());
    command.current_dir(workspace.root());
    command.args([
        "build",
        "--release",
        "-p",
        BENCH_PACKAGE,
        "--target",
        HOST_TARGET,
    ]);
    command.arg("--target-dir").arg(&target_dir);
    command.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+crt-static");
    command.env_remove("RUSTFLAGS");
    eprintln!("boot: building {BENCH_PACKAGE} (static, for Linux)...");
    run_cargo(command)?;
    Ok(target_dir
        .join(HOST_TARGET)
        .join("release")
        .join(BENCH_PACKAGE))
}

/// Where the tiny program B6 spawns is linked.
const TRUE_BASE: u64 = 0x40_0000;
/// `exit(0)`: `mov eax, 60; xor edi, edi; syscall`.
const EXIT_0: [u8; 9] = [0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05];

/// `/true`, which B6 spawns: a static executable of one page that exits at once (the Linux
/// reference figure spawns a 9 KB static program; the exokernel's `true` is a Rust program of
/// the library OS).
pub fn true_program() -> Vec<u8> {
    use exo_core::elf_builder::{RX, TestSegment, static_executable};
    // The builder's file: the ELF header, one program header, then 0x100 bytes of code.
    const HEADERS: u64 = 64 + 56;
    const LENGTH: u64 = HEADERS + 0x100;
    let segment = TestSegment {
        vaddr: TRUE_BASE,
        memsz: LENGTH,
        offset: 0,
        filesz: LENGTH,
        flags: RX,
    };
    let mut file = static_executable(TRUE_BASE + HEADERS, &[segment]);
    file[HEADERS as usize..HEADERS as usize + EXIT_0.len()].copy_from_slice(&EXIT_0);
    file
}

/// Boots `kernel` with `program` as init under `-icount shift=0` and returns the figure lines
/// it printed; fails when it does not power off within `timeout`.
pub fn run_bench(
    workspace: &Workspace,
    kernel: &Path,
    program: &Path,
    timeout: Duration,
) -> Result<Vec<String>> {
    let program_bytes =
        fs::read(program).with_context(|| format!("reading {}", program.display()))?;
    let initramfs = workspace
        .target_dir()
        .join("linux-bench")
        .join("initramfs.cpio");
    let mut archive = Initramfs::with_init(&program_bytes);
    archive.add("true", 0o100_755, &true_program(), (0, 0));
    fs::write(&initramfs, archive.finish())
        .with_context(|| format!("writing {}", initramfs.display()))?;
    let mut command = Command::new(QEMU_PROGRAM);
    command.args(MACHINE_ARGS);
    command.args(["-icount", "shift=0", "-serial", "stdio"]);
    command.arg("-kernel").arg(kernel);
    command.arg("-initrd").arg(&initramfs);
    command.args(["-append", "console=ttyS0 quiet panic=-1"]);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    eprintln!(
        "boot: booting {} with {BENCH_PACKAGE} as init (under icount this takes minutes)...",
        kernel.display()
    );
    let mut child = command.spawn().context("starting QEMU")?;
    let mut stdout = child.stdout.take().context("QEMU's output")?;
    let reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut bytes);
        bytes
    });
    let deadline = Instant::now() + timeout;
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("Linux did not power off within {} s", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(200));
    }
    let bytes = reader.join().unwrap_or_default();
    let serial = String::from_utf8_lossy(&bytes);
    let figures: Vec<String> = figure_lines(&serial).map(str::to_owned).collect();
    if !serial.contains("linux-bench: done") {
        bail!("the Linux run did not finish:\n{serial}");
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_is_a_static_executable_that_starts_with_exit() {
        let file = true_program();
        assert_eq!(&file[..4], b"\x7fELF");
        let entry = u64::from_le_bytes(file[24..32].try_into().unwrap());
        let code = (entry - TRUE_BASE) as usize;
        assert_eq!(&file[code..code + EXIT_0.len()], &EXIT_0);
        let program_header = &file[64..120];
        let file_size = u64::from_le_bytes(program_header[32..40].try_into().unwrap());
        assert_eq!(file_size as usize, file.len());
    }
}
