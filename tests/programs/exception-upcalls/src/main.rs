//! User-level exceptions: a breakpoint, an invalid opcode and a faulting load are each handed to
//! this program's own handler, which fixes things up and resumes the interrupted code with every
//! other register intact. The handler always runs with the direction flag clear, as the calling
//! convention requires, even when the interrupted code had set it. Exits 0 when every check
//! passed.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use exo_abi::{DIRECTION_FLAG, ExceptionFrame};
use libos_posix::{exceptions, println};

libos_posix::main!(main);

const BREAKPOINT: u64 = 3;
const INVALID_OPCODE: u64 = 6;
const PAGE_FAULT: u64 = 14;
/// A user-half address where nothing is mapped.
const UNMAPPED: u64 = 0x6000_0000_0000;
/// What the handler pretends the faulting load read.
const EMULATED_VALUE: u64 = 0x5eed;
/// Length of `mov rax, [rcx]` (48 8b 01) and of `ud2` (0f 0b).
const LOAD_BYTES: u64 = 3;
const UD2_BYTES: u64 = 2;

static DELIVERED: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];
static LAST_FAULT_ADDRESS: AtomicU64 = AtomicU64::new(0);
/// Handler runs that found the direction flag set on entry.
static HANDLER_RUNS_WITH_DIRECTION_FLAG: AtomicU64 = AtomicU64::new(0);

fn handle(frame: &mut ExceptionFrame) -> bool {
    if current_rflags() & DIRECTION_FLAG != 0 {
        HANDLER_RUNS_WITH_DIRECTION_FLAG.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(count) = DELIVERED.get(frame.vector as usize) {
        count.fetch_add(1, Ordering::Relaxed);
    }
    match frame.vector {
        BREAKPOINT => true,
        INVALID_OPCODE => {
            frame.registers.rip += UD2_BYTES;
            true
        }
        PAGE_FAULT => {
            LAST_FAULT_ADDRESS.store(frame.fault_address, Ordering::Relaxed);
            frame.registers.rax = EMULATED_VALUE;
            frame.registers.rip += LOAD_BYTES;
            true
        }
        _ => false,
    }
}

/// Runs `trigger` with sentinel values in the callee-saved registers and returns them after the
/// exception round trip, with `rax`.
fn round_trip(trigger: fn() -> u64) -> ([u64; 4], u64) {
    let sentinels: [u64; 4] = [0x1111, 0x2222, 0x3333, 0x4444];
    let mut after = [0u64; 4];
    let value = trigger_with_sentinels(trigger, &sentinels, &mut after);
    (after, value)
}

#[inline(never)]
fn trigger_with_sentinels(trigger: fn() -> u64, sentinels: &[u64; 4], after: &mut [u64; 4]) -> u64 {
    let value: u64;
    // SAFETY: saves and restores r12-r15 around the call; `trigger` follows the C ABI.
    unsafe {
        core::arch::asm!(
            "push r12", "push r13", "push r14", "push r15",
            "mov r12, [{s}]", "mov r13, [{s} + 8]", "mov r14, [{s} + 16]", "mov r15, [{s} + 24]",
            "call {trigger}",
            "mov [{a}], r12", "mov [{a} + 8], r13", "mov [{a} + 16], r14", "mov [{a} + 24], r15",
            "pop r15", "pop r14", "pop r13", "pop r12",
            s = in(reg) sentinels.as_ptr(),
            a = in(reg) after.as_mut_ptr(),
            trigger = in(reg) trigger,
            out("rax") value,
            clobber_abi("C"),
        );
    }
    value
}

fn breakpoint() -> u64 {
    // SAFETY: `int3` traps to the handler, which resumes right after it.
    unsafe { core::arch::asm!("int3", "mov eax, 7", out("rax") _) };
    7
}

fn current_rflags() -> u64 {
    let flags: u64;
    // SAFETY: pushes and pops one word of this function's stack.
    unsafe { core::arch::asm!("pushfq", "pop {}", out(reg) flags) };
    flags
}

/// A breakpoint taken with the direction flag set, as in the middle of a backward copy; returns
/// the flag as the resumed code finds it (it must be set still).
fn breakpoint_going_downwards() -> u64 {
    let flags: u64;
    // SAFETY: the flag is set only until the `cld`, and no call happens in between; `int3`
    // traps to the handler, which resumes right after it.
    unsafe { core::arch::asm!("std", "int3", "pushfq", "pop {}", "cld", out(reg) flags) };
    flags & DIRECTION_FLAG
}

fn invalid_opcode() -> u64 {
    // SAFETY: `ud2` faults; the handler skips it.
    unsafe { core::arch::asm!("ud2") };
    6
}

fn faulting_load() -> u64 {
    let value: u64;
    // SAFETY: the load faults (nothing is mapped there); the handler emulates it.
    unsafe { core::arch::asm!("mov rax, [rcx]", in("rcx") UNMAPPED, out("rax") value) };
    value
}

/// A case: its name, the function that raises the exception, the vector, the value it returns.
type Case = (&'static str, fn() -> u64, u64, u64);

fn main(_args: libos_posix::Args) -> i32 {
    if let Err(error) = exceptions::set_handler(handle) {
        println!("exception-upcalls: cannot register: {}", error.describe());
        return 1;
    }
    let expected_sentinels = [0x1111, 0x2222, 0x3333, 0x4444];
    let cases: [Case; 4] = [
        ("breakpoint", breakpoint, BREAKPOINT, 7),
        (
            "breakpoint with the direction flag set",
            breakpoint_going_downwards,
            BREAKPOINT,
            DIRECTION_FLAG,
        ),
        ("invalid opcode", invalid_opcode, INVALID_OPCODE, 6),
        ("faulting load", faulting_load, PAGE_FAULT, EMULATED_VALUE),
    ];
    let mut failures = 0;
    for (name, trigger, vector, expected) in cases {
        let before = DELIVERED[vector as usize].load(Ordering::Relaxed);
        let (sentinels, value) = round_trip(trigger);
        let delivered = DELIVERED[vector as usize].load(Ordering::Relaxed) - before;
        if delivered != 1 || value != expected || sentinels != expected_sentinels {
            failures += 1;
            println!(
                "exception-upcalls: FAILED {name}: delivered {delivered}, value {value:#x}, registers {sentinels:x?}"
            );
        } else {
            println!("exception-upcalls: {name} handled and resumed");
        }
    }
    if LAST_FAULT_ADDRESS.load(Ordering::Relaxed) != UNMAPPED {
        failures += 1;
        println!("exception-upcalls: FAILED the page fault reported the wrong address");
    }
    let downwards_runs = HANDLER_RUNS_WITH_DIRECTION_FLAG.load(Ordering::Relaxed);
    if downwards_runs > 0 {
        failures += 1;
        println!(
            "exception-upcalls: FAILED the handler ran {downwards_runs} times with the direction flag set"
        );
    }
    if failures > 0 {
        return 1;
    }
    println!("exception-upcalls: all checks passed");
    0
}
