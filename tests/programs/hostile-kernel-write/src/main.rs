//! Hostile: writes into the kernel half (the kernel image). The kernel must end it with a page
//! fault and keep running.
#![no_std]
#![no_main]

libos_posix::main!(main);

/// Where the kernel image is loaded.
const KERNEL_IMAGE: u64 = 0xffff_ffff_8000_0000;

fn main(_args: libos_posix::Args) -> i32 {
    libos_posix::println!("hostile-kernel-write: writing to {KERNEL_IMAGE:#x}");
    // SAFETY: deliberately faulting: kernel-half pages are not user-accessible, so the write
    // raises a page fault and the kernel ends this environment.
    unsafe {
        core::arch::asm!("mov qword ptr [{0}], 1", in(reg) KERNEL_IMAGE, options(nostack));
    }
    libos_posix::println!("hostile-kernel-write: the write went through");
    1
}
