//! Hostile: reads through a null pointer. The kernel must end it with a page fault.
#![no_std]
#![no_main]

libos_posix::main!(main);

fn main(_args: libos_posix::Args) -> i32 {
    libos_posix::println!("hostile-null: reading address 0");
    let value: u64;
    // SAFETY: deliberately faulting: page 0 is never mapped, so the read raises a page fault
    // and the kernel ends this environment.
    unsafe {
        core::arch::asm!("mov {0}, qword ptr [0]", out(reg) value, options(nostack, readonly))
    };
    libos_posix::println!("hostile-null: read {value:#x} from address 0");
    1
}
