//! Who owns every usable physical frame: the kernel, an environment, or nobody (free).
//!
//! The table is the kernel's single source of truth for physical memory. Frames that are not
//! usable RAM (firmware, MMIO, the bootloader's own data) are not tracked and can never be
//! allocated.
//!
//! It also remembers the order in which each environment acquired its mappable frames, so that
//! the abort protocol (`crate::revocation`) can repossess the newest first.

mod acquisitions;

use crate::environments::EnvId;
use acquisitions::Acquisitions;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// A physical frame number (physical address / 4096).
pub type FrameNumber = u64;

/// The owner of a tracked frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameOwner {
    /// Nobody: it can be allocated.
    Free,
    /// The kernel's own data (kernel page tables, kernel heap growth).
    Kernel,
    /// Memory of an environment, mappable into its user half.
    Environment(EnvId),
    /// A page-table page of an environment's address space: charged to the environment and freed
    /// with it, never mappable by it.
    PageTableOf(EnvId),
}

impl FrameOwner {
    /// The environment this frame is charged to, if any.
    pub fn environment(self) -> Option<EnvId> {
        match self {
            FrameOwner::Environment(id) | FrameOwner::PageTableOf(id) => Some(id),
            FrameOwner::Free | FrameOwner::Kernel => None,
        }
    }
}

/// Why a frame operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is not usable RAM.
    Untracked,
    /// The frame is not owned by the party that tried to free it.
    NotOwner,
    /// Frames cannot be allocated to [`FrameOwner::Free`].
    FreeIsNotAnOwner,
    /// The named frame is already owned.
    NotFree,
}

/// A half-open range of frame numbers of usable RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRange {
    pub start: FrameNumber,
    pub end: FrameNumber,
}

/// The `free_position` of a frame that is not in the free list.
const NOT_FREE: u32 = u32::MAX;

/// Room made for an environment's list of charged frames when it gets its first: a new
/// address space takes a dozen page-table frames and as many pages at once, and growing the
/// list from one entry took six reallocations and copies.
const FIRST_FRAMES: usize = 32;

/// The ownership table.
#[derive(Debug)]
pub struct FrameTable {
    /// `None` for frames that are not usable RAM.
    owners: Vec<Option<FrameOwner>>,
    /// Free frames; allocation pops from the end, so the lowest frames go first.
    free: Vec<FrameNumber>,
    /// Each frame's index in `free` ([`NOT_FREE`] when it is not there), so that allocation by
    /// name removes a frame in constant time instead of searching a list of every free frame.
    free_position: Vec<u32>,
    /// The frames charged to each environment, so that ending one costs its own frames only,
    /// in no order.
    charged: BTreeMap<EnvId, Vec<FrameNumber>>,
    /// Each charged frame's index in its environment's `charged` list, so that uncharging one
    /// is a swap with the last instead of a search.
    charged_position: Vec<u32>,
    /// The mappable frames of each environment in acquisition order, so the newest is last.
    /// Page-table frames are never listed: they cannot be repossessed.
    acquired: Acquisitions,
}

impl FrameTable {
    /// Builds the table from the usable RAM ranges; every frame in them starts free, except
    /// frame 0, which is never handed out so that physical address 0 stays meaningless.
    pub fn new(usable: impl IntoIterator<Item = FrameRange>) -> FrameTable {
        let mut owners: Vec<Option<FrameOwner>> = Vec::new();
        for range in usable {
            let first = range.start.max(1);
            if first >= range.end {
                continue;
            }
            if owners.len() < range.end as usize {
                owners.resize(range.end as usize, None);
            }
            for owner in &mut owners[first as usize..range.end as usize] {
                *owner = Some(FrameOwner::Free);
            }
        }
        let mut table = FrameTable {
            free_position: vec![NOT_FREE; owners.len()],
            acquired: Acquisitions::new(owners.len()),
            charged_position: vec![0; owners.len()],
            owners,
            free: Vec::new(),
            charged: BTreeMap::new(),
        };
        for frame in (0..table.owners.len() as u64).rev() {
            if table.owners[frame as usize] == Some(FrameOwner::Free) {
                table.push_free(frame);
            }
        }
        table
    }

    fn push_free(&mut self, frame: FrameNumber) {
        // Frame numbers fit in 32 bits on any machine with under 16 TiB of RAM, and the free
        // list is never longer than the table.
        self.free_position[frame as usize] = self.free.len() as u32;
        self.free.push(frame);
    }

