//! The CPU time-slice vector: who owns each slot of a round, and what happens at every slot
//! boundary (who runs, which upcall to deliver, how long to arm the timer).
//!
//! The kernel owns the one-shot timer and the context switch; this module only decides. It is a
//! state machine driven by events (the timer expired, an environment yielded, an environment
//! woke while the CPU idled), and every event returns a [`Decision`] for the kernel to carry out.
//!
//! # The vector
//!
//! A round is [`SLOTS_PER_ROUND`] slots, run in position order and wrapping around. Each slot
//! lasts at most [`SLOT_LENGTH_MICROSECONDS`]. Every position is free or owned by exactly one
//! environment, so the counts of owned slots plus the count of free slots always add up to
//! [`SLOTS_PER_ROUND`]. An environment allocates a slot by position (allocation by physical
//! name, so that a libOS can spread its slots over the round) or takes the first free one.
//! Ownership changes take effect when a slot starts: the slot in progress runs to its end.
//!
//! Slots are positions in a sequence, not fixed instants: a slot starts as soon as the previous
//! one ends (its timer expired, its holder yielded, or the owner's epilogue ended), so a round
//! lasts at most `SLOTS_PER_ROUND * (SLOT_LENGTH_MICROSECONDS + EPILOGUE_GRACE_MICROSECONDS)`.
//!
//! # Who runs in a slot
//!
//! - The slot's owner, when it owns the slot, is runnable and has no forfeit pending.
//! - Otherwise the slot is *best effort*: a free slot, or one whose owner is blocked or asleep,
//!   or one its owner forfeits. It goes to the runnable environments that own no slot at all,
//!   round robin among them, so that programs that never asked for slots still run but never
//!   take time from slot owners.
//! - When no such environment is runnable either, the CPU idles until the slot ends, unless an
//!   environment wakes first ([`SliceScheduler::wake_from_idle`]): then it gets the rest of the
//!   slot by the same rules.
//!
//! # Revocation: epilogue, grace, abort
//!
//! Both upcalls are opt-in per environment ([`SliceScheduler::set_upcalls`]).
//!
//! - **Epilogue.** When a slot owned by E ends while E runs in it, E has the epilogue on and E is
//!   not already in its epilogue, E gets the epilogue upcall and [`EPILOGUE_GRACE_MICROSECONDS`]
//!   to save what it needs and yield. E is now *in its epilogue*.
//! - **Yield in time.** If E yields before the grace ends it leaves its epilogue, nothing is
//!   charged, and the next slot starts at once.
//! - **Abort.** If the grace expires first, E is preempted by force ([`Decision::aborted`]) and
//!   charged: it forfeits its next owned slot. Exactly one forfeited slot per abort. A forfeit is
//!   paid by the next owned slot that E could have used (a slot that starts while E is blocked
//!   would not have run E anyway, so it pays nothing).
//! - **Still in the epilogue.** An aborted E stays in its epilogue until it yields (its saved
//!   context is still in the epilogue code). If one of its slots ends while it is still in its
//!   epilogue, there is no second upcall and no second grace: it is aborted at once, and charged
//!   again. The state is left only by yielding, however the upcall flags change meanwhile.
//! - **Epilogue off.** A slot end just moves on (plain preemption, no charge).
//! - **Prologue.** When a slot owned by E starts and E runs in it with the prologue on, E gets the
//!   prologue upcall before it resumes. Forfeited and best-effort slots deliver no prologue.
//!
//! # Yields
//!
//! - [`SliceScheduler::yield_now`] ends the current slot early for the running environment; the
//!   rest goes to nobody in particular, the next slot starts now. A yield from the epilogue
//!   leaves it.
//! - [`SliceScheduler::yield_to`] (directed yield) gives the rest of the current slot to a
//!   runnable target; the timer keeps running and the slot still counts as the donor's. When the
//!   slot ends the target is preempted plainly (it does not own the slot, so no epilogue). A
//!   directed yield from inside the epilogue counts as a plain yield: the slot it would donate
//!   has already ended. A target that is not runnable is refused with [`Error::Unavailable`].
//! - Sleep and other blocking are the kernel's: it makes the environment not runnable and then
//!   calls [`SliceScheduler::yield_now`] for it. A blocked owner's slots become best effort.
//!
//! # What the kernel does
//!
//! Runnability comes from the kernel through [`RunnableEnvironments`], implemented here for the
//! [`EnvironmentTable`]. The kernel calls [`SliceScheduler::start`] once, then:
//!
//! - every expiry of the one-shot timer: [`SliceScheduler::timer_expired`];
//! - the yield syscall, and every block of the running environment (after marking it not
//!   runnable): [`SliceScheduler::yield_now`];
//! - the directed-yield syscall: [`SliceScheduler::yield_to`];
//! - an environment became runnable while the CPU idles: [`SliceScheduler::wake_from_idle`];
//! - an environment ended: end it in the table first (so it is no longer runnable), then
//!   [`SliceScheduler::release_environment`].
//!
//! To carry out a [`Decision`]: save the registers of the environment that was running (aborted
//! or not), arm or keep the timer as [`Decision::timer`] says, then either enter
//! [`Decision::run`] (through the upcall's entry point when [`Decision::upcall`] names one) or
//! halt until the next interrupt.

use crate::environments::{EnvId, EnvState, EnvironmentTable};
use alloc::collections::BTreeMap;
use exo_abi::Error;

pub use exo_abi::slice::{EPILOGUE_GRACE_MICROSECONDS, SLOT_LENGTH_MICROSECONDS};

/// Slots in one round of the vector (the ABI's figure, as an index bound).
pub const SLOTS_PER_ROUND: usize = exo_abi::slice::SLOTS_PER_ROUND as usize;

/// Most slots owned at once (the ABI's figure): the others are always best effort.
pub const OWNED_SLOTS_MAX: usize = exo_abi::slice::OWNED_SLOTS_MAX as usize;

// The grace is a small part of a slot, so that revocation stays cheap for everyone else.
const _: () = assert!(EPILOGUE_GRACE_MICROSECONDS < SLOT_LENGTH_MICROSECONDS);

/// What the scheduler needs to know about environments, supplied by the kernel.
///
/// Both questions are asked only at slot boundaries and yields, and the best-effort search asks
/// `next_runnable` at most `SLOTS_PER_ROUND + 1` times (only that many environments can own
/// slots, so one of that many successive runnable environments owns none).
pub trait RunnableEnvironments {
    /// Whether environment `env` exists, has not ended, and is ready to run (not blocked or
    /// asleep).
    fn is_runnable(&self, env: EnvId) -> bool;

    /// The first runnable environment after `after` in id order, wrapping around, with `after`
    /// itself last; the lowest runnable one when `after` is `None`; `None` when nothing is
    /// runnable. `after` may name an environment that no longer exists.
    fn next_runnable(&self, after: Option<EnvId>) -> Option<EnvId>;
}

