//! Removes files, and with `-r` directories with everything in them.
//!
//! Usage: `rm [-r] [-f] PATH...`
//!
//! Removes each operand in turn. Without `-r` (or `-R`) a directory is not removed: it is
//! reported as "Is a directory". With `-f` a missing operand is not an error, and no operand
//! at all is fine. Operands whose last component is `.` or `..`, and the root, are refused.
//! Each failure is reported, the rest is still removed, and the status becomes 1.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use libos_posix::files;
use libos_posix::{Errno, eprintln};

libos_posix::main!(main);

const USAGE: &str = "usage: rm [-r] [-f] PATH...";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    is_recursive: bool,
    is_forced: bool,
    paths: Vec<&'static str>,
}

fn main(args: libos_posix::Args) -> i32 {
    let options = match parse_arguments(&args) {
        Ok(options) => options,
        Err(option) => {
            eprintln!("rm: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    if options.paths.is_empty() && !options.is_forced {
        eprintln!("rm: missing operand");
        eprintln!("{USAGE}");
        return 2;
    }
    let mut status = 0;
    for &path in &options.paths {
        if !remove_operand(path, &options) {
            status = 1;
        }
    }
    status
}

/// Reads the options (`-r`, `-R`, `-f`, alone or grouped, until `--` or the first operand)
/// and the operands; an unknown option letter is the error.
fn parse_arguments(args: &libos_posix::Args) -> Result<Options, char> {
    let mut options = Options::default();
    options.paths = args.options_and_operands(|flag| {
        match flag {
            'r' | 'R' => options.is_recursive = true,
            'f' => options.is_forced = true,
            _ => return false,
        }
        true
    })?;
    Ok(options)
}

/// Removes operand `path` as `options` say; reports each failure and returns whether
/// everything went.
fn remove_operand(path: &str, options: &Options) -> bool {
    if is_protected(path) {
        return succeeded(path, Err(Errno::InvalidArgument));
    }
    match files::metadata(path) {
        Err(Errno::NotFound) if options.is_forced => true,
        Err(error) => succeeded(path, Err(error)),
        Ok(metadata) if !metadata.is_directory() => succeeded(path, files::remove_file(path)),
        Ok(_) if options.is_recursive => remove_tree(path),
        Ok(_) => succeeded(path, Err(Errno::IsADirectory)),
    }
}

/// Removes directory `path` with everything in it, depth first; reports each failure and
/// returns whether everything went.
fn remove_tree(path: &str) -> bool {
    let entries = match files::read_dir(path) {
        Ok(entries) => entries,
        Err(error) => return succeeded(path, Err(error)),
    };
    let mut removed_all = true;
    for entry in &entries {
        let child = files::join(path, &entry.name);
        let removed = if entry.is_directory {
            remove_tree(&child)
        } else {
            succeeded(&child, files::remove_file(&child))
        };
        removed_all &= removed;
    }
    removed_all && succeeded(path, files::remove_dir(path))
}

/// Whether POSIX forbids removing `path`: its last component is `.` or `..`, or it is the
/// root.
fn is_protected(path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    let last_component = trimmed.rsplit('/').next().unwrap_or(trimmed);
    matches!(last_component, "" | "." | "..")
}

/// Whether `result` is a success; a failure is reported as being about `path`.
fn succeeded(path: &str, result: Result<(), Errno>) -> bool {
    match result {
        Ok(()) => true,
        Err(error) => {
            eprintln!("rm: {path}: {error}");
            false
        }
    }
}