    fn pop_free(&mut self) -> Option<FrameNumber> {
        let frame = self.free.pop()?;
        self.free_position[frame as usize] = NOT_FREE;
        Some(frame)
    }

    /// Takes `frame` out of the free list; false when it is not there.
    fn remove_free(&mut self, frame: FrameNumber) -> bool {
        let Some(&position) = self.free_position.get(frame as usize) else {
            return false;
        };
        if position == NOT_FREE {
            return false;
        }
        self.free.swap_remove(position as usize);
        if let Some(&moved) = self.free.get(position as usize) {
            self.free_position[moved as usize] = position;
        }
        self.free_position[frame as usize] = NOT_FREE;
        true
    }

    /// Allocates any free frame to `owner`.
    pub fn allocate(&mut self, owner: FrameOwner) -> Result<Option<FrameNumber>, FrameError> {
        if owner == FrameOwner::Free {
            return Err(FrameError::FreeIsNotAnOwner);
        }
        let Some(frame) = self.pop_free() else {
            return Ok(None);
        };
        self.owners[frame as usize] = Some(owner);
        if let Some(id) = owner.environment() {
            self.charge(id, frame);
        }
        self.note_acquisition(owner, frame);
        Ok(Some(frame))
    }

    /// Allocates frame `frame`, which must be free, to `owner` (allocation by physical name).
    pub fn allocate_named(
        &mut self,
        frame: FrameNumber,
        owner: FrameOwner,
    ) -> Result<(), FrameError> {
        if owner == FrameOwner::Free {
            return Err(FrameError::FreeIsNotAnOwner);
        }
        match self.owner(frame) {
            None => return Err(FrameError::Untracked),
            Some(FrameOwner::Free) => {}
            Some(_) => return Err(FrameError::NotFree),
        }
        if !self.remove_free(frame) {
            return Err(FrameError::NotFree);
        }
        self.owners[frame as usize] = Some(owner);
        if let Some(id) = owner.environment() {
            self.charge(id, frame);
        }
        self.note_acquisition(owner, frame);
        Ok(())
    }

    /// Allocates `count` free frames with consecutive numbers to `owner` (memory a device reaches
    /// by physical address, which must be physically contiguous); returns the first. Takes the
    /// lowest such run, or `None` when there is none (and always for a `count` of 0).
    pub fn allocate_contiguous(
        &mut self,
        count: usize,
        owner: FrameOwner,
    ) -> Result<Option<FrameNumber>, FrameError> {
        if owner == FrameOwner::Free {
            return Err(FrameError::FreeIsNotAnOwner);
        }
        let Some(first) = self.lowest_free_run(count) else {
            return Ok(None);
        };
        for frame in first..first + count as u64 {
            self.allocate_named(frame, owner)?;
        }
        Ok(Some(first))
    }

    /// The first frame of the lowest run of `count` free frames.
    fn lowest_free_run(&self, count: usize) -> Option<FrameNumber> {
        let mut run_length = 0;
        for (frame, owner) in self.owners.iter().enumerate() {
            if *owner != Some(FrameOwner::Free) {
                run_length = 0;
                continue;
            }
            run_length += 1;
            if run_length == count {
                return Some((frame + 1 - count) as FrameNumber);
            }
        }
        None
    }

    /// Moves `frame` from environment `from` to environment `to`.
    pub fn transfer(
        &mut self,
        frame: FrameNumber,
        from: EnvId,
        to: EnvId,
    ) -> Result<(), FrameError> {
        match self.owner(frame) {
            None => return Err(FrameError::Untracked),
            Some(FrameOwner::Environment(owner)) if owner == from => {}
            Some(_) => return Err(FrameError::NotOwner),
        }
        self.uncharge(from, frame);
        self.owners[frame as usize] = Some(FrameOwner::Environment(to));
        self.charge(to, frame);
        self.note_acquisition(FrameOwner::Environment(to), frame);
        Ok(())
    }

