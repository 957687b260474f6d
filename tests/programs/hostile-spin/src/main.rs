//! Hostile: spins forever without a system call. The timer still preempts it; nothing ends it.
#![no_std]
#![no_main]

libos_posix::main!(main);

fn main(_args: libos_posix::Args) -> i32 {
    libos_posix::println!("hostile-spin: spinning forever");
    loop {
        core::hint::spin_loop();
    }
}
