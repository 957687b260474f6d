//! The machine side of a user-level thread switch: save the running thread's callee-saved
//! registers, stack pointer, flags and return address, and resume another thread's registers,
//! whether they were saved here (a yield) or by the kernel's upcall frame (a preemption).

use core::sync::atomic::AtomicUsize;
use exo_abi::UserRegisters;
use exo_abi::frame_offsets as offsets;

/// The offset of the registers in an `ExceptionFrame`: the routine below addresses a bare
/// `UserRegisters`, so every frame offset is taken relative to it.
const BASE: usize = offsets::RAX;

/// Saves the caller into `from` as a context that resumes by returning from this call, then
/// resumes `to` and decrements `critical` as its last memory access before the jump: the
/// caller raised it so that no slot-end upcall switches threads while `from` is half saved,
/// and an upcall that lands anywhere in this routine is deferred by its address
/// ([`is_switching`]).
///
/// # Safety
/// `from` must be writable; `to` must hold a resumable context of this program with 16
/// writable bytes below its stack pointer; `critical` must be above zero.
#[unsafe(naked)]
pub(super) unsafe extern "C" fn switch(
    from: *mut UserRegisters,
    to: *const UserRegisters,
    critical: &AtomicUsize,
) {
    core::arch::naked_asm!(
        "mov [rdi + {rbx}], rbx",
        "mov [rdi + {rbp}], rbp",
        "mov [rdi + {r12}], r12",
        "mov [rdi + {r13}], r13",
        "mov [rdi + {r14}], r14",
        "mov [rdi + {r15}], r15",
        "lea rax, [rsp + 8]",
        "mov [rdi + {rsp}], rax",
        "mov rax, [rsp]",
        "mov [rdi + {rip}], rax",
        "pushfq",
        "pop rax",
        "mov [rdi + {rflags}], rax",
        // The target's flags and resume address go just below its stack pointer, for the
        // final `popfq; ret` on its own stack.
        "mov rax, [rsi + {rsp}]",
        "sub rax, 16",
        "mov rcx, [rsi + {rflags}]",
        "mov [rax], rcx",
        "mov rcx, [rsi + {rip}]",
        "mov [rax + 8], rcx",
        "mov rsp, rax",
        "lock dec qword ptr [rdx]",
        "mov rbx, [rsi + {rbx}]",
        "mov rbp, [rsi + {rbp}]",
        "mov r12, [rsi + {r12}]",
        "mov r13, [rsi + {r13}]",
        "mov r14, [rsi + {r14}]",
        "mov r15, [rsi + {r15}]",
        "mov rax, [rsi + {rax}]",
        "mov rcx, [rsi + {rcx}]",
        "mov rdx, [rsi + {rdx}]",
        "mov rdi, [rsi + {rdi}]",
        "mov r8, [rsi + {r8}]",
        "mov r9, [rsi + {r9}]",
        "mov r10, [rsi + {r10}]",
        "mov r11, [rsi + {r11}]",
        "mov rsi, [rsi + {rsi}]",
        "popfq",
        "ret",
        ".globl libos_custom_threads_switch_end",
        "libos_custom_threads_switch_end:",
        "ud2",
        rsp = const offsets::RSP - BASE, rflags = const offsets::RFLAGS - BASE,
        rip = const offsets::RIP - BASE, rax = const offsets::RAX - BASE,
        rbx = const offsets::RBX - BASE, rcx = const offsets::RCX - BASE,
        rdx = const offsets::RDX - BASE, rsi = const offsets::RSI - BASE,
        rdi = const offsets::RDI - BASE, rbp = const offsets::RBP - BASE,
        r8 = const offsets::R8 - BASE, r9 = const offsets::R9 - BASE,
        r10 = const offsets::R10 - BASE, r11 = const offsets::R11 - BASE,
        r12 = const offsets::R12 - BASE, r13 = const offsets::R13 - BASE,
        r14 = const offsets::R14 - BASE, r15 = const offsets::R15 - BASE,
    )
}

unsafe extern "C" {
    /// The label just past [`switch`]'s last instruction.
    static libos_custom_threads_switch_end: u8;
}

/// Whether `rip` lies inside [`switch`], where a thread is half saved or half resumed.
pub(super) fn is_switching(rip: u64) -> bool {
    let start = switch as *const () as u64;
    let end = (&raw const libos_custom_threads_switch_end) as u64;
    (start..=end).contains(&rip)
}
