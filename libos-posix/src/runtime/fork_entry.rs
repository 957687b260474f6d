//! Fork's machine side: the call that saves the callee-saved registers before the parent
//! builds the child (`fork::fork_parent`), the child's first instructions, which restore them
//! and return 0 from that same call, and the small stack the child starts on.

use crate::fork::{child_setup, fork_parent};
use crate::layout::PAGE_BYTES;
use core::ops::Range;

/// One page: the child's setup on it went 568 bytes deep in a debug build and 56 in a release
/// one (usertests' forks), and every fork copies each page of it.
const START_STACK_BYTES: usize = PAGE_BYTES as usize;

/// The stack a forked child starts on, copied into the child at fork time.
#[repr(C, align(4096))]
struct StartStack([u8; START_STACK_BYTES]);

/// Used only as the stack of a forked child's first instructions; no code reads or writes it by
/// name.
static mut START_STACK: StartStack = StartStack([0; START_STACK_BYTES]);

/// The addresses of the start stack.
pub(crate) fn start_stack_range() -> Range<u64> {
    let stack = (&raw const START_STACK) as u64;
    stack..stack + START_STACK_BYTES as u64
}

/// Where a forked child starts: with `rdi` the parent's stack pointer that `fork_parent` got,
/// `rsi` the child's session handle, and `rsp` the top of [`start_stack_range`].
pub(crate) fn child_entry_address() -> u64 {
    child_entry as *const () as u64
}

/// Saves the callee-saved registers, calls `fork_parent` with the stack pointer and returns
/// its result. In a child started at [`child_entry_address`], returns 0.
pub(crate) fn save_and_fork() -> i64 {
    // SAFETY: `save_and_fork_registers` follows the C ABI: it restores every callee-saved
    // register and the stack pointer before it returns `fork_parent`'s result.
    unsafe { save_and_fork_registers() }
}

/// Pushes the callee-saved registers, calls `fork_parent` with the stack pointer, pops them
/// and returns its result. The child resumes at `child_entry` with that stack pointer.
#[unsafe(naked)]
unsafe extern "C" fn save_and_fork_registers() -> i64 {
    core::arch::naked_asm!(
        "push rbx",
        "push rbp",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov rdi, rsp",
        "sub rsp, 8",
        "call {parent}",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbp",
        "pop rbx",
        "ret",
        parent = sym fork_parent,
    )
}

/// The child's first instruction: `rdi` is the parent's stack pointer inside
/// `save_and_fork_registers`, `rsi` the child's session handle. It sets up on its start stack,
/// then returns 0 from `save_and_fork_registers` on the (copy-on-write) parent stack.
#[unsafe(naked)]
unsafe extern "C" fn child_entry() -> ! {
    core::arch::naked_asm!(
        "lea rsp, [rip + {stack} + {stack_bytes}]",
        "push rdi",
        "sub rsp, 8",
        "mov rdi, rsi",
        "call {setup}",
        "add rsp, 8",
        "pop rsp",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbp",
        "pop rbx",
        "xor eax, eax",
        "ret",
        stack = sym START_STACK,
        stack_bytes = const START_STACK_BYTES,
        setup = sym child_setup,
    )
}
