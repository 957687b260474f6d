//! Visible revocation and the abort protocol: the requests the kernel has made for resources
//! back, and which resources it takes by force when a request is not met by its deadline.
//!
//! The protocol, for one environment and one [`ResourceKind`]:
//!
//! 1. The kernel records a request ([`RevocationTable::request`]) and raises the environment's
//!    revocation upcall with the kind, the count and the deadline. The environment chooses
//!    which resources to give up (visible revocation) and frees or returns them.
//! 2. Each release is reported with [`RevocationTable::note_release`]; when the count is met
//!    the request completes and is reported with how long it took.
//! 3. At the deadline ([`RevocationTable::expired`]), the abort protocol takes what is still
//!    owed: [`choose_victims`] names the specific resources (newest acquired first, never below
//!    the guaranteed minimum, [`guaranteed_count`]), the kernel breaks every binding to them, records each in the
//!    environment's repossession vector ([`exo_abi::repossession`]) and notifies it.
//!
//! This is bookkeeping only: time is given by the caller in abstract ticks, and the kernel
//! performs the effects. Arguments may come from user requests, so nothing here panics.

pub use exo_abi::repossession::ResourceKind;

use crate::environments::EnvId;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use exo_abi::Error;

/// The least number of frames the abort protocol leaves any environment (defined in the ABI).
///
/// An environment also keeps every frame it held when it started (its image and first stack,
/// whatever their size), so that one that ignored a request still has the code and stacks it
/// needs to run its handlers, read its repossession vector and recover. Page-table frames do
/// not count here: they are never repossessed. This is a floor on forced repossession, not a
/// reservation: it does not keep frames free for anyone.
pub use exo_abi::GUARANTEED_FRAMES;

/// Disk blocks that the abort protocol never takes: none. An environment needs no block to run
/// or to learn what it lost, and a kernel short of disk space must be able to take any block.
pub const GUARANTEED_BLOCKS: usize = 0;

/// Time-slice slots that the abort protocol never takes: none. An environment that owns no slot
/// still runs in best-effort slots ([`crate::slices`]), so it can still read its repossession
/// vector and recover; a slot is a claim to time beyond that.
pub const GUARANTEED_SLOTS: usize = 0;

/// How many resources of `kind` the abort protocol leaves an environment that held
/// `frames_at_start` frames when it started: for frames, those and at least
/// [`GUARANTEED_FRAMES`].
pub fn guaranteed_count(kind: ResourceKind, frames_at_start: usize) -> usize {
    match kind {
        ResourceKind::Frame => GUARANTEED_FRAMES.max(frames_at_start),
        ResourceKind::Block => GUARANTEED_BLOCKS,
        ResourceKind::Slot => GUARANTEED_SLOTS,
    }
}

/// The resources the abort protocol takes when `owed_count` are still owed, from `held`, the
/// environment's resources of one kind oldest acquired first: the newest, newest first, and
/// never so many that fewer than `guaranteed_count` remain. That is
/// `min(owed_count, held.len() - guaranteed_count)` resources, or none when the environment
/// holds no more than its guaranteed minimum.
///
/// The newest go first: the environment has relied on them least, and a libOS can predict the
/// order. For a table that keeps no acquisition order, pass any fixed order (such as increasing
/// number): the last ones are taken first.
pub fn choose_victims<T: Copy>(held: &[T], owed_count: u64, guaranteed_count: usize) -> Vec<T> {
    let available_count = held.len().saturating_sub(guaranteed_count);
    let taken_count =
        usize::try_from(owed_count).map_or(available_count, |owed| owed.min(available_count));
    held[held.len() - taken_count..]
        .iter()
        .rev()
        .copied()
        .collect()
}