    /// Returns `frame`, owned by `owner`, to the free pool.
    pub fn free(&mut self, frame: FrameNumber, owner: FrameOwner) -> Result<(), FrameError> {
        match self.owner(frame) {
            None => Err(FrameError::Untracked),
            Some(current) if current != owner || current == FrameOwner::Free => {
                Err(FrameError::NotOwner)
            }
            Some(_) => {
                if let Some(id) = owner.environment() {
                    self.uncharge(id, frame);
                }
                self.owners[frame as usize] = Some(FrameOwner::Free);
                self.push_free(frame);
                Ok(())
            }
        }
    }

    /// Frees every frame charged to environment `id`; returns how many.
    pub fn release_environment(&mut self, id: EnvId) -> usize {
        let frames = self.charged.remove(&id).unwrap_or_default();
        self.acquired.release(id);
        for &frame in &frames {
            self.owners[frame as usize] = Some(FrameOwner::Free);
            self.push_free(frame);
        }
        frames.len()
    }

    /// Lists `frame` as the newest acquisition of `owner` when `owner` may map it.
    fn note_acquisition(&mut self, owner: FrameOwner, frame: FrameNumber) {
        if let FrameOwner::Environment(id) = owner {
            self.acquired.note(id, frame);
        }
    }

    fn uncharge(&mut self, id: EnvId, frame: FrameNumber) {
        self.acquired.forget(id, frame);
        if let Some(frames) = self.charged.get_mut(&id) {
            let position = self.charged_position[frame as usize] as usize;
            if frames.get(position) == Some(&frame) {
                frames.swap_remove(position);
                if let Some(&moved) = frames.get(position) {
                    self.charged_position[moved as usize] = position as u32;
                }
            }
            if frames.is_empty() {
                self.charged.remove(&id);
            }
        }
    }

    /// Lists `frame`, which the caller made `id`'s, among `id`'s charged frames.
    fn charge(&mut self, id: EnvId, frame: FrameNumber) {
        let frames = self
            .charged
            .entry(id)
            .or_insert_with(|| Vec::with_capacity(FIRST_FRAMES));
        self.charged_position[frame as usize] = frames.len() as u32;
        frames.push(frame);
    }

    /// The owner of `frame`, or `None` when it is not usable RAM.
    pub fn owner(&self, frame: FrameNumber) -> Option<FrameOwner> {
        self.owners.get(frame as usize).copied().flatten()
    }

    /// How many frames are free.
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    /// How many frames are charged to environment `id`.
    pub fn count_owned_by(&self, id: EnvId) -> usize {
        self.charged.get(&id).map_or(0, Vec::len)
    }

    /// How many frames environment `id` owns as its memory (its page-table frames not counted).
    pub fn memory_frame_count(&self, id: EnvId) -> usize {
        self.acquired.count(id)
    }

