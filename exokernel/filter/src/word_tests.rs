//! A test list's equality tests compiled into masked compares of 8-byte words, which is how a
//! recognised filter is checked on every frame: tests whose fields lie within 8 bytes of each
//! other share one load, one `and` and one compare (a UDP port filter's five tests are three
//! words), instead of each reading its field byte by byte, and one length check stands for
//! every test's own bounds check.

use alloc::vec::Vec;

use crate::test_list::{Comparison, FieldTest, Width};

const WORD_BYTES: usize = 8;

/// One compare: the 8 input bytes from `start`, read little-endian, masked with `mask`, must
/// equal `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WordTest {
    pub(crate) start: usize,
    pub(crate) mask: u64,
    pub(crate) value: u64,
}

impl WordTest {
    /// The compare of equality test `test` alone, in the word that ends where its field ends
    /// (the input's first word for a field within it): the word a list's compile starts from
    /// when `test`'s field ends last. `None` when the test can never hold.
    pub(crate) fn of(test: &FieldTest) -> Option<WordTest> {
        let mut word = WordTest {
            start: field_end(test).saturating_sub(WORD_BYTES),
            mask: 0,
            value: 0,
        };
        add_test(&mut word, test).then_some(word)
    }
}

/// The 8 bytes of `input` from `start`, read little-endian and masked with `mask`, when the
/// input reaches `end`, where the bytes the mask selects end (`end <= start + 8`); bytes
/// past the input's end read as zero, which the mask then hides.
#[inline]
pub(crate) fn masked_word(input: &[u8], start: usize, mask: u64, end: usize) -> Option<u64> {
    match input.get(start..start + WORD_BYTES) {
        Some(bytes) => Some(u64::from_le_bytes(bytes.try_into().ok()?) & mask),
        None => masked_short_word(input, start, mask, end),
    }
}

/// [`masked_word`] on an input that ends within the word.
#[cold]
fn masked_short_word(input: &[u8], start: usize, mask: u64, end: usize) -> Option<u64> {
    if input.len() < end {
        return None;
    }
    let tail = input.get(start..)?;
    let mut bytes = [0u8; WORD_BYTES];
    let length = tail.len().min(WORD_BYTES);
    bytes[..length].copy_from_slice(&tail[..length]);
    Some(u64::from_le_bytes(bytes) & mask)
}

/// The equality tests of a list, compiled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WordTests {
    words: Vec<WordTest>,
    /// The shortest input holding every field of the list, equality or not: on a shorter one
    /// some test reads past the end and fails, and with it the conjunction. `usize::MAX` when
    /// some equality test can never hold: it wants bits its mask or its width hides, or two
    /// tests want different values of the same bit.
    required_length: usize,
    /// The larger of `required_length` and a word: on an input this long every word is read
    /// whole; a shorter one takes the slow way.
    whole_words_length: usize,
}

impl WordTests {
    /// The words of the equality tests among `tests`, and the length every test needs.
    pub(crate) fn compile(tests: &[FieldTest]) -> WordTests {
        let required_length = tests.iter().map(field_end).max().unwrap_or(0);
        let mut equalities: Vec<&FieldTest> = tests
            .iter()
            .filter(|test| test.comparison == Comparison::Equal)
            .collect();
        // From the field that ends last: each word ends where its first test's field ends and
        // takes every later one that starts within it.
        equalities.sort_by_key(|test| core::cmp::Reverse(field_end(test)));
        let mut compiled = WordTests {
            words: Vec::new(),
            required_length,
            whole_words_length: 0,
        };
        for test in equalities {
            let start = test.offset as usize;
            let word = match compiled.words.last_mut() {
                Some(word) if word.start <= start => word,
                _ => {
                    let start = field_end(test).saturating_sub(WORD_BYTES);
                    compiled.words.push(WordTest {
                        start,
                        mask: 0,
                        value: 0,
                    });
                    compiled.words.last_mut().expect("just pushed")
                }
            };
            if !add_test(word, test) {
                compiled.required_length = usize::MAX;
            }
        }
        // The word of the field that ends last goes last, where a lookup that checked it
        // already leaves it out (see `hold_first`).
        compiled.words.reverse();
        compiled.whole_words_length = compiled.required_length.max(WORD_BYTES);
        compiled
    }

    /// Whether `word` is the list's last word: the compare of the field that ends last.
    pub(crate) fn ends_with(&self, word: &WordTest) -> bool {
        self.words.last() == Some(word)
    }

    /// How many words the equality tests compiled to.
    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether every equality test holds on `input` and every field of the list lies in it.
    #[inline]
    pub(crate) fn hold(&self, input: &[u8]) -> bool {
        self.hold_first(input, self.words.len())
    }

