//! The file server of the microkernel path (see `libos_posix::file_server`): init starts it
//! when the system boots in that mode, lends it the right to give init a handle, and records
//! its endpoint in the world, so that every process's file calls go to it.
#![no_std]
#![no_main]

use libos_posix::{file_server, println};

libos_posix::main!(main);

fn main(_args: libos_posix::Args) -> i32 {
    match file_server::run() {
        Ok(()) => 0,
        Err(error) => {
            println!("file-server: cannot serve: {error}");
            1
        }
    }
}
