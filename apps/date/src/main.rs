//! `date [-u]`: prints the date and time of day in UTC, as `date -u` does
//! (`Mon Dec  7 09:30:15 UTC 2026`); the machine keeps no time zone, so `-u` changes nothing.
#![no_std]
#![no_main]

use libos_posix::Options;
use libos_posix::prelude::*;

libos_posix::main!(main);

fn main(args: Args) -> i32 {
    match args.parse("u") {
        Ok(Options { operands, .. }) if operands.is_empty() => {
            println!("{}", SystemTime::now().date_time());
            0
        }
        Ok(_) => usage("extra operand"),
        Err(error) => usage(&error.to_string()),
    }
}

fn usage(problem: &str) -> i32 {
    eprintln!("date: {problem}\nusage: date [-u]");
    1
}
