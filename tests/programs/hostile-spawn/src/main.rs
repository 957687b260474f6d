//! Hostile: spawns children without reaping them, until the kernel refuses. The kernel must
//! refuse with an error, not run out of heap. First it keeps every child's capability (the
//! children exit at once), until its capability table is full, and reaps them all; then it drops
//! each capability at once, so that nothing can reap the children, which sleep for ever, until
//! the environment table or memory is full. It exits then: the kernel ends every child with it,
//! and all their frames come back.
#![no_std]
#![no_main]

use libos_posix::syscall::Capability;
use libos_posix::{Error, ExitReason, println, syscall};

libos_posix::main!(main);

const NAME: &str = "hostile-spawn";
/// More children than the kernel's environment table holds.
const ATTEMPTS: u32 = 2000;
/// More capabilities than one environment can hold.
const HELD_MAX: usize = exo_abi::capability::CAPABILITIES_MAX + 1;

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "child" => return 0,
        "sleeper" => loop {
            syscall::sleep(1_000_000);
        },
        _ => {}
    }
    let mut held = [Capability::SELF; HELD_MAX];
    let mut held_count = 0;
    let held_refusal = loop {
        if held_count == HELD_MAX {
            break None;
        }
        match syscall::spawn(NAME, "child") {
            Ok(child) => held[held_count] = child,
            Err(error) => break Some(error),
        }
        held_count += 1;
    };
    println!("{NAME}: {held_count} children held, then {held_refusal:?}");
    let reaped = held[..held_count]
        .iter()
        .filter(|&&child| syscall::wait(child) == Ok(ExitReason::Exited(0)))
        .count();
    println!("{NAME}: {reaped} children reaped");

    let mut dropped = 0;
    let refusal = loop {
        if dropped == ATTEMPTS {
            break None;
        }
        match syscall::spawn(NAME, "sleeper").map(syscall::capability_drop) {
            Ok(Ok(())) => dropped += 1,
            Ok(Err(error)) | Err(error) => break Some(error),
        }
    };
    println!("{NAME}: unreapable children spawned until {refusal:?}");
    let is_held_refused = held_refusal == Some(Error::NoMemory) && held_count < HELD_MAX;
    let is_refused_in_time = refusal == Some(Error::NoMemory) && dropped < ATTEMPTS;
    if is_held_refused && reaped == held_count && is_refused_in_time {
        0
    } else {
        1
    }
}
