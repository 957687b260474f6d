//! Program entry: the `_start` symbol the kernel jumps to, the set-up of the library (startup
//! block, descriptors, world, fault handling), the hand-over to the app's main function, and
//! the panic handler.

use crate::{descriptors, exceptions, process, startup, world};

/// The arguments a program was started with (not counting its name).
#[derive(Clone, Copy, Debug)]
pub struct Args {
    text: &'static str,
    separator: char,
}

impl Args {
    /// The arguments as one string: separated by spaces for a program the kernel started, by
    /// NUL bytes for one this library started (where an argument may hold spaces).
    pub fn as_str(&self) -> &'static str {
        self.text
    }

    /// The arguments one by one.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> {
        let (text, separator) = (self.text, self.separator);
        text.split(move |character: char| {
            character == separator || (separator == ' ' && character.is_ascii_whitespace())
        })
        .filter(move |argument| !argument.is_empty() || (separator != ' ' && !text.is_empty()))
    }

    /// The operands of a command line in the usual form: option letters after a `-`, alone or
    /// grouped (`-rf`), until `--` or the first operand (`-` alone is an operand). Each option
    /// letter goes to `accept`, which says whether the program knows it; the first unknown
    /// letter is the error.
    pub fn options_and_operands(
        &self,
        mut accept: impl FnMut(char) -> bool,
    ) -> Result<alloc::vec::Vec<&'static str>, char> {
        let mut arguments = self.iter().peekable();
        while let Some(flags) =
            arguments.next_if(|argument| argument.starts_with('-') && *argument != "-")
        {
            if flags == "--" {
                break;
            }
            if let Some(unknown) = flags[1..].chars().find(|&flag| !accept(flag)) {
                return Err(unknown);
            }
        }
        Ok(arguments.collect())
    }

    /// The operands, for a program that takes no options (see
    /// [`options_and_operands`](Args::options_and_operands)).
    pub fn operands(&self) -> Result<alloc::vec::Vec<&'static str>, char> {
        self.options_and_operands(|_| false)
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
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

/// The kernel starts every environment here, with the argument string in `rdi`/`rsi` (or, for
/// a child of this library, the startup block's address and tag) and a 16-byte aligned stack;
/// the call below keeps the Rust ABI's alignment.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!("xor ebp, ebp", "call {start}", "ud2", start = sym start)
}

extern "C" fn start(rdi: u64, rsi: u64) -> ! {
    let args = match startup::block(rdi, rsi) {
        Some(block) => start_as_child(block),
        None => start_from_kernel(rdi, rsi),
    };
    // SAFETY: `__libos_main` is defined by the app through `main!` with this signature.
    let status = unsafe { __libos_main(args) };
    process::exit(status as u32)
}

/// A program this library started: it joins the world and takes what its parent left it.
fn start_as_child(block: &'static startup::StartupBlock) -> Args {
    descriptors::install(&block.descriptors);
    let _ = world::adopt();
    if exceptions::install_library_handler().is_err() {
        crate::syscall::exit(exceptions::DECLINED_STATUS_BASE);
    }
    let arguments = block.arguments().trim_end_matches('\0');
    let (name, rest) = arguments.split_once('\0').unwrap_or((arguments, ""));
    process::install(block.session, block.directory(), name);
    Args {
        text: rest,
        separator: '\0',
    }
}

/// A program the kernel started from the boot ramdisk, with the terminal on every descriptor.
fn start_from_kernel(address: u64, len: u64) -> Args {
    descriptors::install_terminal();
    let text = if len <= exo_abi::ARGUMENTS_MAX_BYTES {
        // SAFETY: the kernel placed `len` bytes of UTF-8 at `address` at the top of this
        // environment's stack, above the stack pointer, where they stay untouched for its life.
        let bytes = unsafe { core::slice::from_raw_parts(address as *const u8, len as usize) };
        core::str::from_utf8(bytes).unwrap_or("")
    } else {
        ""
    };
    Args {
        text,
        separator: ' ',
    }
}

/// Exit status of a program that panicked.
pub const PANIC_STATUS: u32 = 101;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::eprintln!("panic: {info}");
    process::exit(PANIC_STATUS)
}
