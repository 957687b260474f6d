//! Makes every change to the file system so far durable on the disk.
//!
//! Usage: `sync`
//!
//! Prints nothing; a failure is reported and the status is 1. It takes no options and no
//! operands.
#![no_std]
#![no_main]

use libos_posix::{eprintln, files};

libos_posix::main!(main);

const USAGE: &str = "usage: sync";

fn main(args: libos_posix::Args) -> i32 {
    if let Some(argument) = args.iter().next() {
        if argument.starts_with('-') {
            eprintln!("sync: unknown option {argument}");
        } else {
            eprintln!("sync: unexpected operand {argument}");
        }
        eprintln!("{USAGE}");
        return 2;
    }
    match files::sync() {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("sync: {error}");
            1
        }
    }
}
