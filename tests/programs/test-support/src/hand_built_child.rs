//! The whole program of a child environment built by hand (`EnvironmentCreate`, its code page
//! shared in, a stack page given): it exits with [`STATUS`] by a raw system call, touching no
//! memory but its own code.

use exo_abi::Syscall;

/// The status the child exits with.
pub const STATUS: u32 = 42;

/// The child's entry point: exits with [`STATUS`].
#[unsafe(naked)]
pub extern "C" fn exit_with_status() -> ! {
    core::arch::naked_asm!(
        "mov edi, {status}",
        "mov eax, {exit}",
        "syscall",
        "ud2",
        status = const STATUS,
        exit = const Syscall::Exit as u64,
    )
}
