//! User-level exception handling: the library's handler stack and entry point, dispatch to the
//! library's own fault handling (in processes of the library OS, see `faults`) and then to the
//! app's handler, and the resume that returns to the interrupted code without entering the
//! kernel (see `exo_abi::ExceptionFrame` for the protocol).

use crate::syscall::{self, Kernel};
use core::ops::Range;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use exo_abi::frame_offsets as offsets;
use exo_abi::{Error, ExceptionFrame, stubs};

/// An app's exception handler. It may edit the frame (registers, `rip`); returning `true`
/// resumes from the frame, `false` ends the program with status [`DECLINED_STATUS_BASE`] +
/// vector.
pub type Handler = fn(&mut ExceptionFrame) -> bool;

/// Exit status base of a program whose handler declined an exception (like a shell's 128 +
/// signal).
pub const DECLINED_STATUS_BASE: u32 = 128;

const HANDLER_STACK_BYTES: usize = 16 * 1024;

/// Page-aligned, so that its pages (which a forked child gets copies of at once) hold nothing
/// else: whether the child can write the library's other statics before its handler is
/// registered never depends on where the linker put them.
#[repr(C, align(4096))]
struct HandlerStack([u8; HANDLER_STACK_BYTES]);

static mut HANDLER_STACK: HandlerStack = HandlerStack([0; HANDLER_STACK_BYTES]);
static HANDLER: AtomicUsize = AtomicUsize::new(0);
/// Whether the library resolves faults itself (copy-on-write, stack growth) before the app's
/// handler sees them: in processes of the library OS.
static LIBRARY_FAULTS: AtomicBool = AtomicBool::new(false);

/// Sends this program's exceptions to `handler` (after the library's own fault handling, in a
/// process of the library OS).
pub fn set_handler(handler: Handler) -> Result<(), Error> {
    HANDLER.store(handler as usize, Ordering::Release);
    register()
}

/// Lets the library resolve this process's faults (copy-on-write after fork, stack growth);
/// other exceptions end the process with a message unless the app set a handler.
pub fn install_library_handler() -> Result<(), Error> {
    LIBRARY_FAULTS.store(true, Ordering::Release);
    register()
}

/// In a child just forked: registers the handler it inherited (the parent's handler and flags,
/// already in its memory). Writes nothing, since until the handler is registered a write to a
/// page shared copy-on-write would end the child.
pub fn register_inherited_handler() -> Result<(), Error> {
    register()
}

/// The addresses of the exception stack (a forked child needs its own copy at once).
pub fn stack_range() -> Range<u64> {
    let stack = (&raw const HANDLER_STACK) as u64;
    stack..stack + HANDLER_STACK_BYTES as u64
}

fn register() -> Result<(), Error> {
    let stack = (&raw mut HANDLER_STACK) as u64;
    stubs::set_exception_handler::<Kernel>(
        entry as *const () as u64,
        stack,
        HANDLER_STACK_BYTES as u64,
    )
    .map(|_| ())
}

/// Lets exceptions end this program again.
pub fn clear_handler() {
    let _ = stubs::set_exception_handler::<Kernel>(0, 0, 0);
}

/// The kernel enters here with `rsp` and `rdi` at the frame (16-byte aligned).
#[unsafe(naked)]
unsafe extern "C" fn entry() -> ! {
    core::arch::naked_asm!("call {dispatch}", "ud2", dispatch = sym dispatch)
}

