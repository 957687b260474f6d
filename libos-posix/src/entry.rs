//! Program entry: the set-up of the library (startup block, descriptors, world, fault
//! handling) before the app's main function runs, the arguments it gets, and the panic
//! handler. The `_start` symbol itself is the runtime's (`runtime::program_entry`).

use crate::{descriptors, exceptions, process, startup, world};
use posix_core::args::Args;

/// How the program was started, as the registers at entry say (read by the runtime's
/// `_start`).
pub(crate) enum Origin {
    /// By a parent of this library, which left this startup block.
    Parent(&'static startup::StartupBlock),
    /// By the kernel from the boot ramdisk, with this argument string.
    Kernel(&'static str),
}

/// Sets the library up for a program started as `origin` says; returns its arguments.
pub(crate) fn set_up(origin: Origin) -> Args {
    process::learn_pid();
    match origin {
        Origin::Parent(block) => start_as_child(block),
        Origin::Kernel(text) => start_from_kernel(text),
    }
}

/// A program this library started: it joins the world and takes what its parent left it.
/// The fault handler comes first: the program starts with one page of stack, which the
/// handler grows.
fn start_as_child(block: &'static startup::StartupBlock) -> Args {
    if exceptions::install_library_handler().is_err() {
        crate::syscall::exit(exceptions::DECLINED_STATUS_BASE);
    }
    descriptors::install(&block.descriptors);
    let _ = world::adopt();
    let arguments = block.arguments().trim_end_matches('\0');
    let (name, rest) = arguments.split_once('\0').unwrap_or((arguments, ""));
    process::install(block.session, block.directory(), name);
    Args::from_nul_separated(rest)
}

/// A program the kernel started from the boot ramdisk, with the terminal on every descriptor.
fn start_from_kernel(text: &'static str) -> Args {
    descriptors::install_terminal();
    Args::from_command_line(text)
}

/// Exit status of a program that panicked.
pub const PANIC_STATUS: u32 = 101;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::eprintln!("panic: {info}");
    process::exit(PANIC_STATUS)
}
