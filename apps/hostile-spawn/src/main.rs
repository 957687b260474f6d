//! Hostile: spawns children (copies of itself that exit at once) without reaping them, until
//! the kernel refuses. The kernel must refuse with an error, not run out of heap; then it reaps
//! every child so that all their frames come back.
#![no_std]
#![no_main]

use libos_posix::{Error, ExitReason, println, syscall};

libos_posix::main!(main);

const NAME: &str = "hostile-spawn";
/// More children than the kernel's environment table holds.
const ATTEMPTS: u32 = 2000;

fn main(args: libos_posix::Args) -> i32 {
    if args.as_str() == "child" {
        return 0;
    }
    let first = syscall::environment_id() + 1;
    let mut spawned = 0;
    let refusal = loop {
        if spawned == ATTEMPTS {
            break None;
        }
        match syscall::spawn(NAME, "child") {
            Ok(_) => spawned += 1,
            Err(error) => break Some(error),
        }
    };
    println!("{NAME}: {spawned} children spawned, then {refusal:?}");
    let mut reaped = 0;
    for child in first..first + spawned {
        if syscall::wait(child) == Ok(ExitReason::Exited(0)) {
            reaped += 1;
        }
    }
    println!("{NAME}: {reaped} children reaped");
    let is_refused_in_time = refusal == Some(Error::NoMemory) && spawned < ATTEMPTS;
    if is_refused_in_time && reaped == spawned {
        0
    } else {
        1
    }
}
