//! The `syscall` entry's handlers: decoding needs no lock (see `exo_system::syscalls::decode`),
//! so the null call returns without taking the kernel lock, and so do a page protection and
//! the fast path of an endpoint call or reply; every other call runs with it.

use crate::arch::syscall_entry;
use crate::arch::trap::TrapFrame;
use crate::kernel::{self, Kernel};
use core::ptr;
use exo_system::syscalls::{self, Pending};

/// Called by the `syscall` entry with the caller's saved frame. Returns null when the caller
/// resumes directly with only `rax` changed (the entry then uses `sysretq`); otherwise the
/// frame to restore every register from with `iretq`.
pub extern "C" fn syscall_handler(frame: &mut TrapFrame) -> *const TrapFrame {
    let resumes_caller = match syscalls::decode(frame) {
        None => true,
        Some(Pending::Protect) => {
            kernel::with_unlocked_at_user_entry(|kernel| syscalls::handle_protect(kernel, frame));
            true
        }
        Some(pending) => kernel::with(|kernel| {
            let resumes_caller = syscalls::handle(kernel, pending, frame);
            resolve(kernel, resumes_caller)
        }),
    };
    if resumes_caller { ptr::null() } else { frame }
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
        let resumes_caller = syscalls::general_transfer(kernel, frame);
        if resolve(kernel, resumes_caller) {
            ptr::null()
        } else {
            frame
        }
    })
}

/// Whether a system call resumes its caller, as `exo_system::syscalls::handle` answered; when it
/// does not, another environment may run next, and the transfer entry follows it.
#[inline(always)]
fn resolve(kernel: &mut Kernel, resumes_caller: bool) -> bool {
    if resumes_caller {
        debug_assert!(
            kernel
                .current
                .is_some_and(syscall_entry::saves_transfers_of),
            "a call that resumes its caller leaves it running"
        );
    } else {
        kernel::follow_running(kernel);
    }
    resumes_caller
}
