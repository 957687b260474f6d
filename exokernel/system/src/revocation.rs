//! Visible revocation and the abort protocol: the kernel asks an environment for resources
//! back through an upcall, lets it choose, and at the deadline takes what is still owed by
//! force, breaking every binding and recording each resource in the environment's repossession
//! vector. The bookkeeping and the victim choice are `exo_core::revocation`'s.

use crate::capabilities::environment_named;
use crate::kernel::Kernel;
use crate::pages::own_binding;
use crate::platform::Platform;
use alloc::vec::Vec;
use exo_abi::capability::Rights;
use exo_abi::repossession::{self, Reason, ResourceKind};
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, PageRights, arguments, upcall};
use exo_core::environments::EnvId;
use exo_core::frame_table::FrameOwner;
use exo_core::revocation::{Request, choose_victims, guaranteed_count};

/// [`exo_abi::Syscall::SetRepossessionVector`].
pub fn set_repossession_vector<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
) -> Result<u64, Error> {
    if address == 0 {
        kernel.current_machine().repossession_frame = None;
        return Ok(0);
    }
    let binding = own_binding(kernel, caller, address)?;
    if !binding.rights.contains(PageRights::WRITABLE) {
        return Err(Error::PermissionDenied);
    }
    P::with_frame_page(binding.frame, repossession::initialize);
    kernel.current_machine().repossession_frame = Some(binding.frame);
    Ok(0)
}

#[inline]
fn kind_of(code: u64) -> Result<ResourceKind, Error> {
    match ResourceKind::from_code(code) {
        Some(kind) => Ok(kind),
        None => Err(Error::InvalidArgument),
    }
}

/// [`exo_abi::Syscall::Revoke`].
pub fn revoke<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::Revoke,
) -> Result<u64, Error> {
    let target = environment_named(kernel, caller, a.target, Rights::REVOKE)?;
    let kind = kind_of(a.kind)?;
    let now = P::now_microseconds();
    let deadline = now.saturating_add(a.deadline);
    let held_count = kernel.held_by_subtree(target, kind);
    kernel
        .revocations
        .request(target, kind, a.count, held_count, now, deadline)?;
    let machine = kernel
        .environments
        .machine_mut(target)
        .expect("checked alive above");
    if !machine
        .upcalls_enabled
        .contains(Upcalls::REVOCATION_REQUEST)
    {
        if let Some(unreachable) = kernel.revocations.expire_now(target, kind) {
            kernel.abort(unreachable, Reason::Unreachable);
        }
        return Ok(0);
    }
    machine
        .pending_upcalls
        .insert(upcall::REVOCATION_REQUEST, (kind.code(), a.count));
    kernel.end_sleep(target);
    Ok(0)
}

/// [`exo_abi::Syscall::RevocationQuery`].
pub fn revocation_query<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    target: u64,
    kind: u64,
) -> Result<u64, Error> {
    let target = environment_named(kernel, caller, target, Rights::REVOKE)?;
    let kind = kind_of(kind)?;
    kernel
        .revocations
        .outstanding(target, kind)
        .map(|request| request.owed_count)
        .ok_or(Error::NotFound)
}

impl<P: Platform> Kernel<P> {
    /// Notes that frame `frame` is no longer `owner`'s: it stops being its repossession vector,
    /// and what environments hold is counted again for the revocation requests.
    pub fn frame_left(&mut self, owner: EnvId, frame: u64) {
        if let Some(machine) = self.environments.machine_mut(owner)
            && machine.repossession_frame == Some(frame)
        {
            machine.repossession_frame = None;
        }
        self.note_holdings_changed();
    }

    /// How many resources of `kind` environment `env` holds with its living descendants: frames
    /// of memory and slots of the whole subtree (what moved into a child has not come back), and
    /// the blocks of its durable owner.
    pub fn held_by_subtree(&self, env: EnvId, kind: ResourceKind) -> u64 {
        let subtree =
            || core::iter::once(env).chain(self.environments.living_descendants_deepest_first(env));
        let count = match kind {
            ResourceKind::Frame => subtree().map(|id| self.frames.memory_frame_count(id)).sum(),
            ResourceKind::Slot => subtree().map(|id| self.slices.slots_of(id)).sum(),
            ResourceKind::Block => self
                .blocks
                .as_ref()
                .map_or(0, |blocks| blocks.table.blocks_of(env).len()),
        };
        count as u64
    }