/// A request's id, unique for the life of its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// An outstanding request that an environment release resources of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The request's id.
    pub id: RequestId,
    /// The environment asked.
    pub environment: EnvId,
    /// The kind of resource asked for.
    pub kind: ResourceKind,
    /// How many resources were asked for.
    pub requested_count: u64,
    /// How many are still owed; never zero while the request is outstanding.
    pub owed_count: u64,
    /// The fewest resources of this kind the environment (with whatever the kernel counts with
    /// it) has held since the request: only a holding below this counts as a release, so that
    /// taking resources and giving them back, or moving them around, pays nothing.
    pub lowest_held_count: u64,
    /// When the request was made.
    pub requested_at_ticks: u64,
    /// The first tick at which the abort protocol may run.
    pub deadline_ticks: u64,
}

/// A request the environment met by releasing enough resources in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletedRequest {
    /// The request's id.
    pub id: RequestId,
    /// The environment that met it.
    pub environment: EnvId,
    /// The kind of resource asked for.
    pub kind: ResourceKind,
    /// How many resources were asked for.
    pub requested_count: u64,
    /// From the request to the release that met it (for benchmark B10).
    pub elapsed_ticks: u64,
}

/// The outstanding requests: at most one per environment and resource kind.
#[derive(Debug, Default)]
pub struct RevocationTable {
    requests: BTreeMap<(EnvId, ResourceKind), Request>,
    next_id: u64,
}

impl RevocationTable {
    /// A table with no request.
    pub fn new() -> RevocationTable {
        RevocationTable::default()
    }

    /// Records a request that `environment`, holding `held_count` resources of `kind`, release
    /// `count` of them by tick `deadline_ticks` (the upcall is the kernel's to raise).
    ///
    /// Errors: [`Error::InvalidArgument`] when `count` is zero or `deadline_ticks` is not after
    /// `now_ticks` (the environment would have no chance to choose; the kernel may run the
    /// abort protocol directly instead); [`Error::Occupied`] when a request of that kind is
    /// already outstanding for `environment` (its deadline stands, so a second request must
    /// wait until the first completes or expires). The table does not know which environments
    /// exist: checking that is the caller's.
    pub fn request(
        &mut self,
        environment: EnvId,
        kind: ResourceKind,
        count: u64,
        held_count: u64,
        now_ticks: u64,
        deadline_ticks: u64,
    ) -> Result<RequestId, Error> {
        if count == 0 || deadline_ticks <= now_ticks {
            return Err(Error::InvalidArgument);
        }
        if self.requests.contains_key(&(environment, kind)) {
            return Err(Error::Occupied);
        }
        let id = RequestId(self.next_id);
        // 2^64 requests cannot happen; wrapping only keeps the kernel free of panics.
        self.next_id = self.next_id.wrapping_add(1);
        let request = Request {
            id,
            environment,
            kind,
            requested_count: count,
            owed_count: count,
            lowest_held_count: held_count,
            requested_at_ticks: now_ticks,
            deadline_ticks,
        };
        self.requests.insert((environment, kind), request);
        Ok(id)
    }

    /// Counts `released_count` resources of `kind` that `environment` just freed or returned,
    /// at `now_ticks`. Returns the request this completed, which is then removed. Releases
    /// with no outstanding request, and the part beyond what is owed, count for nothing.
    /// Releases still count after the deadline, until [`RevocationTable::expired`] removes the
    /// request.
    pub fn note_release(
        &mut self,
        environment: EnvId,
        kind: ResourceKind,
        released_count: u64,
        now_ticks: u64,
    ) -> Option<CompletedRequest> {
        let request = self.requests.get_mut(&(environment, kind))?;
        request.owed_count = request.owed_count.saturating_sub(released_count);
        if request.owed_count > 0 {
            return None;
        }
        let request = self.requests.remove(&(environment, kind))?;
        Some(CompletedRequest {
            id: request.id,
            environment,
            kind,
            requested_count: request.requested_count,
            elapsed_ticks: now_ticks.saturating_sub(request.requested_at_ticks),
        })
    }

