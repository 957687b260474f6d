//! The program's first instructions: the `_start` symbol the kernel jumps to, the reading of
//! what the starter left in `rdi` and `rsi`, and the call of the app's main function.

use crate::Args;
use crate::entry::{self, Origin};
use crate::layout::STARTUP_ADDRESS;
use crate::startup::{self, StartupBlock};

/// Names the app's main function, `fn(Args) -> i32`; its result becomes the exit status.
#[macro_export]
macro_rules! main {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __libos_main(args: $crate::Args) -> i32 {
            $main(args)
        }
    };
}

unsafe extern "Rust" {
    /// Defined by [`main!`](crate::main) in the app.
    fn __libos_main(args: Args) -> i32;
}

/// The kernel starts every environment here, with the argument string in `rdi`/`rsi` (or, for
/// a child of this library, the startup block's address and tag) and a 16-byte aligned stack;
/// the call below keeps the Rust ABI's alignment.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!("xor ebp, ebp", "call {start}", "ud2", start = sym start)
}

/// Called by `_start` only, so `rdi` and `rsi` are the starter's.
extern "C" fn start(rdi: u64, rsi: u64) -> ! {
    let origin = if startup::is_block_at_entry(rdi, rsi) {
        // SAFETY: the registers at entry name the startup block: a parent of this library bound
        // it read-only at STARTUP_ADDRESS (a page aligned for it) before starting this
        // environment, and it stays bound, unchanged, for the program's life.
        Origin::Parent(unsafe { &*(STARTUP_ADDRESS as *const StartupBlock) })
    } else {
        Origin::Kernel(kernel_arguments(rdi, rsi))
    };
    let args = entry::set_up(origin);
    // SAFETY: `__libos_main` is defined by the app through `main!` with this signature.
    let status = unsafe { __libos_main(args) };
    crate::process::exit(status as u32)
}

/// The argument string the starter left for a program started the kernel's way: `len` bytes
/// at `address`.
fn kernel_arguments(address: u64, len: u64) -> &'static str {
    if len > exo_abi::ARGUMENTS_MAX_BYTES {
        return "";
    }
    // SAFETY: called with the registers at entry of a program started the kernel's way (not a
    // startup block): the kernel placed `len` bytes at `address` at the top of this
    // environment's stack, above the stack pointer, or `bare::spawn` bound them read-only at
    // STARTUP_ADDRESS; either way they stay there, untouched, for the program's life.
    let bytes = unsafe { core::slice::from_raw_parts(address as *const u8, len as usize) };
    core::str::from_utf8(bytes).unwrap_or("")
}
