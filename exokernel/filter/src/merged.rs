//! The decision structure the demultiplexer walks once per frame for all bound filters in the
//! recognised form (see [`crate::recognition`]), in the spirit of DPF's merged filters.
//!
//! Each filter is indexed on one of its equality tests: filters whose key tests read the same
//! field (offset, width and mask) form a group, whose filters are sorted by the value they
//! expect. A frame costs one read of each group's field and one binary search for the value
//! it holds; only the filters found there (and the few with no equality test at all) have
//! their other tests checked. Filters on 64 distinct UDP ports are one group of 64 values, so
//! a frame checks one of them.
//!
//! The answer is the bind position of the earliest bound filter whose tests all hold: the
//! same as running the recognised filters in bind order, because their runs have no effects.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::test_list::{Comparison, FieldTest, TestList, Width, field, visible};

/// A recognised filter as the structure holds it.
struct Candidate<Owner> {
    /// Its place in bind order.
    position: usize,
    owner: Owner,
    tests: Arc<TestList>,
}

impl<Owner: Copy + Eq> Candidate<Owner> {
    fn claims(&self, input: &[u8], only: Option<Owner>) -> bool {
        only.is_none_or(|owner| owner == self.owner) && self.tests.holds(input)
    }
}

/// The field an equality test reads.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Field {
    offset: u32,
    width: Width,
    mask: u32,
}

impl Field {
    fn of(test: &FieldTest) -> Field {
        Field {
            offset: test.offset,
            width: test.width,
            mask: test.mask,
        }
    }
}

/// The filters keyed on one field, by the value they expect in it.
struct Group<Owner> {
    field: Field,
    /// Sorted by value; the candidates of each value in bind order.
    by_value: Vec<(u32, Vec<Candidate<Owner>>)>,
}

/// The merged decision over the recognised bound filters.
pub(crate) struct Merged<Owner> {
    groups: Vec<Group<Owner>>,
    /// Filters with no equality test, in bind order.
    unkeyed: Vec<Candidate<Owner>>,
}

impl<Owner> Default for Merged<Owner> {
    fn default() -> Self {
        Merged {
            groups: Vec::new(),
            unkeyed: Vec::new(),
        }
    }
}

impl<Owner: Copy + Eq> Merged<Owner> {
    /// The structure over `filters`: each one's bind position, owner and tests, in bind order.
    pub(crate) fn new<'a>(
        filters: impl Iterator<Item = (usize, Owner, &'a Arc<TestList>)> + Clone,
    ) -> Merged<Owner> {
        // How many different values filters expect in each field: the key of a filter is the
        // equality test whose field tells the most filters apart.
        let mut values: BTreeMap<Field, BTreeSet<u32>> = BTreeMap::new();
        for (_, _, tests) in filters.clone() {
            for test in equality_tests(tests) {
                values
                    .entry(Field::of(test))
                    .or_default()
                    .insert(test.value);
            }
        }
        let spread = |test: &FieldTest| values.get(&Field::of(test)).map_or(0, BTreeSet::len);
        let mut keyed: BTreeMap<Field, BTreeMap<u32, Vec<Candidate<Owner>>>> = BTreeMap::new();
        let mut unkeyed = Vec::new();
        for (position, owner, tests) in filters {
            let candidate = Candidate {
                position,
                owner,
                tests: Arc::clone(tests),
            };
            // The first of the tests with the most spread, so that the choice is the same
            // whatever the order `max_by_key` breaks ties in.
            let most = equality_tests(tests).map(spread).max();
            match equality_tests(tests).find(|test| Some(spread(test)) == most) {
                Some(key) => keyed
                    .entry(Field::of(key))
                    .or_default()
                    .entry(key.value)
                    .or_default()
                    .push(candidate),
                None => unkeyed.push(candidate),
            }
        }
        let groups = keyed
            .into_iter()
            .map(|(field, by_value)| Group {
                field,
                by_value: by_value.into_iter().collect(),
            })
            .collect();
        Merged { groups, unkeyed }
    }

    /// The bind position of the earliest filter whose tests all hold on `input` (with `only`,
    /// among that owner's filters), or `None`.
    pub(crate) fn first_match(&self, input: &[u8], only: Option<Owner>) -> Option<usize> {
        let input = visible(input);
        let mut earliest = None;
        for group in &self.groups {
            let Some(value) = field(input, group.field.offset, group.field.width) else {
                continue;
            };
            let masked = value & group.field.mask;
            if let Ok(index) = group
                .by_value
                .binary_search_by_key(&masked, |(value, _)| *value)
            {
                earliest = earliest_claim(&group.by_value[index].1, input, only, earliest);
            }
        }
        if self.unkeyed.is_empty() {
            return earliest;
        }
        earliest_claim(&self.unkeyed, input, only, earliest)
    }
}

/// The earlier of `earliest` and the position of the first of `candidates` (in bind order)
/// that claims `input`.
#[inline]
fn earliest_claim<Owner: Copy + Eq>(
    candidates: &[Candidate<Owner>],
    input: &[u8],
    only: Option<Owner>,
    earliest: Option<usize>,
) -> Option<usize> {
    candidates
        .iter()
        .take_while(|candidate| earliest.is_none_or(|best| candidate.position < best))
        .find(|candidate| candidate.claims(input, only))
        .map(|candidate| candidate.position)
        .or(earliest)
}

fn equality_tests(tests: &TestList) -> impl Iterator<Item = &FieldTest> {
    tests
        .tests()
        .iter()
        .filter(|test| test.comparison == Comparison::Equal)
}
