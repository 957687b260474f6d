//! The `syscall` entry's handler: decoding needs no lock (see `exo_system::syscalls::decode`),
//! so the null call returns without taking the kernel lock; every other call runs with it.

use crate::arch::trap::TrapFrame;
use crate::kernel::{self, Kernel};
use core::ptr;
use exo_system::syscalls::{Exit, handle};

/// Called by the `syscall` entry with the caller's saved frame. Returns null when the caller
/// resumes directly with only `rax` changed (the entry then uses `sysretq`); otherwise the
/// frame to restore every register from with `iretq`: `frame` itself, or the saved registers
/// of the environment a protected control transfer switched to.
pub extern "C" fn syscall_handler(frame: &mut TrapFrame) -> *const TrapFrame {
    match exo_system::syscalls::decode(frame) {
        None => ptr::null(),
        Some(pending) => kernel::with(|kernel| {
            let exit = handle(kernel, pending, frame);
            exit_frame(kernel, exit, frame)
        }),
    }
}

/// The frame the entry restores from after `exit`, or null for the caller's fast return.
fn exit_frame(kernel: &Kernel, exit: Exit, frame: &TrapFrame) -> *const TrapFrame {
    match exit {
        Exit::Caller => ptr::null(),
        Exit::Frame => frame,
        // The saved registers stay where they are until the exit has restored them: the kernel
        // runs on one CPU with interrupts off, and nothing else runs before the `iretq`.
        Exit::SavedRegisters(next) => kernel
            .environments
            .machine(next)
            .map_or(frame, |machine| &raw const machine.registers),
    }
}
