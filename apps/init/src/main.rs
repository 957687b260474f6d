//! The first environment. Without arguments it starts the library OS's world: it makes the
//! memory its processes share, mounts the file system on the library's disk partition and runs
//! the session shell (`/bin/sh -l`) on the terminal. When that shell ends at end of input
//! (Ctrl-D on an empty line) init starts a new one, as a terminal's login loop does; when it
//! ends otherwise (`exit [STATUS]`, `poweroff`) init syncs the disk and powers the machine off
//! with the shell's status, so `exit 3` ends the machine with status 3 (a status above 63,
//! which the kernel keeps for its own verdicts, powers off with 63; a killed shell with 1).
//!
//! With the single argument `micro` it does the same on the microkernel path: the file
//! system is the file server's (`file-server`, started first, a separate environment that
//! owns the disk partition) and the processes are the process server's (`process-server`,
//! which creates, waits for and kills them); every process's file and process calls go to
//! them by protected control transfer.
//!
//! With other arguments it runs each program named there from the boot ramdisk in turn (the system
//! tests do), reports how each ended and whether its frames all came back, then powers the
//! machine off: with status 0 when every program it waited for exited with status 0, otherwise
//! with the status of the first that did not (its exit status, at most 63, or 1 when it was
//! killed or could not start). A name ending in `&` is started in the background and not waited
//! for; `program:word:word` passes the words after the program's name to it as its arguments
//! (`slices:share` runs `slices share`).
#![no_std]
#![no_main]

use libos_posix::process::{self, Stdio};
use libos_posix::{Errno, ExitReason, files, println, servers, syscall, world};
use sh_core::session::{END_OF_INPUT_STATUS, SESSION_OPTION};

libos_posix::main!(main);

/// The shell init runs in the world.
const SHELL: &str = "/bin/sh";

fn main(args: libos_posix::Args) -> i32 {
    println!(
        "init: welcome to the exokernel (env {})",
        syscall::environment_id()
    );
    let status = if args.is_empty() {
        run_world(world::start_as_root("init"))
    } else if args.as_str() == "micro" {
        run_world(start_served_world())
    } else {
        run_ramdisk_programs(args)
    };
    let error = syscall::power_off(status);
    println!("init: power-off refused: {}", error.describe());
    1
}

/// Starts the file and process servers and makes a world whose files and processes they
/// serve.
fn start_served_world() -> Result<&'static world::World, (&'static str, Errno)> {
    let servers = servers::start().map_err(|error| ("starting the servers", error))?;
    println!("init: the file and process servers serve the world (microkernel path)");
    world::start_as_root_served("init", &servers)
}

/// Runs the session shell in `world` until it ends other than at end of input, then syncs the
/// file system; returns the status to power off with.
fn run_world(world: Result<&'static world::World, (&'static str, Errno)>) -> u32 {
    if let Err((what, error)) = world {
        println!("init: {what}: {error}");
        return FAILED;
    }
    if let Ok((total, free)) = files::space() {
        println!("init: file system mounted, {free} of {total} blocks free");
    }
    let mut status = loop {
        let shell = match process::spawn(SHELL, &["sh", SESSION_OPTION], Stdio::INHERIT) {
            Ok(shell) => shell,
            Err(error) => {
                println!("init: cannot start {SHELL}: {error}");
                break FAILED;
            }
        };
        match process::wait(shell) {
            Ok(ExitReason::Exited(END_OF_INPUT_STATUS)) => {
                println!("init: the shell ended at end of input; starting a new one");
            }
            Ok(reason) => {
                println!("init: the shell {reason}");
                break machine_status(reason);
            }
            Err(error) => {
                println!("init: waiting for the shell: {error}");
                break FAILED;
            }
        }
    };
    match files::sync() {
        Ok(()) => println!("init: file system synced"),
        Err(error) => {
            println!("init: syncing the file system: {error}");
            status = status.max(FAILED);
        }
    }
    status
}

/// The status init powers off with when something it ran failed without a status of its own.
const FAILED: u32 = 1;

/// The machine's status for a program that ended with `reason`: its exit status, at most the
/// highest the kernel lets init give, or [`FAILED`] when it was ended by force.
fn machine_status(reason: ExitReason) -> u32 {
    match reason {
        ExitReason::Exited(status) => status.min(exo_abi::POWER_OFF_STATUS_MAX as u32),
        ExitReason::Faulted(_) | ExitReason::Killed => FAILED,
    }
}

/// Runs the ramdisk programs named in `args`, one after the other; returns the status of the
/// first that failed (see [`machine_status`]), 0 when none did.
fn run_ramdisk_programs(args: libos_posix::Args) -> u32 {
    let mut status = 0;
    let mut fail_with = |failure: u32| {
        if status == 0 {
            status = failure;
        }
    };
    for word in args.iter() {
        let (program, is_background) = match word.strip_suffix('&') {
            Some(program) => (program, true),
            None => (word, false),
        };
        let mut arguments_buffer = [0u8; 256];
        let Some((program, arguments)) = split_arguments(program, &mut arguments_buffer) else {
            println!("init: arguments of {program} too long");
            fail_with(FAILED);
            continue;
        };
        if is_background {
            let background = program;
            match syscall::spawn(background, arguments) {
                Ok(child) => println!(
                    "init: {background} (env {}) started in the background",
                    environment_of(child)
                ),
                Err(error) => {
                    println!("init: cannot start {background}: {}", error.describe());
                    fail_with(FAILED);
                }
            }
            continue;
        }
        let before = syscall::free_frames();
        let child = match syscall::spawn(program, arguments) {
            Ok(child) => child,
            Err(error) => {
                println!("init: cannot start {program}: {}", error.describe());
                fail_with(FAILED);
                continue;
            }
        };
        let id = environment_of(child);
        match syscall::wait(child) {
            Ok(reason) => {
                println!("init: {program} (env {id}) {reason}");
                if reason != ExitReason::Exited(0) {
                    fail_with(machine_status(reason));
                }
            }
            Err(error) => {
                println!("init: waiting for {program} failed: {}", error.describe());
                fail_with(FAILED);
            }
        }
        println!(
            "init: free frames before {before} after {}",
            syscall::free_frames()
        );
    }
    println!("init: all programs done");
    status
}

/// The id of the environment `child` names, for messages.
fn environment_of(child: syscall::Capability) -> u32 {
    syscall::capability_inspect(child).map_or(0, |(id, _)| id)
}

/// Splits `program:word:word` into the program's name and its argument string (the words
/// separated by spaces), written into `buffer`; `None` when they do not fit.
fn split_arguments<'a>(word: &'a str, buffer: &'a mut [u8; 256]) -> Option<(&'a str, &'a str)> {
    let Some((program, arguments)) = word.split_once(':') else {
        return Some((word, ""));
    };
    let arguments = arguments.as_bytes();
    let buffer = buffer.get_mut(..arguments.len())?;
    for (byte, &argument_byte) in buffer.iter_mut().zip(arguments) {
        *byte = if argument_byte == b':' {
            b' '
        } else {
            argument_byte
        };
    }
    Some((program, core::str::from_utf8(buffer).ok()?))
}
