//! Lists the processes of the library OS.
//!
//! Usage: `ps`
//!
//! Prints a header line, then one line per process of the world's process table, sorted by
//! pid: the pid and the parent's pid, each right-aligned in 5 columns, and the program's name,
//! separated by spaces:
//!
//! ```text
//!   PID  PPID NAME
//!     3     2 sh
//!     9     3 ps
//! ```
//!
//! It takes no options and no operands.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::fmt::Display;
use libos_posix::{eprintln, println, world};

libos_posix::main!(main);

const USAGE: &str = "usage: ps";

fn main(args: libos_posix::Args) -> i32 {
    if let Some(argument) = args.iter().next() {
        if argument.starts_with('-') {
            eprintln!("ps: unknown option {argument}");
        } else {
            eprintln!("ps: unexpected operand {argument}");
        }
        eprintln!("{USAGE}");
        return 2;
    }
    let world = match world::require() {
        Ok(world) => world,
        Err(error) => {
            eprintln!("ps: {error}");
            return 1;
        }
    };
    let mut processes = world.processes.snapshot();
    processes.sort_unstable_by_key(|process| process.pid);
    println!("{}", row("PID", "PPID", "NAME"));
    for process in &processes {
        println!("{}", row(process.pid, process.parent, process.name()));
    }
    0
}

/// One line of the table: pid and parent right-aligned in 5 columns, then the name.
fn row(pid: impl Display, parent: impl Display, name: &str) -> String {
    format!("{pid:>5} {parent:>5} {name}")
}
