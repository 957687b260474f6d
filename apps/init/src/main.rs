//! The first environment: greets, runs each program named in its arguments in turn, reports how
//! each ended and whether its frames all came back, then powers the machine off. A name ending
//! in `&` is started in the background and not waited for.
#![no_std]
#![no_main]

use libos_posix::{println, syscall};

libos_posix::main!(main);

fn main(args: libos_posix::Args) -> i32 {
    println!(
        "init: welcome to the exokernel (env {})",
        syscall::environment_id()
    );
    for program in args.iter() {
        if let Some(background) = program.strip_suffix('&') {
            match syscall::spawn(background, "") {
                Ok(child) => println!("init: {background} (env {child}) started in the background"),
                Err(error) => println!("init: cannot start {background}: {}", error.describe()),
            }
            continue;
        }
        let before = syscall::free_frames();
        let child = match syscall::spawn(program, "") {
            Ok(child) => child,
            Err(error) => {
                println!("init: cannot start {program}: {}", error.describe());
                continue;
            }
        };
        match syscall::wait(child) {
            Ok(reason) => println!("init: {program} (env {child}) {reason}"),
            Err(error) => println!("init: waiting for {program} failed: {}", error.describe()),
        }
        println!(
            "init: free frames before {before} after {}",
            syscall::free_frames()
        );
    }
    println!("init: all programs done");
    let error = syscall::power_off(0);
    println!("init: power-off refused: {}", error.describe());
    1
}
