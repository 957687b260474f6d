//! The WebAssembly binary format, as much of it as a predicate's module needs: a header and
//! the type, import, function, memory, export and code sections, with LEB128 numbers.

use super::{ByteOrder, Comparison, FieldTest, Width};
use alloc::vec::Vec;
use exo_abi::filter::{
    EXPORT_INPUT_MEMORY, EXPORT_RUN, IMPORT_MODULE, INPUT_BYTES_MAX, INPUT_MEMORY_OFFSET,
    VERDICT_MATCH, VERDICT_NO_MATCH, imports,
};

/// `\0asm`, then binary format version 1.
const HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

// Section ids.
const SECTION_TYPE: u8 = 1;
const SECTION_IMPORT: u8 = 2;
const SECTION_FUNCTION: u8 = 3;
const SECTION_MEMORY: u8 = 5;
const SECTION_EXPORT: u8 = 7;
const SECTION_CODE: u8 = 10;

// Types and kinds.
const FUNC_TYPE: u8 = 0x60;
const I32: u8 = 0x7f;
const EMPTY_BLOCK: u8 = 0x40;
const KIND_FUNC: u8 = 0x00;
const KIND_MEMORY: u8 = 0x02;
/// Limits with a minimum and a maximum.
const LIMITS_MIN_MAX: u8 = 0x01;

// Instructions.
const IF: u8 = 0x04;
const END: u8 = 0x0b;
const RETURN: u8 = 0x0f;
const CALL: u8 = 0x10;
const LOCAL_GET: u8 = 0x20;
const LOCAL_TEE: u8 = 0x22;
const I32_LOAD: u8 = 0x28;
const I32_LOAD8_U: u8 = 0x2d;
const I32_LOAD16_U: u8 = 0x2f;
const I32_CONST: u8 = 0x41;
const I32_EQ: u8 = 0x46;
const I32_NE: u8 = 0x47;
const I32_LT_U: u8 = 0x49;
const I32_MUL: u8 = 0x6c;
const I32_AND: u8 = 0x71;
const I32_OR: u8 = 0x72;
const I32_SHR_U: u8 = 0x76;
const I32_ROTL: u8 = 0x77;
const I32_ROTR: u8 = 0x78;

/// Type index of `run`, `[] -> [i32]`; always type 0.
const TYPE_RUN: u32 = 0;
/// Type index of the accessors, `[i32] -> [i32]`; type 1 when there is any.
const TYPE_ACCESSOR: u32 = 1;

/// The only local, used to swap the bytes of a little-endian 32-bit field.
const LOCAL_SWAP: u32 = 0;

const WIDTHS: [Width; 3] = [Width::U8, Width::U16, Width::U32];

/// The module for a conjunction of `tests` (see `Predicate::to_wasm`).
pub(super) fn module(tests: &[FieldTest]) -> Vec<u8> {
    let accessors = Accessors::needed(tests);
    let mut out = Vec::from(HEADER);

    section(&mut out, SECTION_TYPE, |s| {
        let any_import = accessors.count() > 0;
        unsigned(s, if any_import { 2 } else { 1 });
        func_type(s, &[], &[I32]);
        if any_import {
            func_type(s, &[I32], &[I32]);
        }
    });
    if accessors.count() > 0 {
        section(&mut out, SECTION_IMPORT, |s| {
            unsigned(s, accessors.count());
            for &width in &accessors.imported {
                name(s, IMPORT_MODULE);
                name(s, accessor_name(width));
                s.push(KIND_FUNC);
                unsigned(s, TYPE_ACCESSOR);
            }
        });
    }
    section(&mut out, SECTION_FUNCTION, |s| {
        unsigned(s, 1);
        unsigned(s, TYPE_RUN);
    });
    section(&mut out, SECTION_EXPORT, |s| {
        unsigned(s, 1);
        name(s, EXPORT_RUN);
        s.push(KIND_FUNC);
        // Imported functions come first in the function index space.
        unsigned(s, accessors.count());
    });
    section(&mut out, SECTION_CODE, |s| {
        let body = run_body(tests, &accessors);
        unsigned(s, 1);
        unsigned(s, len_u32(body.len()));
        s.extend_from_slice(&body);
    });
    out
}

