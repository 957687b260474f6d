//! Program entry: the set-up of the library (startup block, descriptors, world, fault
//! handling) before the app's main function runs, the arguments it gets, and the panic
//! handler. The `_start` symbol itself is the runtime's (`runtime::program_entry`).

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
fn start_from_kernel(text: &'static str) -> Args {
    descriptors::install_terminal();
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