    /// The frames environment `id` owns as its memory (never its page-table frames), oldest
    /// acquisition first; `.rev()` gives the newest first, the order in which the abort
    /// protocol repossesses them.
    pub fn frames_by_acquisition(
        &self,
        id: EnvId,
    ) -> impl DoubleEndedIterator<Item = FrameNumber> + '_ {
        self.acquired.of(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table() -> FrameTable {
        FrameTable::new([
            FrameRange { start: 0, end: 8 },
            FrameRange { start: 16, end: 20 },
        ])
    }

    #[test]
    fn allocation_by_name_does_not_search_the_free_list() {
        let frame_count = 1 << 20;
        let mut table = FrameTable::new([FrameRange {
            start: 0,
            end: frame_count,
        }]);
        let env = FrameOwner::Environment(EnvId(1));
        // The lowest frames are at the end of the free list: a search from either end would
        // take a million steps for some of these, so this loop is quadratic without the index.
        for frame in (1..frame_count).step_by(97) {
            assert_eq!(table.allocate_named(frame, env), Ok(()));
        }
        for frame in (1..frame_count).step_by(97) {
            assert_eq!(table.free(frame, env), Ok(()));
        }
        assert_eq!(table.free_count(), frame_count as usize - 1);
        let last_freed = (1..frame_count).step_by(97).last();
        assert_eq!(table.allocate(env), Ok(last_freed));
    }

    #[test]
    fn frame_zero_and_holes_are_untracked() {
        let table = table();
        assert_eq!(table.owner(0), None);
        assert_eq!(table.owner(10), None);
        assert_eq!(table.owner(1), Some(FrameOwner::Free));
        assert_eq!(table.free_count(), 7 + 4);
    }

    #[test]
    fn allocates_lowest_first_and_records_owner() {
        let mut table = table();
        let env = FrameOwner::Environment(EnvId(3));
        assert_eq!(table.allocate(env), Ok(Some(1)));
        assert_eq!(table.owner(1), Some(env));
        assert_eq!(
            table.allocate(FrameOwner::Free),
            Err(FrameError::FreeIsNotAnOwner)
        );
    }

    #[test]
    fn only_the_owner_frees() {
        let mut table = table();
        let frame = table.allocate(FrameOwner::Kernel).unwrap().unwrap();
        assert_eq!(
            table.free(frame, FrameOwner::Environment(EnvId(1))),
            Err(FrameError::NotOwner)
        );
        assert_eq!(table.free(frame, FrameOwner::Kernel), Ok(()));
        assert_eq!(
            table.free(frame, FrameOwner::Kernel),
            Err(FrameError::NotOwner)
        );
        assert_eq!(
            table.free(10, FrameOwner::Kernel),
            Err(FrameError::Untracked)
        );
    }

    #[test]
    fn allocates_by_name_only_free_frames() {
        let mut table = table();
        let env = FrameOwner::Environment(EnvId(2));
        assert_eq!(table.allocate_named(5, env), Ok(()));
        assert_eq!(table.owner(5), Some(env));
        assert_eq!(table.count_owned_by(EnvId(2)), 1);
        assert_eq!(table.allocate_named(5, env), Err(FrameError::NotFree));
        assert_eq!(table.allocate_named(10, env), Err(FrameError::Untracked));
        assert_eq!(table.allocate_named(0, env), Err(FrameError::Untracked));
        assert!(
            (0..30)
                .filter_map(|_| table.allocate(env).unwrap())
                .all(|frame| frame != 5)
        );
    }

    #[test]
    fn transfers_only_from_the_owner() {
        let mut table = table();
        let frame = table
            .allocate(FrameOwner::Environment(EnvId(1)))
            .unwrap()
            .unwrap();
        assert_eq!(
            table.transfer(frame, EnvId(2), EnvId(3)),
            Err(FrameError::NotOwner)
        );
        assert_eq!(table.transfer(frame, EnvId(1), EnvId(3)), Ok(()));
        assert_eq!(table.owner(frame), Some(FrameOwner::Environment(EnvId(3))));
        assert_eq!(
            (
                table.count_owned_by(EnvId(1)),
                table.count_owned_by(EnvId(3))
            ),
            (0, 1)
        );
        assert_eq!(
            table.transfer(10, EnvId(3), EnvId(1)),
            Err(FrameError::Untracked)
        );
    }

    #[test]
    fn runs_out_cleanly() {
        let mut table = FrameTable::new([FrameRange { start: 1, end: 3 }]);
        assert!(table.allocate(FrameOwner::Kernel).unwrap().is_some());
        assert!(table.allocate(FrameOwner::Kernel).unwrap().is_some());
        assert_eq!(table.allocate(FrameOwner::Kernel), Ok(None));
    }

    #[test]
    fn allocates_the_lowest_contiguous_run_without_crossing_holes() {
        let mut table = table();
        assert_eq!(
            table.allocate_contiguous(3, FrameOwner::Kernel),
            Ok(Some(1))
        );
        assert!((1..4).all(|frame| table.owner(frame) == Some(FrameOwner::Kernel)));
        let env = FrameOwner::Environment(EnvId(2));
        table.allocate_named(5, env).unwrap();
        assert_eq!(table.allocate_contiguous(2, env), Ok(Some(6)));
        assert_eq!(table.count_owned_by(EnvId(2)), 3);
        assert_eq!(
            table.allocate_contiguous(4, FrameOwner::Kernel),
            Ok(Some(16)),
            "frames 4 to 7 are not all free, and 8 to 15 are not RAM"
        );
        assert_eq!(table.free_count(), 1);
        assert_eq!(table.allocate_contiguous(2, FrameOwner::Kernel), Ok(None));
        assert_eq!(table.allocate(FrameOwner::Kernel), Ok(Some(4)));
        assert_eq!(table.allocate(FrameOwner::Kernel), Ok(None));
    }

    #[test]
    fn contiguous_allocation_refuses_the_free_owner_and_empty_runs() {
        let mut table = table();
        assert_eq!(
            table.allocate_contiguous(2, FrameOwner::Free),
            Err(FrameError::FreeIsNotAnOwner)
        );
        assert_eq!(table.allocate_contiguous(0, FrameOwner::Kernel), Ok(None));
        assert_eq!(table.allocate_contiguous(8, FrameOwner::Kernel), Ok(None));
        assert_eq!(table.free_count(), 7 + 4);
        assert_eq!(
            table.allocate_contiguous(7, FrameOwner::Kernel),
            Ok(Some(1))
        );
        for frame in 1..8 {
            assert_eq!(table.free(frame, FrameOwner::Kernel), Ok(()));
        }
        assert_eq!(table.free_count(), 7 + 4);
    }

    #[derive(Clone, Debug)]
    enum Operation {
        Allocate(u32, bool),
        AllocateNamed(u64, u32),
        Transfer(u64, u32, u32),
        Free(u64, u32),
        Release(u32),
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            (0u32..4, any::<bool>()).prop_map(|(env, table)| Operation::Allocate(env, table)),
            (0u64..24, 0u32..4).prop_map(|(frame, env)| Operation::Free(frame, env)),
            (0u64..24, 0u32..4).prop_map(|(frame, env)| Operation::AllocateNamed(frame, env)),
            (0u64..24, 0u32..4, 0u32..4)
                .prop_map(|(frame, from, to)| Operation::Transfer(frame, from, to)),
            (0u32..4).prop_map(Operation::Release),
        ]
    }

