//! The environment table: ids, names, parents, life states (environments built by hand start
//! unstarted), waiting, the descendant rule of killing, and round-robin choice of the next
//! environment to run. Generic over `M`, the machine state the kernel keeps per
//! environment (address space and saved registers), so that the rules are tested on the host.
//!
//! Every environment has a slot found from its id alone (`id % ENVIRONMENTS_MAX`; a new id
//! skips those whose slot is taken), so that a lookup, which every system call and every
//! protected control transfer makes, is one index and one compare.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use exo_abi::{Error, ExitReason};

/// Most environments the table holds at once, living or ended but not yet reaped: a creation
/// past it is refused, so that a program creating children it never reaps cannot exhaust the
/// kernel heap.
pub const ENVIRONMENTS_MAX: usize = 1024;

/// An environment's id. Ids start at 1, grow, and are never reused while the kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvId(pub u32);

/// Where an environment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvState {
    /// Made by [`Syscall::EnvironmentCreate`](exo_abi::Syscall::EnvironmentCreate) and not
    /// started yet: it has no registers to run and is never scheduled.
    Unstarted,
    /// Ready to run (or running).
    Runnable,
    /// Blocked in [`Syscall::Wait`](exo_abi::Syscall::Wait) for this child.
    WaitingFor(EnvId),
    /// Blocked in [`Syscall::Sleep`](exo_abi::Syscall::Sleep) until its deadline or an upcall.
    Sleeping,
    /// Blocked in [`Syscall::EndpointCall`](exo_abi::Syscall::EndpointCall) until the reply
    /// (or its server's end).
    Calling,
    /// Blocked in [`Syscall::EndpointReplyAndWait`](exo_abi::Syscall::EndpointReplyAndWait)
    /// until a call arrives.
    Receiving,
    /// Ended; its resources are gone and it waits for its parent to reap it.
    Ended(ExitReason),
}

/// One environment.
#[derive(Debug)]
pub struct Environment<M> {
    pub id: EnvId,
    /// The program it runs, for messages.
    pub name: String,
    /// The environment that spawned it; `None` for init and for orphans.
    pub parent: Option<EnvId>,
    pub state: EnvState,
    /// The kernel's machine state; `None` once the environment has ended.
    pub machine: Option<M>,
    /// Whether its parent can still reap it: false once the parent gave up the only handle that
    /// waits for it, so that it leaves the table as soon as it ends instead of when its parent
    /// does.
    pub is_reapable: bool,
}

/// What the kernel must do after an environment ends.
#[derive(Debug)]
pub struct Ending<M> {
    /// The ended environment's machine state, to be torn down.
    pub machine: M,
    /// A parent that was waiting for it: it is runnable again and its wait returns this reason.
    pub woken_parent: Option<(EnvId, ExitReason)>,
}

/// What a wait does when the child has not ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitMode {
    /// The caller blocks until the child ends.
    Block,
    /// The wait fails at once with [`Error::Unavailable`]
    /// ([`WaitFlags::NO_HANG`](exo_abi::WaitFlags::NO_HANG)).
    NoHang,
}

/// The outcome of a wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The child had ended; it is now reaped.
    Reaped(ExitReason),
    /// The child still runs; the caller is now blocked.
    Blocked,
}

/// Every environment, by id.
#[derive(Debug)]
pub struct EnvironmentTable<M> {
    /// Environment `id` in slot `id % ENVIRONMENTS_MAX` (allocated with the first one).
    slots: Vec<Option<Box<Environment<M>>>>,
    /// The ids in the table, for going through them in order.
    ids: BTreeSet<EnvId>,
    next_id: u32,
}

impl<M> Default for EnvironmentTable<M> {
    fn default() -> Self {
        EnvironmentTable {
            slots: Vec::new(),
            ids: BTreeSet::new(),
            next_id: 1,
        }
    }
}

fn slot_of(id: EnvId) -> usize {
    id.0 as usize % ENVIRONMENTS_MAX
}