    /// Notes that `environment` now holds `held_count` resources of `kind` (the kernel counts
    /// what it and its descendants hold, so that what moved inside that subtree did not come
    /// back): the drop below the lowest holding seen since the request counts as released, as
    /// in [`RevocationTable::note_release`]. Returns the request this completed.
    pub fn note_holding(
        &mut self,
        environment: EnvId,
        kind: ResourceKind,
        held_count: u64,
        now_ticks: u64,
    ) -> Option<CompletedRequest> {
        let request = self.requests.get_mut(&(environment, kind))?;
        let released_count = request.lowest_held_count.saturating_sub(held_count);
        request.lowest_held_count = request.lowest_held_count.min(held_count);
        self.note_release(environment, kind, released_count, now_ticks)
    }

    /// Removes and returns every request whose deadline is at or before `now_ticks`, ordered by
    /// environment then kind; the abort protocol must now take what each still owes.
    pub fn expired(&mut self, now_ticks: u64) -> Vec<Request> {
        let mut expired = Vec::new();
        self.requests.retain(|_, request| {
            let has_expired = request.deadline_ticks <= now_ticks;
            if has_expired {
                expired.push(*request);
            }
            !has_expired
        });
        expired
    }

    /// Removes and returns the request of `kind` to `environment` before its deadline, for an
    /// environment that cannot be asked (the abort protocol runs at once); `None` when there is
    /// no such request.
    pub fn expire_now(&mut self, environment: EnvId, kind: ResourceKind) -> Option<Request> {
        self.requests.remove(&(environment, kind))
    }

    /// Drops every request to `environment`, which has ended; returns how many.
    pub fn cancel_environment(&mut self, environment: EnvId) -> usize {
        let before_count = self.requests.len();
        self.requests
            .retain(|&(requested, _), _| requested != environment);
        before_count - self.requests.len()
    }

    /// The outstanding request of `kind` to `environment`, if any. While one is outstanding
    /// the kernel may refuse the environment new resources of that kind.
    pub fn outstanding(&self, environment: EnvId, kind: ResourceKind) -> Option<&Request> {
        self.requests.get(&(environment, kind))
    }

