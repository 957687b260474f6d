//! What init and the shell it runs agree on: init starts its shell with [`SESSION_OPTION`], and
//! that shell, at end of input (Ctrl-D on an empty line), ends with [`END_OF_INPUT_STATUS`], so
//! that init starts a new shell rather than powering the machine off. Every other end of the
//! session shell (`exit [STATUS]`, `poweroff`) powers the machine off with the shell's status.

/// The option that makes a shell the session shell.
pub const SESSION_OPTION: &str = "-l";

/// The status with which the session shell ends at end of input. `exit` takes the statuses 0 to
/// [`EXIT_STATUS_MAX`] only, so no command gives it.
pub const END_OF_INPUT_STATUS: u32 = 256;

/// The highest status `exit` takes, as in every POSIX shell.
pub const EXIT_STATUS_MAX: u32 = 255;

const _: () = assert!(END_OF_INPUT_STATUS > EXIT_STATUS_MAX);