extern "C" fn dispatch(frame: &mut ExceptionFrame) -> ! {
    if LIBRARY_FAULTS.load(Ordering::Acquire) && crate::faults::handle(frame) {
        // SAFETY: `frame` is the kernel's frame on the handler stack, unchanged.
        unsafe { resume(frame) }
    }
    let handler = HANDLER.load(Ordering::Acquire);
    if handler != 0 {
        // SAFETY: HANDLER only ever holds 0 or a `Handler` stored by `set_handler`.
        let handler: Handler = unsafe { core::mem::transmute::<usize, Handler>(handler) };
        if handler(frame) {
            // SAFETY: `frame` is the kernel's frame on the handler stack, edited only by the
            // handler.
            unsafe { resume(frame) }
        }
    }
    let is_reported = handler == 0;
    if !crate::process::is_inside_a_lock() && redirect_to_exit(frame, is_reported) {
        // SAFETY: `frame` now resumes into `exit_after_exception` on the interrupted stack,
        // whose next 16 bytes down were made writable.
        unsafe { resume(frame) }
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
/// which is shared writable and never copy-on-write, so this writes no page that could fault;
/// skipped when the fault came inside a pipe operation (the pipes' lock is this process's).
fn close_pipe_ends_here() {
    if let Some(world) = crate::world::get() {
        let me = syscall::environment_id();
        if world.pipes.lock().holder() != Some(me) {
            world.pipes.forget_environment(me);
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
    let below = registers.rsp.wrapping_sub(16) & !(crate::layout::PAGE_BYTES - 1);
    crate::faults::prepare_for_write(below)
}

/// Ends the program after exception `vector` at `rip` (`address`: the faulting address), with
/// a message when `is_reported` is not 0 (no app handler declined it).
extern "C" fn exit_after_exception(vector: u64, rip: u64, address: u64, is_reported: u64) -> ! {
    if is_reported != 0 {
        crate::println!(
            "{}: killed by {} at {rip:#x} (address {address:#x})",
            crate::process::program_name(),
            exo_abi::exception_name(vector as u8),
        );
    }
    crate::process::exit(DECLINED_STATUS_BASE + vector as u32)
}

/// Resumes the registers of `frame`: pushes the saved flags and return address just below the
/// interrupted stack pointer, reloads every register, switches to that stack, and `popfq; ret`.
///
/// # Safety
/// `frame` must describe a resumable user context of this program, and its stack must have 16
/// writable bytes below `rsp`.
#[unsafe(naked)]
unsafe extern "C" fn resume(frame: *mut ExceptionFrame) -> ! {
    core::arch::naked_asm!(
        "mov rax, [rdi + {rsp}]",
        "sub rax, 16",
        "mov rcx, [rdi + {rflags}]",
        "mov [rax], rcx",
        "mov rcx, [rdi + {rip}]",
        "mov [rax + 8], rcx",
        "mov [rdi + {rsp}], rax",
        "mov rbx, [rdi + {rbx}]",
        "mov rcx, [rdi + {rcx}]",
        "mov rdx, [rdi + {rdx}]",
        "mov rsi, [rdi + {rsi}]",
        "mov rbp, [rdi + {rbp}]",
        "mov r8, [rdi + {r8}]",
        "mov r9, [rdi + {r9}]",
        "mov r10, [rdi + {r10}]",
        "mov r11, [rdi + {r11}]",
        "mov r12, [rdi + {r12}]",
        "mov r13, [rdi + {r13}]",
        "mov r14, [rdi + {r14}]",
        "mov r15, [rdi + {r15}]",
        "mov rax, [rdi + {rax}]",
        "mov rsp, [rdi + {rsp}]",
        "mov rdi, [rdi + {rdi}]",
        "popfq",
        "ret",
        rsp = const offsets::RSP, rflags = const offsets::RFLAGS, rip = const offsets::RIP,
        rax = const offsets::RAX, rbx = const offsets::RBX, rcx = const offsets::RCX,
        rdx = const offsets::RDX, rsi = const offsets::RSI, rdi = const offsets::RDI,
        rbp = const offsets::RBP, r8 = const offsets::R8, r9 = const offsets::R9,
        r10 = const offsets::R10, r11 = const offsets::R11, r12 = const offsets::R12,
        r13 = const offsets::R13, r14 = const offsets::R14, r15 = const offsets::R15,
    )
}
