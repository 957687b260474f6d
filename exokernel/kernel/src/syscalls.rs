//! The `syscall` entry's handlers: decoding needs no lock (see `exo_system::syscalls::decode`),
//! so the null call returns without taking the kernel lock; every other call runs with it.

use crate::arch::syscall_entry;
use crate::arch::trap::TrapFrame;
use crate::kernel;
use core::ptr;
use exo_system::syscalls::{self, Pending};

/// Called by the `syscall` entry with the caller's saved frame. Returns null when the caller
/// resumes directly with only `rax` changed (the entry then uses `sysretq`); otherwise the
/// frame to restore every register from with `iretq`.
pub extern "C" fn syscall_handler(frame: &mut TrapFrame) -> *const TrapFrame {
    match syscalls::decode(frame) {
        None => ptr::null(),
        Some(pending) => handle(pending, frame),
    }
}

/// Apart, so that the null call's path keeps a frame of its own as small as it is.
#[inline(never)]
fn handle(pending: Pending, frame: &mut TrapFrame) -> *const TrapFrame {
    kernel::with(|kernel| {
        if syscalls::handle(kernel, pending, frame) {
            ptr::null()
        } else {
            frame
        }
    })
}

/// Called by the `syscall` entry for an endpoint call, whose registers it saved in the
/// caller's own saved registers. Returns the saved registers of the environment the fast path
/// switched to, which the exit restores in place (nothing runs before its `iretq`: one CPU,
/// interrupts off), or null when the fast path does not apply and nothing changed: the entry
/// then calls [`transfer_handler`].
pub extern "C" fn fast_call_handler() -> *const TrapFrame {
    fast_transfer::<true>()
}

/// [`fast_call_handler`] for an endpoint reply.
pub extern "C" fn fast_reply_handler() -> *const TrapFrame {
    fast_transfer::<false>()
}

#[inline(always)]
fn fast_transfer<const IS_CALL: bool>() -> *const TrapFrame {
    kernel::with_unlocked_at_user_entry(|kernel| {
        match syscalls::fast_transfer::<IS_CALL, _>(kernel) {
            Some((next, registers)) => {
                syscall_entry::save_transfers_in(next, registers);
                registers
            }
            None => ptr::null(),
        }
    })
}

/// Called by the `syscall` entry for an endpoint call or reply the fast path did not take;
/// `frame` is room on the trap stack for it. Returns as [`syscall_handler`] does.
pub extern "C" fn transfer_handler(frame: &mut TrapFrame) -> *const TrapFrame {
    kernel::with(|kernel| {
        if syscalls::general_transfer(kernel, frame) {
            ptr::null()
        } else {
            frame
        }
    })
}
