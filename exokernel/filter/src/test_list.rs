//! The native form of a recognised filter: a conjunction of masked field tests, evaluated
//! without the interpreter, with the verdict the module's run would give.

use alloc::vec::Vec;

use exo_abi::filter::INPUT_BYTES_MAX;

use crate::word_tests::WordTests;

/// How a masked field is compared with a test's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Comparison {
    /// `field & mask == value`.
    Equal,
    /// `field & mask != value`.
    NotEqual,
    /// `field & mask >= value`, unsigned.
    AtLeast,
}

/// How many bytes a field has: the accessor that reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Width {
    /// One byte, read with `input_u8`.
    U8,
    /// Two bytes, read with `input_u16`.
    U16,
    /// Four bytes, read with `input_u32`.
    U32,
}

/// One test: the big-endian field of `width` at byte `offset` of the input,
/// zero-extended to 32 bits and masked, compared with `value`. A field that does not lie
/// wholly in the input fails the test, as the accessor's read past the end ends the run with
/// no match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldTest {
    /// Byte offset of the field in the input.
    pub offset: u32,
    /// Size of the field.
    pub width: Width,
    /// Bits of the field that take part in the comparison.
    pub mask: u32,
    /// How the masked field is compared with `value`.
    pub comparison: Comparison,
    /// The value the masked field is compared with.
    pub value: u32,
}

impl FieldTest {
    /// Whether the test holds on `input` (already cut to [`INPUT_BYTES_MAX`]).
    pub(crate) fn holds(&self, input: &[u8]) -> bool {
        let Some(field) = field(input, self.offset, self.width) else {
            return false;
        };
        let masked = field & self.mask;
        match self.comparison {
            Comparison::Equal => masked == self.value,
            Comparison::NotEqual => masked != self.value,
            Comparison::AtLeast => masked >= self.value,
        }
    }
}

/// The big-endian number of `width` bytes at `offset` of `input`, zero-extended, or `None` if
/// any of its bytes lies past the end: what the contract's accessor returns, or its short-input
/// end of the run.
pub(crate) fn field(input: &[u8], offset: u32, width: Width) -> Option<u32> {
    // Written out per width: this runs for every test of every frame.
    let start = usize::try_from(offset).ok()?;
    match width {
        Width::U8 => input.get(start).map(|&byte| u32::from(byte)),
        Width::U16 => {
            let bytes = input.get(start..start.checked_add(2)?)?;
            Some(u32::from(u16::from_be_bytes([bytes[0], bytes[1]])))
        }
        Width::U32 => {
            let bytes = input.get(start..start.checked_add(4)?)?;
            Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        }
    }
}

/// The first [`INPUT_BYTES_MAX`] bytes of `input`: all a run sees.
pub(crate) fn visible(input: &[u8]) -> &[u8] {
    &input[..input.len().min(INPUT_BYTES_MAX)]
}

/// A conjunction of [`FieldTest`]s. The tests read nothing but the input and have no effect,
/// so the verdict does not depend on their order: it is a match exactly when every test holds.
/// The equality tests are checked as words ([`WordTests`]), the others one by one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestList {
    tests: Vec<FieldTest>,
    words: WordTests,
    /// The tests that are not equalities, checked one by one after the words.
    others: Vec<FieldTest>,
}

impl TestList {
    /// The list of `tests`.
    pub fn new(tests: Vec<FieldTest>) -> TestList {
        let words = WordTests::compile(&tests);
        let others = tests
            .iter()
            .filter(|test| test.comparison != Comparison::Equal)
            .copied()
            .collect();
        TestList {
            tests,
            words,
            others,
        }
    }

    /// The tests, in the module's order.
    pub fn tests(&self) -> &[FieldTest] {
        &self.tests
    }

    /// Whether every test holds on `input`, of which only the first [`INPUT_BYTES_MAX`] bytes
    /// count.
    #[inline]
    pub fn holds(&self, input: &[u8]) -> bool {
        self.holds_visible(visible(input))
    }

    /// [`TestList::holds`] on `input` already cut to [`INPUT_BYTES_MAX`].
    #[inline]
    pub(crate) fn holds_visible(&self, input: &[u8]) -> bool {
        self.words.hold(input) && self.others_hold(input)
    }

    /// [`TestList::holds`] on `input` already cut to [`INPUT_BYTES_MAX`], of whose compiled
    /// words (see [`TestList::words`]) only the first `count` are compared: the others were,
    /// by the merged decision's lookup.
    #[inline]
    pub(crate) fn holds_with_words(&self, input: &[u8], count: usize) -> bool {
        self.words.hold_first(input, count) && self.others_hold(input)
    }

    #[inline]
    fn others_hold(&self, input: &[u8]) -> bool {
        self.others.is_empty() || self.others.iter().all(|test| test.holds(input))
    }

    /// The compiled words of the equality tests.
    pub(crate) fn words(&self) -> &WordTests {
        &self.words
    }
}