/// The module for a conjunction of `tests` that takes its input in its own memory (see
/// `Predicate::to_wasm_in_memory`): no import, one page of memory exported as
/// [`EXPORT_INPUT_MEMORY`], and `run`.
pub(super) fn memory_module(tests: &[FieldTest]) -> Vec<u8> {
    let mut out = Vec::from(HEADER);
    section(&mut out, SECTION_TYPE, |s| {
        unsigned(s, 1);
        func_type(s, &[], &[I32]);
    });
    section(&mut out, SECTION_FUNCTION, |s| {
        unsigned(s, 1);
        unsigned(s, TYPE_RUN);
    });
    section(&mut out, SECTION_MEMORY, |s| {
        unsigned(s, 1);
        s.push(LIMITS_MIN_MAX);
        unsigned(s, 1);
        unsigned(s, 1);
    });
    section(&mut out, SECTION_EXPORT, |s| {
        unsigned(s, 2);
        name(s, EXPORT_RUN);
        s.push(KIND_FUNC);
        unsigned(s, 0);
        name(s, EXPORT_INPUT_MEMORY);
        s.push(KIND_MEMORY);
        unsigned(s, 0);
    });
    section(&mut out, SECTION_CODE, |s| {
        let body = memory_run_body(tests);
        unsigned(s, 1);
        unsigned(s, len_u32(body.len()));
        s.extend_from_slice(&body);
    });
    out
}

/// The body of the memory form's `run`: one check that the input holds every field (a field
/// past its end fails its test, as an accessor's read past the end ends the run with no
/// match), then each test on the field loaded from memory, then the match verdict.
fn memory_run_body(tests: &[FieldTest]) -> Vec<u8> {
    let mut body = Vec::new();
    // Memory loads are little-endian: the big-endian fields are the ones to swap.
    locals(&mut body, tests, ByteOrder::Big);
    let required = tests
        .iter()
        .map(|test| u64::from(test.offset) + test.width.bytes() as u64)
        .max()
        .unwrap_or(0);
    if required > INPUT_BYTES_MAX as u64 {
        // No input is that long: no test past it can hold.
        i32_const(&mut body, VERDICT_NO_MATCH);
        body.push(END);
        return body;
    }
    if required > 0 {
        i32_const(&mut body, 0);
        load(&mut body, I32_LOAD, 0);
        i32_const(&mut body, as_i32(required as u32));
        body.push(I32_LT_U);
        return_no_match_if(&mut body);
    }
    for test in tests {
        i32_const(&mut body, 0);
        let opcode = match test.width {
            Width::U8 => I32_LOAD8_U,
            Width::U16 => I32_LOAD16_U,
            Width::U32 => I32_LOAD,
        };
        // Within the input, checked above: at most INPUT_MEMORY_OFFSET + INPUT_BYTES_MAX.
        load(&mut body, opcode, INPUT_MEMORY_OFFSET as u32 + test.offset);
        if test.order == ByteOrder::Big {
            swap_bytes(&mut body, test.width);
        }
        compare_and_return(&mut body, test);
    }
    i32_const(&mut body, VERDICT_MATCH);
    body.push(END);
    body
}

/// A load at the constant address `offset` (the address operand, 0, is on the stack), with
/// no alignment promised.
fn load(code: &mut Vec<u8>, opcode: u8, offset: u32) {
    code.push(opcode);
    unsigned(code, 0);
    unsigned(code, offset);
}

/// The accessors the tests read with, in import order, which makes an accessor's place in the
/// list its function index. Unused accessors are not imported.
struct Accessors {
    imported: Vec<Width>,
}

