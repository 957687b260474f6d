//! The `syscall` entry point and its MSR setup.
//!
//! Entry saves the user registers as a [`TrapFrame`](super::trap::TrapFrame) on the trap stack
//! (the same layout as an interrupt), so that a system call can switch environments like any
//! other trap. When the handler says the caller itself resumes with only its result changed,
//! the exit reloads the clobbered registers and uses `sysretq`;
//! otherwise it leaves through the interrupt exit path (`iretq`), which restores every register
//! from the frame the handler names: the trap stack's, or the saved registers of the
//! environment a protected control transfer switched to (which saves copying them over).
//!
//! An endpoint call or reply saves the user registers straight into the caller's own saved
//! registers instead (see [`save_transfers_in`]), so that a transfer that switches away from
//! the caller has nothing left to save: `exo_system::syscalls::fast_transfer`.
//! [`exo_abi::BENCH_FLOOR`] returns before anything is saved, to measure the bare round trip.

use super::gdt::{Selectors, USER_CODE_SELECTOR, USER_DATA_SELECTOR, trap_stack_top};
use super::trap::{TrapFrame, push_general_registers};
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use exo_core::environments::EnvId;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// Scratch slot for the user stack pointer between `syscall` and the first push (one CPU).
#[unsafe(no_mangle)]
static mut SYSCALL_USER_RSP: u64 = 0;
/// The trap stack's top, loaded into `rsp` on entry.
#[unsafe(no_mangle)]
static mut SYSCALL_KERNEL_RSP: u64 = 0;
/// One past the running environment's saved registers, loaded into `rsp` on the entry of an
/// endpoint call or reply, which pushes its frame there (0 until an environment runs).
static TRANSFER_SAVE_AREA_END: AtomicU64 = AtomicU64::new(0);
/// The environment whose saved registers those are (`u64::MAX`: none yet).
static TRANSFER_SAVE_AREA_OWNER: AtomicU64 = AtomicU64::new(u64::MAX);

/// Pushes the user registers as a [`TrapFrame`] where `rsp` points: first the words an
/// interrupt's hardware frame and vector stub would hold (the user stack pointer from
/// `SYSCALL_USER_RSP`, the flags and return address `syscall` left in `r11` and `rcx`), then the
/// general registers. Both entry paths below save the same frame, only at different places.
macro_rules! push_syscall_frame {
    () => {
        concat!(
            "push {user_ss}\n",
            "push qword ptr [rip + SYSCALL_USER_RSP]\n",
            "push r11\n",
            "push {user_cs}\n",
            "push rcx\n",
            "push 0\n",
            "push {syscall_vector}\n",
            push_general_registers!(),
        )
    };
}

global_asm!(
    r#"
    .section .text.syscall_entry, "ax"
    .global syscall_entry
syscall_entry:
    cmp rax, {bench_floor}
    je 2f
    mov [rip + SYSCALL_USER_RSP], rsp
    cmp rax, {endpoint_call}
    jae 4f
1:
    mov rsp, [rip + SYSCALL_KERNEL_RSP]
"#,
    push_syscall_frame!(),
    r#"
    mov rdi, rsp
    call {handler}
5:
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
4:
    // An endpoint call or reply: the frame goes into the caller's own saved registers, and
    // the handler gets the room for one on the trap stack, should the general path need it.
    cmp rax, {endpoint_reply_and_wait}
    ja 1b
    mov rsp, [rip + {save_area_end}]
"#,
    push_syscall_frame!(),
    r#"
    mov rsp, [rip + SYSCALL_KERNEL_RSP]
    sub rsp, {frame_bytes}
    cmp rax, {endpoint_call}
    jne 7f
    call {fast_call_handler}
    jmp 8f
7:
    call {fast_reply_handler}
8:
    test rax, rax
    jz 6f
    mov rsp, rax
    jmp trap_return
6:
    mov rdi, rsp
    call {transfer_handler}
    jmp 5b
"#,
    bench_floor = const exo_abi::BENCH_FLOOR,
    endpoint_call = const exo_abi::Syscall::EndpointCall as u64,
    endpoint_reply_and_wait = const exo_abi::Syscall::EndpointReplyAndWait as u64,
    user_ss = const USER_DATA_SELECTOR,
    user_cs = const USER_CODE_SELECTOR,
    syscall_vector = const super::trap::SYSCALL_VECTOR,
    frame_bytes = const core::mem::size_of::<TrapFrame>(),
    save_area_end = sym TRANSFER_SAVE_AREA_END,
    handler = sym crate::syscalls::syscall_handler,
    fast_call_handler = sym crate::syscalls::fast_call_handler,
    fast_reply_handler = sym crate::syscalls::fast_reply_handler,
    transfer_handler = sym crate::syscalls::transfer_handler,
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

// The trap stack stays 16-byte aligned at the handlers' call, as after the 22 pushes.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);

unsafe extern "C" {
    fn syscall_entry();
}

/// Makes `registers`, environment `owner`'s saved registers, where the entry of its endpoint
/// calls and replies saves its frame. Called before `owner` runs; it must stay alive and its
/// registers in place while it runs (environments are boxed and never move).
#[inline]
pub fn save_transfers_in(owner: EnvId, registers: *mut TrapFrame) {
    let end = registers.wrapping_add(1) as u64;
    TRANSFER_SAVE_AREA_END.store(end, Ordering::Relaxed);
    TRANSFER_SAVE_AREA_OWNER.store(u64::from(owner.0), Ordering::Relaxed);
}

/// Whether the entry already saves `owner`'s transfers in its registers.
#[inline]
pub fn saves_transfers_of(owner: EnvId) -> bool {
    TRANSFER_SAVE_AREA_OWNER.load(Ordering::Relaxed) == u64::from(owner.0)
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
