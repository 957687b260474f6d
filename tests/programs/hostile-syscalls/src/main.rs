//! Hostile: passes bad numbers, pointers and lengths to every system call that takes any, and
//! checks that each gets its documented error. Exits 0 when every check passed.
#![no_std]
#![no_main]

use exo_abi::{Error, Syscall, decode_result};
use libos_posix::{println, syscall};

libos_posix::main!(main);

const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;
const KERNEL_IMAGE: u64 = 0xffff_ffff_8000_0000;
/// A user-half address where nothing is mapped.
const UNMAPPED: u64 = 0x6000_0000_0000;
/// The first address above the initial stack.
const STACK_TOP: u64 = exo_core::user_layout::STACK_TOP;

struct Check {
    what: &'static str,
    call: u64,
    arguments: [u64; 6],
    expected: Result<u64, Error>,
}

fn check(
    what: &'static str,
    call: Syscall,
    arguments: [u64; 4],
    expected: Result<u64, Error>,
) -> Check {
    let [a0, a1, a2, a3] = arguments;
    Check {
        what,
        call: call.number(),
        arguments: [a0, a1, a2, a3, 0, 0],
        expected,
    }
}

fn main(_args: libos_posix::Args) -> i32 {
    let text = b"hello";
    let valid = text.as_ptr() as u64;
    let code = main as *const () as u64;
    let not_utf8 = [0xffu8, 0xfe];
    let id = u64::from(syscall::environment_id());
    let mut clock_buffer = [0u8; exo_abi::CLOCK_INFO_BYTES];
    let clock_buffer = clock_buffer.as_mut_ptr() as u64;
    use Syscall::{ClockInfo, DebugWrite, PowerOff, SetExceptionHandler, Spawn, Wait};
    let checks = [
        Check {
            what: "unknown call number",
            call: 9999,
            arguments: [0; 6],
            expected: Err(Error::NoSuchCall),
        },
        Check {
            what: "call number u64::MAX",
            call: u64::MAX,
            arguments: [0; 6],
            expected: Err(Error::NoSuchCall),
        },
        check(
            "write from the kernel half",
            DebugWrite,
            [KERNEL_HALF, 8, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "write from the kernel image",
            DebugWrite,
            [KERNEL_IMAGE, 8, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "write from the null page",
            DebugWrite,
            [0, 8, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "write from an unmapped page",
            DebugWrite,
            [UNMAPPED, 16, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "write across the stack's end",
            DebugWrite,
            [STACK_TOP - 8, 16, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "write across the user half's end",
            DebugWrite,
            [exo_abi::USER_END - 4, 8, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "write whose range wraps",
            DebugWrite,
            [u64::MAX - 2, 4, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "write over the length limit",
            DebugWrite,
            [valid, 5000, 0, 0],
            Err(Error::TooLong),
        ),
        check(
            "write of a huge length",
            DebugWrite,
            [valid, u64::MAX, 0, 0],
            Err(Error::TooLong),
        ),
        check("empty write", DebugWrite, [valid, 0, 0, 0], Ok(0)),
        check("write from a code page", DebugWrite, [code, 0, 0, 0], Ok(0)),
        check(
            "power off from a non-init environment",
            PowerOff,
            [0, 0, 0, 0],
            Err(Error::PermissionDenied),
        ),
        check(
            "spawn with a kernel name pointer",
            Spawn,
            [KERNEL_HALF, 5, valid, 0],
            Err(Error::BadAddress),
        ),
        check(
            "spawn with an over-long name",
            Spawn,
            [valid, 100, valid, 0],
            Err(Error::TooLong),
        ),
        check(
            "spawn of a missing program",
            Spawn,
            [b"no-such-program".as_ptr() as u64, 15, valid, 0],
            Err(Error::NotFound),
        ),
        check(
            "spawn of a non-executable",
            Spawn,
            [b"boot.cfg".as_ptr() as u64, 8, valid, 0],
            Err(Error::BadExecutable),
        ),
        check(
            "spawn with a non-UTF-8 name",
            Spawn,
            [not_utf8.as_ptr() as u64, 2, valid, 0],
            Err(Error::InvalidArgument),
        ),
        check(
            "spawn with over-long arguments",
            Spawn,
            [valid, 5, valid, 2000],
            Err(Error::TooLong),
        ),
        check(
            "spawn with kernel arguments",
            Spawn,
            [valid, 5, KERNEL_IMAGE, 4],
            Err(Error::BadAddress),
        ),
        check(
            "wait on a forged handle",
            Wait,
            [9999, 0, 0, 0],
            Err(Error::BadCapability),
        ),
        check(
            "wait on its own id as a handle",
            Wait,
            [id, 0, 0, 0],
            Err(Error::BadCapability),
        ),
        check(
            "wait for init through PARENT",
            Wait,
            [exo_abi::capability::PARENT, 0, 0, 0],
            Err(Error::PermissionDenied),
        ),
        check(
            "wait for itself through SELF",
            Wait,
            [exo_abi::capability::SELF, 0, 0, 0],
            Err(Error::PermissionDenied),
        ),
        check(
            "handler entry in the kernel half",
            SetExceptionHandler,
            [KERNEL_IMAGE, UNMAPPED, 4096, 0],
            Err(Error::BadAddress),
        ),
        check(
            "handler stack in the kernel half",
            SetExceptionHandler,
            [code, KERNEL_HALF, 4096, 0],
            Err(Error::BadAddress),
        ),
        check(
            "handler stack that wraps",
            SetExceptionHandler,
            [code, u64::MAX - 8, 4096, 0],
            Err(Error::BadAddress),
        ),
        check(
            "handler stack too small for a frame",
            SetExceptionHandler,
            [code, UNMAPPED, 64, 0],
            Err(Error::InvalidArgument),
        ),
        check(
            "clock facts into the kernel half",
            ClockInfo,
            [KERNEL_HALF, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts into the kernel image",
            ClockInfo,
            [KERNEL_IMAGE, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts into the null page",
            ClockInfo,
            [0, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts into an unmapped page",
            ClockInfo,
            [UNMAPPED, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts across the stack's end",
            ClockInfo,
            [STACK_TOP - 8, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts across the user half's end",
            ClockInfo,
            [exo_abi::USER_END - 8, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts into a wrapping range",
            ClockInfo,
            [u64::MAX - 8, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts into a code page",
            ClockInfo,
            [code, 0, 0, 0],
            Err(Error::BadAddress),
        ),
        check(
            "clock facts into its own buffer",
            ClockInfo,
            [clock_buffer, 0, 0, 0],
            Ok(0),
        ),
        check(
            "removing the handler",
            SetExceptionHandler,
            [0, 0, 0, 0],
            Ok(0),
        ),
    ];
    let mut failures = 0;
    for check in &checks {
        let got = decode_result(syscall::raw(check.call, check.arguments));
        if got != check.expected {
            failures += 1;
            println!(
                "hostile-syscalls: FAILED {}: expected {:?}, got {:?}",
                check.what, check.expected, got
            );
        }
    }
    if failures > 0 {
        println!(
            "hostile-syscalls: {failures} of {} checks failed",
            checks.len()
        );
        return 1;
    }
    println!(
        "hostile-syscalls: all checks passed ({} checks)",
        checks.len()
    );
    0
}
