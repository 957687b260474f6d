//! Bare environments: a program started outside the world, as the kernel starts one from the
//! boot ramdisk (an argument string, the terminal on every descriptor, no world, not listed
//! in the process table), for apps that manage their own environments: custom managers that
//! start workers, victims or servers, often copies of themselves.
//!
//! In the world the program comes from the file system, so the boot ramdisk need not carry
//! it; a program the kernel started from the ramdisk has no file system, and the kernel starts
//! the program from there.

use crate::error::{Errno, Result};
use crate::layout::{STACK_TOP, STARTUP_ADDRESS};
use crate::syscall::{self, Capability};
use crate::{images, loader, process, world};
use exo_abi::{ARGUMENTS_MAX_BYTES, PageRights};

/// Starts `program` (a name in `/bin`, or a path) with argument string `arguments`; returns a
/// handle with every right over it (to share with, wait for, kill). It shares nothing of this
/// environment's until given, and it ends when this environment does, as every descendant
/// does.
pub fn spawn(program: &str, arguments: &str) -> Result<Capability> {
    if arguments.len() as u64 > ARGUMENTS_MAX_BYTES {
        return Err(Errno::InvalidArgument);
    }
    if world::get().is_none() {
        return Ok(syscall::spawn(program, arguments)?);
    }
    let mut image = images::prepare(&process::program_path(program))?;
    let name = program.rsplit('/').next().unwrap_or(program);
    let child = syscall::create_environment(name)?;
    let started = build(child, &mut image, arguments).and_then(|entry| {
        let length = arguments.len() as u64;
        Ok(syscall::start_environment(
            child,
            entry,
            STACK_TOP,
            STARTUP_ADDRESS,
            length,
        )?)
    });
    if let Err(error) = started {
        let _ = syscall::kill_environment(child, 0);
        let _ = syscall::wait(child);
        return Err(error);
    }
    Ok(child)
}

/// Loads the program and its argument string (read-only, at [`STARTUP_ADDRESS`], where the
/// kernel's convention of `rdi` and `rsi` at entry points) into `child`; returns the entry point.
fn build(child: Capability, image: &mut images::Prepared, arguments: &str) -> Result<u64> {
    // As much stack as the kernel gives a program it starts: no fault handler grows it.
    let stack_bytes = exo_core::user_layout::STACK_BYTES;
    let entry = images::with(image, |image| loader::load(child, image, stack_bytes))??;
    let mut text = [0u8; ARGUMENTS_MAX_BYTES as usize];
    text[..arguments.len()].copy_from_slice(arguments.as_bytes());
    loader::give_holding(child, STARTUP_ADDRESS, &text, PageRights::empty())?;
    Ok(entry)
}