    /// [`WordTests::hold`], of whose words only the first `count` are compared: the others
    /// were, and hold.
    #[inline]
    pub(crate) fn hold_first(&self, input: &[u8], count: usize) -> bool {
        let Some(words) = self.words.get(..count) else {
            return false;
        };
        // The second test never decides, but tells the compiler that `input.len() - 8` does
        // not wrap, which makes each word's bounds check one compare.
        if input.len() < self.whole_words_length || input.len() < WORD_BYTES {
            return self.hold_on_short(words, input);
        }
        // Each word ends where a field does, within the input: the reads stay in bounds.
        words.iter().all(|word| {
            input
                .get(word.start..word.start + WORD_BYTES)
                .and_then(|bytes| bytes.try_into().ok())
                .is_some_and(|bytes| u64::from_le_bytes(bytes) & word.mask == word.value)
        })
    }

    /// [`WordTests::hold_first`]'s `words` on an input shorter than
    /// `whole_words_length`: false when a field does not lie in it, else the words read
    /// zero-padded (no test's bits lie in the padding, since every field lies in the input).
    #[cold]
    fn hold_on_short(&self, words: &[WordTest], input: &[u8]) -> bool {
        if input.len() < self.required_length {
            return false;
        }
        // Shorter than a word, then: every word of a list whose fields all end within 8 bytes
        // starts at 0.
        let mut bytes = [0u8; WORD_BYTES];
        let length = input.len().min(WORD_BYTES);
        bytes[..length].copy_from_slice(&input[..length]);
        let padded = u64::from_le_bytes(bytes);
        words
            .iter()
            .all(|word| word.start == 0 && padded & word.mask == word.value)
    }
}

fn width_bytes(width: Width) -> usize {
    match width {
        Width::U8 => 1,
        Width::U16 => 2,
        Width::U32 => 4,
    }
}

/// Where the field of `test` ends in the input.
pub(crate) fn field_end(test: &FieldTest) -> usize {
    test.offset as usize + width_bytes(test.width)
}

