//! Removes empty directories.
//!
//! Usage: `rmdir DIR...`
//!
//! Removes each operand in turn; one that cannot be removed (missing, not a directory, not
//! empty) is reported, the others are still removed, and the status becomes 1. There are no
//! options: `--` ends them, and any other leading argument that starts with `-` is an unknown
//! option.
#![no_std]
#![no_main]

extern crate alloc;

use libos_posix::eprintln;
use libos_posix::files;

libos_posix::main!(main);

const USAGE: &str = "usage: rmdir DIR...";

fn main(args: libos_posix::Args) -> i32 {
    let directories = match args.operands() {
        Ok(directories) => directories,
        Err(option) => {
            eprintln!("rmdir: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    if directories.is_empty() {
        eprintln!("rmdir: missing operand");
        eprintln!("{USAGE}");
        return 2;
    }
    let mut status = 0;
    for directory in directories {
        if let Err(error) = files::remove_dir(directory) {
            eprintln!("rmdir: {directory}: {error}");
            status = 1;
        }
    }
    status
}