impl<M> RunnableEnvironments for EnvironmentTable<M> {
    fn is_runnable(&self, env: EnvId) -> bool {
        self.get(env)
            .is_some_and(|environment| environment.state == EnvState::Runnable)
    }

    fn next_runnable(&self, after: Option<EnvId>) -> Option<EnvId> {
        EnvironmentTable::next_runnable(self, after)
    }
}

/// An upcall the kernel delivers to the environment it runs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upcall {
    /// The environment's slot has ended: save what is needed and yield within
    /// [`EPILOGUE_GRACE_MICROSECONDS`].
    Epilogue,
    /// The environment's slot has started.
    Prologue,
}

/// What to do with the one-shot timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Arm it to expire after this many microseconds (a full slot, or the epilogue grace).
    Arm { after_microseconds: u64 },
    /// Leave it armed as it is: the slot in progress goes on to its planned end.
    Keep,
}

/// What the kernel must do after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The slot position in progress (for an epilogue, the position of the slot that ended).
    pub slot_position: usize,
    /// The environment to run now; `None`: the CPU idles until the timer expires.
    pub run: Option<EnvId>,
    /// An upcall to deliver to `run` before it resumes.
    pub upcall: Option<Upcall>,
    /// What to do with the timer.
    pub timer: Timer,
    /// An environment preempted by force because it did not yield within its grace; it forfeits
    /// its next owned slot.
    pub aborted: Option<EnvId>,
}

/// Counts kept per environment, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SliceStatistics {
    /// Slots of its own that it started to run in.
    pub owned_slots_run: u64,
    /// Best-effort slots (free, or not usable by their owner) it was given.
    pub best_effort_slots_run: u64,
    /// Owned slots it lost to pay for aborts.
    pub slots_forfeited: u64,
    /// Times it was preempted by force for not yielding within its grace.
    pub aborts: u64,
    /// Epilogue upcalls it was given.
    pub epilogues_delivered: u64,
    /// Prologue upcalls it was given.
    pub prologues_delivered: u64,
}

/// The scheduler's state for one environment.
#[derive(Clone, Copy, Debug, Default)]
struct Account {
    wants_epilogue: bool,
    wants_prologue: bool,
    is_in_epilogue: bool,
    forfeits_pending: u32,
    statistics: SliceStatistics,
}

/// Where the slot at the current position is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The kernel has not called [`SliceScheduler::start`] yet; no timer is armed.
    NotStarted,
    /// The slot is in progress.
    Slot,
    /// The slot has ended and its owner runs its epilogue within the grace.
    Grace,
}

/// The slice vector and the state of the slot in progress.
#[derive(Debug)]
pub struct SliceScheduler {
    owners: [Option<EnvId>; SLOTS_PER_ROUND],
    accounts: BTreeMap<EnvId, Account>,
    position: usize,
    phase: Phase,
    running: Option<EnvId>,
    /// Whether the slot in progress was forfeited by its owner, so that a wake from idle does not
    /// hand it back.
    is_position_forfeited: bool,
    /// Where the best-effort round robin resumes.
    last_best_effort: Option<EnvId>,
}

impl Default for SliceScheduler {
    fn default() -> Self {
        SliceScheduler {
            owners: [None; SLOTS_PER_ROUND],
            accounts: BTreeMap::new(),
            position: 0,
            phase: Phase::NotStarted,
            running: None,
            is_position_forfeited: false,
            last_best_effort: None,
        }
    }
}

impl SliceScheduler {
    /// A vector with every slot free, not started.
    pub fn new() -> SliceScheduler {
        SliceScheduler::default()
    }

    // Ownership.

    /// Gives `env` the slot at `position`, or the first free slot when `position` is `None`;
    /// returns the position. Errors: `InvalidArgument` when `position` is not below
    /// [`SLOTS_PER_ROUND`], `Occupied` when it is owned (by anyone, `env` included),
    /// `Unavailable` when no slot is free or [`OWNED_SLOTS_MAX`] are owned already (the rest
    /// stay best effort, so that environments without slots always run).
    pub fn allocate(&mut self, env: EnvId, position: Option<usize>) -> Result<usize, Error> {
        let position = match position {
            Some(position) => self.check_free(position)?,
            None => self.first_free().ok_or(Error::Unavailable)?,
        };
        if SLOTS_PER_ROUND - self.free_count() >= OWNED_SLOTS_MAX {
            return Err(Error::Unavailable);
        }
        self.owners[position] = Some(env);
        Ok(position)
    }

    fn check_free(&self, position: usize) -> Result<usize, Error> {
        match self.owners.get(position) {
            None => Err(Error::InvalidArgument),
            Some(Some(_)) => Err(Error::Occupied),
            Some(None) => Ok(position),
        }
    }

    fn first_free(&self) -> Option<usize> {
        self.owners.iter().position(Option::is_none)
    }

    /// Frees the slot at `position`, owned by `env`. Freeing the slot in progress does not cut it
    /// short. Errors: `InvalidArgument` when `position` is not below [`SLOTS_PER_ROUND`],
    /// `PermissionDenied` when `env` does not own it.
    pub fn free(&mut self, env: EnvId, position: usize) -> Result<(), Error> {
        let slot = self
            .owners
            .get_mut(position)
            .ok_or(Error::InvalidArgument)?;
        if *slot != Some(env) {
            return Err(Error::PermissionDenied);
        }
        *slot = None;
        Ok(())
    }

    /// Frees every slot of `env` and forgets its upcalls, epilogue state, forfeits and counts.
    /// When `env` was running, the next slot starts now and its decision is returned; otherwise
    /// nothing changes for the CPU. Call it after the kernel made `env` not runnable.
    pub fn release_environment(
        &mut self,
        env: EnvId,
        environments: &impl RunnableEnvironments,
    ) -> Option<Decision> {
        for owner in &mut self.owners {
            if *owner == Some(env) {
                *owner = None;
            }
        }
        self.accounts.remove(&env);
        if self.running != Some(env) {
            return None;
        }
        self.running = None;
        Some(self.begin_next_slot(environments))
    }

    /// The owner of the slot at `position`; `None` when it is free or out of range.
    pub fn owner(&self, position: usize) -> Option<EnvId> {
        self.owners.get(position).copied().flatten()
    }

    /// How many slots `env` owns.
    pub fn slots_of(&self, env: EnvId) -> usize {
        self.positions_of(env).count()
    }

    /// The positions of the slots `env` owns, in increasing order.
    pub fn positions_of(&self, env: EnvId) -> impl Iterator<Item = usize> {
        self.owners
            .iter()
            .enumerate()
            .filter(move |(_, owner)| **owner == Some(env))
            .map(|(position, _)| position)
    }