impl Accessors {
    fn needed(tests: &[FieldTest]) -> Self {
        let imported = WIDTHS
            .into_iter()
            .filter(|&width| tests.iter().any(|test| test.width == width))
            .collect();
        Self { imported }
    }

    fn count(&self) -> u32 {
        len_u32(self.imported.len())
    }

    fn function(&self, width: Width) -> u32 {
        let index = self.imported.iter().position(|&imported| imported == width);
        // `needed` saw every test, so the width of each is imported.
        len_u32(index.expect("an accessor for every width the tests use"))
    }
}

fn accessor_name(width: Width) -> &'static str {
    match width {
        Width::U8 => imports::INPUT_U8,
        Width::U16 => imports::INPUT_U16,
        Width::U32 => imports::INPUT_U32,
    }
}

/// The body of `run`: its locals, each test in turn returning the no-match verdict when it
/// fails, then the match verdict.
fn run_body(tests: &[FieldTest], accessors: &Accessors) -> Vec<u8> {
    let mut body = Vec::new();
    // The accessors read big-endian: the little-endian fields are the ones to swap.
    locals(&mut body, tests, ByteOrder::Little);
    for test in tests {
        field_test(&mut body, test, accessors);
    }
    i32_const(&mut body, VERDICT_MATCH);
    body.push(END);
    body
}

/// The locals of `run`: the one [`swap_bytes`] needs when a 32-bit field read in
/// `swapped_order` must be swapped, else none.
fn locals(body: &mut Vec<u8>, tests: &[FieldTest], swapped_order: ByteOrder) {
    let swaps_words = tests
        .iter()
        .any(|test| test.width == Width::U32 && test.order == swapped_order);
    if swaps_words {
        // One group of one i32 local.
        unsigned(body, 1);
        unsigned(body, 1);
        body.push(I32);
    } else {
        unsigned(body, 0);
    }
}

/// `if (field & mask) fails the comparison with value { return no match }`.
fn field_test(code: &mut Vec<u8>, test: &FieldTest, accessors: &Accessors) {
    i32_const(code, as_i32(test.offset));
    code.push(CALL);
    unsigned(code, accessors.function(test.width));
    if test.order == ByteOrder::Little {
        swap_bytes(code, test.width);
    }
    compare_and_return(code, test);
}

/// With the field, zero-extended and in its own byte order, on the stack: `if (field & mask)
/// fails the comparison with value { return no match }`.
fn compare_and_return(code: &mut Vec<u8>, test: &FieldTest) {
    // The field is zero-extended, so a mask covering the whole width changes nothing.
    let all_ones = test.width.all_ones();
    if test.mask & all_ones != all_ones {
        i32_const(code, as_i32(test.mask));
        code.push(I32_AND);
    }
    i32_const(code, as_i32(test.value));
    // The opposite comparison: true when the test fails.
    code.push(match test.comparison {
        Comparison::Equal => I32_NE,
        Comparison::NotEqual => I32_EQ,
        Comparison::GreaterOrEqual => I32_LT_U,
    });
    return_no_match_if(code);
}

/// `if (the top of the stack) { return no match }`.
fn return_no_match_if(code: &mut Vec<u8>) {
    code.push(IF);
    code.push(EMPTY_BLOCK);
    i32_const(code, VERDICT_NO_MATCH);
    code.push(RETURN);
    code.push(END);
}

/// Reverses the bytes of the field of `width` on top of the stack.
fn swap_bytes(code: &mut Vec<u8>, width: Width) {
    match width {
        Width::U8 => {}
        Width::U16 => {
            // x * 0x10001 is x twice over, so its middle 16 bits are x's bytes swapped.
            i32_const(code, 0x1_0001);
            code.push(I32_MUL);
            i32_const(code, 8);
            code.push(I32_SHR_U);
            i32_const(code, 0xffff);
            code.push(I32_AND);
        }
        Width::U32 => {
            // Rotating by 8 either way puts two of the four bytes in place each time.
            code.push(LOCAL_TEE);
            unsigned(code, LOCAL_SWAP);
            i32_const(code, 8);
            code.push(I32_ROTL);
            i32_const(code, 0x00ff_00ff);
            code.push(I32_AND);
            code.push(LOCAL_GET);
            unsigned(code, LOCAL_SWAP);
            i32_const(code, 8);
            code.push(I32_ROTR);
            i32_const(code, as_i32(0xff00_ff00));
            code.push(I32_AND);
            code.push(I32_OR);
        }
    }
}

