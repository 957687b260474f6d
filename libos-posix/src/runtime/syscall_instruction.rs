//! The `syscall` instruction, below the typed wrappers of `syscall`.

use core::arch::asm;
use exo_abi::ipc::Message;

/// Makes system call `number` with up to six arguments and returns the raw result word.
#[inline(always)]
pub fn raw(number: u64, arguments: [u64; 6]) -> u64 {
    let result;
    // SAFETY: the kernel preserves every register but rax (the result), rcx and r11 (the
    // hardware's), and reads user memory only after checking it; the stack is untouched. What
    // a call does to this environment's address space is the library's stance on system calls
    // (see the runtime's header).
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number => result,
            in("rdi") arguments[0],
            in("rsi") arguments[1],
            in("rdx") arguments[2],
            in("r10") arguments[3],
            in("r8") arguments[4],
            in("r9") arguments[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}

/// Makes system call `number` with up to six arguments; returns the raw result word and the
/// message words the call left in `rsi`, `rdx`, `r10` and `r8` (see `exo_abi::ipc`).
#[inline(always)]
pub fn raw_with_message(number: u64, arguments: [u64; 6]) -> (u64, Message) {
    let result;
    let mut message = [arguments[1], arguments[2], arguments[3], arguments[4]];
    // SAFETY: as in `raw`; the message registers are declared as outputs, since the kernel
    // writes the reply there.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number => result,
            in("rdi") arguments[0],
            inout("rsi") message[0],
            inout("rdx") message[1],
            inout("r10") message[2],
            inout("r8") message[3],
            in("r9") arguments[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    (result, message)
}
