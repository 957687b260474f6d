//! How a system call is declared (`system_calls!`, used once, by the table in `syscall_table`)
//! and what each declaration generates:
//! - [`Syscall`](crate::Syscall), one variant per call, documented with its contract, and
//!   [`Syscall::spec`](crate::Syscall::spec), what the table says of it ([`Spec`]);
//! - [`Call`](crate::Call), a call with its arguments by name, which the kernel decodes from
//!   the argument registers ([`Call::decode`](crate::Call::decode));
//! - [`stubs`](crate::stubs), one function per call for user code, which puts the arguments in
//!   their registers and makes the call through a [`Trap`].

use crate::Error;
use crate::capability::Rights;
use crate::ipc::Message;

/// What a call needs beyond its arguments being valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authority {
    /// Nothing: it acts on the caller itself or on resources the tables say it owns (frames,
    /// bindings, slots, blocks of its owner, its filters, its capability table).
    Caller,
    /// A capability handle in argument `argument` that holds `right`
    /// ([`Rights`](crate::capability::Rights); [`ANY_RIGHT`]: the handle itself suffices).
    Capability { argument: usize, right: Rights },
    /// Being the init environment.
    Init,
}

/// In [`Authority::Capability`]: any handle of the caller will do.
pub const ANY_RIGHT: Rights = Rights::empty();

/// What the call table declares of one call.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The call's name, as in [`Syscall`](crate::Syscall).
    pub name: &'static str,
    /// The names of its arguments, in register order (`a0` first).
    pub arguments: &'static [&'static str],
    /// Every error it may return; empty for a call that never fails.
    pub errors: &'static [Error],
    /// What it needs.
    pub authority: Authority,
    /// The system test that covers it: `file::function` of `tests/tests/file.rs`.
    pub covered_by: &'static str,
    /// Its documentation.
    pub doc: &'static str,
}

/// Makes the `syscall` instruction: call `number` with the six argument registers, returning
/// `rax`. A library OS implements it once; the [`stubs`](crate::stubs) do the rest.
pub trait Trap {
    /// Enters the kernel with call `number` and `arguments` (`rdi`, `rsi`, `rdx`, `r10`, `r8`,
    /// `r9`); returns the raw result word.
    fn syscall(number: u64, arguments: [u64; 6]) -> u64;

    /// As [`Trap::syscall`], for the calls that return a [`Message`] as well: returns the raw
    /// result word and `rsi`, `rdx`, `r10`, `r8` as the call left them.
    fn syscall_with_message(number: u64, arguments: [u64; 6]) -> (u64, Message);
}

/// The six argument registers, holding `given` first and zeros after.
pub const fn registers(given: &[u64]) -> [u64; 6] {
    let mut registers = [0; 6];
    let mut index = 0;
    while index < given.len() {
        registers[index] = given[index];
        index += 1;
    }
    registers
}

/// Declares every system call (see the module documentation for what it generates). Each entry:
/// doc comment, `Name = number => fn stub(argument, ...);` (or `... -> Message;` for a call
/// that returns a [`Message`] beside its result), `errors [Error, ...];`,
/// `authority Authority;`, `covered by "file::function";`.
macro_rules! system_calls {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident = $number:literal => fn $stub:ident($($argument:ident),*) $(-> $returned:ident)?;
        errors [$($error:ident),*];
        authority $authority:expr;
        covered by $test:literal;
    )*) => {
        /// Every system call, by number. Arguments are named `a0`..`a5` in the order of the
        /// register convention in the crate documentation.
        #[repr(u64)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Syscall {
            $($(#[doc = $doc])* $name = $number,)*
        }

        impl Syscall {
            /// Every call, in number order.
            pub const ALL: &'static [Syscall] = &[$(Syscall::$name),*];

            /// The call with number `number`, if there is one.
            pub fn from_number(number: u64) -> Option<Syscall> {
                Syscall::ALL.get(usize::try_from(number).ok()?).copied()
            }

            /// This call's number.
            pub fn number(self) -> u64 {
                self as u64
            }

            /// What the call table declares of this call.
            pub fn spec(self) -> &'static $crate::syscall::Spec {
                match self {
                    $(Syscall::$name => &$crate::syscall::Spec {
                        name: stringify!($name),
                        arguments: &[$(stringify!($argument)),*],
                        errors: &[$($crate::Error::$error),*],
                        authority: $authority,
                        covered_by: $test,
                        doc: concat!($($doc, "\n"),*),
                    },)*
                }
            }
        }

        /// The arguments of each call, by name (see the call's [`Syscall`] variant).
        pub mod arguments {
            $(
                #[doc = concat!("The arguments of [`Syscall::", stringify!($name), "`](crate::Syscall::", stringify!($name), ").")]
                #[derive(Clone, Copy, Debug, PartialEq, Eq)]
                pub struct $name {
                    $(#[allow(missing_docs)] pub $argument: u64,)*
                }
            )*
        }

        /// A system call with its arguments, as the kernel receives it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Call {
            $(#[allow(missing_docs)] $name(arguments::$name),)*
        }

        impl Call {
            /// Call `number` with its arguments taken from `registers` (`rdi`, `rsi`, `rdx`,
            /// `r10`, `r8`, `r9`; registers beyond its arguments are ignored); `None` for an
            /// unknown number.
            #[inline]
            pub fn decode(number: u64, registers: [u64; 6]) -> Option<Call> {
                Some(match Syscall::from_number(number)? {
                    $(Syscall::$name => {
                        $crate::syscall::bind_registers!(registers, [0, 1, 2, 3, 4, 5], $($argument),*);
                        Call::$name(arguments::$name { $($argument),* })
                    })*
                })
            }
        }

        /// One function per call for user code: each puts its arguments in their registers,
        /// enters the kernel through `T` and decodes the result (see the call's [`Syscall`]
        /// variant for its contract).
        pub mod stubs {
            use $crate::syscall::{Trap, registers};
            $(
                $crate::syscall::stub!($name, $number, $stub, [$($argument),*] $(-> $returned)?);
            )*
        }
    };
}
pub(crate) use system_calls;

