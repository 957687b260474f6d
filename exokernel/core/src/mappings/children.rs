//! The places derived from one mapping. Most mappings have none or one (a page shared once, a
//! shadow a child binds), which this set holds without an allocation; a page shared with many
//! takes a B-tree.

use super::Place;
use alloc::collections::BTreeSet;

/// A set of places, iterated in place order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Children {
    #[default]
    None,
    One(Place),
    Many(BTreeSet<Place>),
}

impl Children {
    /// Adds `place`; false when it was there already.
    pub(super) fn insert(&mut self, place: Place) -> bool {
        match self {
            Children::None => {
                *self = Children::One(place);
                true
            }
            Children::One(only) if *only == place => false,
            Children::One(only) => {
                *self = Children::Many(BTreeSet::from([*only, place]));
                true
            }
            Children::Many(places) => places.insert(place),
        }
    }

    /// Removes `place`; false when it was not there.
    pub(super) fn remove(&mut self, place: &Place) -> bool {
        match self {
            Children::One(only) if only == place => {
                *self = Children::None;
                true
            }
            Children::Many(places) => {
                let removed = places.remove(place);
                if places.is_empty() {
                    *self = Children::None;
                }
                removed
            }
            Children::None | Children::One(_) => false,
        }
    }

    pub(super) fn contains(&self, place: &Place) -> bool {
        match self {
            Children::None => false,
            Children::One(only) => only == place,
            Children::Many(places) => places.contains(place),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Children::None)
    }

    /// The places, in place order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Place> {
        let (one, many) = match self {
            Children::None => (None, None),
            Children::One(only) => (Some(only), None),
            Children::Many(places) => (None, Some(places.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

impl IntoIterator for Children {
    type Item = Place;
    type IntoIter = alloc::vec::IntoIter<Place>;

    /// The places, in place order.
    fn into_iter(self) -> Self::IntoIter {
        match self {
            Children::None => alloc::vec::Vec::new().into_iter(),
            Children::One(only) => alloc::vec![only].into_iter(),
            Children::Many(places) => places
                .into_iter()
                .collect::<alloc::vec::Vec<_>>()
                .into_iter(),
        }
    }
}

impl<const N: usize> From<[Place; N]> for Children {
    fn from(places: [Place; N]) -> Children {
        let mut children = Children::None;
        for place in places {
            children.insert(place);
        }
        children
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environments::EnvId;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn at(page: u64) -> Place {
        Place::new(EnvId(1), page)
    }

    proptest! {
        /// Any sequence of inserts and removes leaves the same places, in the same order, as a
        /// B-tree set, and answers each call as it does.
        #[test]
        fn behaves_as_an_ordered_set(operations in proptest::collection::vec((any::<bool>(), 0u64..6), 0..40)) {
            let mut children = Children::default();
            let mut model = BTreeSet::new();
            for (is_insert, page) in operations {
                if is_insert {
                    prop_assert_eq!(children.insert(at(page)), model.insert(at(page)));
                } else {
                    prop_assert_eq!(children.remove(&at(page)), model.remove(&at(page)));
                }
                prop_assert_eq!(children.is_empty(), model.is_empty());
                prop_assert_eq!(children.iter().copied().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
                for page in 0..6 {
                    prop_assert_eq!(children.contains(&at(page)), model.contains(&at(page)));
                }
            }
            prop_assert_eq!(children.into_iter().collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
        }
    }
}
