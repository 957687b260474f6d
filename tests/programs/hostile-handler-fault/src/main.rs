//! Hostile: its exception handler itself faults (or, with the argument `unmapped-stack`, its
//! handler stack is not mapped). The kernel must not re-enter the handler forever, nor write
//! where it may not: it ends the environment.
#![no_std]
#![no_main]

use exo_abi::{Syscall, decode_result};
use libos_posix::{ExceptionFrame, exceptions, println, syscall};

libos_posix::main!(main);

fn faulting_handler(_frame: &mut ExceptionFrame) -> bool {
    // SAFETY: deliberately faulting inside the handler (page 0 is never mapped).
    unsafe { core::arch::asm!("mov rax, qword ptr [0]", out("rax") _, options(nostack)) };
    true
}

/// A user-half address where nothing is mapped.
const UNMAPPED: u64 = 0x6000_0000_0000;

fn main(args: libos_posix::Args) -> i32 {
    let registered = if args.as_str() == "unmapped-stack" {
        let arguments = [
            faulting_handler as *const () as u64,
            UNMAPPED,
            4096,
            0,
            0,
            0,
        ];
        decode_result(syscall::raw(
            Syscall::SetExceptionHandler.number(),
            arguments,
        ))
        .map(|_| ())
    } else {
        exceptions::set_handler(faulting_handler)
    };
    if registered.is_err() {
        return 1;
    }
    println!("hostile-handler-fault: faulting with a handler that faults");
    // SAFETY: deliberately faulting: `ud2` raises #UD, delivered to the faulting handler.
    unsafe { core::arch::asm!("ud2") };
    println!("hostile-handler-fault: survived");
    1
}