    /// How many slots are free.
    pub fn free_count(&self) -> usize {
        self.owners.iter().filter(|owner| owner.is_none()).count()
    }

    // Upcalls and state.

    /// Turns the epilogue and prologue upcalls of `env` on or off, from the next slot boundary.
    pub fn set_upcalls(&mut self, env: EnvId, epilogue: bool, prologue: bool) {
        let account = self.accounts.entry(env).or_default();
        account.wants_epilogue = epilogue;
        account.wants_prologue = prologue;
    }

    /// The environment running now (the slot's holder, a donation's target, or an owner in its
    /// grace); `None` while the CPU idles or before the start.
    pub fn running(&self) -> Option<EnvId> {
        self.running
    }

    /// The position of the slot in progress (or whose epilogue runs).
    pub fn slot_position(&self) -> usize {
        self.position
    }

    /// Whether the running environment is in the grace after its epilogue upcall.
    pub fn is_in_grace(&self) -> bool {
        self.phase == Phase::Grace
    }

    /// Whether `env` received its epilogue upcall and has not yielded since.
    pub fn is_in_epilogue(&self, env: EnvId) -> bool {
        self.accounts
            .get(&env)
            .is_some_and(|account| account.is_in_epilogue)
    }

    /// How many owned slots `env` still has to forfeit for its aborts.
    pub fn forfeits_pending(&self, env: EnvId) -> u32 {
        self.accounts
            .get(&env)
            .map_or(0, |account| account.forfeits_pending)
    }

    /// The counts kept for `env` (all zero for an environment never seen or released).
    pub fn statistics(&self, env: EnvId) -> SliceStatistics {
        self.accounts
            .get(&env)
            .map_or_else(SliceStatistics::default, |account| account.statistics)
    }

    // Events.

    /// Starts the slot at the current position (position 0 on a new scheduler). Call it once,
    /// when the kernel first schedules; a second call restarts the slot in progress.
    pub fn start(&mut self, environments: &impl RunnableEnvironments) -> Decision {
        self.begin_slot(environments)
    }

    /// The one-shot timer armed by the last decision expired: the slot or the grace has ended.
    pub fn timer_expired(&mut self, environments: &impl RunnableEnvironments) -> Decision {
        match self.phase {
            Phase::NotStarted => self.begin_slot(environments),
            Phase::Slot => self.end_slot(environments),
            Phase::Grace => self.abort_running(environments),
        }
    }

    /// The running environment `env` yields: it leaves its epilogue if it was in it, and the next
    /// slot starts now. Error: `PermissionDenied` when `env` is not the environment running.
    pub fn yield_now(
        &mut self,
        env: EnvId,
        environments: &impl RunnableEnvironments,
    ) -> Result<Decision, Error> {
        self.check_running(env)?;
        self.leave_epilogue(env);
        Ok(self.begin_next_slot(environments))
    }

    /// The running environment `donor` gives the rest of the current slot to `target`; the timer
    /// is kept. From inside the epilogue it is a plain yield. Errors: `PermissionDenied` when
    /// `donor` is not the environment running, `InvalidArgument` when `target` is `donor`,
    /// `Unavailable` when `target` is not runnable (blocked, asleep, ended or unknown).
    pub fn yield_to(
        &mut self,
        donor: EnvId,
        target: EnvId,
        environments: &impl RunnableEnvironments,
    ) -> Result<Decision, Error> {
        self.check_running(donor)?;
        if target == donor {
            return Err(Error::InvalidArgument);
        }
        if !environments.is_runnable(target) {
            return Err(Error::Unavailable);
        }
        self.leave_epilogue(donor);
        if self.phase == Phase::Grace {
            return Ok(self.begin_next_slot(environments));
        }
        self.running = Some(target);
        Ok(self.decision(Some(target), None, Timer::Keep))
    }

    /// The running environment `donor` hands the rest of the slot to `target` in a protected
    /// control transfer, which the kernel carries out without a decision: returns whether it
    /// may (only in a slot in progress: in an epilogue's grace the slot's end is due, and the
    /// transfer takes the scheduler's path). The timer keeps running.
    #[inline]
    pub fn hand_over(&mut self, donor: EnvId, target: EnvId) -> bool {
        if self.running != Some(donor) || self.phase != Phase::Slot {
            return false;
        }
        self.running = Some(target);
        true
    }

    /// An environment became runnable. When the CPU idles in a slot, the rest of that slot is
    /// chosen again by the usual rules and the decision returned (the timer is kept); otherwise,
    /// or when still nothing can run, `None`: nothing changes.
    pub fn wake_from_idle(&mut self, environments: &impl RunnableEnvironments) -> Option<Decision> {
        if self.running.is_some() || self.phase != Phase::Slot {
            return None;
        }
        let (env, upcall) = self.choose_for_slot(environments)?;
        self.running = Some(env);
        Some(self.decision(Some(env), upcall, Timer::Keep))
    }

    fn check_running(&self, env: EnvId) -> Result<(), Error> {
        if self.running == Some(env) {
            Ok(())
        } else {
            Err(Error::PermissionDenied)
        }
    }

    fn leave_epilogue(&mut self, env: EnvId) {
        if let Some(account) = self.accounts.get_mut(&env) {
            account.is_in_epilogue = false;
        }
    }

    // Slot boundaries.

    /// The slot in progress reached its end: epilogue, abort, or the next slot.
    fn end_slot(&mut self, environments: &impl RunnableEnvironments) -> Decision {
        let Some(owner) = self.owner_running_in_slot(environments) else {
            return self.begin_next_slot(environments);
        };
        let account = self.accounts.entry(owner).or_default();
        if account.is_in_epilogue {
            return self.abort_running(environments);
        }
        if !account.wants_epilogue {
            return self.begin_next_slot(environments);
        }
        account.is_in_epilogue = true;
        account.statistics.epilogues_delivered += 1;
        self.phase = Phase::Grace;
        let grace = Timer::Arm {
            after_microseconds: EPILOGUE_GRACE_MICROSECONDS,
        };
        self.decision(Some(owner), Some(Upcall::Epilogue), grace)
    }

    /// The owner of the slot in progress, when it is the environment running and is still
    /// runnable (an owner the kernel blocked without telling is preempted plainly).
    fn owner_running_in_slot(&self, environments: &impl RunnableEnvironments) -> Option<EnvId> {
        let running = self.running?;
        let is_owner = self.owner(self.position) == Some(running);
        (is_owner && environments.is_runnable(running)).then_some(running)
    }

    /// Preempts the running environment by force, charges it one forfeit, and starts the next
    /// slot.
    fn abort_running(&mut self, environments: &impl RunnableEnvironments) -> Decision {
        let aborted = self.running;
        if let Some(env) = aborted {
            let account = self.accounts.entry(env).or_default();
            account.statistics.aborts += 1;
            account.forfeits_pending = account.forfeits_pending.saturating_add(1);
        }
        let mut decision = self.begin_next_slot(environments);
        decision.aborted = aborted;
        decision
    }

