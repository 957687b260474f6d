//! A set of places: those derived from one mapping, or those binding one frame. Most sets hold
//! none or one (a page shared once, a shadow a child binds, a frame bound at one page), which
//! this set holds without an allocation; a page or frame shared with many takes a B-tree.

use super::Place;
use alloc::collections::BTreeSet;

/// A set of places, iterated in place order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum PlaceSet {
    #[default]
    None,
    One(Place),
    Many(BTreeSet<Place>),
}

impl PlaceSet {
    /// Adds `place`; false when it was there already.
    pub(super) fn insert(&mut self, place: Place) -> bool {
        match self {
            PlaceSet::None => {
                *self = PlaceSet::One(place);
                true
            }
            PlaceSet::One(only) if *only == place => false,
            PlaceSet::One(only) => {
                *self = PlaceSet::Many(BTreeSet::from([*only, place]));
                true
            }
            PlaceSet::Many(places) => places.insert(place),
        }
    }

    /// Removes `place`; false when it was not there.
    pub(super) fn remove(&mut self, place: &Place) -> bool {
        match self {
            PlaceSet::One(only) if only == place => {
                *self = PlaceSet::None;
                true
            }
            PlaceSet::Many(places) => {
                let removed = places.remove(place);
                if places.is_empty() {
                    *self = PlaceSet::None;
                }
                removed
            }
            PlaceSet::None | PlaceSet::One(_) => false,
        }
    }

    pub(super) fn contains(&self, place: &Place) -> bool {
        match self {
            PlaceSet::None => false,
            PlaceSet::One(only) => only == place,
            PlaceSet::Many(places) => places.contains(place),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, PlaceSet::None)
    }

    /// The places, in place order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Place> {
        let (one, many) = match self {
            PlaceSet::None => (None, None),
            PlaceSet::One(only) => (Some(only), None),
            PlaceSet::Many(places) => (None, Some(places.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

impl IntoIterator for PlaceSet {
    type Item = Place;
    type IntoIter = alloc::vec::IntoIter<Place>;

    /// The places, in place order.
    fn into_iter(self) -> Self::IntoIter {
        match self {
            PlaceSet::None => alloc::vec::Vec::new().into_iter(),
            PlaceSet::One(only) => alloc::vec![only].into_iter(),
            PlaceSet::Many(places) => places
                .into_iter()
                .collect::<alloc::vec::Vec<_>>()
                .into_iter(),
        }
    }
}

impl<const N: usize> From<[Place; N]> for PlaceSet {
    fn from(places: [Place; N]) -> PlaceSet {
        let mut set = PlaceSet::None;
        for place in places {
            set.insert(place);
        }
        set
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
            let mut set = PlaceSet::default();
            let mut model = BTreeSet::new();
            for (is_insert, page) in operations {
                if is_insert {
                    prop_assert_eq!(set.insert(at(page)), model.insert(at(page)));
                } else {
                    prop_assert_eq!(set.remove(&at(page)), model.remove(&at(page)));
                }
                prop_assert_eq!(set.is_empty(), model.is_empty());
                prop_assert_eq!(set.iter().copied().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
                for page in 0..6 {
                    prop_assert_eq!(set.contains(&at(page)), model.contains(&at(page)));
                }
            }
            prop_assert_eq!(set.into_iter().collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
        }
    }
}