impl<M> EnvironmentTable<M> {
    /// Adds a runnable environment whose machine state `build` makes for the new id. When
    /// `build` fails nothing is added (the id is spent), so that a half-built environment is
    /// never seen. Errors: [`Error::NoMemory`] when the table holds [`ENVIRONMENTS_MAX`].
    pub fn create<E: From<Error>>(
        &mut self,
        name: String,
        parent: Option<EnvId>,
        build: impl FnOnce(EnvId) -> Result<M, E>,
    ) -> Result<EnvId, E> {
        self.insert_new(name, parent, EnvState::Runnable, build)
    }

    /// Adds an environment as [`EnvironmentTable::create`] does, but [`EnvState::Unstarted`]:
    /// it runs only after [`EnvironmentTable::start`].
    pub fn create_unstarted<E: From<Error>>(
        &mut self,
        name: String,
        parent: Option<EnvId>,
        build: impl FnOnce(EnvId) -> Result<M, E>,
    ) -> Result<EnvId, E> {
        self.insert_new(name, parent, EnvState::Unstarted, build)
    }

    fn insert_new<E: From<Error>>(
        &mut self,
        name: String,
        parent: Option<EnvId>,
        state: EnvState,
        build: impl FnOnce(EnvId) -> Result<M, E>,
    ) -> Result<EnvId, E> {
        if self.ids.len() >= ENVIRONMENTS_MAX {
            return Err(Error::NoMemory.into());
        }
        if self.slots.is_empty() {
            self.slots.resize_with(ENVIRONMENTS_MAX, || None);
        }
        // Fewer than ENVIRONMENTS_MAX slots are taken, so one of the next ids has a free one.
        while self.slots[slot_of(EnvId(self.next_id))].is_some() {
            self.next_id += 1;
        }
        let id = EnvId(self.next_id);
        self.next_id += 1;
        let machine = build(id)?;
        let environment = Environment {
            id,
            name,
            parent,
            state,
            machine: Some(machine),
            is_reapable: parent.is_some(),
        };
        self.slots[slot_of(id)] = Some(Box::new(environment));
        self.ids.insert(id);
        Ok(id)
    }

    fn remove(&mut self, id: EnvId) {
        if self.get(id).is_some() {
            self.slots[slot_of(id)] = None;
            self.ids.remove(&id);
        }
    }

