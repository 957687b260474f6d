//! The shell's logic that needs no hardware, so it builds and is tested on the host: the line
//! editor the shell runs on the serial console, the parser of the command lines it returns, the
//! completion of words at Tab, and what the session shell and init agree on.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod command;
pub mod completion;
pub mod line_editor;
pub mod session;
