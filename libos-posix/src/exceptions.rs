//! User-level exception handling: dispatch to the library's own fault handling (in processes
//! of the library OS, see `faults`) and then to the app's handler, and the way out when neither
//! resolves the exception. The handler stack, the entry point and the resume are the runtime's
//! (`runtime::exception_entry`).

use crate::runtime::exception_entry;
use crate::syscall;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering};
use exo_abi::{Error, ExceptionFrame};

/// An app's exception handler. It may edit the frame (registers, `rip`); returning `true`
/// resumes from the frame, `false` ends the program with status [`DECLINED_STATUS_BASE`] +
/// vector. Resuming pushes 24 bytes just below the frame's `rsp`: a handler that moves `rsp`
/// must leave that memory writable.
pub type Handler = fn(&mut ExceptionFrame) -> bool;

/// Bytes a resume writes just below the interrupted stack pointer (`rdi`, the flags and the
/// return address; `runtime::exception_entry`).
pub(crate) const RESUME_STACK_BYTES: u64 = 24;

/// Exit status base of a program whose handler declined an exception (like a shell's 128 +
/// signal).
pub const DECLINED_STATUS_BASE: u32 = 128;

/// Whether the library resolves faults itself (copy-on-write, stack growth) before the app's
/// handler sees them: in processes of the library OS.
static LIBRARY_FAULTS: AtomicBool = AtomicBool::new(false);

/// Sends this program's exceptions to `handler` (after the library's own fault handling, in a
/// process of the library OS).
pub fn set_handler(handler: Handler) -> Result<(), Error> {
    exception_entry::set_app_handler(handler);
    exception_entry::register()
}

/// Lets the library resolve this process's faults (copy-on-write after fork, stack growth);
/// other exceptions end the process with a message unless the app set a handler.
pub fn install_library_handler() -> Result<(), Error> {
    LIBRARY_FAULTS.store(true, Ordering::Release);
    exception_entry::register()
}

/// In a child just forked: registers the handler it inherited (the parent's handler and flags,
/// already in its memory). Writes nothing, since until the handler is registered a write to a
/// page shared copy-on-write would end the child.
pub fn register_inherited_handler() -> Result<(), Error> {
    exception_entry::register()
}

/// The addresses of the exception stack (a forked child needs its own copy at once).
pub fn stack_range() -> Range<u64> {
    exception_entry::stack_range()
}

/// Lets exceptions end this program again.
pub fn clear_handler() {
    exception_entry::unregister();
}

/// Handles the exception `frame` describes, on the exception stack: returns when the program
/// is to resume from `frame` (the runtime then resumes it), or ends the program.
pub(crate) fn dispatch(frame: &mut ExceptionFrame) {
    if LIBRARY_FAULTS.load(Ordering::Acquire) && crate::faults::handle(frame) {
        return;
    }
    let handler = exception_entry::app_handler();
    if let Some(handler) = handler
        && handler(frame)
    {
        return;
    }
    let is_reported = handler.is_none();
    // Resumes into `exit_after_exception` on the interrupted stack, whose next 24 bytes down
    // were made writable.
    if !crate::process::is_inside_a_lock() && redirect_to_exit(frame, is_reported) {
        return;
    }
    // Ending the usual way would wait for a lock this process holds, or there is no stack left
    // to do it on: say so on the kernel console and leave; the parent's wait clears the rest of
    // what it held in the world.
    close_pipe_ends_here();
    crate::console::print_to_kernel_console(format_args!(
        "libos: env {}: killed by {} at {:#x} (address {:#x}) inside the library\n",
        syscall::environment_id(),
        exo_abi::exception_name(frame.vector as u8),
        frame.registers.rip,
        frame.fault_address,
    ));
    syscall::exit(DECLINED_STATUS_BASE + frame.vector as u32)
}

/// Closes every pipe end this process holds, from the exception stack, so that readers see end
/// of file as it dies rather than when its parent reaps it. The ends are counted in the world,
/// which is shared writable and never copy-on-write, or by the file server, so this writes no
/// page that could fault; skipped when the fault came inside a pipe operation (the pipes' lock
/// is this process's) or while connecting to the file server.
fn close_pipe_ends_here() {
    if let Some(world) = crate::world::get() {
        let me = syscall::environment_id();
        if world.pipes.lock().holder() != Some(me) && !crate::file_client::is_connecting() {
            crate::pipes::forget_environment(me);
        }
    }
}

/// Bytes below a stack pointer that the interrupted code may still use (the System V red zone).
const RED_ZONE_BYTES: u64 = 128;

/// Edits `frame` to resume as a call of `exit_after_exception` on the interrupted stack. The
/// program ends there rather than here because this handler may not fault, and ending (printing,
/// closing descriptors) writes memory that a forked process shares copy-on-write. False when
/// the interrupted stack cannot take the call.
fn redirect_to_exit(frame: &mut ExceptionFrame, is_reported: bool) -> bool {
    let registers = &mut frame.registers;
    let aligned = registers.rsp.wrapping_sub(RED_ZONE_BYTES) & !15;
    // As if called: the return address slot leaves the stack 8 bytes below 16-byte alignment.
    registers.rsp = aligned.wrapping_sub(8);
    registers.rdi = frame.vector;
    registers.rsi = registers.rip;
    registers.rdx = frame.fault_address;
    registers.rcx = u64::from(is_reported);
    registers.rip = exit_after_exception as *const () as u64;
    registers.rflags &= !exo_abi::DIRECTION_FLAG;
    let below = registers.rsp.wrapping_sub(RESUME_STACK_BYTES) & !(crate::layout::PAGE_BYTES - 1);
    crate::faults::prepare_for_write(below)
}

/// Ends the program after exception `vector` at `rip` (`address`: the faulting address), with
/// a message on standard error when `is_reported` is not 0 (no app handler declined it): the one
/// report of this end, as a Unix shell's `Segmentation fault` line is (the shell that waits sees
/// only the exit status).
extern "C" fn exit_after_exception(vector: u64, rip: u64, address: u64, is_reported: u64) -> ! {
    if is_reported != 0 {
        crate::eprintln!(
            "{}: killed by {} at {rip:#x} (address {address:#x})",
            crate::process::program_name(),
            exo_abi::exception_name(vector as u8),
        );
    }
    crate::process::exit(DECLINED_STATUS_BASE + vector as u32)
}
