//! The mapping database: every binding of a frame into a user address space, and which binding
//! each one was derived from, so that revoking a binding also revokes everything derived from it.
//!
//! The bindings form a forest. A root is an environment's binding of a frame it owns (the kernel
//! checked ownership before calling [`MappingDatabase::map_root`]); every other mapping was
//! derived from exactly one existing mapping ([`MappingDatabase::derive`]), binds the same frame,
//! and has rights within its parent's. A new mapping is always a leaf, so no cycle can form.
//!
//! This is bookkeeping only: the operations return the [`Removal`]s and [`Change`]s, and the
//! kernel applies them to the real page tables and flushes the TLBs. Places and frames come from
//! user requests, so no operation panics on any input.

mod place_set;

use crate::environments::EnvId;
use crate::frame_table::FrameNumber;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::hash::{Hash, Hasher};
use exo_abi::{PageFlags, PageRights};
use foldhash::fast::FixedState;
use hashbrown::HashMap;
use place_set::PlaceSet;

/// A virtual page of one environment. Places order by environment, then page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    /// The environment whose address space holds the page.
    pub environment: EnvId,
    /// The virtual page number (virtual address / 4096).
    pub page: u64,
}

impl Place {
    /// The place of virtual page `page` of `environment`.
    pub fn new(environment: EnvId, page: u64) -> Place {
        Place { environment, page }
    }
}

/// One word to hash, not two: the database's hash lookups are on every page call. User page
/// numbers take 35 bits, so the environment goes above them (what overlaps only collides).
impl Hash for Place {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.page ^ u64::from(self.environment.0) << 35);
    }
}

/// Why a mapping operation was refused. A refused operation changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappingError {
    /// The target place already has a mapping.
    Occupied,
    /// The place named as source (or to unmap, flush or protect) has no mapping.
    NoMapping,
    /// The requested rights are not within the rights of the mapping they derive from.
    RightsExceedSource,
    /// The kernel heap has no room to grow the indexes by one more mapping.
    NoMemory,
}

/// A mapping that was removed: the kernel clears the page-table entry of `place` (which bound
/// `frame`) and flushes it from the TLBs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removal {
    /// Where the mapping was.
    pub place: Place,
    /// The frame it bound.
    pub frame: FrameNumber,
}

/// A mapping whose rights changed: the kernel rewrites the page-table entry of `place` with
/// `rights` and flushes it from the TLBs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// Where the mapping is.
    pub place: Place,
    /// Its new rights.
    pub rights: PageRights,
}

/// What the database records about one mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappingView {
    /// The frame it binds.
    pub frame: FrameNumber,
    /// What it allows besides reading.
    pub rights: PageRights,
    /// The mapping it was derived from; `None` for a root.
    pub parent: Option<Place>,
    /// Whether some mapping derived from it still exists.
    pub has_derived: bool,
}

impl MappingView {
    /// What [`Syscall::PageQuery`](exo_abi::Syscall::PageQuery) and
    /// [`Syscall::PageList`](exo_abi::Syscall::PageList) report about this mapping beside its
    /// frame and rights, `is_owned` saying whether the asking environment owns the frame.
    pub fn flags(&self, is_owned: bool) -> PageFlags {
        let mut flags = PageFlags::empty();
        flags.set(PageFlags::OWNED, is_owned);
        flags.set(PageFlags::HAS_DERIVED, self.has_derived);
        flags.set(PageFlags::IS_DERIVED, self.parent.is_some());
        flags
    }

    /// The rights and the [`flags`](MappingView::flags) of this mapping as those calls report
    /// them, in the low bits of one word.
    pub fn status_bits(&self, is_owned: bool) -> u64 {
        self.rights.bits() | self.flags(is_owned).bits()
    }
}

/// One mapping and its links in the derivation forest.
#[derive(Clone, Debug)]
struct Mapping {
    frame: FrameNumber,
    rights: PageRights,
    parent: Option<Place>,
    children: PlaceSet,
}

impl Mapping {
    fn view(&self) -> MappingView {
        MappingView {
            frame: self.frame,
            rights: self.rights,
            parent: self.parent,
            has_derived: !self.children.is_empty(),
        }
    }
}

/// Every user mapping, indexed by place and by frame.
///
/// Operations that remove mappings list each removed mapping before the mapping it was derived
/// from (within one derivation tree, deepest first), so the kernel can clear page-table entries
/// in the order given and never leave a derived mapping without its source.
#[derive(Debug, Default)]
pub struct MappingDatabase {
    /// Every mapping, by place: every page call looks up a few, each one hash lookup.
    mappings: HashMap<Place, Mapping, FixedState>,
    /// The pages each environment has a mapping at, in page order, for listing its mappings and
    /// ending it; an environment with no mapping has no entry.
    pages_by_environment: BTreeMap<EnvId, BTreeSet<u64>>,
    /// The places binding each frame, in place order; a frame with no mapping has no entry.
    places_by_frame: HashMap<FrameNumber, PlaceSet, FixedState>,
}

impl MappingDatabase {
    /// Records a root mapping: `place` binds `frame`, which its environment owns.
    ///
    /// Errors: [`MappingError::Occupied`] when `place` already has a mapping;
    /// [`MappingError::NoMemory`] as [`MappingDatabase::reserve_one`].
    pub fn map_root(
        &mut self,
        place: Place,
        frame: FrameNumber,
        rights: PageRights,
    ) -> Result<(), MappingError> {
        if self.get(place).is_some() {
            return Err(MappingError::Occupied);
        }
        self.reserve_one()?;
        self.insert(place, frame, rights, None);
        Ok(())
    }

    /// Records a root mapping at `place`, which the caller has just found free
    /// ([`MappingDatabase::lookup`]) and made room for ([`MappingDatabase::reserve_one`]), with
    /// no change to the database in between: [`MappingDatabase::map_root`] without repeating
    /// those two steps, so it cannot fail.
    pub fn map_root_reserved(&mut self, place: Place, frame: FrameNumber, rights: PageRights) {
        debug_assert!(self.get(place).is_none(), "the place was checked free");
        self.insert(place, frame, rights, None);
    }

