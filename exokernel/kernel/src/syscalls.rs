//! The `syscall` entry's handler: decoding needs no lock (see `exo_system::syscalls::decode`),
//! so the null call returns without taking the kernel lock; every other call runs with it.

use crate::arch::trap::TrapFrame;
use crate::kernel;
use core::ptr;
use exo_system::ipc_fast_path;

/// Called by the `syscall` entry with the caller's saved frame. Returns null when the caller
/// resumes directly with only `rax` changed (the entry then uses `sysretq`); otherwise the
/// frame to restore every register from with `iretq`: `frame` itself, or the saved registers
/// of the environment a protected control transfer's fast path switched to.
pub extern "C" fn syscall_handler(frame: &mut TrapFrame) -> *const TrapFrame {
    if ipc_fast_path::is_candidate(frame)
        && let Some(saved) = kernel::with(|kernel| {
            let next = exo_system::syscalls::fast_transfer(kernel, frame)?;
            // The saved registers stay where they are until the exit has restored them: the
            // kernel runs on one CPU with interrupts off, and nothing runs before the `iretq`.
            let machine = kernel.environments.machine(next)?;
            Some(&raw const machine.registers)
        })
    {
        return saved;
    }
    match exo_system::syscalls::decode(frame) {
        None => ptr::null(),
        Some(pending) => {
            if kernel::with(|kernel| exo_system::syscalls::handle(kernel, pending, frame)) {
                ptr::null()
            } else {
                frame
            }
        }
    }
}