/// One function of [`stubs`](crate::stubs): returning the result word, or with `-> Message`
/// the result word and the message the call left in the registers.
macro_rules! stub {
    ($name:ident, $number:literal, $stub:ident, [$($argument:ident),*]) => {
        #[doc = concat!("[`Syscall::", stringify!($name), "`](crate::Syscall::", stringify!($name), ").")]
        #[inline(always)]
        pub fn $stub<T: Trap>($($argument: u64),*) -> Result<u64, $crate::Error> {
            $crate::decode_result(T::syscall($number, registers(&[$($argument),*])))
        }
    };
    ($name:ident, $number:literal, $stub:ident, [$($argument:ident),*] -> Message) => {
        #[doc = concat!("[`Syscall::", stringify!($name), "`](crate::Syscall::", stringify!($name), "): the result and the message returned.")]
        #[inline(always)]
        pub fn $stub<T: Trap>(
            $($argument: u64),*
        ) -> Result<(u64, $crate::ipc::Message), $crate::Error> {
            let (result, message) = T::syscall_with_message($number, registers(&[$($argument),*]));
            $crate::decode_result(result).map(|value| (value, message))
        }
    };
}
pub(crate) use stub;

/// `let argument = registers[index];` for each argument in turn, the first taking index 0.
macro_rules! bind_registers {
    ($registers:ident, [$($index:tt),*], ) => {};
    ($registers:ident, [$index:tt $(, $rest:tt)*], $argument:ident $(, $more:ident)*) => {
        let $argument = $registers[$index];
        $crate::syscall::bind_registers!($registers, [$($rest),*], $($more),*);
    };
}
pub(crate) use bind_registers;