/// Adds the bytes of equality test `test`, whose field lies within `word`, to `word`; false
/// when the test cannot hold (alone, or together with what `word` already asks).
fn add_test(word: &mut WordTest, test: &FieldTest) -> bool {
    let bytes = width_bytes(test.width);
    let field_mask = u32::MAX >> (32 - 8 * bytes);
    let mask = test.mask & field_mask;
    if test.value & !mask != 0 {
        return false;
    }
    let mut is_consistent = true;
    for index in 0..bytes {
        // The field is big-endian: its byte `index` holds bits from the top.
        let shift_in_field = 8 * (bytes - 1 - index);
        let mask_byte = u64::from((mask >> shift_in_field) & 0xFF);
        let value_byte = u64::from((test.value >> shift_in_field) & 0xFF);
        let shift_in_word = 8 * (test.offset as usize + index - word.start);
        let (mask_bits, value_bits) = (mask_byte << shift_in_word, value_byte << shift_in_word);
        if word.mask & mask_bits & (word.value ^ value_bits) != 0 {
            is_consistent = false;
        }
        word.mask |= mask_bits;
        word.value |= value_bits & mask_bits;
    }
    is_consistent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_list::TestList;
    use proptest::prelude::*;

    fn equal(offset: u32, width: Width, mask: u32, value: u32) -> FieldTest {
        FieldTest {
            offset,
            width,
            mask,
            comparison: Comparison::Equal,
            value,
        }
    }

    fn udp_port_tests(port: u32) -> Vec<FieldTest> {
        vec![
            equal(12, Width::U16, 0xFFFF, 0x0800),
            equal(14, Width::U8, 0xF0, 0x40),
            equal(23, Width::U8, 0xFF, 17),
            equal(20, Width::U16, 0x1FFF, 0),
            equal(36, Width::U16, 0xFFFF, port),
        ]
    }

    /// `input` changed so that every equality test of `tests` holds on it (where its field
    /// lies in it), the bits the tests do not look at left as they were.
    fn made_to_match(tests: &[FieldTest], mut input: Vec<u8>) -> Vec<u8> {
        for test in tests
            .iter()
            .filter(|test| test.comparison == Comparison::Equal)
        {
            let bytes = width_bytes(test.width);
            let field = u64::from(test.value & test.mask);
            for index in 0..bytes {
                let Some(byte) = input.get_mut(test.offset as usize + index) else {
                    continue;
                };
                let shift = 8 * (bytes - 1 - index);
                let keep = !((test.mask >> shift) as u8);
                *byte = (*byte & keep) | (field >> shift) as u8;
            }
        }
        input
    }

    fn udp_frame(port: u16, length: usize) -> Vec<u8> {
        made_to_match(&udp_port_tests(u32::from(port)), vec![0u8; length])
    }

    #[test]
    fn a_udp_port_filter_is_three_words() {
        let compiled = WordTests::compile(&udp_port_tests(7000));
        assert_eq!(compiled.words.len(), 3);
        assert_eq!(compiled.required_length, 38);
        assert!(compiled.hold(&udp_frame(7000, 42)));
        assert!(!compiled.hold(&udp_frame(7001, 42)));
        let mut fragment = udp_frame(7000, 42);
        fragment[21] = 1;
        assert!(!compiled.hold(&fragment));
    }

    #[test]
    fn a_frame_that_ends_inside_a_field_fails() {
        let compiled = WordTests::compile(&udp_port_tests(7000));
        let frame = udp_frame(7000, 42);
        assert!(compiled.hold(&frame[..38]));
        assert!(!compiled.hold(&frame[..37]));
        assert!(!compiled.hold(&[]));
    }

    #[test]
    fn bits_a_test_cannot_see_make_it_unsatisfiable() {
        // A byte field is zero-extended: 0x100 is never its value.
        assert!(!WordTests::compile(&[equal(0, Width::U8, u32::MAX, 0x100)]).hold(&[0; 8]));
        // A value outside the mask is never the masked field.
        assert!(!WordTests::compile(&[equal(0, Width::U16, 0x00FF, 0x0100)]).hold(&[1, 0]));
        // Two tests that want the same bit both ways.
        let contradiction = [
            equal(2, Width::U8, 0x01, 0x01),
            equal(1, Width::U16, 0x0001, 0x0000),
        ];
        assert!(!WordTests::compile(&contradiction).hold(&[0, 0, 1, 0]));
        assert!(!WordTests::compile(&contradiction).hold(&[0, 0, 0, 0]));
    }

    #[test]
    fn inputs_shorter_than_a_word_are_read_with_their_own_bytes() {
        let tests = [equal(1, Width::U16, 0xFFFF, 0xBEEF)];
        assert!(WordTests::compile(&tests).hold(&[0, 0xBE, 0xEF]));
        assert!(!WordTests::compile(&tests).hold(&[0, 0xBE]));
        // The byte past the end is read as zero, yet a field that wants a zero there fails.
        let wants_zero_last = [equal(1, Width::U16, 0xFFFF, 0xBE00)];
        assert!(WordTests::compile(&wants_zero_last).hold(&[0, 0xBE, 0]));
        assert!(!WordTests::compile(&wants_zero_last).hold(&[0, 0xBE]));
        assert!(WordTests::compile(&[]).hold(&[]));
    }

    fn any_test() -> impl Strategy<Value = FieldTest> {
        (
            0u32..24,
            prop_oneof![Just(Width::U8), Just(Width::U16), Just(Width::U32)],
            prop_oneof![Just(u32::MAX), Just(0xFF), Just(0xF0F0), any::<u32>()],
            prop_oneof![
                Just(Comparison::Equal),
                Just(Comparison::Equal),
                Just(Comparison::NotEqual),
                Just(Comparison::AtLeast)
            ],
            prop_oneof![0u32..4, any::<u32>()],
        )
            .prop_map(|(offset, width, mask, comparison, value)| FieldTest {
                offset,
                width,
                mask,
                comparison,
                value,
            })
    }

    proptest! {
        /// The words give the verdict of the tests checked one by one, on random tests and
        /// inputs, including inputs that end inside a field.
        #[test]
        fn the_words_agree_with_the_tests_one_by_one(
            tests in proptest::collection::vec(any_test(), 0..6),
            input in proptest::collection::vec(
                prop_oneof![Just(0u8), Just(0xFF), any::<u8>()],
                0..32,
            ),
        ) {
            let one_by_one = tests.iter().all(|test| test.holds(&input));
            prop_assert_eq!(TestList::new(tests).holds(&input), one_by_one);
        }

        /// The same with inputs built to satisfy the equality tests, so that matches are
        /// common and not only refusals are compared, then cut short at any length.
        #[test]
        fn the_words_agree_on_inputs_made_to_match(
            tests in proptest::collection::vec(any_test(), 1..6),
            noise in proptest::collection::vec(any::<u8>(), 32),
            cut in 0usize..=32,
        ) {
            let input = made_to_match(&tests, noise);
            // Cut anywhere, often inside a field whose wanted bytes are zeros.
            let input = &input[..cut];
            let one_by_one = tests.iter().all(|test| test.holds(input));
            prop_assert_eq!(TestList::new(tests).holds(input), one_by_one);
        }
    }
}
