//! The first environment. Without arguments it starts the library OS's world: it makes the
//! memory its processes share, mounts the file system on the library's disk partition, runs
//! the shell `/bin/sh` on the terminal, and when the shell ends syncs the disk and powers the
//! machine off.
//!
//! With the single argument `micro` it does the same on the microkernel path: the file
//! system is the file server's (`file-server`, started first, a separate environment that
//! owns the disk partition) and the processes are the process server's (`process-server`,
//! which creates, waits for and kills them); every process's file and process calls go to
//! them by protected control transfer.
//!
//! With other arguments it runs each program named there from the boot ramdisk in turn (the system
//! tests do), reports how each ended and whether its frames all came back, then powers the
//! machine off. A name ending in `&` is started in the background and not waited for;
//! `program:word:word` passes the words after the program's name to it as its arguments
//! (`slices:share` runs `slices share`).
#![no_std]
#![no_main]

use libos_posix::process::{self, Stdio};
use libos_posix::{Errno, files, println, servers, syscall, world};

libos_posix::main!(main);

/// The shell init runs in the world.
const SHELL: &str = "/bin/sh";

fn main(args: libos_posix::Args) -> i32 {
    println!(
        "init: welcome to the exokernel (env {})",
        syscall::environment_id()
    );
    if args.is_empty() {
        run_world(world::start_as_root("init"));
    } else if args.as_str() == "micro" {
        run_world(start_served_world());
    } else {
        run_ramdisk_programs(args);
    }
    let error = syscall::power_off(0);
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

/// Runs the shell in `world` until it ends, then syncs the file system.
fn run_world(world: Result<&'static world::World, (&'static str, Errno)>) {
    if let Err((what, error)) = world {
        println!("init: {what}: {error}");
        return;
    }
    if let Ok((total, free)) = files::space() {
        println!("init: file system mounted, {free} of {total} blocks free");
    }
    match process::spawn(SHELL, &["sh"], Stdio::INHERIT) {
        Ok(shell) => match process::wait(shell) {
            Ok(reason) => println!("init: the shell {reason}"),
            Err(error) => println!("init: waiting for the shell: {error}"),
        },
        Err(error) => println!("init: cannot start {SHELL}: {error}"),
    }
    match files::sync() {
        Ok(()) => println!("init: file system synced"),
        Err(error) => println!("init: syncing the file system: {error}"),
    }
}

/// Runs the ramdisk programs named in `args`, one after the other.
fn run_ramdisk_programs(args: libos_posix::Args) {
    for word in args.iter() {
        let (program, is_background) = match word.strip_suffix('&') {
            Some(program) => (program, true),
            None => (word, false),
        };
        let mut arguments_buffer = [0u8; 256];
        let Some((program, arguments)) = split_arguments(program, &mut arguments_buffer) else {
            println!("init: arguments of {program} too long");
            continue;
        };
        if is_background {
            let background = program;
            match syscall::spawn(background, arguments) {
                Ok(child) => println!(
                    "init: {background} (env {}) started in the background",
                    environment_of(child)
                ),
                Err(error) => println!("init: cannot start {background}: {}", error.describe()),
            }
            continue;
        }
        let before = syscall::free_frames();
        let child = match syscall::spawn(program, arguments) {
            Ok(child) => child,
            Err(error) => {
                println!("init: cannot start {program}: {}", error.describe());
                continue;
            }
        };
        let id = environment_of(child);
        match syscall::wait(child) {
            Ok(reason) => println!("init: {program} (env {id}) {reason}"),
            Err(error) => println!("init: waiting for {program} failed: {}", error.describe()),
        }
        println!(
            "init: free frames before {before} after {}",
            syscall::free_frames()
        );
    }
    println!("init: all programs done");
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