/// A call number the kernel's entry code answers before saving any state: it returns at once
/// with every register unchanged but `rcx` and `r11`. It exists to measure the floor of a
/// system call (a bare `syscall`/`sysretq` pair) and is not a [`Syscall`](crate::Syscall).
pub const BENCH_FLOOR: u64 = 0xF100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Call, Syscall};
    use std::string::String;
    use std::vec::Vec;

    #[test]
    fn numbers_round_trip_and_are_dense() {
        for (index, call) in Syscall::ALL.iter().enumerate() {
            assert_eq!(call.number(), index as u64);
            assert_eq!(Syscall::from_number(call.number()), Some(*call));
        }
        assert_eq!(Syscall::from_number(Syscall::ALL.len() as u64), None);
        assert_eq!(Syscall::from_number(u64::MAX), None);
        assert_eq!(Syscall::from_number(BENCH_FLOOR), None);
    }

    #[test]
    fn decoding_names_the_registers_in_order() {
        let registers = [1, 2, 3, 4, 5, 6];
        assert_eq!(
            Call::decode(Syscall::PageShare.number(), registers),
            Some(Call::PageShare(crate::arguments::PageShare {
                address: 1,
                target: 2,
                target_address: 3,
                rights: 4,
            }))
        );
        assert_eq!(
            Call::decode(Syscall::Null.number(), registers),
            Some(Call::Null(crate::arguments::Null {}))
        );
        assert_eq!(Call::decode(BENCH_FLOOR, registers), None);
    }

    #[test]
    fn stubs_put_arguments_in_register_order() {
        struct Echo;
        impl Trap for Echo {
            fn syscall(number: u64, arguments: [u64; 6]) -> u64 {
                assert_eq!(number, Syscall::Revoke.number());
                assert_eq!(arguments, [7, 8, 9, 10, 0, 0]);
                crate::encode_result(Err(Error::Occupied))
            }
            fn syscall_with_message(number: u64, arguments: [u64; 6]) -> (u64, Message) {
                assert_eq!(number, Syscall::EndpointCall.number());
                assert_eq!(arguments, [1, 2, 3, 4, 5, 6]);
                (crate::encode_result(Ok(7)), [8, 9, 10, 11])
            }
        }
        assert_eq!(
            crate::stubs::revoke::<Echo>(7, 8, 9, 10),
            Err(Error::Occupied)
        );
        assert_eq!(
            crate::stubs::endpoint_call::<Echo>(1, 2, 3, 4, 5, 6),
            Ok((7, [8, 9, 10, 11]))
        );
    }

    /// The `aN` positions a documentation mentions.
    fn positions_named(doc: &str) -> Vec<usize> {
        let bytes = doc.as_bytes();
        let mut positions = Vec::new();
        for index in 0..bytes.len().saturating_sub(1) {
            let is_word_start = index == 0 || !bytes[index - 1].is_ascii_alphanumeric();
            let digit = bytes[index + 1];
            let is_word_end = bytes
                .get(index + 2)
                .is_none_or(|b| !b.is_ascii_alphanumeric());
            if is_word_start && bytes[index] == b'a' && digit.is_ascii_digit() && is_word_end {
                positions.push(usize::from(digit - b'0'));
            }
        }
        positions
    }

    /// The error names a documentation links to (`crate::Error::Name`).
    fn errors_named(doc: &str) -> Vec<String> {
        doc.split("crate::Error::")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect()
            })
            .collect()
    }

    /// The call an "as [`Syscall::Other`]" or "otherwise as" sentence refers to for errors.
    fn errors_borrowed_from(doc: &str) -> Vec<&'static Spec> {
        Syscall::ALL
            .iter()
            .filter(|call| doc.contains(&format!("as [`Syscall::{}`]", call.spec().name)))
            .map(|call| call.spec())
            .collect()
    }

    #[test]
    fn every_call_documents_its_arguments_errors_and_authority() {
        for call in Syscall::ALL {
            let spec = call.spec();
            let name = spec.name;
            assert!(spec.arguments.len() <= 6, "{name}: more than six arguments");
            let mut named = positions_named(spec.doc);
            named.sort_unstable();
            named.dedup();
            let declared: Vec<usize> = (0..spec.arguments.len()).collect();
            assert_eq!(
                named, declared,
                "{name}: the doc's a0.. and the declared arguments"
            );
            assert!(spec.doc.contains("Errors:"), "{name}: no Errors: sentence");
            let borrowed = errors_borrowed_from(spec.doc);
            for error in spec.errors {
                let error_name = format!("{error:?}");
                let is_documented = errors_named(spec.doc).contains(&error_name)
                    || borrowed.iter().any(|other| other.errors.contains(error));
                assert!(
                    is_documented,
                    "{name}: {error_name} declared, not documented"
                );
            }
            for error_name in errors_named(spec.doc) {
                let is_declared = spec.errors.iter().any(|e| format!("{e:?}") == error_name);
                // The "Errors:" part names errors; links elsewhere may describe other things.
                let errors_part = &spec.doc[spec.doc.find("Errors:").unwrap_or(0)..];
                if errors_part.contains(&format!("crate::Error::{error_name})")) {
                    assert!(is_declared, "{name}: {error_name} documented, not declared");
                }
            }
            match spec.authority {
                Authority::Capability { argument, right } => {
                    assert!(argument < spec.arguments.len(), "{name}: no such argument");
                    if right != ANY_RIGHT {
                        let right_name = right_name(right);
                        let mentions = |doc: &str| doc.contains(&format!("Rights::{right_name}"));
                        assert!(
                            mentions(spec.doc) || borrowed.iter().any(|other| mentions(other.doc)),
                            "{name}: the right {right_name} is not documented"
                        );
                    }
                }
                Authority::Init => assert!(spec.doc.contains("init"), "{name}: init only?"),
                Authority::Caller => {}
            }
        }
    }

    fn right_name(right: Rights) -> &'static str {
        let mut names = right.iter_names();
        match (names.next(), names.next()) {
            (Some((name, _)), None) => name,
            _ => panic!("a declared authority names one right: {right:?}"),
        }
    }

    #[test]
    fn every_call_names_a_system_test_that_exists() {
        let tests = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/tests");
        for call in Syscall::ALL {
            let spec = call.spec();
            let (file, function) = spec
                .covered_by
                .split_once("::")
                .unwrap_or_else(|| panic!("{}: not file::function", spec.name));
            let source = std::fs::read_to_string(format!("{tests}/{file}.rs"))
                .unwrap_or_else(|error| panic!("{}: {file}.rs: {error}", spec.name));
            assert!(
                source.contains(&format!("#[test]\nfn {function}()")),
                "{}: no test {function} in {file}.rs",
                spec.name
            );
        }
    }
}
