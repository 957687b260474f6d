//! The decision structure the demultiplexer walks once per frame for all bound filters in the
//! recognised form (see [`crate::recognition`]), in the spirit of DPF's merged filters.
//!
//! Each filter is indexed on one of its equality tests: filters whose key tests read the same
//! bits of the input form a group, whose filters a hash table finds by the value they expect
//! there. A frame costs one read of each group's key (one masked 8-byte word, as the filters'
//! own equality tests are read, see [`crate::word_tests`]) and one probe of its table; only
//! the filters found there have their other tests checked. Filters on 64 distinct UDP ports
//! are one group of 64 values, so a frame checks one of them, and the key's compare is not
//! made twice when it is a word of its own. The filters no key tells apart from the others
//! (those with no equality test, and those alone or all alike in every key) are checked one
//! by one: for them, a lookup would cost as much as their own compares.
//!
//! The answer is the bind position of the earliest bound filter whose tests all hold: the
//! same as running the recognised filters in bind order, because their runs have no effects.
//! A filter with an equality test that can never hold never matches, and is left out.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::test_list::{Comparison, FieldTest, TestList, visible};
use crate::word_tests::{WordTest, field_end, masked_word};

/// A recognised filter as the structure holds it.
struct Candidate<Owner> {
    /// Its place in bind order.
    position: usize,
    owner: Owner,
    tests: Arc<TestList>,
    /// How many of the tests' compiled words are left to compare once a group's lookup found
    /// the candidate: all but the last when that one is the key's compare alone.
    words_to_compare: usize,
}

impl<Owner: Copy + Eq> Candidate<Owner> {
    /// Whether it claims `input`, found by its group's lookup.
    #[inline]
    fn claims_found(&self, input: &[u8], only: Option<Owner>) -> bool {
        only.is_none_or(|owner| owner == self.owner)
            && self.tests.holds_with_words(input, self.words_to_compare)
    }

    /// Whether it claims `input`, every compare made.
    #[inline]
    fn claims(&self, input: &[u8], only: Option<Owner>) -> bool {
        only.is_none_or(|owner| owner == self.owner) && self.tests.holds_visible(input)
    }
}

/// The bits a key test reads: the masked word of [`masked_word`], and where its field ends.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// At most `u32::MAX`, as a field's offset is, so that the word's end does not overflow.
    start: u32,
    mask: u64,
    end: usize,
}

impl Key {
    /// The key of equality test `test` and the value it expects there, or `None` when the
    /// test can never hold.
    fn of(test: &FieldTest) -> Option<(Key, WordTest)> {
        let word = WordTest::of(test)?;
        let key = Key {
            start: u32::try_from(word.start).ok()?,
            mask: word.mask,
            end: field_end(test),
        };
        Some((key, word))
    }

    /// The key's bits of `input`, or `None` when the input ends before its field does.
    #[inline]
    fn read(&self, input: &[u8]) -> Option<u64> {
        masked_word(input, self.start as usize, self.mask, self.end)
    }
}

/// A slot of a group's hash table: the candidates that expect `value`, in bind order; none
/// in an empty slot.
struct Slot<Owner> {
    value: u64,
    candidates: Vec<Candidate<Owner>>,
}

/// The filters keyed on one [`Key`], by the value they expect in it.
struct Group<Owner> {
    key: Key,
    /// Open addressing, from the slot [`slot_of`] gives on: a power of two in size, at least
    /// twice the values, so that every probe reaches an empty slot.
    slots: Vec<Slot<Owner>>,
    /// `slot_of`'s shift for the table's size.
    shift: u32,
}

