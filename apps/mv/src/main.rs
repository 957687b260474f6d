//! Moves (renames) a file or directory.
//!
//! Usage: `mv SOURCE DESTINATION`
//!
//! Renames `SOURCE` to `DESTINATION`, replacing a file there. If `DESTINATION` is a directory,
//! `SOURCE` moves into it under its own name. A missing source is reported against the source,
//! any other failure against the target. There are no options: `--` ends them, and any other
//! leading argument that starts with `-` is an unknown option.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use libos_posix::{eprintln, files};

libos_posix::main!(main);

const USAGE: &str = "usage: mv SOURCE DESTINATION";

fn main(args: libos_posix::Args) -> i32 {
    let operands = match args.operands() {
        Ok(operands) => operands,
        Err(option) => {
            eprintln!("mv: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let [source, destination] = operands[..] else {
        eprintln!("mv: expected a source and a destination");
        eprintln!("{USAGE}");
        return 2;
    };
    if let Err(error) = files::metadata(source) {
        eprintln!("mv: {source}: {error}");
        return 1;
    }
    let target = match files::metadata(destination) {
        Ok(metadata) if metadata.is_directory() => {
            files::join(destination, files::file_name(source))
        }
        _ => String::from(destination),
    };
    match files::rename(source, &target) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("mv: {target}: {error}");
            1
        }
    }
}