    /// Counts what each environment with an outstanding revocation request holds now, after
    /// resources left an environment (freed, granted, repossessed, or its holder ended): a
    /// request is met only by what came back out of the revoked subtree.
    pub fn note_holdings_changed(&mut self) {
        if self.revocations.is_empty() {
            return;
        }
        let now = P::now_microseconds();
        let asked: Vec<(EnvId, ResourceKind)> = self
            .revocations
            .requests()
            .map(|request| (request.environment, request.kind))
            .collect();
        for (env, kind) in asked {
            let held_count = self.held_by_subtree(env, kind);
            if let Some(completed) = self.revocations.note_holding(env, kind, held_count, now) {
                log::debug!(
                    "env {}: revocation of {} {kind:?} completed after {} us",
                    env.0,
                    completed.requested_count,
                    completed.elapsed_ticks
                );
            }
        }
    }

    /// Runs the abort protocol for every request whose deadline has passed.
    pub fn abort_overdue_requests(&mut self) {
        let Some(deadline) = self.revocations.next_deadline_ticks() else {
            return;
        };
        let now = P::now_microseconds();
        if deadline > now {
            return;
        }
        for expired in self.revocations.expired(now) {
            self.abort(expired, Reason::DeadlineMissed);
        }
    }

    /// Takes what `expired` still owes by force, records each resource in the environment's
    /// repossession vector, and tells it through its upcall.
    fn abort(&mut self, expired: Request, reason: Reason) {
        let env = expired.environment;
        let Some(machine) = self.environments.machine(env) else {
            return;
        };
        let (vector_frame, frames_at_start) = (machine.repossession_frame, machine.frames_at_start);
        let names: Vec<u64> = match expired.kind {
            ResourceKind::Frame => self
                .frames
                .frames_by_acquisition(env)
                .filter(|&frame| Some(frame) != vector_frame)
                .collect(),
            ResourceKind::Slot => self.slices.positions_of(env).map(|p| p as u64).collect(),
            ResourceKind::Block => self
                .blocks
                .as_ref()
                .map(|blocks| blocks.table.blocks_of(env))
                .unwrap_or_default(),
        };
        // What it took since the last count is owed too; what it gave back since, is not. The
        // count asked for is the caller's and may be near u64::MAX.
        let held_count = self.held_by_subtree(env, expired.kind);
        let owed_count = expired
            .owed_count
            .saturating_add(held_count)
            .saturating_sub(expired.lowest_held_count);
        let guaranteed = guaranteed_count(expired.kind, frames_at_start);
        let victims = choose_victims(&names, owed_count, guaranteed);
        for &name in &victims {
            self.repossess(env, expired.kind, name);
        }
        log::debug!(
            "env {}: repossessed {} {:?} ({reason:?})",
            env.0,
            victims.len(),
            expired.kind
        );
        if let Some(frame) = vector_frame {
            P::with_frame_page(frame, |page| {
                for &name in &victims {
                    repossession::append(page, expired.kind, name, reason);
                }
            });
        }
        if let Some(machine) = self.environments.machine_mut(env) {
            machine
                .pending_upcalls
                .insert(upcall::REPOSSESSED, (victims.len() as u64, 0));
        }
        self.end_sleep(env);
        self.note_holdings_changed();
    }

    /// Takes one resource from `env`, breaking every binding to it.
    fn repossess(&mut self, env: EnvId, kind: ResourceKind, name: u64) {
        match kind {
            ResourceKind::Frame => {
                let removals = self.mappings.remove_frame(name);
                self.clear_page_table_entries(&removals);
                let freed = self.frames.free(name, FrameOwner::Environment(env));
                debug_assert!(freed.is_ok(), "victims are frames the environment owns");
            }
            ResourceKind::Slot => {
                let freed = self.slices.free(env, name as usize);
                debug_assert!(freed.is_ok(), "victims are slots the environment owns");
            }
            ResourceKind::Block => {
                if let Some(blocks) = self.blocks.as_mut() {
                    let taken = blocks.table.repossess(&mut blocks.disk, name);
                    debug_assert!(taken.is_ok(), "victims are blocks the environment owns");
                }
            }
        }
    }
}
