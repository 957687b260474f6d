//! The exception upcall's machine side: the handler stack, the entry point the kernel jumps to
//! (it calls `exceptions::dispatch`), the resume that returns to the interrupted code without
//! entering the kernel (see `exo_abi::ExceptionFrame` for the protocol), and the slot holding
//! the app's handler.

use crate::exceptions::{self, Handler};
use crate::syscall::Kernel;
use core::ops::Range;
use core::sync::atomic::{AtomicUsize, Ordering};
use exo_abi::frame_offsets as offsets;
use exo_abi::{Error, ExceptionFrame, stubs};

/// Two pages: the deepest any test program's handling went (the frame the kernel writes, the
/// library's fault handling, an app's handler that prints) was 1.5 KiB in a debug build and
/// under 0.5 KiB in a release one. Every spawn binds these pages and every fork copies them.
const HANDLER_STACK_BYTES: usize = 8 * 1024;

/// Page-aligned, so that its pages (which a forked child gets copies of at once) hold nothing
/// else: whether the child can write the library's other statics before its handler is
/// registered never depends on where the linker put them.
#[repr(C, align(4096))]
struct HandlerStack([u8; HANDLER_STACK_BYTES]);

/// Used only as the stack the kernel delivers exceptions on (the frame at its top, then the
/// handler's calls); no code reads or writes it by name.
static mut HANDLER_STACK: HandlerStack = HandlerStack([0; HANDLER_STACK_BYTES]);

/// The app's handler: 0 for none, else a [`Handler`] (stored by [`set_app_handler`] only).
static APP_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// The addresses of the exception stack (a forked child needs its own copy at once).
pub(crate) fn stack_range() -> Range<u64> {
    let stack = (&raw const HANDLER_STACK) as u64;
    stack..stack + HANDLER_STACK_BYTES as u64
}

/// Asks the kernel to deliver this program's exceptions to [`entry`] on the handler stack.
/// Writes nothing (a forked child calls this before it may write).
pub(crate) fn register() -> Result<(), Error> {
    stubs::set_exception_handler::<Kernel>(
        entry as *const () as u64,
        stack_range().start,
        HANDLER_STACK_BYTES as u64,
    )
    .map(|_| ())
}

/// Lets exceptions end this program again.
pub(crate) fn unregister() {
    let _ = stubs::set_exception_handler::<Kernel>(0, 0, 0);
}

/// Makes `handler` the app's exception handler.
pub(crate) fn set_app_handler(handler: Handler) {
    APP_HANDLER.store(handler as usize, Ordering::Release);
}

/// The app's exception handler, if it set one.
pub(crate) fn app_handler() -> Option<Handler> {
    match APP_HANDLER.load(Ordering::Acquire) {
        0 => None,
        // SAFETY: APP_HANDLER only ever holds 0 or a `Handler` stored by `set_app_handler`.
        handler => Some(unsafe { core::mem::transmute::<usize, Handler>(handler) }),
    }
}

/// The kernel enters here with `rsp` and `rdi` at the frame (16-byte aligned).
#[unsafe(naked)]
unsafe extern "C" fn entry() -> ! {
    core::arch::naked_asm!("call {enter}", "ud2", enter = sym enter)
}

/// Called by [`entry`] only, with the kernel's frame on the handler stack.
extern "C" fn enter(frame: &mut ExceptionFrame) -> ! {
    exceptions::dispatch(frame);
    // SAFETY: `frame` is the kernel's frame of this program's interrupted context, edited only
    // by `dispatch`: the library's own paths resume only after making the bytes a resume
    // writes below `rsp` writable (`faults::handle`, `exceptions::redirect_to_exit`); an app's
    // handler that moves `rsp` or `rip` steers the app's own control flow and keeps that room,
    // as `Handler` says.
    unsafe { resume(frame) }
}

/// Resumes the registers of `frame`: pushes the saved `rdi`, flags and return address just below
/// the interrupted stack pointer, reloads every other register, switches to that stack, and
/// `pop rdi; popfq; ret`. Nothing is read from `frame` once the stack is switched: an event
/// delivered there (the stack pointer is no longer in the handler stack) writes its frame over
/// this one, and the interrupted resume goes on from its own stack.
///
/// # Safety
/// `frame` must describe a resumable user context of this program, and its stack must have
/// [`RESUME_STACK_BYTES`](exceptions::RESUME_STACK_BYTES) writable bytes below `rsp`.
#[unsafe(naked)]
unsafe extern "C" fn resume(frame: *mut ExceptionFrame) -> ! {
    core::arch::naked_asm!(
        "mov rax, [rdi + {rsp}]",
        "sub rax, {resume_bytes}",
        "mov rcx, [rdi + {rdi}]",
        "mov [rax], rcx",
        "mov rcx, [rdi + {rflags}]",
        "mov [rax + 8], rcx",
        "mov rcx, [rdi + {rip}]",
        "mov [rax + 16], rcx",
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
        "pop rdi",
        "popfq",
        "ret",
        resume_bytes = const exceptions::RESUME_STACK_BYTES,
        rsp = const offsets::RSP, rflags = const offsets::RFLAGS, rip = const offsets::RIP,
        rax = const offsets::RAX, rbx = const offsets::RBX, rcx = const offsets::RCX,
        rdx = const offsets::RDX, rsi = const offsets::RSI, rdi = const offsets::RDI,
        rbp = const offsets::RBP, r8 = const offsets::R8, r9 = const offsets::R9,
        r10 = const offsets::R10, r11 = const offsets::R11, r12 = const offsets::R12,
        r13 = const offsets::R13, r14 = const offsets::R14, r15 = const offsets::R15,
    )
}
