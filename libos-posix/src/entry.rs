//! Program entry: the `_start` symbol the kernel jumps to, the hand-over to the app's main
//! function, and the panic handler.

use crate::syscall;

/// The argument string the environment was started with (arguments separated by spaces).
#[derive(Clone, Copy, Debug)]
pub struct Args {
    text: &'static str,
}

impl Args {
    /// The whole argument string.
    pub fn as_str(&self) -> &'static str {
        self.text
    }

    /// The arguments one by one.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> {
        self.text.split_ascii_whitespace()
    }
}

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
    /// Defined by [`main!`] in the app.
    fn __libos_main(args: Args) -> i32;
}

/// The kernel starts every environment here with the argument string in `rdi`/`rsi` and a
/// 16-byte aligned stack; the call below keeps the Rust ABI's alignment.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!("xor ebp, ebp", "call {start}", "ud2", start = sym start)
}

extern "C" fn start(args_address: *const u8, args_len: usize) -> ! {
    // SAFETY: the kernel placed `args_len` bytes of UTF-8 at `args_address` at the top of this
    // environment's stack, above the stack pointer, where they stay untouched for its life.
    let bytes = unsafe { core::slice::from_raw_parts(args_address, args_len) };
    let text = core::str::from_utf8(bytes).unwrap_or("");
    // SAFETY: `__libos_main` is defined by the app through `main!` with this signature.
    let status = unsafe { __libos_main(Args { text }) };
    syscall::exit(status as u32)
}

/// Exit status of a program that panicked.
pub const PANIC_STATUS: u32 = 101;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::println!("panic: {info}");
    syscall::exit(PANIC_STATUS)
}
