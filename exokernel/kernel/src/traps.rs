//! What the kernel does with each interrupt and exception: the timer preempts (unless a device
//! wait borrowed it), the disk's interrupt only ends a halt, the network's takes the frames
//! that arrived while an environment ran, a user exception ends that environment, and a kernel
//! exception ends the machine with a register dump.

use crate::arch::apic::{
    self, DISK_VECTOR, LEGACY_PIC_BASE, NET_VECTOR, SPURIOUS_VECTOR, TIMER_VECTOR,
};
use crate::arch::cpu::{exit_qemu, faulting_address};
use crate::arch::device_wait;
use crate::arch::trap::TrapFrame;
use crate::{console, kernel, kprintln};
use exo_abi::exception_name;
use exo_core::guest_status::KERNEL_FAULT;
use exo_system::exceptions::handle_user_exception;
use exo_system::scheduler::{self, Event};

const NMI_VECTOR: u8 = 2;
const DOUBLE_FAULT_VECTOR: u8 = 8;
const PAGE_FAULT_VECTOR: u8 = 14;
const MACHINE_CHECK_VECTOR: u8 = 18;
const LAST_EXCEPTION_VECTOR: u8 = 31;

/// Called by the common trap path with the saved frame; returning resumes whatever the frame
/// then holds.
pub extern "C" fn trap_handler(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    match vector {
        TIMER_VECTOR => {
            apic::end_of_interrupt();
            if frame.is_from_user() {
                kernel::with_switching(|kernel| {
                    kernel.counters.entries += 1;
                    kernel.reschedule(frame, Event::TimerExpired);
                });
            } else if !device_wait::is_waiting() {
                scheduler::note_timer_while_idle();
            }
        }
        // The disk's waiting loop looks at its queue itself; one that arrives after the loop
        // saw the completion (in user mode, or while idle) needs nothing more.
        DISK_VECTOR => apic::end_of_interrupt(),
        // The frames go to their filters now, and whoever they wake runs when the slice rules
        // say; the running environment keeps the CPU. In kernel mode the kernel is halted: the
        // idle loop takes them when the halt ends, and a device wait leaves them to the next
        // scheduling point (the device raises nothing more until they are taken).
        NET_VECTOR => {
            apic::end_of_interrupt();
            if frame.is_from_user() {
                kernel::with(|kernel| {
                    kernel.counters.entries += 1;
                    kernel.receive_packets_on_interrupt();
                });
            }
        }
        SPURIOUS_VECTOR => {}
        // Not caused by the environment that happened to run: note it and resume.
        NMI_VECTOR if frame.is_from_user() => log::warn!("non-maskable interrupt in user mode"),
        DOUBLE_FAULT_VECTOR | MACHINE_CHECK_VECTOR => kernel_fault(frame),
        _ if vector == LEGACY_PIC_BASE + 7 || vector == LEGACY_PIC_BASE + 15 => {}
        0..=LAST_EXCEPTION_VECTOR if frame.is_from_user() => kernel::with_switching(|kernel| {
            kernel.counters.entries += 1;
            handle_user_exception(kernel, frame, vector);
        }),
        _ => kernel_fault(frame),
    }
}

/// An exception in the kernel itself: print everything that helps, then end the machine.
fn kernel_fault(frame: &TrapFrame) -> ! {
    console::break_lock();
    let vector = frame.vector as u8;
    kprintln!(
        "KERNEL FAULT: {} (vector {vector}), error code {:#x}",
        exception_name(vector),
        frame.error_code
    );
    if vector == PAGE_FAULT_VECTOR {
        kprintln!("  faulting address (cr2) {:#018x}", faulting_address());
    }
    kprintln!(
        "  rip {:#018x}  cs {:#x}  rflags {:#x}  rsp {:#018x}  ss {:#x}",
        frame.rip,
        frame.cs,
        frame.rflags,
        frame.rsp,
        frame.ss
    );
    kprintln!(
        "  rax {:#018x}  rbx {:#018x}  rcx {:#018x}  rdx {:#018x}",
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx
    );
    kprintln!(
        "  rsi {:#018x}  rdi {:#018x}  rbp {:#018x}  r8  {:#018x}",
        frame.rsi,
        frame.rdi,
        frame.rbp,
        frame.r8
    );
    kprintln!(
        "  r9  {:#018x}  r10 {:#018x}  r11 {:#018x}  r12 {:#018x}",
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12
    );
    kprintln!(
        "  r13 {:#018x}  r14 {:#018x}  r15 {:#018x}",
        frame.r13,
        frame.r14,
        frame.r15
    );
    exit_qemu(KERNEL_FAULT)
}