/// Where the probe for `value` starts in a table of `1 << (64 - shift)` slots: Fibonacci
/// hashing, whose top bits depend on every bit of the value. The value's bytes are swapped
/// first: a key's field ends where its word does, in the top bytes of the little-endian word,
/// whose bits the product would move only into its top few; swapped, they are the field's
/// own number at the bottom, and consecutive values (ports) land far apart. An environment
/// that picks values whose probes collide lengthens only the probes of its own values, by at
/// most their number.
#[inline]
fn slot_of(value: u64, shift: u32) -> usize {
    (value.swap_bytes().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

impl<Owner> Group<Owner> {
    /// The group of `key` over `by_value`: each value with its candidates in bind order.
    fn new(key: Key, by_value: BTreeMap<u64, Vec<Candidate<Owner>>>) -> Group<Owner> {
        let size = (2 * by_value.len()).next_power_of_two().max(2);
        let shift = 64 - size.trailing_zeros();
        let mut slots: Vec<Slot<Owner>> = (0..size)
            .map(|_| Slot {
                value: 0,
                candidates: Vec::new(),
            })
            .collect();
        for (value, candidates) in by_value {
            let mut index = slot_of(value, shift);
            while !slots[index].candidates.is_empty() {
                index = (index + 1) & (size - 1);
            }
            slots[index] = Slot { value, candidates };
        }
        Group { key, slots, shift }
    }

    /// The candidates that expect `value`, in bind order.
    #[inline]
    fn candidates_for(&self, value: u64) -> &[Candidate<Owner>] {
        let last = self.slots.len().wrapping_sub(1);
        let mut index = slot_of(value, self.shift);
        while let Some(slot) = self.slots.get(index) {
            // An empty slot has no candidates, whatever its value.
            if slot.value == value || slot.candidates.is_empty() {
                return &slot.candidates;
            }
            index = (index + 1) & last;
        }
        &[]
    }
}

/// The merged decision over the recognised bound filters.
pub(crate) struct Merged<Owner> {
    groups: Vec<Group<Owner>>,
    /// Filters checked one by one, in bind order: those with no equality test, and those
    /// whose every key has one value among the bound filters.
    one_by_one: Vec<Candidate<Owner>>,
}

impl<Owner> Default for Merged<Owner> {
    fn default() -> Self {
        Merged {
            groups: Vec::new(),
            one_by_one: Vec::new(),
        }
    }
}

impl<Owner: Copy + Eq> Merged<Owner> {
    /// The structure over `filters`: each one's bind position, owner and tests, in bind order.
    pub(crate) fn new<'a>(
        filters: impl Iterator<Item = (usize, Owner, &'a Arc<TestList>)> + Clone,
    ) -> Merged<Owner> {
        let satisfiable =
            |tests: &&Arc<TestList>| equality_tests(tests).all(|test| Key::of(test).is_some());
        // How many different values filters expect in each key: the key of a filter is the
        // equality test whose key tells the most filters apart.
        let mut values: BTreeMap<Key, BTreeSet<u64>> = BTreeMap::new();
        for (_, _, tests) in filters.clone().filter(|(_, _, tests)| satisfiable(tests)) {
            for (key, word) in equality_tests(tests).filter_map(Key::of) {
                values.entry(key).or_default().insert(word.value);
            }
        }
        let spread = |key: &Key| values.get(key).map_or(0, BTreeSet::len);
        let mut keyed: BTreeMap<Key, BTreeMap<u64, Vec<Candidate<Owner>>>> = BTreeMap::new();
        let mut one_by_one = Vec::new();
        for (position, owner, tests) in filters.filter(|(_, _, tests)| satisfiable(tests)) {
            // Of the tests with the most spread, the one whose field ends last: its compare is
            // then often its list's last word alone, which the lookup makes for it. The
            // first of equals, so that the choice does not depend on how ties are broken.
            let mut best: Option<((usize, usize), Key, WordTest)> = None;
            for (key, word) in equality_tests(tests).filter_map(Key::of) {
                let rank = (spread(&key), key.end);
                if best.is_none_or(|(best_rank, _, _)| rank > best_rank) {
                    best = Some((rank, key, word));
                }
            }
            let mut candidate = Candidate {
                position,
                owner,
                tests: Arc::clone(tests),
                words_to_compare: tests.words().len(),
            };
            match best {
                // A key no other bound filter expects another value in would cost a read and
                // a probe to find what the filter's own compares find as fast.
                Some(((spread, _), key, word)) if spread > 1 => {
                    if tests.words().ends_with(&word) {
                        candidate.words_to_compare -= 1;
                    }
                    keyed
                        .entry(key)
                        .or_default()
                        .entry(word.value)
                        .or_default()
                        .push(candidate);
                }
                _ => one_by_one.push(candidate),
            }
        }
        let groups = keyed
            .into_iter()
            .map(|(key, by_value)| Group::new(key, by_value))
            .collect();
        Merged { groups, one_by_one }
    }

    /// The bind position of the earliest filter whose tests all hold on `input` (with `only`,
    /// among that owner's filters), or `None`.
    #[inline]
    pub(crate) fn first_match(&self, input: &[u8], only: Option<Owner>) -> Option<usize> {
        let input = visible(input);
        // No filter is bound at `usize::MAX`: the bound before any claim.
        let mut earliest = self
            .one_by_one
            .iter()
            .find(|candidate| candidate.claims(input, only))
            .map_or(usize::MAX, |candidate| candidate.position);
        for group in &self.groups {
            let Some(value) = group.key.read(input) else {
                continue;
            };
            for candidate in group.candidates_for(value) {
                if candidate.position >= earliest {
                    break;
                }
                if candidate.claims_found(input, only) {
                    earliest = candidate.position;
                    break;
                }
            }
        }
        (earliest != usize::MAX).then_some(earliest)
    }
}

fn equality_tests(tests: &TestList) -> impl Iterator<Item = &FieldTest> {
    tests
        .tests()
        .iter()
        .filter(|test| test.comparison == Comparison::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_list::Width;

    fn candidate(position: usize) -> Candidate<u32> {
        Candidate {
            position,
            owner: 1,
            tests: Arc::new(TestList::new(Vec::new())),
            words_to_compare: 0,
        }
    }

    fn group(values: &[u64]) -> Group<u32> {
        let by_value = values
            .iter()
            .enumerate()
            .map(|(position, &value)| (value, alloc::vec![candidate(position)]))
            .collect();
        let key = Key {
            start: 0,
            mask: u64::MAX,
            end: 8,
        };
        Group::new(key, by_value)
    }

    fn found(group: &Group<u32>, value: u64) -> Vec<usize> {
        let candidates = group.candidates_for(value);
        candidates
            .iter()
            .map(|candidate| candidate.position)
            .collect()
    }

    #[test]
    fn values_whose_probes_start_in_one_slot_are_all_found() {
        // Nine values whose probes start in the same slot of a table of 16: eight in the
        // table, the ninth absent, its probe walking past all eight to an empty slot.
        let shift = 64 - 16u32.trailing_zeros();
        let colliding: Vec<u64> = (0u64..)
            .filter(|value| slot_of(*value, shift) == 5)
            .take(9)
            .collect();
        let group = group(&colliding[..8]);
        assert_eq!(group.slots.len(), 16);
        for (position, &value) in colliding[..8].iter().enumerate() {
            assert_eq!(found(&group, value), [position]);
        }
        assert!(found(&group, colliding[8]).is_empty());
        // A value of 0 is not found in the empty slots, whose value is 0 too.
        assert!(found(&self::group(&[1, 2]), 0).is_empty());
    }

    #[test]
    fn sixty_four_consecutive_ports_start_their_probes_in_distinct_slots() {
        let values: Vec<u64> = (7000u32..7064)
            .map(|port| {
                let test = FieldTest {
                    offset: 36,
                    width: Width::U16,
                    mask: 0xFFFF,
                    comparison: Comparison::Equal,
                    value: port,
                };
                WordTest::of(&test).unwrap().value
            })
            .collect();
        let group = group(&values);
        let mut starts: Vec<usize> = values
            .iter()
            .map(|&value| slot_of(value, group.shift))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        assert_eq!(starts.len(), values.len());
        for (position, &value) in values.iter().enumerate() {
            assert_eq!(found(&group, value), [position]);
        }
    }
}
