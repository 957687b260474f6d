//! Downloaded filters: the contract between a WebAssembly module a library OS downloads and the
//! kernel that runs it (packet demultiplexing and wake-up predicates use the same one).
//!
//! # The module
//!
//! - At most [`MODULE_BYTES_MAX`] bytes of WebAssembly (MVP plus the features `wasmi` enables
//!   by default), valid by the specification.
//! - It exports a function named [`EXPORT_RUN`] of type `[] -> [i32]`.
//! - It imports nothing but functions from module [`IMPORT_MODULE`], each of the exact type
//!   documented in [`imports`]. No other import (no memory, table or global import) is allowed.
//! - Its own linear memory, if any, may never exceed [`MEMORY_PAGES_MAX`] pages of 64 KiB: a
//!   module that declares more is refused, and a `memory.grow` past it returns -1. Tables
//!   cannot grow.
//!
//! # A run
//!
//! The kernel copies the input (a received frame, or the words a wake-up predicate watches),
//! at most [`INPUT_BYTES_MAX`] bytes, where only the accessor imports can read it: the filter
//! sees nothing of any environment's memory and cannot write the input. It calls [`EXPORT_RUN`]
//! with [`FUEL_PER_RUN`] units of fuel (about one per instruction).
//!
//! A module may also take its input in its own memory, which saves a call into the kernel per
//! field read: if it exports its linear memory under the name [`EXPORT_INPUT_MEMORY`], then
//! before each run the kernel writes the input's length as a little-endian 32-bit number at
//! byte 0 of that memory and the input's bytes from byte [`INPUT_MEMORY_OFFSET`]. The memory
//! must hold both (a module whose memory is smaller, or whose export of that name is not a
//! memory, is refused). What lies past the input is whatever the filter or earlier inputs left
//! there: a filter in this form checks the length itself, and a read past its memory traps
//! (a strike). The accessors stay available beside it.
//!
//! The run's verdict is [`VERDICT_MATCH`] (the packet is claimed, the predicate is true) or
//! [`VERDICT_NO_MATCH`]. Reading past the end of the input ends the run with no match and is not
//! the filter's fault (a short packet). Running out of fuel, a trap, or a result other than 0 or
//! 1 also gives no match, and counts a *strike* against the filter: after [`STRIKES_MAX`]
//! strikes it is unloaded and its environment told.
//!
//! # Recognised filters
//!
//! A module whose `run` is nothing but a conjunction of masked field tests, in exactly the
//! instructions `libos_custom::filter` emits for big-endian fields, is recognised at load and
//! run natively instead of in the interpreter; the kernel also merges the recognised filters
//! bound to packet receive into one decision, which costs about one lookup per frame however
//! many there are. Each test must be
//!
//! ```text
//! i32.const OFFSET  call ACCESSOR  [i32.const MASK  i32.and]  i32.const VALUE
//! (i32.ne | i32.eq | i32.lt_u)  if  i32.const 0  return  end
//! ```
//!
//! with ACCESSOR an import of [`imports::INPUT_U8`], [`imports::INPUT_U16`] or
//! [`imports::INPUT_U32`], and the body must end with `i32.const 1  end`, at most 32 tests.
//! Recognition changes nothing a filter can observe: the verdict is the one the run would give
//! (such a run cannot strike), the order in which bound filters claim frames is the same, and
//! the module is checked and instantiated at load like any other. Any other module, down to one
//! instruction more, runs in the interpreter.

/// Most filters one environment has loaded at once.
pub const FILTERS_PER_ENVIRONMENT_MAX: usize = 64;

/// Most bytes of memory a wake-up predicate watches
/// ([`Syscall::SleepUntil`](crate::Syscall::SleepUntil)).
pub const WATCHED_BYTES_MAX: u64 = 64;

/// Most bytes of a module.
pub const MODULE_BYTES_MAX: usize = 16 * 1024;

/// Most 64 KiB pages of a module's own linear memory.
pub const MEMORY_PAGES_MAX: u32 = 1;

/// Most bytes of input one run sees; longer inputs are cut to this length.
pub const INPUT_BYTES_MAX: usize = 2048;

/// Fuel given to each run.
pub const FUEL_PER_RUN: u64 = 10_000;

/// Strikes after which a filter is unloaded.
pub const STRIKES_MAX: u32 = 3;

/// Name of the exported function a run calls.
pub const EXPORT_RUN: &str = "run";

/// Name under which a module exports the linear memory it takes its input in, if it does.
pub const EXPORT_INPUT_MEMORY: &str = "input";

/// Where the input's bytes start in a module's input memory (its length, a little-endian
/// `u32`, is at byte 0).
pub const INPUT_MEMORY_OFFSET: usize = 4;

/// Module name of every allowed import.
pub const IMPORT_MODULE: &str = "exo";

/// [`EXPORT_RUN`]'s result for a claimed packet or a true predicate.
pub const VERDICT_MATCH: i32 = 1;

/// [`EXPORT_RUN`]'s result for an unclaimed packet or a false predicate.
pub const VERDICT_NO_MATCH: i32 = 0;

/// The allowed imports, all from [`IMPORT_MODULE`], all read-only. Offsets are byte offsets
/// into the input, taken as unsigned 32-bit numbers; multi-byte reads are big-endian (network
/// order) and zero-extended to `i32`.
pub mod imports {
    /// `[] -> [i32]`: the input's length in bytes.
    pub const INPUT_LENGTH: &str = "input_length";
    /// `[i32] -> [i32]`: the byte at an offset.
    pub const INPUT_U8: &str = "input_u8";
    /// `[i32] -> [i32]`: the big-endian 16-bit word at an offset.
    pub const INPUT_U16: &str = "input_u16";
    /// `[i32] -> [i32]`: the big-endian 32-bit word at an offset.
    pub const INPUT_U32: &str = "input_u32";
}