    /// Makes room in the hash indexes by place and by frame for one more mapping, so that
    /// recording it cannot fail for want of a large block: a kernel calls this before it writes
    /// the page table. A hash index grows by doubling into one new block, which a fragmented
    /// heap may not have; then this fails and nothing changes. (The other allocations a
    /// mapping makes are small, as they always were, and come out of the heap's reserve.)
    ///
    /// Errors: [`MappingError::NoMemory`].
    pub fn reserve_one(&mut self) -> Result<(), MappingError> {
        self.mappings
            .try_reserve(1)
            .map_err(|_| MappingError::NoMemory)?;
        self.places_by_frame
            .try_reserve(1)
            .map_err(|_| MappingError::NoMemory)
    }

    /// Records that `target` binds the frame of `source`, with `rights`, derived from `source`;
    /// returns that frame. `target` may be in any environment, `source`'s included.
    ///
    /// Errors, checked in this order: [`MappingError::NoMapping`] when `source` has no mapping;
    /// [`MappingError::RightsExceedSource`] when `rights` are not within `source`'s;
    /// [`MappingError::Occupied`] when `target` already has a mapping;
    /// [`MappingError::NoMemory`] as [`MappingDatabase::reserve_one`].
    pub fn derive(
        &mut self,
        source: Place,
        target: Place,
        rights: PageRights,
    ) -> Result<FrameNumber, MappingError> {
        let source_mapping = self.get(source).ok_or(MappingError::NoMapping)?;
        if !source_mapping.rights.contains(rights) {
            return Err(MappingError::RightsExceedSource);
        }
        let frame = source_mapping.frame;
        if self.get(target).is_some() {
            return Err(MappingError::Occupied);
        }
        self.reserve_one()?;
        if let Some(source_mapping) = self.get_mut(source) {
            source_mapping.children.insert(target);
        }
        self.insert(target, frame, rights, Some(source));
        Ok(frame)
    }

    /// Removes the mapping at `place` and every mapping derived from it, transitively. Returns
    /// every removal, each before the mapping it was derived from.
    ///
    /// Errors: [`MappingError::NoMapping`] when `place` has no mapping.
    pub fn unmap(&mut self, place: Place) -> Result<Vec<Removal>, MappingError> {
        if self.get(place).is_none() {
            return Err(MappingError::NoMapping);
        }
        let mut removals = Vec::new();
        self.remove_trees(vec![place], &mut removals);
        Ok(removals)
    }

    /// Removes every mapping derived from the one at `place`, transitively, and keeps that one.
    /// Returns every removal, each before the mapping it was derived from.
    ///
    /// Errors: [`MappingError::NoMapping`] when `place` has no mapping.
    pub fn flush(&mut self, place: Place) -> Result<Vec<Removal>, MappingError> {
        let mapping = self.get_mut(place).ok_or(MappingError::NoMapping)?;
        let children = core::mem::take(&mut mapping.children);
        let mut removals = Vec::new();
        self.remove_trees(children.into_iter().collect(), &mut removals);
        Ok(removals)
    }

    /// Sets the rights of the mapping at `place` to `rights`, and narrows every mapping derived
    /// from it, transitively, to the rights of its own parent. Returns every mapping whose
    /// rights changed, each after the mapping it was derived from. Widening a mapping never
    /// widens what was derived from it.
    ///
    /// Errors: [`MappingError::NoMapping`] when `place` has no mapping;
    /// [`MappingError::RightsExceedSource`] when it was derived and `rights` are not within its
    /// parent's.
    pub fn protect(
        &mut self,
        place: Place,
        rights: PageRights,
    ) -> Result<Vec<Change>, MappingError> {
        let mut changes = Vec::new();
        self.protect_with(place, rights, |change| changes.push(change))?;
        Ok(changes)
    }

    /// [`MappingDatabase::protect`], reporting each change to `on_change` (parent first)
    /// instead of collecting them, so that the common case (a mapping nothing was derived from)
    /// allocates nothing.
    pub fn protect_with(
        &mut self,
        place: Place,
        rights: PageRights,
        mut on_change: impl FnMut(Change),
    ) -> Result<(), MappingError> {
        let mapping = self.get_mut(place).ok_or(MappingError::NoMapping)?;
        // A root binding nothing was derived from (every page a program protects for itself)
        // changes alone: one lookup.
        if mapping.parent.is_none() && mapping.children.is_empty() {
            if mapping.rights != rights {
                mapping.rights = rights;
                on_change(Change { place, rights });
            }
            return Ok(());
        }
        if let Some(parent) = mapping.parent {
            let parent_rights = self.rights_of(parent).ok_or(MappingError::NoMapping)?;
            if !parent_rights.contains(rights) {
                return Err(MappingError::RightsExceedSource);
            }
        }
        // Each pending entry is a derived mapping and the new rights of its parent.
        let mut pending = Vec::new();
        self.set_rights(place, rights, &mut on_change, &mut pending);
        while let Some((child, parent_rights)) = pending.pop() {
            if let Some(current) = self.rights_of(child) {
                let clamped = current & parent_rights;
                self.set_rights(child, clamped, &mut on_change, &mut pending);
            }
        }
        Ok(())
    }

    /// Removes every mapping of `frame`, in every environment (the frame is being freed, granted
    /// away or repossessed). Returns every removal, each before the mapping it was derived from.
    pub fn remove_frame(&mut self, frame: FrameNumber) -> Vec<Removal> {
        let places: Vec<Place> = self.mappings_of_frame(frame).collect();
        // A derived mapping binds its parent's frame, so every mapping of the frame hangs under a
        // root of the frame; removing those roots' trees removes them all.
        let (roots, derived): (Vec<Place>, Vec<Place>) = places
            .into_iter()
            .partition(|place| self.parent_of(*place).is_none());
        let mut removals = Vec::new();
        self.remove_trees(roots, &mut removals);
        // Nothing is left here unless the forest were broken; then still leave nothing mapped.
        for place in derived {
            self.remove_trees(vec![place], &mut removals);
        }
        removals
    }

