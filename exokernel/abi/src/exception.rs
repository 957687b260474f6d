//! What the kernel hands a library OS when one of its threads raises a CPU exception: the
//! [`ExceptionFrame`] it writes on the handler stack registered with
//! [`Syscall::SetExceptionHandler`](crate::Syscall::SetExceptionHandler).
//!
//! Delivery: the kernel writes the frame at the top of the handler stack (16-byte aligned), then
//! resumes the environment at the handler entry with `rsp` and `rdi` both pointing at the frame
//! and every other register as it was at the fault, except RFLAGS: the handler starts with
//! interrupts on and the direction flag clear (the interrupted flags are in the frame). The
//! handler resumes the interrupted code itself, in user mode, from the (possibly edited) frame:
//! no system call is needed. A resume may use a few bytes below the interrupted stack pointer
//! (the x86_64-unknown-none target has no red zone; `libos-posix`'s uses 24).
//!
//! An exception raised while the stack pointer is inside the handler stack is a fault inside the
//! handler: the kernel ends the environment. So is any exception when no handler is registered,
//! and any exception whose frame cannot be written (the handler stack is not mapped writable).

/// RFLAGS.DF, the direction flag: string instructions (`rep movs`) run downwards while it is
/// set. A handler starts with it clear; the interrupted code's flags are in
/// [`UserRegisters::rflags`].
pub const DIRECTION_FLAG: u64 = 1 << 10;

/// The interrupted user registers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserRegisters {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub rsp: u64,
}

/// One exception, as delivered to the handler.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExceptionFrame {
    /// The exception vector (Intel SDM vol. 3A, table 6-1; see [`exception_name`](crate::exception_name)).
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors without one.
    pub error_code: u64,
    /// For a page fault, the address that faulted (CR2); otherwise 0.
    pub fault_address: u64,
    /// The registers at the fault; `rip` is the faulting instruction for faults and the next
    /// instruction for traps (`int3`).
    pub registers: UserRegisters,
}

/// Byte offsets of fields within [`ExceptionFrame`], for assembly that resumes from it.
pub mod frame_offsets {
    use super::{ExceptionFrame, UserRegisters};
    use core::mem::offset_of;

    const REGISTERS: usize = offset_of!(ExceptionFrame, registers);
    pub const RAX: usize = REGISTERS + offset_of!(UserRegisters, rax);
    pub const RBX: usize = REGISTERS + offset_of!(UserRegisters, rbx);
    pub const RCX: usize = REGISTERS + offset_of!(UserRegisters, rcx);
    pub const RDX: usize = REGISTERS + offset_of!(UserRegisters, rdx);
    pub const RSI: usize = REGISTERS + offset_of!(UserRegisters, rsi);
    pub const RDI: usize = REGISTERS + offset_of!(UserRegisters, rdi);
    pub const RBP: usize = REGISTERS + offset_of!(UserRegisters, rbp);
    pub const R8: usize = REGISTERS + offset_of!(UserRegisters, r8);
    pub const R9: usize = REGISTERS + offset_of!(UserRegisters, r9);
    pub const R10: usize = REGISTERS + offset_of!(UserRegisters, r10);
    pub const R11: usize = REGISTERS + offset_of!(UserRegisters, r11);
    pub const R12: usize = REGISTERS + offset_of!(UserRegisters, r12);
    pub const R13: usize = REGISTERS + offset_of!(UserRegisters, r13);
    pub const R14: usize = REGISTERS + offset_of!(UserRegisters, r14);
    pub const R15: usize = REGISTERS + offset_of!(UserRegisters, r15);
    pub const RIP: usize = REGISTERS + offset_of!(UserRegisters, rip);
    pub const RFLAGS: usize = REGISTERS + offset_of!(UserRegisters, rflags);
    pub const RSP: usize = REGISTERS + offset_of!(UserRegisters, rsp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_is_fixed() {
        assert_eq!(core::mem::size_of::<ExceptionFrame>(), 21 * 8);
        assert_eq!(frame_offsets::RAX, 24);
        assert_eq!(frame_offsets::RSP, 20 * 8);
        assert_eq!(core::mem::size_of::<ExceptionFrame>() % 8, 0);
    }
}