    fn owner_for(env: u32, is_page_table: bool) -> FrameOwner {
        match (env, is_page_table) {
            (0, _) => FrameOwner::Kernel,
            (id, false) => FrameOwner::Environment(EnvId(id)),
            (id, true) => FrameOwner::PageTableOf(EnvId(id)),
        }
    }

    proptest! {
        /// After any sequence of operations, every tracked frame has exactly one owner or is
        /// free, and the free list holds exactly the free frames, once each.
        #[test]
        fn ownership_stays_consistent(operations in proptest::collection::vec(operation(), 0..200)) {
            let mut table = table();
            let total = table.free_count();
            for operation in operations {
                match operation {
                    Operation::Allocate(env, is_page_table) => {
                        let _ = table.allocate(owner_for(env, is_page_table));
                    }
                    Operation::Free(frame, env) => {
                        let _ = table.free(frame, owner_for(env, false));
                    }
                    Operation::AllocateNamed(frame, env) => {
                        let _ = table.allocate_named(frame, owner_for(env, false));
                    }
                    Operation::Transfer(frame, from, to) => {
                        let _ = table.transfer(frame, EnvId(from), EnvId(to));
                    }
                    Operation::Release(env) => {
                        table.release_environment(EnvId(env));
                        let still_charged = (0..24)
                            .filter(|&f| table.owner(f).and_then(FrameOwner::environment) == Some(EnvId(env)))
                            .count();
                        prop_assert_eq!(still_charged, 0);
                    }
                }
                for (position, &frame) in table.free.iter().enumerate() {
                    prop_assert_eq!(table.free_position[frame as usize], position as u32);
                }
                // Each environment's charged list holds exactly its frames, each at the
                // position the index says.
                for env in 1..4 {
                    let owned = (0..24)
                        .filter(|&f| table.owner(f).and_then(FrameOwner::environment) == Some(EnvId(env)))
                        .count();
                    prop_assert_eq!(table.count_owned_by(EnvId(env)), owned);
                    for (position, &frame) in table.charged.get(&EnvId(env)).into_iter().flatten().enumerate() {
                        prop_assert_eq!(table.owner(frame).and_then(FrameOwner::environment), Some(EnvId(env)));
                        prop_assert_eq!(table.charged_position[frame as usize], position as u32);
                    }
                }
                let listed_positions = table.free_position.iter().filter(|&&p| p != NOT_FREE).count();
                prop_assert_eq!(listed_positions, table.free.len());
                let mut free_list = table.free.clone();
                free_list.sort_unstable();
                free_list.dedup();
                prop_assert_eq!(free_list.len(), table.free.len());
                let free_by_owner: Vec<u64> = (0..24)
                    .filter(|&frame| table.owner(frame) == Some(FrameOwner::Free))
                    .collect();
                prop_assert_eq!(free_list, free_by_owner);
                let owned: usize = (0..24).filter(|&f| matches!(table.owner(f), Some(o) if o != FrameOwner::Free)).count();
                prop_assert_eq!(owned + table.free_count(), total);
                for env in 1..4 {
                    let by_owner = (0..24)
                        .filter(|&f| table.owner(f).and_then(FrameOwner::environment) == Some(EnvId(env)))
                        .count();
                    prop_assert_eq!(table.count_owned_by(EnvId(env)), by_owner);
                }
            }
        }
    }

