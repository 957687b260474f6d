//! The process server of the microkernel path (see `libos_posix::process_server`): init
//! starts it when the system boots in that mode, after the file server, and records its
//! endpoint in the world, so that every process is created, waited for and killed by it.
#![no_std]
#![no_main]

use libos_posix::{println, process_server};

libos_posix::main!(main);

fn main(_args: libos_posix::Args) -> i32 {
    match process_server::run() {
        Ok(()) => 0,
        Err(error) => {
            println!("process-server: cannot serve: {error}");
            1
        }
    }
}
