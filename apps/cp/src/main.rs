//! Copies a file.
//!
//! Usage: `cp SOURCE DESTINATION`
//!
//! Copies the file `SOURCE` to `DESTINATION`, replacing what a file there held. If
//! `DESTINATION` is a directory, the copy goes into it under the source's file name. Directories
//! are not copied, nor a file onto itself. The data moves in chunks of 64 KiB. There are no
//! options: `--` ends them, and any other leading argument that starts with `-` is an unknown
//! option.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use libos_posix::files::{self, File};
use libos_posix::{Errno, eprintln};

libos_posix::main!(main);

const USAGE: &str = "usage: cp SOURCE DESTINATION";
/// Bytes moved per read and write.
const CHUNK_BYTES: usize = 64 * 1024;

fn main(args: libos_posix::Args) -> i32 {
    let operands = match args.operands() {
        Ok(operands) => operands,
        Err(option) => {
            eprintln!("cp: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let [source, destination] = operands[..] else {
        eprintln!("cp: expected a source and a destination");
        eprintln!("{USAGE}");
        return 2;
    };
    match copy(source, destination) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("cp: {message}");
            1
        }
    }
}

/// Copies file `source` to `destination` (into it if it is a directory); the error is the
/// message to print.
fn copy(source: &str, destination: &str) -> Result<(), String> {
    let source_metadata = files::metadata(source).map_err(|error| at(source, error))?;
    if source_metadata.is_directory() {
        return Err(at(source, Errno::IsADirectory));
    }
    let target = match files::metadata(destination) {
        Ok(metadata) if metadata.is_directory() => {
            files::join(destination, files::file_name(source))
        }
        _ => String::from(destination),
    };
    if files::metadata(&target).is_ok_and(|metadata| metadata.inode == source_metadata.inode) {
        return Err(format!("{source} and {target} are the same file"));
    }
    let input = File::open(source).map_err(|error| at(source, error))?;
    let output = File::create(&target).map_err(|error| at(&target, error))?;
    let mut chunk = alloc::vec![0; CHUNK_BYTES];
    loop {
        let count = input.read(&mut chunk).map_err(|error| at(source, error))?;
        if count == 0 {
            return Ok(());
        }
        write_all(&output, &chunk[..count]).map_err(|error| at(&target, error))?;
    }
}

/// Writes all of `bytes` to `file`, however many writes that takes.
fn write_all(file: &File, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        let written = file.write(bytes)?;
        if written == 0 {
            return Err(Errno::Io);
        }
        bytes = &bytes[written..];
    }
    Ok(())
}

/// The message for `error` about `path`.
fn at(path: &str, error: Errno) -> String {
    format!("{path}: {error}")
}
