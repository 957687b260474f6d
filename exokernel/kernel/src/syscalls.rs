//! The `syscall` entry's handler: decoding needs no lock (see `exo_system::syscalls::decode`),
//! so the null call returns without taking the kernel lock; every other call runs with it.

use crate::arch::trap::TrapFrame;
use crate::kernel;
use core::ptr;
use exo_system::syscalls::{self, Pending, Transferred};

/// Called by the `syscall` entry with the caller's saved frame. Returns null when the caller
/// resumes directly with only `rax` changed (the entry then uses `sysretq`); otherwise the
/// frame to restore every register from with `iretq`: `frame` itself, or the saved registers
/// of the environment a protected control transfer's fast path switched to.
pub extern "C" fn syscall_handler(frame: &mut TrapFrame) -> *const TrapFrame {
    let resumes_caller = match syscalls::decode(frame) {
        None => true,
        // Matched apart so that the transfer's fast path moves no decoded call around.
        Some(Pending::Transfer) => {
            return kernel::with(|kernel| match syscalls::transfer(kernel, frame) {
                // The saved registers stay where they are until the exit has restored them:
                // the kernel runs on one CPU with interrupts off, and nothing runs before the
                // `iretq`.
                Transferred::SavedRegisters(next) => kernel
                    .environments
                    .machine(next)
                    .map_or(&raw const *frame, |machine| &raw const machine.registers),
                Transferred::Handled(true) => ptr::null(),
                Transferred::Handled(false) => frame,
            });
        }
        Some(pending) => kernel::with(|kernel| syscalls::handle(kernel, pending, frame)),
    };
    if resumes_caller { ptr::null() } else { frame }
}
