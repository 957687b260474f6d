//! Recognising, at load, a module whose `run` is a conjunction of masked field tests in the
//! exact form `libos_custom::filter` emits for big-endian fields, so that the kernel can run it
//! as a [`TestList`] and merge it with other filters (see [`crate::table`]).
//!
//! Each test must be, instruction for instruction,
//!
//! ```text
//! i32.const OFFSET  call ACCESSOR  [i32.const MASK  i32.and]  i32.const VALUE
//! (i32.ne | i32.eq | i32.lt_u)  if  i32.const 0  return  end
//! ```
//!
//! where ACCESSOR is an imported `input_u8`, `input_u16` or `input_u32`, and the body must end
//! with `i32.const 1  end`. Such a run has no effect, cannot trap except by a read past the end
//! of the input (no match, no strike), and with at most [`RECOGNISED_TESTS_MAX`] tests needs
//! far less than [`exo_abi::filter::FUEL_PER_RUN`]: its verdict is the [`TestList`]'s. Anything
//! else, down to one other instruction, is not recognised and runs in the interpreter.

use alloc::vec::Vec;

use exo_abi::filter::{EXPORT_RUN, IMPORT_MODULE, VERDICT_MATCH, VERDICT_NO_MATCH, imports};
use wasmparser::{BlockType, ExternalKind, Operator, OperatorsReader, Parser, Payload, TypeRef};

use crate::test_list::{Comparison, FieldTest, TestList, Width};

/// Most tests of a recognised module (a UDP port filter of `libos_custom::filter` has five). A
/// test takes a handful of fuel units, so a run of this many stays well within
/// [`exo_abi::filter::FUEL_PER_RUN`] (the tests check it): the interpreter could never have run
/// out where the native form answers. The bound also keeps what the merged decision costs in
/// proportion to the number of bound filters: rebuilt at every bind and unbind, it reads every
/// test of every recognised bound filter, and a frame may check every test of the filters that
/// share its key.
pub const RECOGNISED_TESTS_MAX: usize = 32;

/// The test list `bytes` computes, or `None` when its `run` is not in the recognised form.
/// `bytes` must be a module the interpreter has validated.
pub(crate) fn recognise(bytes: &[u8]) -> Option<TestList> {
    // The width each imported function reads, by function index; `None` for `input_length`.
    let mut accessor_widths: Vec<Option<Width>> = Vec::new();
    let mut run_index = None;
    let mut code_index = 0u32;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.ok()?;
                    if import.module != IMPORT_MODULE || !matches!(import.ty, TypeRef::Func(_)) {
                        return None;
                    }
                    accessor_widths.push(accessor_width(import.name));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.ok()?;
                    if export.name == EXPORT_RUN && export.kind == ExternalKind::Func {
                        run_index = Some(export.index);
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                // Defined functions come after the imported ones in the index space, and the
                // import and export sections come before the code section.
                let index = u32::try_from(accessor_widths.len())
                    .ok()?
                    .checked_add(code_index)?;
                code_index += 1;
                if Some(index) == run_index {
                    return conjunction(body.get_operators_reader().ok()?, &accessor_widths);
                }
            }
            _ => {}
        }
    }
    None
}

fn accessor_width(name: &str) -> Option<Width> {
    match name {
        imports::INPUT_U8 => Some(Width::U8),
        imports::INPUT_U16 => Some(Width::U16),
        imports::INPUT_U32 => Some(Width::U32),
        _ => None,
    }
}

/// The tests of a body in the recognised form.
fn conjunction(
    mut code: OperatorsReader<'_>,
    accessor_widths: &[Option<Width>],
) -> Option<TestList> {
    let mut tests = Vec::new();
    loop {
        let Operator::I32Const { value: first } = code.read().ok()? else {
            return None;
        };
        match code.read().ok()? {
            Operator::End if first == VERDICT_MATCH && code.eof() => {
                return Some(TestList::new(tests));
            }
            Operator::Call { function_index } => {
                let width = (*accessor_widths.get(usize::try_from(function_index).ok()?)?)?;
                tests.push(field_test(&mut code, first as u32, width)?);
                if tests.len() > RECOGNISED_TESTS_MAX {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The rest of a test whose field the accessor of `width` bytes has just read at `offset`.
fn field_test(code: &mut OperatorsReader<'_>, offset: u32, width: Width) -> Option<FieldTest> {
    let Operator::I32Const { value: constant } = code.read().ok()? else {
        return None;
    };
    // The accessor zero-extends, so a test with no mask is one with every bit in it.
    let (mask, value) = match code.read().ok()? {
        Operator::I32And => {
            let Operator::I32Const { value } = code.read().ok()? else {
                return None;
            };
            (constant as u32, value as u32)
        }
        comparison => return finish(code, offset, width, u32::MAX, constant as u32, comparison),
    };
    let comparison = code.read().ok()?;
    finish(code, offset, width, mask, value, comparison)
}

/// A test given its comparison of the masked field with `value`, which is true when the test
/// fails, and the failure's `if i32.const 0 return end` that must follow it.
fn finish(
    code: &mut OperatorsReader<'_>,
    offset: u32,
    width: Width,
    mask: u32,
    value: u32,
    failure: Operator<'_>,
) -> Option<FieldTest> {
    let comparison = match failure {
        Operator::I32Ne => Comparison::Equal,
        Operator::I32Eq => Comparison::NotEqual,
        Operator::I32LtU => Comparison::AtLeast,
        _ => return None,
    };
    let Operator::If {
        blockty: BlockType::Empty,
    } = code.read().ok()?
    else {
        return None;
    };
    let Operator::I32Const {
        value: VERDICT_NO_MATCH,
    } = code.read().ok()?
    else {
        return None;
    };
    let (Operator::Return, Operator::End) = (code.read().ok()?, code.read().ok()?) else {
        return None;
    };
    Some(FieldTest {
        offset,
        width,
        mask,
        comparison,
        value,
    })
}