    fn begin_next_slot(&mut self, environments: &impl RunnableEnvironments) -> Decision {
        self.position = (self.position + 1) % SLOTS_PER_ROUND;
        self.begin_slot(environments)
    }

    fn begin_slot(&mut self, environments: &impl RunnableEnvironments) -> Decision {
        self.phase = Phase::Slot;
        self.is_position_forfeited = false;
        let chosen = self.choose_for_slot(environments);
        self.running = chosen.map(|(env, _)| env);
        let upcall = chosen.and_then(|(_, upcall)| upcall);
        let full_slot = Timer::Arm {
            after_microseconds: SLOT_LENGTH_MICROSECONDS,
        };
        self.decision(self.running, upcall, full_slot)
    }

    /// Who gets the slot in progress, and the upcall it is owed: the owner when it can use the
    /// slot, else the next slotless runnable environment; `None` to idle.
    fn choose_for_slot(
        &mut self,
        environments: &impl RunnableEnvironments,
    ) -> Option<(EnvId, Option<Upcall>)> {
        if let Some(owner) = self.owner_taking_slot(environments) {
            return Some((owner, self.note_owned_slot_run(owner)));
        }
        let env = self.next_best_effort(environments)?;
        self.last_best_effort = Some(env);
        let account = self.accounts.entry(env).or_default();
        account.statistics.best_effort_slots_run += 1;
        Some((env, None))
    }

    /// The owner of the slot in progress when it can use it; a runnable owner with a forfeit
    /// pending pays it here instead.
    fn owner_taking_slot(&mut self, environments: &impl RunnableEnvironments) -> Option<EnvId> {
        if self.is_position_forfeited {
            return None;
        }
        let owner = self.owner(self.position)?;
        if !environments.is_runnable(owner) {
            return None;
        }
        let account = self.accounts.entry(owner).or_default();
        if account.forfeits_pending > 0 {
            account.forfeits_pending -= 1;
            account.statistics.slots_forfeited += 1;
            self.is_position_forfeited = true;
            return None;
        }
        Some(owner)
    }

    /// Counts an owned slot run by `owner`; returns the prologue when it wants one.
    fn note_owned_slot_run(&mut self, owner: EnvId) -> Option<Upcall> {
        let account = self.accounts.entry(owner).or_default();
        account.statistics.owned_slots_run += 1;
        if !account.wants_prologue {
            return None;
        }
        account.statistics.prologues_delivered += 1;
        Some(Upcall::Prologue)
    }

    /// The next runnable environment that owns no slot, round robin after the last one chosen.
    fn next_best_effort(&self, environments: &impl RunnableEnvironments) -> Option<EnvId> {
        let mut candidate = environments.next_runnable(self.last_best_effort);
        // At most SLOTS_PER_ROUND environments own slots, so among SLOTS_PER_ROUND + 1
        // successive runnable environments one owns none, unless the walk has wrapped around.
        for _ in 0..=SLOTS_PER_ROUND {
            let env = candidate?;
            if environments.is_runnable(env) && self.slots_of(env) == 0 {
                return Some(env);
            }
            candidate = environments.next_runnable(Some(env));
        }
        None
    }

