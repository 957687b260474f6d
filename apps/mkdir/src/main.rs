//! Makes directories.
//!
//! Usage: `mkdir [-p] DIR...`
//!
//! Makes each operand in turn; one that cannot be made is reported, the others are still
//! made, and the status becomes 1. With `-p` the missing directories on the way are made too,
//! and a directory that exists already is not an error.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use libos_posix::files;
use libos_posix::{Errno, eprintln};

libos_posix::main!(main);

const USAGE: &str = "usage: mkdir [-p] DIR...";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    makes_parents: bool,
    directories: Vec<&'static str>,
}

fn main(args: libos_posix::Args) -> i32 {
    let options = match parse_arguments(&args) {
        Ok(options) => options,
        Err(option) => {
            eprintln!("mkdir: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    if options.directories.is_empty() {
        eprintln!("mkdir: missing operand");
        eprintln!("{USAGE}");
        return 2;
    }
    let mut status = 0;
    for &directory in &options.directories {
        let made = if options.makes_parents {
            create_with_parents(directory)
        } else {
            files::create_dir(directory)
        };
        if let Err(error) = made {
            eprintln!("mkdir: {directory}: {error}");
            status = 1;
        }
    }
    status
}

/// Reads the options (`-p`, alone or grouped, until `--` or the first operand) and the
/// operands; an unknown option letter is the error.
fn parse_arguments(args: &libos_posix::Args) -> Result<Options, char> {
    let mut options = Options::default();
    options.directories = args.options_and_operands(|flag| {
        match flag {
            'p' => options.makes_parents = true,
            _ => return false,
        }
        true
    })?;
    Ok(options)
}

/// Makes `path` and every missing directory above it; existing directories are fine.
fn create_with_parents(path: &str) -> Result<(), Errno> {
    for prefix in prefixes(path) {
        match files::create_dir(prefix) {
            Ok(()) => {}
            Err(Errno::Exists) if is_directory(prefix) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The paths from the first component of `path` down to `path` itself: `a`, `a/b`, `a/b/c`
/// for `a/b/c` (empty components and trailing slashes give no prefix of their own).
fn prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(|(index, _)| &path[..index])
        .chain(core::iter::once(path))
        .filter(|prefix| !prefix.is_empty() && !prefix.ends_with('/'))
}

/// Whether `path` names a directory.
fn is_directory(path: &str) -> bool {
    files::metadata(path).is_ok_and(|metadata| metadata.is_directory())
}
