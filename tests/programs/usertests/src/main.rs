//! `usertests [NAME...]`: the library OS's own test program. A table of cases, each run in its
//! own forked process; the free-frame count before and after each case catches leaks. Prints
//! `usertests: NAME ok` or `usertests: NAME FAILED: why` per case, then
//! `usertests: N passed, M failed`, and exits with the number of failures. With names, runs
//! only those cases.
#![no_std]
#![no_main]

extern crate alloc;

mod cases;
mod clock_cases;
mod udp_cases;

use libos_posix::fork::{Fork, fork};
use libos_posix::{ExitReason, files, println, process, syscall};

libos_posix::main!(main);

/// A case: `Ok` or why it failed.
pub type Outcome = Result<(), alloc::string::String>;

/// Frames a case may keep without counting as a leak: this process's own heap may grow by a
/// page or two for the messages it formats.
const FRAME_SLACK: u64 = 8;

fn main(args: libos_posix::Args) -> i32 {
    let _ = files::create_dir("/tmp");
    let wanted: alloc::vec::Vec<&str> = args.iter().collect();
    // A first fork binds page tables for the scratch and shadow regions (12 frames) that stay
    // for the program's life; doing it before the first count keeps them out of the leak
    // checks.
    if let Err(why) = run_in_child(|| Ok(())) {
        println!("usertests: warm-up FAILED: {why}");
    }
    let (mut passed, mut failed) = (0, 0);
    for &(name, case) in cases::ALL {
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        match run_isolated(case) {
            Ok(()) => {
                println!("usertests: {name} ok");
                passed += 1;
            }
            Err(why) => {
                println!("usertests: {name} FAILED: {why}");
                failed += 1;
            }
        }
    }
    println!("usertests: {passed} passed, {failed} failed");
    failed
}

/// Runs `case` in a forked child; checks its status and that its frames came back.
fn run_isolated(case: fn() -> Outcome) -> Outcome {
    let before = syscall::free_frames();
    run_in_child(case)?;
    let after = syscall::free_frames();
    if after + FRAME_SLACK < before {
        return Err(alloc::format!(
            "{} frames leaked ({before} free before, {after} after)",
            before - after
        ));
    }
    Ok(())
}

/// Runs `case` in a forked child and checks that it exited with status 0.
fn run_in_child(case: fn() -> Outcome) -> Outcome {
    let child = match fork() {
        Ok(Fork::Child) => {
            let status = match case() {
                Ok(()) => 0,
                Err(why) => {
                    println!("usertests:   {why}");
                    1
                }
            };
            process::exit(status);
        }
        Ok(Fork::Parent(child)) => child,
        Err(error) => return Err(alloc::format!("fork: {error}")),
    };
    match process::wait(child) {
        Ok(ExitReason::Exited(0)) => Ok(()),
        Ok(reason) => Err(alloc::format!("the case's process {reason}")),
        Err(error) => Err(alloc::format!("wait: {error}")),
    }
}