    /// Every outstanding request, ordered by environment then kind.
    pub fn requests(&self) -> impl Iterator<Item = &Request> + '_ {
        self.requests.values()
    }

    /// The earliest deadline of all outstanding requests: when [`RevocationTable::expired`]
    /// next has something to return.
    pub fn next_deadline_ticks(&self) -> Option<u64> {
        self.requests
            .values()
            .map(|request| request.deadline_ticks)
            .min()
    }

    /// How many requests are outstanding.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether no request is outstanding.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_table::{FrameOwner, FrameRange, FrameTable};
    use alloc::collections::BTreeSet;
    use proptest::prelude::*;

    const ENV: EnvId = EnvId(1);
    const OTHER: EnvId = EnvId(2);
    /// What the environment holds when asked, in tests that do not look at holdings.
    const HELD: u64 = 1000;

    #[test]
    fn expire_now_takes_the_request_before_its_deadline() {
        let mut table = RevocationTable::new();
        let env = EnvId(4);
        table
            .request(env, ResourceKind::Frame, 3, HELD, 10, 1000)
            .unwrap();
        let expired = table.expire_now(env, ResourceKind::Frame).unwrap();
        assert_eq!((expired.environment, expired.owed_count), (env, 3));
        assert!(table.is_empty());
        assert!(table.expire_now(env, ResourceKind::Frame).is_none());
    }

    #[test]
    fn request_is_outstanding_with_everything_owed() {
        let mut table = RevocationTable::new();
        let id = table
            .request(ENV, ResourceKind::Frame, 5, HELD, 100, 150)
            .unwrap();
        let request = *table.outstanding(ENV, ResourceKind::Frame).unwrap();
        assert_eq!(
            request,
            Request {
                id,
                environment: ENV,
                kind: ResourceKind::Frame,
                requested_count: 5,
                owed_count: 5,
                lowest_held_count: HELD,
                requested_at_ticks: 100,
                deadline_ticks: 150,
            }
        );
        assert_eq!(table.outstanding(ENV, ResourceKind::Block), None);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn zero_count_is_invalid() {
        let mut table = RevocationTable::new();
        assert_eq!(
            table.request(ENV, ResourceKind::Frame, 0, HELD, 0, 10),
            Err(Error::InvalidArgument)
        );
        assert!(table.is_empty());
    }

    #[test]
    fn deadline_not_after_now_is_invalid() {
        let mut table = RevocationTable::new();
        for deadline_ticks in [99, 100] {
            assert_eq!(
                table.request(ENV, ResourceKind::Block, 1, HELD, 100, deadline_ticks),
                Err(Error::InvalidArgument)
            );
        }
        assert!(table.is_empty());
    }

    #[test]
    fn second_request_of_a_kind_is_occupied() {
        let mut table = RevocationTable::new();
        let first = table
            .request(ENV, ResourceKind::Slot, 1, HELD, 0, 10)
            .unwrap();
        assert_eq!(
            table.request(ENV, ResourceKind::Slot, 2, HELD, 1, 20),
            Err(Error::Occupied)
        );
        let other_kind = table
            .request(ENV, ResourceKind::Frame, 1, HELD, 1, 20)
            .unwrap();
        let other_environment = table
            .request(OTHER, ResourceKind::Slot, 1, HELD, 1, 20)
            .unwrap();
        assert_eq!(
            BTreeSet::from([first, other_kind, other_environment]).len(),
            3
        );
        assert_eq!(
            table
                .outstanding(ENV, ResourceKind::Slot)
                .map(|r| r.owed_count),
            Some(1)
        );
    }

    #[test]
    fn releases_complete_a_request_with_elapsed_ticks() {
        let mut table = RevocationTable::new();
        let id = table
            .request(ENV, ResourceKind::Frame, 3, HELD, 100, 500)
            .unwrap();
        assert_eq!(table.note_release(ENV, ResourceKind::Frame, 2, 120), None);
        assert_eq!(
            table
                .outstanding(ENV, ResourceKind::Frame)
                .map(|r| r.owed_count),
            Some(1)
        );
        let completed = table.note_release(ENV, ResourceKind::Frame, 4, 130);
        assert_eq!(
            completed,
            Some(CompletedRequest {
                id,
                environment: ENV,
                kind: ResourceKind::Frame,
                requested_count: 3,
                elapsed_ticks: 30,
            })
        );
        assert!(table.is_empty());
        assert_eq!(table.note_release(ENV, ResourceKind::Frame, 1, 140), None);
        assert_eq!(table.expired(1000), []);
    }

    #[test]
    fn only_a_holding_below_the_lowest_seen_counts_as_released() {
        let mut table = RevocationTable::new();
        table
            .request(ENV, ResourceKind::Frame, 10, 100, 0, 500)
            .unwrap();
        // Taking more and giving it back, or moving resources among its own, pays nothing.
        assert_eq!(table.note_holding(ENV, ResourceKind::Frame, 150, 1), None);
        assert_eq!(table.note_holding(ENV, ResourceKind::Frame, 100, 2), None);
        assert_eq!(table.note_holding(ENV, ResourceKind::Frame, 120, 3), None);
        let owed = |table: &RevocationTable| {
            table
                .outstanding(ENV, ResourceKind::Frame)
                .map(|request| request.owed_count)
        };
        assert_eq!(owed(&table), Some(10));
        assert_eq!(table.note_holding(ENV, ResourceKind::Frame, 96, 4), None);
        assert_eq!(owed(&table), Some(6));
        assert_eq!(table.note_holding(ENV, ResourceKind::Frame, 110, 5), None);
        assert_eq!(owed(&table), Some(6));
        let completed = table.note_holding(ENV, ResourceKind::Frame, 90, 6).unwrap();
        assert_eq!(
            (completed.requested_count, completed.elapsed_ticks),
            (10, 6)
        );
        assert!(table.is_empty());
    }

    #[test]
    fn releases_of_another_kind_or_environment_do_not_count() {
        let mut table = RevocationTable::new();
        table
            .request(ENV, ResourceKind::Block, 2, HELD, 0, 10)
            .unwrap();
        assert_eq!(table.note_release(ENV, ResourceKind::Frame, 5, 1), None);
        assert_eq!(table.note_release(OTHER, ResourceKind::Block, 5, 1), None);
        assert_eq!(table.note_release(ENV, ResourceKind::Block, 0, 1), None);
        assert_eq!(
            table
                .outstanding(ENV, ResourceKind::Block)
                .map(|r| r.owed_count),
            Some(2)
        );
    }

    #[test]
    fn expiry_takes_requests_at_or_past_their_deadline_with_what_is_owed() {
        let mut table = RevocationTable::new();
        let late = table
            .request(ENV, ResourceKind::Frame, 4, HELD, 0, 50)
            .unwrap();
        table
            .request(OTHER, ResourceKind::Frame, 1, HELD, 0, 51)
            .unwrap();
        table.note_release(ENV, ResourceKind::Frame, 1, 10);
        assert_eq!(table.expired(49), []);
        assert_eq!(
            table.expired(50),
            [Request {
                id: late,
                environment: ENV,
                kind: ResourceKind::Frame,
                requested_count: 4,
                owed_count: 3,
                lowest_held_count: HELD,
                requested_at_ticks: 0,
                deadline_ticks: 50,
            }]
        );
        assert_eq!(table.expired(50), []);
        assert_eq!(table.len(), 1);
        assert!(
            table
                .request(ENV, ResourceKind::Frame, 1, HELD, 60, 70)
                .is_ok()
        );
    }

    #[test]
    fn releases_after_the_deadline_count_until_expiry_runs() {
        let mut table = RevocationTable::new();
        table
            .request(ENV, ResourceKind::Slot, 1, HELD, 0, 10)
            .unwrap();
        let completed = table.note_release(ENV, ResourceKind::Slot, 1, 12);
        assert_eq!(completed.map(|c| c.elapsed_ticks), Some(12));
        assert_eq!(table.expired(12), []);
    }

    #[test]
    fn ending_an_environment_cancels_only_its_requests() {
        let mut table = RevocationTable::new();
        table
            .request(ENV, ResourceKind::Frame, 1, HELD, 0, 10)
            .unwrap();
        table
            .request(ENV, ResourceKind::Block, 1, HELD, 0, 10)
            .unwrap();
        table
            .request(OTHER, ResourceKind::Frame, 1, HELD, 0, 10)
            .unwrap();
        assert_eq!(table.cancel_environment(ENV), 2);
        assert_eq!(table.cancel_environment(ENV), 0);
        let remaining: Vec<EnvId> = table.requests().map(|r| r.environment).collect();
        assert_eq!(remaining, [OTHER]);
    }

    #[test]
    fn next_deadline_is_the_earliest() {
        let mut table = RevocationTable::new();
        assert_eq!(table.next_deadline_ticks(), None);
        table
            .request(ENV, ResourceKind::Frame, 1, HELD, 0, 30)
            .unwrap();
        table
            .request(OTHER, ResourceKind::Frame, 1, HELD, 0, 20)
            .unwrap();
        assert_eq!(table.next_deadline_ticks(), Some(20));
    }

    #[test]
    fn guaranteed_minimum_per_kind() {
        assert_eq!(guaranteed_count(ResourceKind::Frame, 10), 64);
        assert_eq!(guaranteed_count(ResourceKind::Frame, 90), 90);
        assert_eq!(guaranteed_count(ResourceKind::Block, 90), 0);
        assert_eq!(guaranteed_count(ResourceKind::Slot, 90), 0);
    }

    #[test]
    fn victims_are_the_newest_first() {
        let held = [10, 11, 12, 13, 14];
        assert_eq!(choose_victims(&held, 2, 0), [14, 13]);
        assert_eq!(choose_victims(&held, 0, 0), []);
    }

    #[test]
    fn victims_never_go_below_the_minimum() {
        let held = [10, 11, 12, 13, 14];
        assert_eq!(choose_victims(&held, 10, 3), [14, 13]);
        assert_eq!(choose_victims(&held, u64::MAX, 5), []);
        assert_eq!(choose_victims(&held, 1, 9), []);
        assert_eq!(choose_victims::<u64>(&[], 3, 0), []);
    }

    #[test]
    fn abort_takes_the_newest_frames_above_the_guarantee() {
        let mut frames = FrameTable::new([FrameRange { start: 1, end: 200 }]);
        let owner = FrameOwner::Environment(ENV);
        for _ in 0..GUARANTEED_FRAMES + 3 {
            frames.allocate(owner).unwrap();
        }
        frames.allocate(FrameOwner::PageTableOf(ENV)).unwrap();
        let held: Vec<u64> = frames.frames_by_acquisition(ENV).collect();
        let newest: Vec<u64> = held.iter().rev().take(3).copied().collect();
        let victims = choose_victims(&held, 10, guaranteed_count(ResourceKind::Frame, 0));
        assert_eq!(victims, newest);
    }

    #[derive(Clone, Debug)]
    enum Operation {
        Request(u32, ResourceKind, u64, u64),
        Release(u32, ResourceKind, u64),
        Advance(u64),
        Expire,
        End(u32),
    }

    fn kind() -> impl Strategy<Value = ResourceKind> {
        prop::sample::select(ResourceKind::ALL.to_vec())
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            (0u32..3, kind(), 0u64..5, 0u64..20).prop_map(|(env, kind, count, grace)| {
                Operation::Request(env, kind, count, grace)
            }),
            (0u32..3, kind(), 0u64..4)
                .prop_map(|(env, kind, count)| Operation::Release(env, kind, count)),
            (0u64..10).prop_map(Operation::Advance),
            Just(Operation::Expire),
            (0u32..3).prop_map(Operation::End),
        ]
    }

    /// What the test knows of every request ever made, by id.
    #[derive(Default)]
    struct History {
        requested: BTreeMap<RequestId, u64>,
        released: BTreeMap<RequestId, u64>,
        finished: BTreeSet<RequestId>,
    }

    impl History {
        fn finish(&mut self, id: RequestId) -> Result<(), TestCaseError> {
            prop_assert!(self.finished.insert(id), "request {:?} ended twice", id);
            Ok(())
        }
    }

    fn apply(
        table: &mut RevocationTable,
        history: &mut History,
        now_ticks: &mut u64,
        operation: Operation,
    ) -> Result<(), TestCaseError> {
        match operation {
            Operation::Request(env, kind, count, grace) => {
                let had_request = table.outstanding(EnvId(env), kind).is_some();
                let result = table.request(
                    EnvId(env),
                    kind,
                    count,
                    HELD,
                    *now_ticks,
                    *now_ticks + grace,
                );
                match result {
                    Ok(id) => {
                        prop_assert!(!had_request && count > 0 && grace > 0);
                        prop_assert!(history.requested.insert(id, count).is_none());
                    }
                    Err(Error::Occupied) => prop_assert!(had_request),
                    Err(error) => {
                        prop_assert_eq!(error, Error::InvalidArgument);
                        prop_assert!(count == 0 || grace == 0);
                    }
                }
            }
            Operation::Release(env, kind, count) => {
                let before = table.outstanding(EnvId(env), kind).copied();
                if let Some(request) = before {
                    *history.released.entry(request.id).or_default() += count;
                }
                if let Some(completed) = table.note_release(EnvId(env), kind, count, *now_ticks) {
                    prop_assert_eq!(Some(completed.id), before.map(|r| r.id));
                    prop_assert!(
                        history.released[&completed.id] >= history.requested[&completed.id]
                    );
                    history.finish(completed.id)?;
                }
            }
            Operation::Advance(ticks) => *now_ticks += ticks,
            Operation::Expire => {
                for expired in table.expired(*now_ticks) {
                    prop_assert!(expired.deadline_ticks <= *now_ticks);
                    let released = history.released.get(&expired.id).copied().unwrap_or(0);
                    prop_assert!(released < expired.requested_count);
                    prop_assert_eq!(expired.owed_count, expired.requested_count - released);
                    history.finish(expired.id)?;
                }
                prop_assert!(table.requests().all(|r| r.deadline_ticks > *now_ticks));
            }
            Operation::End(env) => {
                let ids: Vec<RequestId> = table
                    .requests()
                    .filter(|r| r.environment == EnvId(env))
                    .map(|r| r.id)
                    .collect();
                prop_assert_eq!(table.cancel_environment(EnvId(env)), ids.len());
                for id in ids {
                    history.finish(id)?;
                }
                prop_assert!(table.requests().all(|r| r.environment != EnvId(env)));
            }
        }
        Ok(())
    }

    fn check_consistent(table: &RevocationTable, history: &History) -> Result<(), TestCaseError> {
        let mut keys = BTreeSet::new();
        for request in table.requests() {
            prop_assert!(keys.insert((request.environment, request.kind)));
            prop_assert!(!history.finished.contains(&request.id));
            let released = history.released.get(&request.id).copied().unwrap_or(0);
            prop_assert!(request.owed_count > 0);
            prop_assert_eq!(request.owed_count, request.requested_count - released);
            prop_assert!(request.deadline_ticks > request.requested_at_ticks);
        }
        prop_assert_eq!(
            table.len() + history.finished.len(),
            history.requested.len()
        );
        Ok(())
    }

    proptest! {
        /// After any sequence of requests, releases, expiries and environment ends, each
        /// request ends exactly once (completed, expired or cancelled), at most one is
        /// outstanding per environment and kind, and what is owed is what was asked less what
        /// was released.
        #[test]
        fn bookkeeping_stays_consistent(operations in proptest::collection::vec(operation(), 0..200)) {
            let mut table = RevocationTable::new();
            let mut history = History::default();
            let mut now_ticks = 0;
            for operation in operations {
                apply(&mut table, &mut history, &mut now_ticks, operation)?;
                check_consistent(&table, &history)?;
            }
        }

        /// No input makes the table panic, whatever the times (even going backwards).
        #[test]
        fn any_input_is_handled(
            calls in proptest::collection::vec(
                (0u32..3, kind(), any::<u64>(), any::<u64>(), any::<u64>()),
                0..100,
            ),
        ) {
            let mut table = RevocationTable::new();
            for (env, kind, count, now_ticks, deadline_ticks) in calls {
                let _ = table.request(EnvId(env), kind, count, HELD, now_ticks, deadline_ticks);
                let _ = table.note_release(EnvId(env), kind, count / 2, deadline_ticks);
                let _ = table.expired(now_ticks);
                if count % 7 == 0 {
                    table.cancel_environment(EnvId(env));
                }
            }
        }

        /// The victims are the newest `min(owed, held - minimum)` resources, newest first, and
        /// never leave fewer than the minimum.
        #[test]
        fn victims_respect_the_minimum_and_take_the_newest(
            held_count in 0usize..200,
            owed_count in prop_oneof![0u64..300, any::<u64>()],
            guaranteed_count in 0usize..100,
        ) {
            let held: Vec<usize> = (0..held_count).collect();
            let victims = choose_victims(&held, owed_count, guaranteed_count);
            let available_count = held_count.saturating_sub(guaranteed_count);
            let expected_count = usize::try_from(owed_count).unwrap_or(usize::MAX).min(available_count);
            prop_assert_eq!(victims.len(), expected_count);
            prop_assert!(held_count - victims.len() >= guaranteed_count.min(held_count));
            let newest_first: Vec<usize> = held.iter().rev().take(expected_count).copied().collect();
            prop_assert_eq!(victims, newest_first);
        }
    }
}
