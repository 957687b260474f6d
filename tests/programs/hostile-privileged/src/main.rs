//! Hostile: reads CR3, a privileged instruction. The kernel must end it with a general
//! protection fault.
#![no_std]
#![no_main]

libos_posix::main!(main);

fn main(_args: libos_posix::Args) -> i32 {
    libos_posix::println!("hostile-privileged: reading cr3");
    let page_table: u64;
    // SAFETY: deliberately faulting: `mov from cr3` in ring 3 raises #GP.
    unsafe { core::arch::asm!("mov {0}, cr3", out(reg) page_table, options(nomem, nostack)) };
    libos_posix::println!("hostile-privileged: cr3 = {page_table:#x}");
    1
}