    /// Removes every mapping of environment `environment` and every mapping derived from them,
    /// in any environment. Returns every removal, each before the mapping it was derived from.
    pub fn remove_environment(&mut self, environment: EnvId) -> Vec<Removal> {
        // Its whole page index goes at once (`take` finds none to remove each page from).
        let Some(pages) = self.pages_by_environment.remove(&environment) else {
            return Vec::new();
        };
        let mut removals = Vec::with_capacity(pages.len());
        let mut queue = Vec::new();
        // One tree at a time: one of these places may derive from another, and a tree removed
        // first is listed first, so a derived mapping still comes before its source.
        for page in pages {
            let place = Place::new(environment, page);
            self.unlink_from_parent(place);
            queue.clear();
            queue.push(place);
            self.remove_breadth_first(&mut queue, &mut removals);
        }
        removals
    }

    /// The mapping at `place`, if any.
    pub fn lookup(&self, place: Place) -> Option<MappingView> {
        self.get(place).map(Mapping::view)
    }

    /// The mappings of environment `environment`, by page number, in page order.
    pub fn mappings_in(&self, environment: EnvId) -> impl Iterator<Item = (u64, MappingView)> + '_ {
        self.mappings_from(environment, 0)
    }

    /// The mappings of environment `environment` at page `first_page` or above, by page
    /// number, in page order.
    pub fn mappings_from(
        &self,
        environment: EnvId,
        first_page: u64,
    ) -> impl Iterator<Item = (u64, MappingView)> + '_ {
        self.pages_by_environment
            .get(&environment)
            .into_iter()
            .flat_map(move |pages| pages.range(first_page..))
            .filter_map(move |&page| {
                let mapping = self.get(Place::new(environment, page))?;
                Some((page, mapping.view()))
            })
    }

    /// The pages environment `environment` binds in `first_page..end_page`, in order.
    pub fn pages_between(
        &self,
        environment: EnvId,
        first_page: u64,
        end_page: u64,
    ) -> impl Iterator<Item = u64> + '_ {
        self.pages_by_environment
            .get(&environment)
            .into_iter()
            .flat_map(move |pages| pages.range(first_page..end_page.max(first_page)))
            .copied()
    }

    /// The places that bind `frame`, in place order.
    pub fn mappings_of_frame(&self, frame: FrameNumber) -> impl Iterator<Item = Place> + '_ {
        self.places_by_frame
            .get(&frame)
            .into_iter()
            .flat_map(|places| places.iter().copied())
    }

    /// How many mappings the database holds.
    pub fn len(&self) -> usize {
        self.mappings.len()
    }

    /// How many mappings environment `environment` holds.
    pub fn count_in(&self, environment: EnvId) -> usize {
        self.pages_by_environment
            .get(&environment)
            .map_or(0, BTreeSet::len)
    }

    /// Whether the database holds no mapping.
    pub fn is_empty(&self) -> bool {
        self.mappings.is_empty()
    }

    /// Checks the database's own consistency: parent and child links agree both ways; a derived
    /// mapping binds its parent's frame with rights within its parent's; every mapping hangs
    /// under a root (no cycle); the frame index lists exactly the mappings of each frame.
    /// Returns the first inconsistency found.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (place, mapping) in self.all() {
            self.check_parent_link(place, mapping)?;
            self.check_child_links(place, mapping)?;
            let is_indexed = self
                .places_by_frame
                .get(&mapping.frame)
                .is_some_and(|places| places.contains(&place));
            if !is_indexed {
                return Err(format!("{place:?} is missing from the index of its frame"));
            }
        }
        self.check_frame_index()?;
        self.check_environment_index()?;
        self.check_every_mapping_has_a_root()
    }

    fn check_parent_link(&self, place: Place, mapping: &Mapping) -> Result<(), String> {
        let Some(parent_place) = mapping.parent else {
            return Ok(());
        };
        let Some(parent) = self.get(parent_place) else {
            return Err(format!("{place:?} has a missing parent {parent_place:?}"));
        };
        if !parent.children.contains(&place) {
            return Err(format!(
                "{parent_place:?} does not list its child {place:?}"
            ));
        }
        if parent.frame != mapping.frame {
            return Err(format!("{place:?} binds another frame than its parent"));
        }
        if !parent.rights.contains(mapping.rights) {
            return Err(format!("{place:?} has rights beyond its parent's"));
        }
        Ok(())
    }

    fn check_child_links(&self, place: Place, mapping: &Mapping) -> Result<(), String> {
        for child_place in mapping.children.iter() {
            let child_parent = self.get(*child_place).map(|child| child.parent);
            if child_parent != Some(Some(place)) {
                return Err(format!(
                    "{place:?} lists {child_place:?}, which is not its child"
                ));
            }
        }
        Ok(())
    }

    fn check_environment_index(&self) -> Result<(), String> {
        let mut indexed = 0;
        for (&environment, pages) in &self.pages_by_environment {
            if pages.is_empty() {
                return Err(format!("{environment:?} has an empty index entry"));
            }
            for &page in pages {
                if self.get(Place::new(environment, page)).is_none() {
                    return Err(format!(
                        "{environment:?} lists page {page}, which has no mapping"
                    ));
                }
            }
            indexed += pages.len();
        }
        if indexed != self.mappings.len() {
            return Err(format!(
                "{indexed} mappings indexed by environment, {} held",
                self.mappings.len()
            ));
        }
        Ok(())
    }

    fn check_frame_index(&self) -> Result<(), String> {
        for (&frame, places) in &self.places_by_frame {
            if places.is_empty() {
                return Err(format!("frame {frame} has an empty index entry"));
            }
            for place in places.iter() {
                if self.get(*place).map(|mapping| mapping.frame) != Some(frame) {
                    return Err(format!(
                        "frame {frame} lists {place:?}, which does not bind it"
                    ));
                }
            }
        }
        Ok(())
    }

    /// With the links agreeing, a mapping unreachable from every root would sit on a cycle.
    fn check_every_mapping_has_a_root(&self) -> Result<(), String> {
        let mut pending: Vec<&Mapping> = self
            .all()
            .map(|(_, mapping)| mapping)
            .filter(|mapping| mapping.parent.is_none())
            .collect();
        let count = self.len();
        let mut reached = 0;
        while let Some(mapping) = pending.pop() {
            reached += 1;
            if reached > count {
                return Err(String::from("the derivation links reach a mapping twice"));
            }
            pending.extend(mapping.children.iter().filter_map(|&c| self.get(c)));
        }
        if reached != count {
            return Err(String::from("some mappings are on a derivation cycle"));
        }
        Ok(())
    }

    fn insert(
        &mut self,
        place: Place,
        frame: FrameNumber,
        rights: PageRights,
        parent: Option<Place>,
    ) {
        let mapping = Mapping {
            frame,
            rights,
            parent,
            children: PlaceSet::None,
        };
        if let Some(replaced) = self.mappings.insert(place, mapping) {
            self.unindex_frame(replaced.frame, place);
        }
        self.pages_by_environment
            .entry(place.environment)
            .or_default()
            .insert(place.page);
        self.places_by_frame.entry(frame).or_default().insert(place);
    }

    /// Takes `place` out of the index of `frame`.
    fn unindex_frame(&mut self, frame: FrameNumber, place: Place) {
        if let Some(places) = self.places_by_frame.get_mut(&frame) {
            places.remove(&place);
            if places.is_empty() {
                self.places_by_frame.remove(&frame);
            }
        }
    }

    /// Removes the mapping at `place` from both indexes, leaving its links to others alone.
    fn take(&mut self, place: Place) -> Option<Mapping> {
        let mapping = self.mappings.remove(&place)?;
        if let Some(pages) = self.pages_by_environment.get_mut(&place.environment) {
            pages.remove(&place.page);
            if pages.is_empty() {
                self.pages_by_environment.remove(&place.environment);
            }
        }
        self.unindex_frame(mapping.frame, place);
        Some(mapping)
    }

    /// Removes the trees rooted at `roots`, which must not derive from one another (siblings,
    /// or roots of the forest), and appends their removals deepest first.
    fn remove_trees(&mut self, roots: Vec<Place>, removals: &mut Vec<Removal>) {
        for &root in &roots {
            self.unlink_from_parent(root);
        }
        let mut queue = roots;
        self.remove_breadth_first(&mut queue, removals);
    }

    /// Removes `place` from its parent's children, if it has a parent.
    fn unlink_from_parent(&mut self, place: Place) {
        if let Some(parent) = self.parent_of(place)
            && let Some(parent_mapping) = self.get_mut(parent)
        {
            parent_mapping.children.remove(&place);
        }
    }

    /// Removes the trees rooted at the places in `queue` (already unlinked from their parents),
    /// using `queue` for the places still to visit, and appends their removals deepest first.
    fn remove_breadth_first(&mut self, queue: &mut Vec<Place>, removals: &mut Vec<Removal>) {
        let first = removals.len();
        // Breadth first, so level by level from the roots; reversed at the end, so the
        // deepest come first.
        let mut next = 0;
        while let Some(&place) = queue.get(next) {
            next += 1;
            if let Some(mapping) = self.take(place) {
                removals.push(Removal {
                    place,
                    frame: mapping.frame,
                });
                queue.extend(mapping.children);
            }
        }
        removals[first..].reverse();
    }

    /// Sets the rights at `place`; when they change, records the change and queues its children
    /// to be narrowed to the new rights.
    fn set_rights(
        &mut self,
        place: Place,
        rights: PageRights,
        on_change: &mut impl FnMut(Change),
        pending: &mut Vec<(Place, PageRights)>,
    ) {
        let Some(mapping) = self.get_mut(place) else {
            return;
        };
        // Unchanged rights leave the children within them, as they already were.
        if mapping.rights == rights {
            return;
        }
        mapping.rights = rights;
        on_change(Change { place, rights });
        pending.extend(mapping.children.iter().map(|&child| (child, rights)));
    }

    fn get(&self, place: Place) -> Option<&Mapping> {
        self.mappings.get(&place)
    }

    fn get_mut(&mut self, place: Place) -> Option<&mut Mapping> {
        self.mappings.get_mut(&place)
    }

    /// Every mapping with its place, in no particular order.
    fn all(&self) -> impl Iterator<Item = (Place, &Mapping)> {
        self.mappings
            .iter()
            .map(|(&place, mapping)| (place, mapping))
    }

    fn parent_of(&self, place: Place) -> Option<Place> {
        self.get(place).and_then(|mapping| mapping.parent)
    }

    fn rights_of(&self, place: Place) -> Option<PageRights> {
        self.get(place).map(|mapping| mapping.rights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    const READ_ONLY: PageRights = PageRights::empty();
    const READ_WRITE: PageRights = PageRights::WRITABLE;
    const READ_EXECUTE: PageRights = PageRights::EXECUTABLE;

    fn at(environment: u32, page: u64) -> Place {
        Place::new(EnvId(environment), page)
    }

    fn places(removals: &[Removal]) -> Vec<Place> {
        removals.iter().map(|removal| removal.place).collect()
    }

    /// Environment 1 maps frame 7 at page 0 and shares it: 1:0 -> 2:0 -> 3:0, and 1:0 -> 2:1.
    fn shared_frame() -> MappingDatabase {
        let mut database = MappingDatabase::default();
        database.map_root(at(1, 0), 7, PageRights::all()).unwrap();
        database.derive(at(1, 0), at(2, 0), READ_WRITE).unwrap();
        database.derive(at(2, 0), at(3, 0), READ_WRITE).unwrap();
        database.derive(at(1, 0), at(2, 1), READ_EXECUTE).unwrap();
        database.check_invariants().unwrap();
        database
    }

    #[test]
    fn a_reserved_root_is_recorded_as_map_root_records_it() {
        let mut checked = MappingDatabase::default();
        let mut reserved = MappingDatabase::default();
        for (place, frame) in [(at(1, 4), 9), (at(1, 5), 9), (at(2, 0), 3)] {
            checked.map_root(place, frame, READ_WRITE).unwrap();
            assert_eq!(reserved.lookup(place), None);
            reserved.reserve_one().unwrap();
            reserved.map_root_reserved(place, frame, READ_WRITE);
        }
        reserved.check_invariants().unwrap();
        for environment in [1, 2] {
            let environment = at(environment, 0).environment;
            assert!(
                reserved
                    .mappings_in(environment)
                    .eq(checked.mappings_in(environment))
            );
        }
        assert_eq!(reserved.mappings_in(at(1, 0).environment).count(), 2);
    }

    #[test]
    fn map_root_refuses_an_occupied_place() {
        let mut database = MappingDatabase::default();
        assert!(database.is_empty());
        database.map_root(at(1, 4), 9, READ_WRITE).unwrap();
        assert_eq!(
            database.map_root(at(1, 4), 10, READ_WRITE),
            Err(MappingError::Occupied)
        );
        assert_eq!(
            database.lookup(at(1, 4)),
            Some(MappingView {
                frame: 9,
                rights: READ_WRITE,
                parent: None,
                has_derived: false
            })
        );
        assert_eq!(database.len(), 1);
    }

    #[test]
    fn counts_follow_every_path_that_adds_or_removes_a_mapping() {
        let mut database = shared_frame();
        assert_eq!((database.len(), database.count_in(EnvId(2))), (4, 2));
        database.flush(at(2, 0)).unwrap();
        assert_eq!((database.len(), database.count_in(EnvId(3))), (3, 0));
        database.remove_environment(EnvId(2));
        assert_eq!((database.len(), database.count_in(EnvId(2))), (1, 0));
        database.map_root(at(4, 1), 8, READ_WRITE).unwrap();
        database.remove_frame(7);
        assert_eq!((database.len(), database.count_in(EnvId(1))), (1, 0));
        database.unmap(at(4, 1)).unwrap();
        assert_eq!(database.len(), 0);
        database.check_invariants().unwrap();
    }

    #[test]
    fn a_frame_may_have_several_roots() {
        let mut database = MappingDatabase::default();
        database.map_root(at(1, 0), 9, READ_WRITE).unwrap();
        database.map_root(at(1, 1), 9, READ_WRITE).unwrap();
        assert_eq!(
            database.mappings_of_frame(9).collect::<Vec<_>>(),
            [at(1, 0), at(1, 1)]
        );
    }

    #[test]
    fn derive_shares_the_source_frame() {
        let database = shared_frame();
        assert_eq!(
            database.lookup(at(3, 0)),
            Some(MappingView {
                frame: 7,
                rights: READ_WRITE,
                parent: Some(at(2, 0)),
                has_derived: false
            })
        );
        assert_eq!(database.mappings_of_frame(7).count(), 4);
    }

    #[test]
    fn flags_tell_ownership_and_derivation() {
        use exo_abi::PageFlags as F;
        let mut database = shared_frame();
        let root = database.lookup(at(1, 0)).unwrap();
        assert_eq!(root.flags(true), F::OWNED | F::HAS_DERIVED);
        assert_eq!(
            root.status_bits(true),
            (PageRights::WRITABLE | PageRights::EXECUTABLE).bits()
                | (F::OWNED | F::HAS_DERIVED).bits()
        );
        let middle = database.lookup(at(2, 0)).unwrap();
        assert_eq!(middle.flags(false), F::HAS_DERIVED | F::IS_DERIVED);
        let leaf = database.lookup(at(2, 1)).unwrap();
        assert_eq!(leaf.flags(false), F::IS_DERIVED);
        assert_eq!(leaf.flags(true), F::IS_DERIVED | F::OWNED);
        assert_eq!(
            leaf.status_bits(true),
            PageRights::EXECUTABLE.bits() | (F::IS_DERIVED | F::OWNED).bits()
        );
        database.flush(at(1, 0)).unwrap();
        let alone = database.lookup(at(1, 0)).unwrap();
        assert_eq!(alone.flags(true), F::OWNED);
        database.map_root(at(4, 3), 8, READ_ONLY).unwrap();
        assert_eq!(database.lookup(at(4, 3)).unwrap().status_bits(false), 0);
    }

    #[test]
    fn pages_between_two_pages_are_in_order_and_stay_in_their_environment() {
        let mut database = MappingDatabase::default();
        for page in [9, 2, 5, 12] {
            database
                .map_root(at(2, page), 20 + page, READ_WRITE)
                .unwrap();
        }
        database.map_root(at(3, 6), 30, READ_WRITE).unwrap();
        let pages = |first, end| {
            database
                .pages_between(EnvId(2), first, end)
                .collect::<Vec<_>>()
        };
        assert_eq!(pages(0, u64::MAX), [2, 5, 9, 12]);
        assert_eq!(pages(3, 12), [5, 9]);
        assert_eq!(pages(9, 3), []);
        assert_eq!(database.pages_between(EnvId(4), 0, 99).count(), 0);
    }

    #[test]
    fn mappings_from_a_page_are_in_order_and_stay_in_their_environment() {
        let mut database = shared_frame();
        for page in [9, 2, 5] {
            database
                .map_root(at(2, page), 20 + page, READ_WRITE)
                .unwrap();
        }
        database.map_root(at(3, 1), 30, READ_WRITE).unwrap();
        let pages = |first| {
            database
                .mappings_from(EnvId(2), first)
                .map(|(page, _)| page)
                .collect::<Vec<_>>()
        };
        assert_eq!(pages(0), [0, 1, 2, 5, 9]);
        assert_eq!(pages(2), [2, 5, 9]);
        assert_eq!(pages(6), [9]);
        assert_eq!(pages(10), []);
        assert_eq!(pages(u64::MAX), []);
        assert_eq!(
            database.mappings_from(EnvId(2), 5).next().unwrap().1.frame,
            25
        );
    }

    #[test]
    fn derive_into_the_same_environment() {
        let mut database = shared_frame();
        database.derive(at(1, 0), at(1, 5), READ_WRITE).unwrap();
        assert_eq!(database.lookup(at(1, 5)).unwrap().parent, Some(at(1, 0)));
        database.check_invariants().unwrap();
    }

    #[test]
    fn derive_errors() {
        let mut database = shared_frame();
        assert_eq!(
            database.derive(at(1, 9), at(2, 9), READ_WRITE),
            Err(MappingError::NoMapping)
        );
        assert_eq!(
            database.derive(at(2, 0), at(2, 9), PageRights::all()),
            Err(MappingError::RightsExceedSource)
        );
        assert_eq!(
            database.derive(at(1, 0), at(2, 1), READ_WRITE),
            Err(MappingError::Occupied)
        );
        assert_eq!(
            database.derive(at(1, 0), at(1, 0), READ_WRITE),
            Err(MappingError::Occupied)
        );
        assert_eq!(database.len(), 4);
        database.check_invariants().unwrap();
    }

    #[test]
    fn unmap_removes_descendants_children_first() {
        let mut database = shared_frame();
        let removals = database.unmap(at(1, 0)).unwrap();
        assert_eq!(removals.len(), 4);
        assert!(removals.iter().all(|removal| removal.frame == 7));
        assert_eq!(removals[0].place, at(3, 0));
        assert_eq!(removals[3].place, at(1, 0));
        assert!(database.is_empty());
        assert_eq!(database.mappings_of_frame(7).count(), 0);
        database.check_invariants().unwrap();
    }

    #[test]
    fn unmap_of_a_derived_mapping_keeps_its_source() {
        let mut database = shared_frame();
        let removals = database.unmap(at(2, 0)).unwrap();
        assert_eq!(places(&removals), [at(3, 0), at(2, 0)]);
        assert_eq!(database.len(), 2);
        database.check_invariants().unwrap();
        assert_eq!(database.unmap(at(2, 0)), Err(MappingError::NoMapping));
    }

    #[test]
    fn flush_keeps_the_mapping_itself() {
        let mut database = shared_frame();
        let removals = database.flush(at(1, 0)).unwrap();
        assert_eq!(removals.len(), 3);
        assert_eq!(removals[2].place.environment, EnvId(2));
        assert_eq!(database.len(), 1);
        assert!(database.lookup(at(1, 0)).is_some());
        database.check_invariants().unwrap();
        assert_eq!(database.flush(at(1, 0)), Ok(Vec::new()));
        assert_eq!(database.flush(at(2, 0)), Err(MappingError::NoMapping));
    }

    #[test]
    fn protect_narrows_descendants_and_reports_each_change() {
        let mut database = shared_frame();
        let changes = database.protect(at(1, 0), READ_EXECUTE).unwrap();
        assert_eq!(
            changes,
            [
                Change {
                    place: at(1, 0),
                    rights: READ_EXECUTE
                },
                Change {
                    place: at(2, 0),
                    rights: READ_ONLY
                },
                Change {
                    place: at(3, 0),
                    rights: READ_ONLY
                },
            ]
        );
        assert_eq!(database.lookup(at(2, 1)).unwrap().rights, READ_EXECUTE);
        database.check_invariants().unwrap();
    }

    #[test]
    fn protect_never_widens_a_descendant() {
        let mut database = shared_frame();
        database.protect(at(1, 0), READ_ONLY).unwrap();
        let changes = database.protect(at(1, 0), PageRights::all()).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(database.lookup(at(2, 0)).unwrap().rights, READ_ONLY);
        assert_eq!(
            database.protect(at(1, 0), PageRights::all()),
            Ok(Vec::new())
        );
    }

    #[test]
    fn protect_of_a_lone_root_binding_reports_only_a_change() {
        let mut database = MappingDatabase::default();
        database.map_root(at(1, 4), 3, READ_WRITE).unwrap();
        assert_eq!(
            database.protect(at(1, 4), READ_ONLY),
            Ok(vec![Change {
                place: at(1, 4),
                rights: READ_ONLY
            }])
        );
        assert_eq!(database.protect(at(1, 4), READ_ONLY), Ok(Vec::new()));
        assert_eq!(database.lookup(at(1, 4)).unwrap().rights, READ_ONLY);
        database.check_invariants().unwrap();
    }

    #[test]
    fn protect_errors() {
        let mut database = shared_frame();
        assert_eq!(
            database.protect(at(3, 0), PageRights::all()),
            Err(MappingError::RightsExceedSource)
        );
        assert_eq!(
            database.protect(at(2, 9), READ_ONLY),
            Err(MappingError::NoMapping)
        );
        assert_eq!(database.lookup(at(3, 0)).unwrap().rights, READ_WRITE);
    }

    #[test]
    fn remove_frame_removes_every_mapping_of_it() {
        let mut database = shared_frame();
        database.map_root(at(3, 3), 7, READ_WRITE).unwrap();
        database.map_root(at(3, 4), 8, READ_WRITE).unwrap();
        let removals = database.remove_frame(7);
        assert_eq!(removals.len(), 5);
        assert_eq!(database.mappings_of_frame(7).count(), 0);
        assert_eq!(database.len(), 1);
        assert_eq!(database.remove_frame(7), Vec::new());
        database.check_invariants().unwrap();
    }

    #[test]
    fn remove_environment_removes_what_was_derived_elsewhere() {
        let mut database = shared_frame();
        database.map_root(at(3, 3), 8, READ_WRITE).unwrap();
        let removals = database.remove_environment(EnvId(2));
        assert_eq!(places(&removals), [at(3, 0), at(2, 0), at(2, 1)]);
        assert_eq!(database.mappings_in(EnvId(2)).count(), 0);
        assert_eq!(database.len(), 2);
        database.check_invariants().unwrap();
    }

    #[test]
    fn remove_environment_orders_nested_mappings_children_first() {
        let mut database = MappingDatabase::default();
        database.map_root(at(1, 5), 3, READ_WRITE).unwrap();
        database.derive(at(1, 5), at(2, 0), READ_WRITE).unwrap();
        database.derive(at(2, 0), at(1, 1), READ_WRITE).unwrap();
        let removals = database.remove_environment(EnvId(1));
        assert_eq!(places(&removals), [at(1, 1), at(2, 0), at(1, 5)]);
        assert!(database.is_empty());
    }

    #[test]
    fn mappings_in_is_per_environment_in_page_order() {
        let mut database = MappingDatabase::default();
        database.map_root(at(2, u64::MAX), 1, READ_WRITE).unwrap();
        database.map_root(at(2, 3), 2, READ_WRITE).unwrap();
        database.map_root(at(2, 0), 3, READ_WRITE).unwrap();
        database.map_root(at(1, 1), 4, READ_WRITE).unwrap();
        database.map_root(at(u32::MAX, 0), 5, READ_WRITE).unwrap();
        let pages: Vec<u64> = database.mappings_in(EnvId(2)).map(|(p, _)| p).collect();
        assert_eq!(pages, [0, 3, u64::MAX]);
        assert_eq!(database.mappings_in(EnvId(u32::MAX)).count(), 1);
        assert_eq!(database.mappings_in(EnvId(0)).count(), 0);
    }

    #[test]
    fn long_chains_do_not_recurse() {
        let mut database = MappingDatabase::default();
        database.map_root(at(1, 0), 1, PageRights::all()).unwrap();
        let length = 20_000;
        for page in 1..length {
            database
                .derive(at(1, page - 1), at(1, page), PageRights::all())
                .unwrap();
        }
        database.check_invariants().unwrap();
        assert_eq!(
            database.protect(at(1, 0), READ_WRITE).unwrap().len(),
            length as usize
        );
        let removals = database.unmap(at(1, 0)).unwrap();
        assert_eq!(removals.first().unwrap().place, at(1, length - 1));
        assert!(database.is_empty());
    }

    #[test]
    fn check_invariants_finds_broken_links() {
        let mut database = shared_frame();
        database
            .get_mut(at(1, 0))
            .unwrap()
            .children
            .remove(&at(2, 1));
        assert!(database.check_invariants().is_err());

        let mut database = shared_frame();
        database.get_mut(at(3, 0)).unwrap().rights = PageRights::all();
        assert!(database.check_invariants().is_err());

        let mut database = shared_frame();
        database.places_by_frame.clear();
        assert!(database.check_invariants().is_err());

        let mut database = MappingDatabase::default();
        database.insert(at(1, 0), 1, READ_WRITE, Some(at(1, 1)));
        database.insert(at(1, 1), 1, READ_WRITE, Some(at(1, 0)));
        database.get_mut(at(1, 0)).unwrap().children = [at(1, 1)].into();
        database.get_mut(at(1, 1)).unwrap().children = [at(1, 0)].into();
        assert!(database.check_invariants().is_err());
    }

    #[derive(Clone, Debug)]
    enum Operation {
        MapRoot(Place, FrameNumber, PageRights),
        Derive(Place, Place, PageRights),
        /// A derivation from an existing mapping, chosen by index, with rights narrowed to its
        /// own, so that derivation trees grow deep.
        DeriveFromExisting(proptest::sample::Index, Place, PageRights),
        Unmap(Place),
        Flush(Place),
        Protect(Place, PageRights),
        RemoveFrame(FrameNumber),
        RemoveEnvironment(EnvId),
    }

    fn place() -> impl Strategy<Value = Place> {
        (1u32..=3, 0u64..8).prop_map(|(environment, page)| at(environment, page))
    }

    fn rights() -> impl Strategy<Value = PageRights> {
        (0..=PageRights::all().bits()).prop_map(PageRights::from_bits_truncate)
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            2 => (place(), 0u64..6, rights()).prop_map(|(p, f, r)| Operation::MapRoot(p, f, r)),
            4 => (place(), place(), rights()).prop_map(|(s, t, r)| Operation::Derive(s, t, r)),
            8 => (any::<proptest::sample::Index>(), place(), rights())
                .prop_map(|(s, t, r)| Operation::DeriveFromExisting(s, t, r)),
            1 => place().prop_map(Operation::Unmap),
            1 => place().prop_map(Operation::Flush),
            3 => (place(), rights()).prop_map(|(p, r)| Operation::Protect(p, r)),
            1 => (0u64..6).prop_map(Operation::RemoveFrame),
            1 => (1u32..=3).prop_map(|e| Operation::RemoveEnvironment(EnvId(e))),
        ]
    }

    type Snapshot = BTreeMap<Place, MappingView>;

    fn snapshot(database: &MappingDatabase) -> Snapshot {
        database
            .all()
            .map(|(place, mapping)| (place, mapping.view()))
            .collect()
    }

    /// The chain from `place` up to its root, `place` first.
    fn ancestry(snapshot: &Snapshot, place: Place) -> Vec<Place> {
        let mut chain = vec![place];
        while let Some(parent) = snapshot.get(chain.last().unwrap()).and_then(|v| v.parent) {
            assert!(chain.len() <= snapshot.len(), "cycle");
            chain.push(parent);
        }
        chain
    }

    /// Every place in `snapshot` derived (transitively) from one of `sources`.
    fn descendants(snapshot: &Snapshot, sources: &BTreeSet<Place>) -> BTreeSet<Place> {
        snapshot
            .keys()
            .copied()
            .filter(|&place| {
                ancestry(snapshot, place)[1..]
                    .iter()
                    .any(|ancestor| sources.contains(ancestor))
            })
            .collect()
    }

    /// The removals are exactly `expected`, once each, with their frames, each before its
    /// parent, and nothing else changed.
    fn check_removals(
        before: &Snapshot,
        after: &Snapshot,
        removals: &[Removal],
        expected: &BTreeSet<Place>,
    ) -> Result<(), TestCaseError> {
        let removed: BTreeSet<Place> = places(removals).into_iter().collect();
        prop_assert_eq!(removed.len(), removals.len());
        prop_assert_eq!(&removed, expected);
        for (index, removal) in removals.iter().enumerate() {
            let view = before[&removal.place];
            prop_assert_eq!(removal.frame, view.frame);
            if let Some(parent_index) = removals.iter().position(|r| Some(r.place) == view.parent) {
                prop_assert!(
                    index < parent_index,
                    "a parent was removed before its child"
                );
            }
        }
        // A remaining mapping may have lost its last derived mapping; the rest is unchanged.
        let mut remaining = before.clone();
        remaining.retain(|place, _| !expected.contains(place));
        for (place, view) in &mut remaining {
            view.has_derived = after.get(place).is_some_and(|now| now.has_derived);
        }
        prop_assert_eq!(&remaining, after);
        Ok(())
    }

    /// Each view says it has derived mappings exactly when one names it as its parent.
    fn check_has_derived(snapshot: &Snapshot) -> Result<(), TestCaseError> {
        for (place, view) in snapshot {
            let has_child = snapshot.values().any(|other| other.parent == Some(*place));
            prop_assert_eq!(view.has_derived, has_child, "{:?}", place);
        }
        Ok(())
    }

    fn check_protect(
        before: &Snapshot,
        after: &Snapshot,
        target: Place,
        rights: PageRights,
        changes: &[Change],
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(after[&target].rights, rights);
        let changed: BTreeMap<Place, PageRights> = before
            .iter()
            .filter(|(place, view)| after[place].rights != view.rights)
            .map(|(place, _)| (*place, after[place].rights))
            .collect();
        let reported: BTreeMap<Place, PageRights> = changes
            .iter()
            .map(|change| (change.place, change.rights))
            .collect();
        prop_assert_eq!(reported.len(), changes.len());
        prop_assert_eq!(changed, reported);
        for (place, view) in before {
            let new = after[place];
            prop_assert_eq!((new.frame, new.parent), (view.frame, view.parent));
            if *place != target {
                prop_assert!(view.rights.contains(new.rights), "a descendant widened");
            }
        }
        Ok(())
    }

    fn check_rights_within_roots(snapshot: &Snapshot) -> Result<(), TestCaseError> {
        for (&place, view) in snapshot {
            let root = *ancestry(snapshot, place).last().unwrap();
            prop_assert!(snapshot[&root].rights.contains(view.rights));
        }
        Ok(())
    }

    /// Turns a derivation from an existing mapping into a plain one.
    fn resolve(before: &Snapshot, operation: Operation) -> Operation {
        match operation {
            Operation::DeriveFromExisting(index, target, rights) if !before.is_empty() => {
                let (&source, view) = before.iter().nth(index.index(before.len())).unwrap();
                Operation::Derive(source, target, rights & view.rights)
            }
            Operation::DeriveFromExisting(_, target, rights) => {
                Operation::Derive(target, target, rights)
            }
            operation => operation,
        }
    }

    fn check_step(
        database: &mut MappingDatabase,
        operation: Operation,
    ) -> Result<(), TestCaseError> {
        let before = snapshot(database);
        let operation = resolve(&before, operation);
        let is_refused = match operation {
            Operation::MapRoot(place, frame, rights) => {
                database.map_root(place, frame, rights).is_err()
            }
            Operation::Derive(source, target, rights) => {
                database.derive(source, target, rights).is_err()
            }
            // `resolve` made it a plain derivation.
            Operation::DeriveFromExisting(..) => true,
            Operation::Unmap(place) => match database.unmap(place) {
                Ok(removals) => {
                    let mut expected = descendants(&before, &[place].into());
                    expected.insert(place);
                    check_removals(&before, &snapshot(database), &removals, &expected)?;
                    false
                }
                Err(_) => true,
            },
            Operation::Flush(place) => match database.flush(place) {
                Ok(removals) => {
                    let expected = descendants(&before, &[place].into());
                    check_removals(&before, &snapshot(database), &removals, &expected)?;
                    prop_assert!(database.lookup(place).is_some());
                    false
                }
                Err(_) => true,
            },
            Operation::Protect(place, rights) => match database.protect(place, rights) {
                Ok(changes) => {
                    check_protect(&before, &snapshot(database), place, rights, &changes)?;
                    false
                }
                Err(_) => true,
            },
            Operation::RemoveFrame(frame) => {
                let removals = database.remove_frame(frame);
                let expected = before
                    .iter()
                    .filter(|(_, view)| view.frame == frame)
                    .map(|(place, _)| *place)
                    .collect();
                check_removals(&before, &snapshot(database), &removals, &expected)?;
                prop_assert_eq!(database.mappings_of_frame(frame).count(), 0);
                false
            }
            Operation::RemoveEnvironment(environment) => {
                let removals = database.remove_environment(environment);
                let own: BTreeSet<Place> = before
                    .keys()
                    .copied()
                    .filter(|place| place.environment == environment)
                    .collect();
                let mut expected = descendants(&before, &own);
                expected.extend(own);
                check_removals(&before, &snapshot(database), &removals, &expected)?;
                prop_assert_eq!(database.mappings_in(environment).count(), 0);
                false
            }
        };
        let after = snapshot(database);
        if is_refused {
            prop_assert_eq!(&before, &after, "a refused operation changed the database");
        }
        prop_assert_eq!(database.check_invariants(), Ok(()));
        prop_assert_eq!(database.len(), after.len());
        check_has_derived(&after)?;
        check_rights_within_roots(&after)
    }

    proptest! {
        /// After every operation of any sequence the database is consistent, removals remove
        /// exactly the named mappings and everything derived from them, and protection never
        /// widens a derived mapping.
        #[test]
        fn database_stays_consistent(operations in proptest::collection::vec(operation(), 0..200)) {
            let mut database = MappingDatabase::default();
            for operation in operations {
                check_step(&mut database, operation)?;
            }
        }
    }
}