    #[test]
    fn lists_mappable_frames_in_acquisition_order() {
        let mut table = table();
        let env = FrameOwner::Environment(EnvId(1));
        let other = FrameOwner::Environment(EnvId(2));
        let first = table.allocate(env).unwrap().unwrap();
        let page_table = table
            .allocate(FrameOwner::PageTableOf(EnvId(1)))
            .unwrap()
            .unwrap();
        let second = table.allocate(env).unwrap().unwrap();
        table.allocate_named(17, env).unwrap();
        let granted = table.allocate(other).unwrap().unwrap();
        table.transfer(granted, EnvId(2), EnvId(1)).unwrap();
        let listed: Vec<FrameNumber> = table.frames_by_acquisition(EnvId(1)).collect();
        assert_eq!(listed, [first, second, 17, granted]);
        assert!(!listed.contains(&page_table));
        assert_eq!(table.frames_by_acquisition(EnvId(2)).count(), 0);

        table.free(second, env).unwrap();
        let newest_first: Vec<FrameNumber> = table.frames_by_acquisition(EnvId(1)).rev().collect();
        assert_eq!(newest_first, [granted, 17, first]);

        table.release_environment(EnvId(1));
        assert_eq!(table.frames_by_acquisition(EnvId(1)).count(), 0);
        assert_eq!(table.acquired.listed_count(), 0);
    }

    /// Applies `operation` to `table` and to `model`, the expected acquisition order of each
    /// environment's mappable frames.
    fn apply_to_model(
        table: &mut FrameTable,
        model: &mut BTreeMap<EnvId, Vec<FrameNumber>>,
        operation: Operation,
    ) {
        fn forget(model: &mut BTreeMap<EnvId, Vec<FrameNumber>>, frame: FrameNumber) {
            for frames in model.values_mut() {
                frames.retain(|&listed| listed != frame);
            }
        }
        match operation {
            Operation::Allocate(env, is_page_table) => {
                let owner = owner_for(env, is_page_table);
                if let (Ok(Some(frame)), FrameOwner::Environment(id)) =
                    (table.allocate(owner), owner)
                {
                    model.entry(id).or_default().push(frame);
                }
            }
            Operation::AllocateNamed(frame, env) => {
                let owner = owner_for(env, false);
                if let (Ok(()), FrameOwner::Environment(id)) =
                    (table.allocate_named(frame, owner), owner)
                {
                    model.entry(id).or_default().push(frame);
                }
            }
            Operation::Transfer(frame, from, to) => {
                if table.transfer(frame, EnvId(from), EnvId(to)).is_ok() {
                    forget(model, frame);
                    model.entry(EnvId(to)).or_default().push(frame);
                }
            }
            Operation::Free(frame, env) => {
                if table.free(frame, owner_for(env, false)).is_ok() {
                    forget(model, frame);
                }
            }
            Operation::Release(env) => {
                table.release_environment(EnvId(env));
                model.remove(&EnvId(env));
            }
        }
    }

    proptest! {
        /// After any sequence of operations, each environment's frames are listed exactly once,
        /// in the order it acquired them, and only while it owns them as memory.
        #[test]
        fn acquisition_order_follows_ownership(operations in proptest::collection::vec(operation(), 0..200)) {
            let mut table = table();
            let mut model = BTreeMap::new();
            for operation in operations {
                apply_to_model(&mut table, &mut model, operation);
                for env in 0..4 {
                    let id = EnvId(env);
                    let listed: Vec<FrameNumber> = table.frames_by_acquisition(id).collect();
                    let expected = model.get(&id).cloned().unwrap_or_default();
                    prop_assert_eq!(&listed, &expected);
                    for frame in listed {
                        prop_assert_eq!(table.owner(frame), Some(FrameOwner::Environment(id)));
                    }
                }
                let listed_total: usize = model.values().map(Vec::len).sum();
                prop_assert_eq!(table.acquired.listed_count(), listed_total);
            }
        }
    }
}
