//! The `syscall` entry's handler: decoding needs no lock (see `exo_system::syscalls::decode`),
//! so the null call returns without taking the kernel lock; every other call runs with it.

use crate::arch::trap::TrapFrame;
use crate::kernel;

/// Called by the `syscall` entry with the caller's saved frame. Returns whether the caller
/// resumes directly with only `rax` changed (the entry then uses `sysretq`); otherwise the frame
/// now holds another environment, and the entry leaves through `iretq`.
pub extern "C" fn syscall_handler(frame: &mut TrapFrame) -> bool {
    match exo_system::syscalls::decode(frame) {
        None => true,
        Some(pending) => {
            kernel::with(|kernel| exo_system::syscalls::handle(kernel, pending, frame))
        }
    }
}
