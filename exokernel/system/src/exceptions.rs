//! Delivering a user exception or a kernel event to the environment's own handler (an upcall):
//! the kernel writes an `ExceptionFrame` on the registered handler stack and resumes the
//! environment at the handler entry. The library OS resumes the interrupted code itself.

use crate::environment::ENTRY_RFLAGS;
use crate::kernel::{Kernel, Machine};
use crate::platform::Platform;
use crate::scheduler::Event;
use crate::trap_frame::TrapFrame;
use crate::user_memory::write_exception_frame;
use exo_abi::upcall::Upcalls;
use exo_abi::{ExceptionFrame, ExitReason, UserRegisters, exception_name};

/// General protection fault (Intel SDM vol. 3A, 6.15).
pub const GENERAL_PROTECTION_VECTOR: u8 = 13;
const PAGE_FAULT_VECTOR: u8 = 14;

/// Why an exception could not be delivered, ending the environment.
#[derive(Clone, Copy, Debug)]
pub enum Undeliverable {
    NoHandler,
    NotEnabled,
    FaultInsideHandler,
    HandlerStackNotWritable,
}

impl Undeliverable {
    /// A short explanation for the kernel's report.
    pub fn describe(self) -> &'static str {
        match self {
            Undeliverable::NoHandler => "no exception handler",
            Undeliverable::NotEnabled => "that upcall is not enabled",
            Undeliverable::FaultInsideHandler => "fault inside its exception handler",
            Undeliverable::HandlerStackNotWritable => "its handler stack is not writable",
        }
    }
}

/// Hands exception `vector`, raised by the running environment with registers `frame`, to its
/// handler: on success `frame` now enters the handler.
pub fn deliver<P: Platform>(
    kernel: &mut Kernel<P>,
    frame: &mut TrapFrame,
    vector: u8,
) -> Result<(), Undeliverable> {
    let fault_address = if vector == PAGE_FAULT_VECTOR {
        P::faulting_address()
    } else {
        0
    };
    let error_code = frame.error_code;
    enter_handler(
        kernel.current_machine(),
        frame,
        u64::from(vector),
        error_code,
        fault_address,
    )
}

/// Hands kernel event `event` (an `exo_abi::upcall` number) with its two arguments to the
/// handler of the environment whose registers are in `frame` and whose address space is
/// active, if it enabled that event. On success `frame` now enters the handler.
pub fn deliver_event<P: Platform>(
    machine: &Machine<P>,
    frame: &mut TrapFrame,
    event: u64,
    first_argument: u64,
    second_argument: u64,
) -> Result<(), Undeliverable> {
    if !machine.upcalls_enabled.intersects(Upcalls::of_event(event)) {
        return Err(Undeliverable::NotEnabled);
    }
    enter_handler(machine, frame, event, first_argument, second_argument)
}

/// Writes the frame on the handler stack and points `frame` at the handler entry.
fn enter_handler<P: Platform>(
    machine: &Machine<P>,
    frame: &mut TrapFrame,
    vector: u64,
    error_code: u64,
    fault_address: u64,
) -> Result<(), Undeliverable> {
    let handler = machine.exception_handler.ok_or(Undeliverable::NoHandler)?;
    if handler.is_on_handler_stack(frame.rsp) {
        return Err(Undeliverable::FaultInsideHandler);
    }
    let address = handler.frame_address();
    write_exception_frame::<P>(&machine.address_space, address, || ExceptionFrame {
        vector,
        error_code,
        fault_address,
        registers: user_registers(frame),
    })
    .map_err(|_| Undeliverable::HandlerStackNotWritable)?;
    frame.rip = handler.entry();
    frame.rsp = address;
    frame.rdi = address;
    // The interrupted flags are in the frame; the handler starts clean (a backward `rep movs`
    // interrupted by a fault would otherwise make the handler's copies run backwards).
    frame.rflags = ENTRY_RFLAGS;
    Ok(())
}

#[inline]
fn user_registers(frame: &TrapFrame) -> UserRegisters {
    UserRegisters {
        rax: frame.rax,
        rbx: frame.rbx,
        rcx: frame.rcx,
        rdx: frame.rdx,
        rsi: frame.rsi,
        rdi: frame.rdi,
        rbp: frame.rbp,
        r8: frame.r8,
        r9: frame.r9,
        r10: frame.r10,
        r11: frame.r11,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rip: frame.rip,
        rflags: frame.rflags,
        rsp: frame.rsp,
    }
}

/// Gives exception `vector` of the running environment, whose registers are in `frame`, to its
/// handler, or ends the environment when it cannot; `frame` then holds what runs next.
pub fn handle_user_exception<P: Platform>(
    kernel: &mut Kernel<P>,
    frame: &mut TrapFrame,
    vector: u8,
) {
    let Err(undeliverable) = deliver(kernel, frame, vector) else {
        return;
    };
    let current = kernel
        .current
        .expect("a user trap comes from the running environment");
    let name = kernel
        .environments
        .get(current)
        .map_or("?", |environment| environment.name.as_str());
    log_fault_line::<P>(current.0, name, vector, frame, undeliverable.describe());
    kernel.end(current, ExitReason::Faulted(vector));
    kernel.reschedule(frame, Event::Ended);
}

/// Logs, at info, the fault that ends environment `id` and why no handler of its took it.
fn log_fault_line<P: Platform>(
    id: u32,
    name: &str,
    vector: u8,
    frame: &TrapFrame,
    why_not_delivered: &str,
) {
    let name_of_fault = exception_name(vector);
    let (rip, error_code) = (frame.rip, frame.error_code);
    if vector == PAGE_FAULT_VECTOR {
        let address = P::faulting_address();
        log::info!(
            "exokernel: env {id} ({name}) {name_of_fault} at rip {rip:#x}: address {address:#x}, error code {error_code:#x}; {why_not_delivered}"
        );
    } else {
        log::info!(
            "exokernel: env {id} ({name}) {name_of_fault} at rip {rip:#x}, error code {error_code:#x}; {why_not_delivered}"
        );
    }
}
