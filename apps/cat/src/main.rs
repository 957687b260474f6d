//! Concatenates files: copies each operand in turn to standard output.
//!
//! Usage: `cat [FILE...]`
//!
//! Without operands, or for the operand `-`, it copies standard input until its end. An operand
//! that cannot be read is reported and skipped, and the status becomes 1; a failure to write
//! standard output ends the program with status 1. There are no options: `--` ends them, and
//! any other leading argument that starts with `-` (but `-` itself) is an unknown option.
#![no_std]
#![no_main]

extern crate alloc;

use libos_posix::Errno;
use libos_posix::descriptors::{self, STDIN, STDOUT};
use libos_posix::eprintln;
use libos_posix::files::File;

libos_posix::main!(main);

const USAGE: &str = "usage: cat [FILE...]";
/// Bytes moved per read and write.
const BUFFER_BYTES: usize = 4096;

/// Why copying one operand stopped.
enum CopyError {
    /// Opening or reading the operand failed: it is reported and cat goes on with the next.
    Read(Errno),
    /// Writing standard output failed: nothing more can be written.
    Write(Errno),
}

fn main(args: libos_posix::Args) -> i32 {
    let operands = match args.operands() {
        Ok(operands) => operands,
        Err(option) => {
            eprintln!("cat: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    let inputs = if operands.is_empty() {
        alloc::vec!["-"]
    } else {
        operands
    };
    let mut buffer = [0; BUFFER_BYTES];
    let mut status = 0;
    for path in inputs {
        match copy_operand(path, &mut buffer) {
            Ok(()) => {}
            Err(CopyError::Read(error)) => {
                eprintln!("cat: {path}: {error}");
                status = 1;
            }
            Err(CopyError::Write(error)) => {
                eprintln!("cat: standard output: {error}");
                return 1;
            }
        }
    }
    status
}

/// Copies operand `path` (`-` for standard input) to standard output.
fn copy_operand(path: &str, buffer: &mut [u8]) -> Result<(), CopyError> {
    if path == "-" {
        return copy_to_stdout(|chunk| descriptors::read(STDIN, chunk), buffer);
    }
    let file = File::open(path).map_err(CopyError::Read)?;
    if file.metadata().map_err(CopyError::Read)?.is_directory() {
        return Err(CopyError::Read(Errno::IsADirectory));
    }
    copy_to_stdout(|chunk| file.read(chunk), buffer)
}

/// Copies what `read` gives to standard output through `buffer`, until `read` gives nothing.
fn copy_to_stdout(
    mut read: impl FnMut(&mut [u8]) -> Result<usize, Errno>,
    buffer: &mut [u8],
) -> Result<(), CopyError> {
    loop {
        let count = read(buffer).map_err(CopyError::Read)?;
        if count == 0 {
            return Ok(());
        }
        write_all(STDOUT, &buffer[..count]).map_err(CopyError::Write)?;
    }
}

/// Writes all of `bytes` to descriptor `fd`, however many writes that takes.
fn write_all(fd: usize, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        let written = descriptors::write(fd, bytes)?;
        if written == 0 {
            return Err(Errno::Io);
        }
        bytes = &bytes[written..];
    }
    Ok(())
}
