//! Greets from ring 3, shows its privilege level, then proves it by trying `cli`, which only
//! ring 0 may execute: the CPU raises a general protection fault and the kernel ends it.
#![no_std]
#![no_main]

use libos_posix::println;

libos_posix::main!(main);

fn main(_args: libos_posix::Args) -> i32 {
    println!("Hello from ring 3!");
    let code_segment: u16;
    // SAFETY: reading CS has no side effects.
    unsafe { core::arch::asm!("mov {0:x}, cs", out(reg) code_segment, options(nomem, nostack)) };
    println!("hello: CPL={}", code_segment & 3);
    // SAFETY: in ring 3 `cli` does not execute; it raises #GP, which ends this environment.
    unsafe { core::arch::asm!("cli", options(nomem, nostack)) };
    println!("hello: cli executed, so this is not ring 3");
    1
}