/// A section: its id, its size, then what `content` writes.
fn section(out: &mut Vec<u8>, id: u8, content: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = Vec::new();
    content(&mut bytes);
    out.push(id);
    unsigned(out, len_u32(bytes.len()));
    out.extend_from_slice(&bytes);
}

fn func_type(out: &mut Vec<u8>, params: &[u8], results: &[u8]) {
    out.push(FUNC_TYPE);
    unsigned(out, len_u32(params.len()));
    out.extend_from_slice(params);
    unsigned(out, len_u32(results.len()));
    out.extend_from_slice(results);
}

fn name(out: &mut Vec<u8>, name: &str) {
    unsigned(out, len_u32(name.len()));
    out.extend_from_slice(name.as_bytes());
}

fn i32_const(out: &mut Vec<u8>, value: i32) {
    out.push(I32_CONST);
    signed(out, value);
}

/// An `i32` operand with the same 32 bits: WebAssembly's integers have no sign, only some of
/// its instructions do, and constants are written signed.
fn as_i32(value: u32) -> i32 {
    i32::from_ne_bytes(value.to_ne_bytes())
}

/// A length or count as the format's `u32`. Modules are at most a few KiB, far below.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("module part longer than 4 GiB")
}

/// Unsigned LEB128: seven bits a byte, least significant first, the top bit set on all bytes
/// but the last.
fn unsigned(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Signed LEB128: as unsigned, but it stops once the rest is only sign bits and the last
/// byte's bit 6 carries the sign.
fn signed(out: &mut Vec<u8>, mut value: i32) {
    loop {
        let low = (value & 0x7f) as u8;
        // Arithmetic shift: the sign fills in from the top.
        value >>= 7;
        let sign_bit_clear = low & 0x40 == 0;
        if (value == 0 && sign_bit_clear) || (value == -1 && !sign_bit_clear) {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::{signed, unsigned};
    use proptest::prelude::*;
    use wasmparser::BinaryReader;

    #[test]
    fn leb128_edges() {
        let encode_u = |value| {
            let mut out = Vec::new();
            unsigned(&mut out, value);
            out
        };
        let encode_s = |value| {
            let mut out = Vec::new();
            signed(&mut out, value);
            out
        };
        assert_eq!(encode_u(0), [0x00]);
        assert_eq!(encode_u(127), [0x7f]);
        assert_eq!(encode_u(128), [0x80, 0x01]);
        assert_eq!(encode_u(u32::MAX), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(encode_s(0), [0x00]);
        assert_eq!(encode_s(63), [0x3f]);
        assert_eq!(encode_s(64), [0xc0, 0x00]);
        assert_eq!(encode_s(-1), [0x7f]);
        assert_eq!(encode_s(-64), [0x40]);
        assert_eq!(encode_s(-65), [0xbf, 0x7f]);
        assert_eq!(encode_s(i32::MIN), [0x80, 0x80, 0x80, 0x80, 0x78]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn leb128_round_trips(u in any::<u32>(), s in any::<i32>()) {
            let mut out = Vec::new();
            unsigned(&mut out, u);
            signed(&mut out, s);
            let mut reader = BinaryReader::new(&out, 0);
            prop_assert_eq!(reader.read_var_u32().unwrap(), u);
            prop_assert_eq!(reader.read_var_i32().unwrap(), s);
            prop_assert!(reader.eof());
        }
    }
}
