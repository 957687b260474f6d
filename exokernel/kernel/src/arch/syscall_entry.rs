//! The `syscall` entry point and its MSR setup.
//!
//! Entry saves the user registers as a [`TrapFrame`](super::trap::TrapFrame) on the trap stack
//! (the same layout as an interrupt), so that a system call can switch environments like any
//! other trap. When the handler says the caller itself resumes with only its result changed,
//! the exit reloads the clobbered registers and uses `sysretq`;
//! otherwise it leaves through the interrupt exit path (`iretq`), which restores every register
//! from the frame the handler names: the trap stack's, or the saved registers of the
//! environment a protected control transfer switched to (which saves copying them over).
//! [`exo_abi::BENCH_FLOOR`] returns before anything is saved, to measure the bare round trip.

use super::gdt::{Selectors, USER_CODE_SELECTOR, USER_DATA_SELECTOR, trap_stack_top};
use super::trap::{TrapFrame, push_general_registers};
use core::arch::global_asm;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// Scratch slot for the user stack pointer between `syscall` and the first push (one CPU).
#[unsafe(no_mangle)]
static mut SYSCALL_USER_RSP: u64 = 0;
/// The trap stack's top, loaded into `rsp` on entry.
#[unsafe(no_mangle)]
static mut SYSCALL_KERNEL_RSP: u64 = 0;

global_asm!(
    r#"
    .section .text.syscall_entry, "ax"
    .global syscall_entry
syscall_entry:
    cmp rax, {bench_floor}
    je 2f
    mov [rip + SYSCALL_USER_RSP], rsp
    mov rsp, [rip + SYSCALL_KERNEL_RSP]
    push {user_ss}
    push qword ptr [rip + SYSCALL_USER_RSP]
    push r11
    push {user_cs}
    push rcx
    push 0
    push {syscall_vector}
"#,
    push_general_registers!(),
    r#"
    mov rdi, rsp
    call {handler}
    test rax, rax
    jz 3f
    // Restore every register from the frame the handler returned (this one, or the saved
    // registers of the environment switched to).
    mov rsp, rax
    jmp trap_return
3:
    // Fast exit to the caller: the handler changed only rax in the frame, and by the SysV ABI
    // rbx, rbp and r12-r15 still hold the caller's values, so reload just the registers the
    // handler may have clobbered. rcx and r11 take the return address and flags for sysretq.
    mov r10, [rsp + 5 * 8]
    mov r9, [rsp + 6 * 8]
    mov r8, [rsp + 7 * 8]
    mov rdi, [rsp + 9 * 8]
    mov rsi, [rsp + 10 * 8]
    mov rdx, [rsp + 11 * 8]
    mov rax, [rsp + 14 * 8]
    mov rcx, [rsp + 17 * 8]
    mov r11, [rsp + 19 * 8]
    mov rsp, [rsp + 20 * 8]
2:
    sysretq
"#,
    bench_floor = const exo_abi::BENCH_FLOOR,
    user_ss = const USER_DATA_SELECTOR,
    user_cs = const USER_CODE_SELECTOR,
    syscall_vector = const super::trap::SYSCALL_VECTOR,
    handler = sym crate::syscalls::syscall_handler,
);

// The fast exit above reads the frame by fixed offsets.
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(TrapFrame, r10) == 5 * 8 && offset_of!(TrapFrame, r9) == 6 * 8);
    assert!(offset_of!(TrapFrame, r8) == 7 * 8 && offset_of!(TrapFrame, rdi) == 9 * 8);
    assert!(offset_of!(TrapFrame, rsi) == 10 * 8 && offset_of!(TrapFrame, rdx) == 11 * 8);
    assert!(offset_of!(TrapFrame, rax) == 14 * 8 && offset_of!(TrapFrame, rip) == 17 * 8);
    assert!(offset_of!(TrapFrame, rflags) == 19 * 8 && offset_of!(TrapFrame, rsp) == 20 * 8);
};

unsafe extern "C" {
    fn syscall_entry();
}

/// Enables `syscall`/`sysret` with the entry above. Interrupts, traps, direction and alignment
/// checks are masked on entry (SFMASK), so the kernel runs with interrupts off and SMAP armed.
pub fn init(selectors: &Selectors) {
    // SAFETY: written before any user code runs, read only by the entry code on this CPU.
    unsafe { SYSCALL_KERNEL_RSP = trap_stack_top() };
    Star::write(
        selectors.user_code,
        selectors.user_data,
        selectors.kernel_code,
        selectors.kernel_data,
    )
    .expect("GDT order matches what sysret expects");
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK,
    );
    // SAFETY: enabling `syscall` is sound now that LSTAR, STAR and SFMASK are set.
    unsafe { Efer::update(|flags| flags.insert(EferFlags::SYSTEM_CALL_EXTENSIONS)) };
}