    fn decision(&self, run: Option<EnvId>, upcall: Option<Upcall>, timer: Timer) -> Decision {
        Decision {
            slot_position: self.position,
            run,
            upcall,
            timer,
            aborted: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environments::WaitMode;
    use alloc::collections::BTreeSet;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use exo_abi::ExitReason;
    use proptest::prelude::*;

    const FULL_SLOT: Timer = Timer::Arm {
        after_microseconds: SLOT_LENGTH_MICROSECONDS,
    };
    const GRACE: Timer = Timer::Arm {
        after_microseconds: EPILOGUE_GRACE_MICROSECONDS,
    };
    const A: EnvId = EnvId(1);
    const B: EnvId = EnvId(2);
    const C: EnvId = EnvId(3);
    const D: EnvId = EnvId(4);

    /// A fake kernel: the set of runnable environments.
    #[derive(Clone, Debug, Default)]
    struct Machine {
        runnable: BTreeSet<EnvId>,
    }

    impl Machine {
        fn with(ids: &[EnvId]) -> Machine {
            Machine {
                runnable: ids.iter().copied().collect(),
            }
        }
    }

    impl RunnableEnvironments for Machine {
        fn is_runnable(&self, env: EnvId) -> bool {
            self.runnable.contains(&env)
        }

        fn next_runnable(&self, after: Option<EnvId>) -> Option<EnvId> {
            let start = after.map_or(0, |id| id.0);
            let later = self.runnable.range(EnvId(start.saturating_add(1))..);
            later
                .chain(self.runnable.range(..=EnvId(start)))
                .next()
                .copied()
        }
    }

    fn scheduler_with(slots: &[(EnvId, usize)]) -> SliceScheduler {
        let mut scheduler = SliceScheduler::new();
        for &(env, position) in slots {
            assert_eq!(scheduler.allocate(env, Some(position)), Ok(position));
        }
        scheduler
    }

    /// Expires the timer until the slot at `position` starts; returns its decision.
    fn run_until_position(
        scheduler: &mut SliceScheduler,
        machine: &Machine,
        position: usize,
    ) -> Decision {
        let mut decision = scheduler.timer_expired(machine);
        while decision.slot_position != position || scheduler.is_in_grace() {
            decision = scheduler.timer_expired(machine);
        }
        decision
    }

    // Ownership.

    #[test]
    fn a_round_is_sixteen_slots_of_four_milliseconds() {
        assert_eq!(SLOTS_PER_ROUND as u64 * SLOT_LENGTH_MICROSECONDS, 64_000);
    }

    #[test]
    fn allocates_by_position_and_refuses_a_taken_one() {
        let mut scheduler = SliceScheduler::new();
        assert_eq!(scheduler.allocate(A, Some(5)), Ok(5));
        assert_eq!(scheduler.owner(5), Some(A));
        assert_eq!(scheduler.allocate(B, Some(5)), Err(Error::Occupied));
        assert_eq!(scheduler.allocate(A, Some(5)), Err(Error::Occupied));
        assert_eq!(scheduler.owner(5), Some(A));
    }

    #[test]
    fn refuses_positions_out_of_range() {
        let mut scheduler = SliceScheduler::new();
        for position in [SLOTS_PER_ROUND, SLOTS_PER_ROUND + 1, usize::MAX] {
            assert_eq!(
                scheduler.allocate(A, Some(position)),
                Err(Error::InvalidArgument)
            );
            assert_eq!(scheduler.free(A, position), Err(Error::InvalidArgument));
            assert_eq!(scheduler.owner(position), None);
        }
        assert_eq!(scheduler.free_count(), SLOTS_PER_ROUND);
    }

    #[test]
    fn allocates_the_first_free_position_until_the_owned_maximum() {
        let mut scheduler = scheduler_with(&[(B, 0), (B, 2)]);
        assert_eq!(scheduler.allocate(A, None), Ok(1));
        assert_eq!(scheduler.allocate(A, None), Ok(3));
        for _ in 4..OWNED_SLOTS_MAX {
            assert!(scheduler.allocate(C, None).is_ok());
        }
        assert_eq!(scheduler.free_count(), SLOTS_PER_ROUND - OWNED_SLOTS_MAX);
        assert_eq!(scheduler.allocate(A, None), Err(Error::Unavailable));
        assert_eq!(
            scheduler.allocate(A, Some(SLOTS_PER_ROUND - 1)),
            Err(Error::Unavailable)
        );
    }

    #[test]
    fn an_owner_of_every_slot_it_can_get_leaves_best_effort_slots_to_others() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = SliceScheduler::new();
        while scheduler.allocate(A, None).is_ok() {}
        assert_eq!(scheduler.slots_of(A), OWNED_SLOTS_MAX);
        let mut decision = scheduler.start(&machine);
        let mut slots_run_by_b = 0;
        for _ in 0..SLOTS_PER_ROUND {
            slots_run_by_b += usize::from(decision.run == Some(B));
            decision = scheduler.timer_expired(&machine);
        }
        assert_eq!(slots_run_by_b, SLOTS_PER_ROUND - OWNED_SLOTS_MAX);
    }

    #[test]
    fn only_the_owner_frees_a_slot() {
        let mut scheduler = scheduler_with(&[(A, 3)]);
        assert_eq!(scheduler.free(B, 3), Err(Error::PermissionDenied));
        assert_eq!(scheduler.free(A, 4), Err(Error::PermissionDenied));
        assert_eq!(scheduler.free(A, 3), Ok(()));
        assert_eq!(scheduler.free(A, 3), Err(Error::PermissionDenied));
        assert_eq!(scheduler.owner(3), None);
    }

    #[test]
    fn slots_add_up() {
        let mut scheduler = scheduler_with(&[(A, 0), (A, 7), (B, 3)]);
        scheduler.allocate(C, None).unwrap();
        let owned: usize = [A, B, C].iter().map(|&env| scheduler.slots_of(env)).sum();
        assert_eq!((owned, scheduler.free_count()), (4, SLOTS_PER_ROUND - 4));
        assert_eq!(scheduler.positions_of(A).collect::<Vec<_>>(), [0, 7]);
        assert_eq!(scheduler.positions_of(C).collect::<Vec<_>>(), [1]);
        assert_eq!(scheduler.slots_of(D), 0);
    }

    #[test]
    fn release_frees_every_slot_and_forgets_the_environment() {
        let machine = Machine::with(&[B]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 9), (B, 1)]);
        scheduler.set_upcalls(A, true, true);
        assert_eq!(scheduler.release_environment(A, &machine), None);
        assert_eq!(scheduler.slots_of(A), 0);
        assert_eq!(scheduler.free_count(), SLOTS_PER_ROUND - 1);
        assert_eq!(scheduler.statistics(A), SliceStatistics::default());
        assert_eq!(scheduler.owner(1), Some(B));
    }

    #[test]
    fn releasing_the_running_environment_starts_the_next_slot() {
        let mut machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0), (B, 1)]);
        assert_eq!(scheduler.start(&machine).run, Some(A));
        machine.runnable.remove(&A);
        let decision = scheduler.release_environment(A, &machine).unwrap();
        assert_eq!((decision.slot_position, decision.run), (1, Some(B)));
        assert_eq!(decision.timer, FULL_SLOT);
        assert_eq!(scheduler.running(), Some(B));
    }

    // Who runs.

    #[test]
    fn the_owner_runs_in_its_slot_for_a_full_slot() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0), (B, 1)]);
        let first = scheduler.start(&machine);
        assert_eq!(
            first,
            Decision {
                slot_position: 0,
                run: Some(A),
                upcall: None,
                timer: FULL_SLOT,
                aborted: None,
            }
        );
        let second = scheduler.timer_expired(&machine);
        assert_eq!((second.slot_position, second.run), (1, Some(B)));
        assert_eq!(scheduler.statistics(A).owned_slots_run, 1);
    }

    #[test]
    fn a_blocked_owner_slot_goes_to_a_slotless_environment() {
        let machine = Machine::with(&[C]);
        let mut scheduler = scheduler_with(&[(A, 0)]);
        let decision = scheduler.start(&machine);
        assert_eq!((decision.run, decision.timer), (Some(C), FULL_SLOT));
        assert_eq!(scheduler.statistics(C).best_effort_slots_run, 1);
        assert_eq!(scheduler.statistics(A).owned_slots_run, 0);
    }

    #[test]
    fn best_effort_slots_go_round_robin_to_slotless_environments() {
        let machine = Machine::with(&[A, B, C, D]);
        let mut scheduler = scheduler_with(&[(B, 1), (B, 2)]);
        let mut runs = Vec::new();
        let mut decision = scheduler.start(&machine);
        for _ in 0..8 {
            runs.push(decision.run.unwrap());
            decision = scheduler.timer_expired(&machine);
        }
        assert_eq!(runs, [A, B, B, C, D, A, C, D]);
    }

    #[test]
    fn slot_owners_never_take_best_effort_slots() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0), (B, 1)]);
        let mut decision = scheduler.start(&machine);
        for _ in 0..SLOTS_PER_ROUND * 3 {
            let expected = scheduler.owner(decision.slot_position);
            assert_eq!(decision.run, expected);
            decision = scheduler.timer_expired(&machine);
        }
    }

    #[test]
    fn the_cpu_idles_when_nothing_can_run() {
        let machine = Machine::with(&[A]);
        let mut scheduler = scheduler_with(&[(A, 0), (B, 1)]);
        scheduler.start(&machine);
        let decision = scheduler.timer_expired(&machine);
        assert_eq!(
            (decision.slot_position, decision.run, decision.upcall),
            (1, None, None)
        );
        assert_eq!(decision.timer, FULL_SLOT);
        assert_eq!(scheduler.running(), None);
        assert_eq!(
            scheduler.yield_now(B, &machine),
            Err(Error::PermissionDenied)
        );
        assert_eq!(scheduler.start(&Machine::default()).run, None);
    }

    #[test]
    fn an_owner_that_wakes_gets_the_rest_of_its_idle_slot() {
        let mut machine = Machine::default();
        let mut scheduler = scheduler_with(&[(A, 0)]);
        scheduler.set_upcalls(A, false, true);
        assert_eq!(scheduler.wake_from_idle(&machine), None);
        assert_eq!(scheduler.start(&machine).run, None);
        assert_eq!(scheduler.wake_from_idle(&machine), None);
        machine.runnable.insert(A);
        let decision = scheduler.wake_from_idle(&machine).unwrap();
        assert_eq!(decision.run, Some(A));
        assert_eq!(decision.upcall, Some(Upcall::Prologue));
        assert_eq!(decision.timer, Timer::Keep);
        assert_eq!(scheduler.wake_from_idle(&machine), None);
    }

    // Epilogue, grace, abort.

    #[test]
    fn a_slot_end_without_epilogue_moves_on_without_charge() {
        let machine = Machine::with(&[A]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1)]);
        scheduler.start(&machine);
        let decision = scheduler.timer_expired(&machine);
        assert_eq!((decision.run, decision.upcall), (Some(A), None));
        assert_eq!((decision.slot_position, decision.aborted), (1, None));
        assert_eq!(scheduler.forfeits_pending(A), 0);
    }

    #[test]
    fn the_slot_end_delivers_the_epilogue_with_the_grace() {
        let machine = Machine::with(&[A]);
        let mut scheduler = scheduler_with(&[(A, 4)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.start(&machine);
        run_until_position(&mut scheduler, &machine, 4);
        let decision = scheduler.timer_expired(&machine);
        assert_eq!(decision.slot_position, 4);
        assert_eq!(
            (decision.run, decision.upcall),
            (Some(A), Some(Upcall::Epilogue))
        );
        assert_eq!(decision.timer, GRACE);
        assert!(scheduler.is_in_grace() && scheduler.is_in_epilogue(A));
        assert_eq!(scheduler.statistics(A).epilogues_delivered, 1);
    }

    #[test]
    fn a_yield_within_the_grace_starts_the_next_slot_without_charge() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0), (B, 1)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.start(&machine);
        scheduler.timer_expired(&machine);
        let decision = scheduler.yield_now(A, &machine).unwrap();
        assert_eq!((decision.slot_position, decision.run), (1, Some(B)));
        assert_eq!(decision.aborted, None);
        assert!(!scheduler.is_in_epilogue(A) && !scheduler.is_in_grace());
        assert_eq!(scheduler.forfeits_pending(A), 0);
    }

    #[test]
    fn grace_expiry_aborts_and_forfeits_the_next_owned_slot() {
        let machine = Machine::with(&[A, C]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1), (A, 2)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.start(&machine);
        scheduler.timer_expired(&machine);
        let abort = scheduler.timer_expired(&machine);
        assert_eq!(abort.aborted, Some(A));
        assert_eq!((abort.slot_position, abort.run), (1, Some(C)));
        let statistics = scheduler.statistics(A);
        assert_eq!((statistics.aborts, statistics.slots_forfeited), (1, 1));
        let after = scheduler.timer_expired(&machine);
        assert_eq!((after.slot_position, after.run), (2, Some(A)));
        assert_eq!(scheduler.forfeits_pending(A), 0);
    }

    #[test]
    fn a_slot_ending_in_the_epilogue_aborts_at_once() {
        let machine = Machine::with(&[A]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 2)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.start(&machine);
        scheduler.timer_expired(&machine);
        assert_eq!(scheduler.timer_expired(&machine).aborted, Some(A));
        let resumed = run_until_position(&mut scheduler, &machine, 0);
        assert_eq!(resumed.run, Some(A));
        assert!(scheduler.is_in_epilogue(A));
        let abort = scheduler.timer_expired(&machine);
        assert_eq!((abort.aborted, abort.upcall), (Some(A), None));
        assert_eq!(abort.slot_position, 1);
        let statistics = scheduler.statistics(A);
        assert_eq!((statistics.aborts, statistics.epilogues_delivered), (2, 1));
    }

    #[test]
    fn a_forfeit_waits_for_a_slot_the_owner_could_use() {
        let mut machine = Machine::with(&[A]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.start(&machine);
        scheduler.timer_expired(&machine);
        machine.runnable.remove(&A);
        let abort = scheduler.timer_expired(&machine);
        assert_eq!((abort.aborted, abort.run), (Some(A), None));
        assert_eq!(scheduler.forfeits_pending(A), 1);
        machine.runnable.insert(A);
        assert_eq!(scheduler.wake_from_idle(&machine), None);
        assert_eq!(scheduler.forfeits_pending(A), 0);
        assert_eq!(scheduler.wake_from_idle(&machine), None);
    }

    #[test]
    fn the_prologue_is_delivered_when_an_owned_slot_starts() {
        let machine = Machine::with(&[A, C]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1)]);
        scheduler.set_upcalls(A, true, true);
        assert_eq!(scheduler.start(&machine).upcall, Some(Upcall::Prologue));
        scheduler.timer_expired(&machine);
        let forfeited = scheduler.timer_expired(&machine);
        assert_eq!((forfeited.run, forfeited.upcall), (Some(C), None));
        assert_eq!(scheduler.statistics(A).prologues_delivered, 1);
    }

    // Yields.

    #[test]
    fn yield_now_ends_the_slot_early() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1), (B, 2)]);
        scheduler.start(&machine);
        assert_eq!(
            scheduler.yield_now(B, &machine),
            Err(Error::PermissionDenied)
        );
        let decision = scheduler.yield_now(A, &machine).unwrap();
        assert_eq!((decision.slot_position, decision.run), (1, Some(A)));
        assert_eq!(decision.timer, FULL_SLOT);
    }

    #[test]
    fn directed_yield_gives_the_rest_of_the_slot_and_keeps_the_timer() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.set_upcalls(B, true, false);
        scheduler.start(&machine);
        let donation = scheduler.yield_to(A, B, &machine).unwrap();
        assert_eq!((donation.slot_position, donation.run), (0, Some(B)));
        assert_eq!(donation.timer, Timer::Keep);
        let end = scheduler.timer_expired(&machine);
        assert_eq!((end.slot_position, end.run, end.upcall), (1, Some(A), None));
        assert_eq!(scheduler.statistics(B), SliceStatistics::default());
    }

    #[test]
    fn directed_yield_refuses_bad_donors_and_targets() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0)]);
        scheduler.start(&machine);
        assert_eq!(
            scheduler.yield_to(B, A, &machine),
            Err(Error::PermissionDenied)
        );
        assert_eq!(
            scheduler.yield_to(A, A, &machine),
            Err(Error::InvalidArgument)
        );
        assert_eq!(scheduler.yield_to(A, C, &machine), Err(Error::Unavailable));
        assert_eq!(scheduler.running(), Some(A));
    }

    #[test]
    fn directed_yield_from_the_epilogue_is_a_plain_yield() {
        let machine = Machine::with(&[A, B]);
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.start(&machine);
        scheduler.timer_expired(&machine);
        let decision = scheduler.yield_to(A, B, &machine).unwrap();
        assert_eq!((decision.slot_position, decision.run), (1, Some(A)));
        assert!(!scheduler.is_in_epilogue(A));
    }

    #[test]
    fn the_environment_table_answers_runnability() {
        let mut table: EnvironmentTable<()> = EnvironmentTable::default();
        let parent = table
            .create("a".to_string(), None, |_| Ok::<(), Error>(()))
            .unwrap();
        let child = table
            .create("b".to_string(), Some(parent), |_| Ok::<(), Error>(()))
            .unwrap();
        let other = table
            .create("c".to_string(), None, |_| Ok::<(), Error>(()))
            .unwrap();
        table.wait(parent, child, WaitMode::Block).unwrap();
        table.end(other, ExitReason::Exited(0));
        assert!(!RunnableEnvironments::is_runnable(&table, parent));
        assert!(RunnableEnvironments::is_runnable(&table, child));
        assert!(!RunnableEnvironments::is_runnable(&table, other));
        assert!(!RunnableEnvironments::is_runnable(&table, EnvId(99)));
        assert_eq!(
            RunnableEnvironments::next_runnable(&table, Some(child)),
            Some(child)
        );
        let unstarted = table
            .create_unstarted("d".to_string(), Some(child), |_| Ok::<(), Error>(()))
            .unwrap();
        assert!(!RunnableEnvironments::is_runnable(&table, unstarted));
        assert_eq!(
            RunnableEnvironments::next_runnable(&table, Some(child)),
            Some(child)
        );
        table.start(unstarted).unwrap();
        assert!(RunnableEnvironments::is_runnable(&table, unstarted));
    }

    // Simulations: a fake CPU carries out the decisions and counts time.

    struct Simulation {
        scheduler: SliceScheduler,
        machine: Machine,
        /// How long each environment takes to yield after its epilogue upcall; absent: it spins.
        epilogue_yield_microseconds: BTreeMap<EnvId, u64>,
        now_microseconds: u64,
        deadline_microseconds: u64,
        cpu_microseconds: BTreeMap<Option<EnvId>, u64>,
        decision: Decision,
    }

    impl Simulation {
        fn new(mut scheduler: SliceScheduler, machine: Machine) -> Simulation {
            let decision = scheduler.start(&machine);
            Simulation {
                scheduler,
                machine,
                epilogue_yield_microseconds: BTreeMap::new(),
                now_microseconds: 0,
                deadline_microseconds: SLOT_LENGTH_MICROSECONDS,
                cpu_microseconds: BTreeMap::new(),
                decision,
            }
        }

        fn run_rounds(&mut self, rounds: u64) {
            let round_microseconds = SLOTS_PER_ROUND as u64 * SLOT_LENGTH_MICROSECONDS;
            let end = self.now_microseconds + rounds * round_microseconds;
            while self.now_microseconds < end {
                self.step();
            }
        }

        fn step(&mut self) {
            let decision = self.decision;
            let yield_at = self.yield_time(decision);
            let until = yield_at.map_or(self.deadline_microseconds, |at| {
                at.min(self.deadline_microseconds)
            });
            *self.cpu_microseconds.entry(decision.run).or_default() +=
                until - self.now_microseconds;
            self.now_microseconds = until;
            let next = match (decision.run, until < self.deadline_microseconds) {
                (Some(env), true) => self.scheduler.yield_now(env, &self.machine).unwrap(),
                _ => self.scheduler.timer_expired(&self.machine),
            };
            self.apply(next);
        }

        fn yield_time(&self, decision: Decision) -> Option<u64> {
            if decision.upcall != Some(Upcall::Epilogue) {
                return None;
            }
            let delay = self.epilogue_yield_microseconds.get(&decision.run?)?;
            Some(self.now_microseconds + delay)
        }

        fn apply(&mut self, decision: Decision) {
            if let Timer::Arm { after_microseconds } = decision.timer {
                self.deadline_microseconds = self.now_microseconds + after_microseconds;
            }
            self.decision = decision;
        }

        fn cpu_of(&self, env: Option<EnvId>) -> u64 {
            self.cpu_microseconds.get(&env).copied().unwrap_or(0)
        }
    }

    #[test]
    fn cpu_time_follows_slot_counts_three_to_one() {
        let scheduler = scheduler_with(&[(A, 0), (A, 5), (A, 10), (B, 3)]);
        let mut simulation = Simulation::new(scheduler, Machine::with(&[A, B]));
        simulation.run_rounds(100);
        assert_eq!(
            simulation.cpu_of(Some(A)),
            100 * 3 * SLOT_LENGTH_MICROSECONDS
        );
        assert_eq!(simulation.cpu_of(Some(B)), 100 * SLOT_LENGTH_MICROSECONDS);
        assert_eq!(simulation.cpu_of(None), 100 * 12 * SLOT_LENGTH_MICROSECONDS);
        assert_eq!(simulation.cpu_of(Some(A)), 3 * simulation.cpu_of(Some(B)));
    }

    #[test]
    fn cpu_time_follows_slot_counts_with_epilogues_and_a_slotless_environment() {
        let mut scheduler = scheduler_with(&[(A, 0), (A, 1), (A, 8), (B, 4)]);
        scheduler.set_upcalls(A, true, true);
        scheduler.set_upcalls(B, true, false);
        let mut simulation = Simulation::new(scheduler, Machine::with(&[A, B, C]));
        simulation.epilogue_yield_microseconds = [(A, 150), (B, 250)].into_iter().collect();
        simulation.run_rounds(200);
        let share_of_a = simulation.cpu_of(Some(A)) as f64
            / (simulation.cpu_of(Some(A)) + simulation.cpu_of(Some(B))) as f64;
        assert!((share_of_a / 0.75 - 1.0).abs() < 0.05, "share {share_of_a}");
        assert!(simulation.cpu_of(Some(C)) > 0);
        assert_eq!(simulation.cpu_of(None), 0);
        assert_eq!(simulation.scheduler.statistics(A).aborts, 0);
    }

    #[test]
    fn an_environment_spinning_in_its_epilogue_loses_its_next_slot() {
        let mut scheduler = scheduler_with(&[(A, 0), (A, 8), (B, 4), (B, 12)]);
        scheduler.set_upcalls(A, true, false);
        scheduler.set_upcalls(B, true, false);
        let mut simulation = Simulation::new(scheduler, Machine::with(&[A, B]));
        simulation.epilogue_yield_microseconds = [(B, 100)].into_iter().collect();
        let rounds = 50;
        simulation.run_rounds(rounds);
        let spinner = simulation.scheduler.statistics(A);
        let yielder = simulation.scheduler.statistics(B);
        // The spinner runs one of its two slots a round and forfeits the other.
        assert!(spinner.slots_forfeited >= rounds - 1);
        assert!(spinner.aborts - spinner.slots_forfeited <= 1);
        assert!(spinner.owned_slots_run.abs_diff(rounds) <= 1);
        assert_eq!(spinner.epilogues_delivered, 1);
        assert_eq!(yielder.slots_forfeited + yielder.aborts, 0);
        assert!(yielder.owned_slots_run >= 2 * rounds - 1);
        assert_eq!(yielder.epilogues_delivered, yielder.owned_slots_run);
    }

    #[test]
    fn the_slot_after_an_abort_is_lost_by_the_spinner() {
        let scheduler = scheduler_with(&[(A, 0), (A, 8)]);
        let mut simulation = Simulation::new(scheduler, Machine::with(&[A]));
        simulation.scheduler.set_upcalls(A, true, false);
        simulation.step();
        simulation.step();
        assert_eq!(simulation.decision.aborted, Some(A));
        while simulation.decision.slot_position != 8 {
            simulation.step();
        }
        assert_eq!(simulation.decision.run, None);
        assert_eq!(simulation.scheduler.statistics(A).slots_forfeited, 1);
    }

    // Properties over any sequence of events.

    #[derive(Clone, Debug)]
    enum Event {
        Allocate(u32, Option<usize>),
        Free(u32, usize),
        Release(u32),
        SetUpcalls(u32, bool, bool),
        Block(u32),
        Wake(u32),
        TimerExpired,
        YieldRunning,
        YieldNow(u32),
        YieldTo(Option<u32>, u32),
        Start,
    }

    const ENVIRONMENTS: u32 = 6;

    fn event() -> impl Strategy<Value = Event> {
        let env = || 1..=ENVIRONMENTS;
        let position = || 0usize..20;
        prop_oneof![
            (env(), proptest::option::of(position())).prop_map(|(e, p)| Event::Allocate(e, p)),
            (env(), position()).prop_map(|(e, p)| Event::Free(e, p)),
            env().prop_map(Event::Release),
            (env(), any::<bool>(), any::<bool>())
                .prop_map(|(e, epilogue, prologue)| Event::SetUpcalls(e, epilogue, prologue)),
            env().prop_map(Event::Block),
            env().prop_map(Event::Wake),
            Just(Event::TimerExpired),
            Just(Event::TimerExpired),
            Just(Event::YieldRunning),
            env().prop_map(Event::YieldNow),
            (proptest::option::of(env()), env()).prop_map(|(d, t)| Event::YieldTo(d, t)),
            Just(Event::Start),
        ]
    }

    /// The fake kernel in the property test: it follows the kernel's side of the contract
    /// (ended environments stay ended and make no calls; a blocking environment yields).
    struct Kernel {
        scheduler: SliceScheduler,
        machine: Machine,
        ended: BTreeSet<EnvId>,
        decisions: Vec<Decision>,
    }

    impl Kernel {
        fn apply(&mut self, event: Event) {
            let machine = &self.machine;
            let scheduler = &mut self.scheduler;
            let decision = match event {
                Event::Allocate(env, position) if !self.ended.contains(&EnvId(env)) => {
                    let _ = scheduler.allocate(EnvId(env), position);
                    None
                }
                Event::Free(env, position) => {
                    let _ = scheduler.free(EnvId(env), position);
                    None
                }
                Event::Release(env) => {
                    self.machine.runnable.remove(&EnvId(env));
                    self.ended.insert(EnvId(env));
                    self.scheduler
                        .release_environment(EnvId(env), &self.machine)
                }
                Event::SetUpcalls(env, epilogue, prologue) if !self.ended.contains(&EnvId(env)) => {
                    scheduler.set_upcalls(EnvId(env), epilogue, prologue);
                    None
                }
                Event::Block(env) => self.block(EnvId(env)),
                Event::Wake(env) if !self.ended.contains(&EnvId(env)) => {
                    self.machine.runnable.insert(EnvId(env));
                    self.scheduler.wake_from_idle(&self.machine)
                }
                Event::TimerExpired => Some(scheduler.timer_expired(machine)),
                Event::YieldRunning => scheduler
                    .running()
                    .and_then(|env| scheduler.yield_now(env, machine).ok()),
                Event::YieldNow(env) => scheduler.yield_now(EnvId(env), machine).ok(),
                Event::YieldTo(donor, target) => {
                    let donor = donor.map(EnvId).or(scheduler.running()).unwrap_or(A);
                    scheduler.yield_to(donor, EnvId(target), machine).ok()
                }
                Event::Start => Some(scheduler.start(machine)),
                _ => None,
            };
            self.decisions.extend(decision);
        }

        fn block(&mut self, env: EnvId) -> Option<Decision> {
            self.machine.runnable.remove(&env);
            if self.scheduler.running() != Some(env) {
                return None;
            }
            self.scheduler.yield_now(env, &self.machine).ok()
        }
    }

    proptest! {
        /// Over any sequence of events the slots add up, ended environments own nothing and
        /// never run, every abort is paid by exactly one forfeit (pending or done), and every
        /// environment chosen to run is runnable.
        #[test]
        fn decisions_stay_consistent(events in proptest::collection::vec(event(), 0..300)) {
            let mut kernel = Kernel {
                scheduler: SliceScheduler::new(),
                machine: Machine::with(&[A, B, C, D]),
                ended: BTreeSet::new(),
                decisions: Vec::new(),
            };
            for event in events {
                kernel.apply(event);
                let scheduler = &kernel.scheduler;
                let ids = (1..=ENVIRONMENTS + 1).map(EnvId);
                let owned: usize = ids.clone().map(|env| scheduler.slots_of(env)).sum();
                prop_assert_eq!(owned + scheduler.free_count(), SLOTS_PER_ROUND);
                for position in 0..SLOTS_PER_ROUND {
                    if let Some(owner) = scheduler.owner(position) {
                        prop_assert!(scheduler.positions_of(owner).any(|p| p == position));
                    }
                }
                for env in ids {
                    let statistics = scheduler.statistics(env);
                    let pending = u64::from(scheduler.forfeits_pending(env));
                    prop_assert_eq!(statistics.aborts, statistics.slots_forfeited + pending);
                }
                for &env in &kernel.ended {
                    prop_assert_eq!(scheduler.slots_of(env), 0);
                    prop_assert_ne!(scheduler.running(), Some(env));
                }
                if scheduler.is_in_grace() {
                    let running = scheduler.running();
                    prop_assert!(running.is_some_and(|env| scheduler.is_in_epilogue(env)));
                }
                prop_assert!(scheduler.slot_position() < SLOTS_PER_ROUND);
                for decision in kernel.decisions.drain(..) {
                    prop_assert_eq!(decision.run, scheduler.running());
                    if let Some(env) = decision.run {
                        prop_assert!(kernel.machine.is_runnable(env));
                    }
                    if decision.upcall.is_some() {
                        prop_assert!(decision.run.is_some());
                    }
                }
            }
        }
    }
}