    fn values(&self) -> impl Iterator<Item = &Environment<M>> + '_ {
        self.ids.iter().filter_map(|&id| self.get(id))
    }

    /// Makes the unstarted environment `id` runnable; its machine state must hold its first
    /// registers by now.
    ///
    /// Errors: [`Error::NoSuchEnvironment`] when `id` is not alive; [`Error::InvalidArgument`]
    /// when it was started already (or never needed starting).
    pub fn start(&mut self, id: EnvId) -> Result<(), Error> {
        match self.get_mut(id) {
            Some(environment) if environment.machine.is_some() => {
                if environment.state != EnvState::Unstarted {
                    return Err(Error::InvalidArgument);
                }
                environment.state = EnvState::Runnable;
                Ok(())
            }
            _ => Err(Error::NoSuchEnvironment),
        }
    }

    /// Whether `id` is a living environment and `ancestor` is `id` itself or reached from it by
    /// following parent links upward (an environment whose parent ended is an orphan, so a
    /// subtree never reaches past an ended environment).
    pub fn is_living_descendant(&self, id: EnvId, ancestor: EnvId) -> bool {
        if self.machine(id).is_none() {
            return false;
        }
        let mut current = id;
        loop {
            if current == ancestor {
                return true;
            }
            match self.get(current).and_then(|environment| environment.parent) {
                // A parent is always older than its child, so the walk ends.
                Some(parent) if parent < current => current = parent,
                _ => return false,
            }
        }
    }

    /// The environment with id `id`, ended or not.
    #[inline]
    pub fn get(&self, id: EnvId) -> Option<&Environment<M>> {
        match self.slots.get(slot_of(id)) {
            Some(Some(environment)) if environment.id == id => Some(environment),
            _ => None,
        }
    }

    /// The environment with id `id`, ended or not.
    #[inline]
    pub fn get_mut(&mut self, id: EnvId) -> Option<&mut Environment<M>> {
        match self.slots.get_mut(slot_of(id)) {
            Some(Some(environment)) if environment.id == id => Some(environment),
            _ => None,
        }
    }

    /// The machine state of environment `id` while it is alive.
    #[inline]
    pub fn machine(&self, id: EnvId) -> Option<&M> {
        self.get(id)
            .and_then(|environment| environment.machine.as_ref())
    }

    /// The machine state of environment `id` while it is alive.
    #[inline]
    pub fn machine_mut(&mut self, id: EnvId) -> Option<&mut M> {
        self.get_mut(id)
            .and_then(|environment| environment.machine.as_mut())
    }

    /// The living descendants of `id` (not `id` itself), each after all of its own descendants,
    /// so that ending them in this order ends every environment while its parent still lives.
    pub fn living_descendants_deepest_first(&self, id: EnvId) -> Vec<EnvId> {
        let mut children: BTreeMap<EnvId, Vec<EnvId>> = BTreeMap::new();
        for environment in self.values() {
            if let Some(parent) = environment.parent
                && environment.machine.is_some()
            {
                children.entry(parent).or_default().push(environment.id);
            }
        }
        let mut top_down = Vec::new();
        let mut next = 0;
        top_down.extend(children.remove(&id).unwrap_or_default());
        while next < top_down.len() {
            let parent = top_down[next];
            top_down.extend(children.remove(&parent).unwrap_or_default());
            next += 1;
        }
        top_down.reverse();
        top_down
    }

    /// The id of every environment in the table, ended-but-unreaped ones included, in order.
    pub fn ids(&self) -> impl Iterator<Item = EnvId> + '_ {
        self.ids.iter().copied()
    }

    /// How many environments the table holds, ended-but-unreaped ones included.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the table holds no environment.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many environments have not ended.
    pub fn living_count(&self) -> usize {
        self.values().filter(|env| env.machine.is_some()).count()
    }

    /// Ends environment `id` (if it is alive) with `reason`. Its living children become orphans
    /// (the kernel never leaves any: it ends every descendant first, in the order of
    /// [`EnvironmentTable::living_descendants_deepest_first`]), its
    /// unreaped ended children are dropped, and if its parent waits for it the parent wakes and
    /// reaps it at once; an environment nobody can reap is dropped.
    pub fn end(&mut self, id: EnvId, reason: ExitReason) -> Option<Ending<M>> {
        let environment = self.get_mut(id)?;
        let machine = environment.machine.take()?;
        environment.state = EnvState::Ended(reason);
        let parent = environment.parent;
        let is_reapable = environment.is_reapable;
        let children: Vec<EnvId> = self
            .values()
            .filter(|child| child.parent == Some(id))
            .map(|child| child.id)
            .collect();
        for child in children {
            let Some(environment) = self.get_mut(child) else {
                continue;
            };
            environment.parent = None;
            if environment.machine.is_none() {
                self.remove(child);
            }
        }
        let parent_waits = parent
            .and_then(|parent| self.get(parent))
            .is_some_and(|parent| parent.state == EnvState::WaitingFor(id));
        let mut woken_parent = None;
        if parent_waits {
            let parent = parent.expect("checked above");
            self.get_mut(parent).expect("checked above").state = EnvState::Runnable;
            woken_parent = Some((parent, reason));
        }
        if parent_waits || parent.is_none() || !is_reapable {
            self.remove(id);
        }
        Some(Ending {
            machine,
            woken_parent,
        })
    }

    /// Notes that the parent of `child` can no longer reap it (it dropped the handle that waits
    /// for it): an ended child leaves the table now, a living one as soon as it ends.
    pub fn disown(&mut self, child: EnvId) {
        let Some(environment) = self.get_mut(child) else {
            return;
        };
        environment.is_reapable = false;
        if environment.machine.is_none() {
            self.remove(child);
        }
    }

    /// Makes `caller` wait for its child `child`: reaps it when it has ended, else blocks the
    /// caller or, in [`WaitMode::NoHang`], fails.
    ///
    /// Errors: [`Error::NoSuchEnvironment`] when `child` is not an unreaped child of `caller`;
    /// [`Error::Unavailable`] in [`WaitMode::NoHang`] when it has not ended.
    pub fn wait(
        &mut self,
        caller: EnvId,
        child: EnvId,
        mode: WaitMode,
    ) -> Result<WaitOutcome, Error> {
        let state = match self.get(child) {
            Some(environment) if environment.parent == Some(caller) && caller != child => {
                environment.state
            }
            _ => return Err(Error::NoSuchEnvironment),
        };
        match state {
            EnvState::Ended(reason) => {
                self.remove(child);
                Ok(WaitOutcome::Reaped(reason))
            }
            EnvState::Unstarted
            | EnvState::Runnable
            | EnvState::WaitingFor(_)
            | EnvState::Sleeping
            | EnvState::Calling
            | EnvState::Receiving => {
                if mode == WaitMode::NoHang {
                    return Err(Error::Unavailable);
                }
                let caller = self.get_mut(caller).ok_or(Error::NoSuchEnvironment)?;
                caller.state = EnvState::WaitingFor(child);
                Ok(WaitOutcome::Blocked)
            }
        }
    }

    /// Whether any environment is ready to run.
    pub fn has_runnable(&self) -> bool {
        self.next_runnable(None).is_some()
    }

    /// Puts the runnable environment `id` to sleep; returns whether it was runnable.
    pub fn sleep(&mut self, id: EnvId) -> bool {
        self.set_state_from(id, EnvState::Runnable, EnvState::Sleeping)
    }

    /// Wakes environment `id` if it sleeps; returns whether it did.
    pub fn wake(&mut self, id: EnvId) -> bool {
        self.set_state_from(id, EnvState::Sleeping, EnvState::Runnable)
    }

    /// Makes `id`, blocked in a call, runnable; returns whether it was blocked in one.
    pub fn end_call(&mut self, id: EnvId) -> bool {
        self.set_state_from(id, EnvState::Calling, EnvState::Runnable)
    }

    /// Blocks the runnable environment `id` waiting for a call; returns whether it was
    /// runnable.
    pub fn block_in_receive(&mut self, id: EnvId) -> bool {
        self.set_state_from(id, EnvState::Runnable, EnvState::Receiving)
    }

    /// Makes `id`, waiting for a call, runnable; returns whether it was waiting for one.
    pub fn end_receive(&mut self, id: EnvId) -> bool {
        self.set_state_from(id, EnvState::Receiving, EnvState::Runnable)
    }

    fn set_state_from(&mut self, id: EnvId, from: EnvState, to: EnvState) -> bool {
        match self.get_mut(id) {
            Some(environment) if environment.state == from => {
                environment.state = to;
                true
            }
            _ => false,
        }
    }

    /// The next runnable environment after `current` in id order, wrapping around (round
    /// robin); `current` itself comes last.
    pub fn next_runnable(&self, current: Option<EnvId>) -> Option<EnvId> {
        let start = current.map_or(0, |id| id.0);
        let after = self.ids.range(EnvId(start.saturating_add(1))..);
        let before = self.ids.range(..=EnvId(start));
        after.chain(before).copied().find(|&id| {
            self.get(id)
                .is_some_and(|env| env.state == EnvState::Runnable)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn add(
        table: &mut EnvironmentTable<u32>,
        name: &str,
        parent: Option<EnvId>,
        machine: u32,
    ) -> EnvId {
        table
            .create(name.to_string(), parent, |_| Ok::<u32, Error>(machine))
            .unwrap()
    }

    fn table_with_init() -> (EnvironmentTable<u32>, EnvId) {
        let mut table = EnvironmentTable::default();
        let init = add(&mut table, "init", None, 100);
        (table, init)
    }

    #[test]
    fn only_a_runnable_environment_sleeps_and_only_a_sleeper_wakes() {
        let mut table = EnvironmentTable::default();
        let init = add(&mut table, "init", None, 0);
        assert!(!table.wake(init));
        assert!(table.sleep(init));
        assert!(!table.sleep(init));
        assert_eq!(table.get(init).unwrap().state, EnvState::Sleeping);
        assert_eq!(table.next_runnable(None), None);
        assert!(table.wake(init));
        assert_eq!(table.next_runnable(None), Some(init));
        assert!(!table.sleep(EnvId(99)));
    }

    #[test]
    fn failed_build_adds_nothing_and_spends_the_id() {
        let (mut table, _) = table_with_init();
        assert_eq!(
            table.create("bad".to_string(), None, |_| Err::<u32, Error>(
                Error::Unavailable
            )),
            Err(Error::Unavailable)
        );
        assert!(table.get(EnvId(2)).is_none());
        assert_eq!(add(&mut table, "good", None, 0), EnvId(3));
    }

    #[test]
    fn ids_grow_past_taken_slots_and_a_full_table_refuses() {
        let (mut table, init) = table_with_init();
        let mut ids = Vec::new();
        for _ in 1..ENVIRONMENTS_MAX {
            ids.push(add(&mut table, "child", Some(init), 0));
        }
        assert_eq!(
            table.create(
                "one too many".to_string(),
                Some(init),
                |_| Ok::<u32, Error>(0)
            ),
            Err(Error::NoMemory)
        );
        // Free the slot of id 2: the next id, 1 + ENVIRONMENTS_MAX, would share init's slot,
        // so the one after it, whose slot is id 2's, is taken.
        table.end(EnvId(2), ExitReason::Exited(0));
        assert_eq!(
            table.wait(init, EnvId(2), WaitMode::NoHang),
            Ok(WaitOutcome::Reaped(ExitReason::Exited(0)))
        );
        let next = add(&mut table, "reuses a slot", Some(init), 7);
        assert_eq!(next, EnvId(2 + ENVIRONMENTS_MAX as u32));
        assert!(
            table.get(EnvId(2)).is_none(),
            "an old id does not name its slot's new tenant"
        );
        assert_eq!(table.get(next).map(|env| env.machine), Some(Some(7)));
        assert_eq!(table.ids().last(), Some(next), "ids stay in order");
        assert_eq!(table.len(), ENVIRONMENTS_MAX);
    }

    #[test]
    fn unreaped_children_stay_counted_until_reaped() {
        let (mut table, init) = table_with_init();
        let child = add(&mut table, "a", Some(init), 0);
        table.end(child, ExitReason::Exited(0));
        assert_eq!((table.len(), table.living_count()), (2, 1));
        table.wait(init, child, WaitMode::Block).unwrap();
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn machine_state_is_there_only_while_alive() {
        let (mut table, init) = table_with_init();
        let child = add(&mut table, "a", Some(init), 7);
        assert_eq!(table.machine(child), Some(&7));
        *table.machine_mut(child).unwrap() = 8;
        table.end(child, ExitReason::Exited(0));
        assert!(table.get(child).is_some());
        assert_eq!(table.machine(child), None);
        assert_eq!(table.machine_mut(EnvId(99)), None);
    }

    #[test]
    fn ids_start_at_one_and_are_not_reused() {
        let (mut table, init) = table_with_init();
        assert_eq!(init, EnvId(1));
        table.end(init, ExitReason::Exited(0));
        assert_eq!(add(&mut table, "next", None, 0), EnvId(2));
    }

    #[test]
    fn waiting_parent_is_woken_and_child_reaped() {
        let (mut table, init) = table_with_init();
        let child = add(&mut table, "hello", Some(init), 200);
        assert_eq!(
            table.wait(init, child, WaitMode::Block),
            Ok(WaitOutcome::Blocked)
        );
        assert_eq!(table.next_runnable(Some(init)), Some(child));
        let ending = table.end(child, ExitReason::Faulted(13)).unwrap();
        assert_eq!(ending.machine, 200);
        assert_eq!(ending.woken_parent, Some((init, ExitReason::Faulted(13))));
        assert!(table.get(child).is_none());
        assert_eq!(table.get(init).unwrap().state, EnvState::Runnable);
    }

    #[test]
    fn ended_child_waits_to_be_reaped() {
        let (mut table, init) = table_with_init();
        let child = add(&mut table, "hello", Some(init), 200);
        assert!(
            table
                .end(child, ExitReason::Exited(3))
                .unwrap()
                .woken_parent
                .is_none()
        );
        assert_eq!(table.living_count(), 1);
        assert_eq!(
            table.wait(init, child, WaitMode::Block),
            Ok(WaitOutcome::Reaped(ExitReason::Exited(3)))
        );
        assert_eq!(
            table.wait(init, child, WaitMode::Block),
            Err(Error::NoSuchEnvironment)
        );
    }

    #[test]
    fn only_a_parent_may_wait_and_never_for_itself() {
        let (mut table, init) = table_with_init();
        let child = add(&mut table, "a", Some(init), 0);
        let stranger = add(&mut table, "b", None, 0);
        assert_eq!(
            table.wait(stranger, child, WaitMode::Block),
            Err(Error::NoSuchEnvironment)
        );
        assert_eq!(
            table.wait(init, init, WaitMode::Block),
            Err(Error::NoSuchEnvironment)
        );
        assert_eq!(
            table.wait(init, EnvId(99), WaitMode::Block),
            Err(Error::NoSuchEnvironment)
        );
    }

    #[test]
    fn children_of_an_ended_parent_become_orphans() {
        let (mut table, init) = table_with_init();
        let living = add(&mut table, "a", Some(init), 0);
        let ended = add(&mut table, "b", Some(init), 0);
        table.end(ended, ExitReason::Exited(0));
        table.end(init, ExitReason::Exited(0));
        assert!(table.get(ended).is_none());
        assert_eq!(table.get(living).unwrap().parent, None);
        table.end(living, ExitReason::Exited(0));
        assert!(table.get(living).is_none());
        assert!(table.end(living, ExitReason::Exited(0)).is_none());
    }

    #[test]
    fn descendants_come_deepest_first_and_ending_them_so_leaves_no_orphan() {
        let (mut table, init) = table_with_init();
        let victim = add(&mut table, "victim", Some(init), 0);
        let child = add(&mut table, "child", Some(victim), 0);
        let unstarted = add_unstarted(&mut table, victim);
        let grandchild = add(&mut table, "grandchild", Some(child), 0);
        let ended = add(&mut table, "ended", Some(child), 0);
        let bystander = add(&mut table, "bystander", Some(init), 0);
        table.end(ended, ExitReason::Exited(0));
        let order = table.living_descendants_deepest_first(victim);
        assert_eq!(order.len(), 3);
        let position = |id| order.iter().position(|&each| each == id).unwrap();
        assert!(position(grandchild) < position(child));
        assert!(order.contains(&unstarted));
        for id in order {
            let parent = table.get(id).unwrap().parent.unwrap();
            assert!(
                table.machine(parent).is_some(),
                "a parent outlives its child"
            );
            table.end(id, ExitReason::Killed);
        }
        table.end(victim, ExitReason::Killed);
        assert!(table.machine(bystander).is_some());
        assert_eq!(table.living_count(), 2);
        for id in table.ids() {
            let environment = table.get(id).unwrap();
            if environment.machine.is_some() && id != init {
                assert!(
                    table.is_living_descendant(id, init),
                    "env {} is reachable",
                    id.0
                );
            }
        }
    }

    #[test]
    fn a_disowned_child_leaves_the_table_when_it_ends() {
        let (mut table, init) = table_with_init();
        let ended_first = add(&mut table, "a", Some(init), 0);
        let living = add(&mut table, "b", Some(init), 0);
        table.end(ended_first, ExitReason::Exited(0));
        assert_eq!(table.len(), 3);
        table.disown(ended_first);
        table.disown(living);
        assert!(table.get(ended_first).is_none());
        assert!(table.get(living).is_some());
        table.end(living, ExitReason::Killed);
        assert!(table.get(living).is_none());
        assert_eq!(table.len(), 1);
    }

    fn add_unstarted(table: &mut EnvironmentTable<u32>, parent: EnvId) -> EnvId {
        table
            .create_unstarted("built".to_string(), Some(parent), |_| Ok::<u32, Error>(0))
            .unwrap()
    }

    #[test]
    fn an_unstarted_environment_runs_only_once_started() {
        let (mut table, init) = table_with_init();
        let child = add_unstarted(&mut table, init);
        assert_eq!(table.get(child).unwrap().state, EnvState::Unstarted);
        assert_eq!(table.living_count(), 2);
        assert!(table.sleep(init));
        assert_eq!(table.next_runnable(None), None, "never scheduled");
        assert!(!table.sleep(child) && !table.wake(child));
        assert_eq!(table.start(child), Ok(()));
        assert_eq!(table.next_runnable(None), Some(child));
    }

    #[test]
    fn only_an_unstarted_living_environment_starts() {
        let (mut table, init) = table_with_init();
        let child = add_unstarted(&mut table, init);
        assert_eq!(table.start(init), Err(Error::InvalidArgument), "spawned");
        table.start(child).unwrap();
        assert_eq!(table.start(child), Err(Error::InvalidArgument), "twice");
        let ended = add_unstarted(&mut table, init);
        table.end(ended, ExitReason::Killed);
        assert_eq!(table.start(ended), Err(Error::NoSuchEnvironment));
        assert_eq!(table.start(EnvId(99)), Err(Error::NoSuchEnvironment));
    }

    #[test]
    fn waiting_for_an_unstarted_child_blocks_until_it_is_killed() {
        let (mut table, init) = table_with_init();
        let child = add_unstarted(&mut table, init);
        assert_eq!(
            table.wait(init, child, WaitMode::Block),
            Ok(WaitOutcome::Blocked)
        );
        let ending = table.end(child, ExitReason::Killed).unwrap();
        assert_eq!(ending.woken_parent, Some((init, ExitReason::Killed)));
        assert!(table.get(child).is_none());
    }

    #[test]
    fn a_wait_without_hanging_reaps_only_an_ended_child() {
        let (mut table, init) = table_with_init();
        let unstarted = add_unstarted(&mut table, init);
        let running = add(&mut table, "a", Some(init), 0);
        for child in [unstarted, running] {
            assert_eq!(
                table.wait(init, child, WaitMode::NoHang),
                Err(Error::Unavailable)
            );
        }
        assert_eq!(table.get(init).unwrap().state, EnvState::Runnable);
        table.end(running, ExitReason::Exited(4));
        assert_eq!(
            table.wait(init, running, WaitMode::NoHang),
            Ok(WaitOutcome::Reaped(ExitReason::Exited(4)))
        );
        assert_eq!(
            table.wait(init, running, WaitMode::NoHang),
            Err(Error::NoSuchEnvironment)
        );
    }

    #[test]
    fn descendants_are_found_by_parent_links_while_alive() {
        let (mut table, init) = table_with_init();
        let a = add(&mut table, "a", Some(init), 0);
        let b = add_unstarted(&mut table, a);
        let sibling = add(&mut table, "s", Some(init), 0);
        assert!(table.is_living_descendant(b, init));
        assert!(table.is_living_descendant(b, a));
        assert!(table.is_living_descendant(b, b), "itself");
        assert!(!table.is_living_descendant(a, b), "not upward");
        assert!(!table.is_living_descendant(b, sibling));
        assert!(!table.is_living_descendant(EnvId(99), init));
        table.end(a, ExitReason::Killed);
        assert!(!table.is_living_descendant(a, init), "ended");
        assert!(
            !table.is_living_descendant(b, init),
            "an orphan leaves the subtree"
        );
        assert!(table.is_living_descendant(sibling, init));
    }

    #[test]
    fn round_robin_skips_blocked_and_wraps() {
        let (mut table, init) = table_with_init();
        let a = add(&mut table, "a", Some(init), 0);
        let b = add(&mut table, "b", Some(init), 0);
        assert_eq!(table.next_runnable(Some(a)), Some(b));
        assert_eq!(table.next_runnable(Some(b)), Some(init));
        table.wait(init, a, WaitMode::Block).unwrap();
        assert_eq!(table.next_runnable(Some(b)), Some(a));
        assert_eq!(table.next_runnable(None), Some(a));
        table.end(a, ExitReason::Exited(0));
        table.end(b, ExitReason::Exited(0));
        table.end(init, ExitReason::Exited(0));
        assert_eq!(table.next_runnable(None), None);
    }
}
