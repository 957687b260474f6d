//! Ends processes of the library OS, each together with its descendants.
//!
//! Usage: `kill PID...`
//!
//! Kills each operand in turn. An operand that is not a process id (a decimal number above 0),
//! or names no listed process, or cannot be killed, is reported, the others are still killed,
//! and the status becomes 1. There are no options (no signals either): `--` ends them, and any
//! other leading argument that starts with `-` is an unknown option.
#![no_std]
#![no_main]

extern crate alloc;

use libos_posix::{Errno, eprintln, process, world};

libos_posix::main!(main);

const USAGE: &str = "usage: kill PID...";

fn main(args: libos_posix::Args) -> i32 {
    let operands = match args.operands() {
        Ok(operands) => operands,
        Err(option) => {
            eprintln!("kill: unknown option -{option}");
            eprintln!("{USAGE}");
            return 2;
        }
    };
    if operands.is_empty() {
        eprintln!("kill: missing operand");
        eprintln!("{USAGE}");
        return 2;
    }
    let mut status = 0;
    for operand in operands {
        let Some(pid) = parse_pid(operand) else {
            eprintln!("kill: {operand}: not a process id");
            status = 1;
            continue;
        };
        if let Err(error) = kill_listed(pid) {
            eprintln!("kill: {operand}: {error}");
            status = 1;
        }
    }
    status
}

/// The process id `text` spells: a decimal number above 0.
fn parse_pid(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&pid| pid != 0)
}

/// Kills process `pid` and its descendants, if the process table lists it.
fn kill_listed(pid: u32) -> Result<(), Errno> {
    let is_listed = world::require()?
        .processes
        .snapshot()
        .iter()
        .any(|process| process.pid == pid);
    if !is_listed {
        return Err(Errno::NoSuchProcess);
    }
    process::kill(pid)
}
