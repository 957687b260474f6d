//! Trap entry and exit: the stubs every interrupt and exception vector enters through, the
//! common save/restore path, and the register frame the rest of the kernel sees.
//!
//! Every entry from user mode (interrupt, exception or `syscall`) builds one [`TrapFrame`] at
//! the top of the kernel trap stack. Switching environments is copying another environment's
//! saved frame over it before the exit path restores it.

use core::arch::global_asm;

pub use exo_system::trap_frame::TrapFrame;

/// The `vector` recorded for entries through `syscall` (no hardware vector is this large).
pub const SYSCALL_VECTOR: u64 = 0x100;

/// The instructions that push the general registers, `rax` first and `r15` last: below the
/// vector, the error code and the hardware's frame they complete a [`TrapFrame`]. Every entry
/// from user mode saves them so: the vector stubs' common path below and `syscall_entry`.
macro_rules! push_general_registers {
    () => {
        concat!(
            "push rax\n",
            "push rbx\n",
            "push rcx\n",
            "push rdx\n",
            "push rsi\n",
            "push rdi\n",
            "push rbp\n",
            "push r8\n",
            "push r9\n",
            "push r10\n",
            "push r11\n",
            "push r12\n",
            "push r13\n",
            "push r14\n",
            "push r15\n",
        )
    };
}
pub(super) use push_general_registers;

/// Bytes between consecutive vector stubs; the IDT entry of vector `v` is
/// `trap_stubs + v * TRAP_STUB_BYTES`.
pub const TRAP_STUB_BYTES: u64 = 16;

unsafe extern "C" {
    /// Start of the 256 vector stubs.
    static trap_stubs: u8;
    /// Restores the frame at `rsp` and returns to it with `iretq`.
    pub fn trap_return() -> !;
}

/// The entry address of vector `vector`'s stub.
pub fn stub_address(vector: u8) -> u64 {
    (&raw const trap_stubs) as u64 + u64::from(vector) * TRAP_STUB_BYTES
}

// Each stub pushes a zero error code where the CPU pushes none (Intel SDM vol. 3A, 6.13: vectors
// 8, 10-14, 17, 21, 29 and 30 push one), then its vector, and jumps to the common path. The
// common path clears AC (user code may set it, and SMAP must hold in the kernel) and DF (the
// Rust ABI expects it clear), saves the general registers, and calls `trap_handler` with the
// frame. The stack is 16-byte aligned at the call: the CPU aligns it before pushing its frame,
// and 22 pushed words follow.
global_asm!(
    r#"
    .section .text.trap_stubs, "ax"
    .balign 16
    .global trap_stubs
trap_stubs:
    .set vector, 0
    .rept 256
        .balign 16
        .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
        .else
            push 0
        .endif
        push vector
        jmp trap_common
        .set vector, vector + 1
    .endr

trap_common:
    clac
    cld
"#,
    push_general_registers!(),
    r#"
    mov rdi, rsp
    call {handler}

    // The reverse of push_general_registers!, then past the vector and the error code.
    .global trap_return
trap_return:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq
"#,
    handler = sym crate::traps::trap_handler,
);

/// Starts running `frame` in user mode on an empty trap stack; the kernel is entered again only
/// through traps.
pub fn enter_user(frame: &TrapFrame) -> ! {
    let top = crate::arch::gdt::trap_stack_top();
    let slot = (top - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame;
    // SAFETY: `slot` is the highest frame-sized, 8-aligned region of the trap stack, which
    // nothing else uses while the kernel is not handling a trap (this function is called once,
    // from the boot path). `trap_return` pops exactly that frame and irets to ring 3.
    unsafe {
        slot.write(*frame);
        core::arch::asm!("mov rsp, {slot}", "jmp {trap_return}", slot = in(reg) slot,
            trap_return = sym trap_return, options(noreturn));
    }
}
