//! Downloaded filters: loading and unloading them, wake-up predicates (`SleepUntil`), and
//! telling an environment that its filter struck out. The sandbox is `exo_filter`; who owns
//! which filter and the strike rule are `exo_filter::table`'s. Packet binding and delivery are
//! in `packets.rs`.

use crate::kernel::Kernel;
use crate::kprintln;
use crate::pages::place_of;
use crate::platform::Platform;
use crate::syscalls::copy_in;
use alloc::vec::Vec;
use exo_abi::filter::{MODULE_BYTES_MAX, WATCHED_BYTES_MAX};
use exo_abi::kernel_memory::{FILTER_LOAD_BYTES_MAX, FILTER_RUN_BYTES};
use exo_abi::upcall::Upcalls;
use exo_abi::{Error, encode_result, upcall};
use exo_core::PAGE_SIZE;
use exo_core::environments::{EnvId, EnvState};
use exo_filter::table::Unloaded;

/// An environment blocked in `SleepUntil`: its predicate and the bytes it watches.
#[derive(Clone, Copy, Debug)]
pub struct PredicateSleeper {
    pub env: EnvId,
    pub filter: u64,
    /// The page holding the watched bytes, in the sleeper's address space.
    pub page_address: u64,
    pub offset: usize,
    pub len: usize,
}

/// [`exo_abi::Syscall::FilterLoad`].
pub fn filter_load<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
    len: u64,
) -> Result<u64, Error> {
    let bytes = copy_in(kernel, address, len, MODULE_BYTES_MAX as u64)?;
    kernel.check_charge(caller, FILTER_LOAD_BYTES_MAX + FILTER_RUN_BYTES)?;
    let heap_before = P::heap_in_use();
    let filter = kernel.sandbox.load(&bytes).map_err(|error| {
        kprintln!(
            P,
            "exokernel: env {} filter refused: {}",
            caller.0,
            error.describe()
        );
        error.to_abi()
    })?;
    // What the load kept, measured, so that the charge is what the filter really holds.
    let charge = P::heap_in_use().saturating_sub(heap_before) + FILTER_RUN_BYTES;
    kernel.charge(caller, charge)?;
    kernel
        .filters
        .load(caller, filter, charge)
        .inspect_err(|_| kernel.kernel_memory.refund(caller, charge))
}

/// [`exo_abi::Syscall::FilterUnload`].
pub fn filter_unload<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    id: u64,
) -> Result<u64, Error> {
    let charge = kernel.filters.unload(caller, id)?;
    kernel.kernel_memory.refund(caller, charge);
    wake_predicate_sleepers_of(kernel, id, Err(Error::NotFound));
    Ok(0)
}

/// [`exo_abi::Syscall::SleepUntil`]: `Ok(true)` when the caller now sleeps.
pub fn sleep_until<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    filter: u64,
    address: u64,
    len: u64,
) -> Result<bool, Error> {
    if len > WATCHED_BYTES_MAX {
        return Err(Error::TooLong);
    }
    let page_address = address & !(PAGE_SIZE - 1);
    let offset = address - page_address;
    if len == 0 || offset + len > PAGE_SIZE {
        return Err(Error::BadAddress);
    }
    let sleeper = PredicateSleeper {
        env: caller,
        filter,
        page_address,
        offset: offset as usize,
        len: len as usize,
    };
    kernel
        .predicate_sleepers
        .retain(|stale| stale.env != caller);
    if evaluate(kernel, sleeper)? {
        return Ok(false);
    }
    // A frame that reached the caller's rings while it was awake wakes it, as it would have
    // if it had slept already (see `Kernel::sleep_current`).
    if kernel.take_frame_since_sleep(caller) {
        return Ok(false);
    }
    if kernel.environments.sleep(caller) {
        kernel.predicate_sleepers.push(sleeper);
    }
    Ok(true)
}

/// Runs one sleeper's predicate on the bytes it watches now, through the page's binding in
/// its address space (a page another environment shares with it, typically), looked up afresh
/// so that the filter never sees a frame the sleeper can no longer read.
fn evaluate<P: Platform>(kernel: &mut Kernel<P>, sleeper: PredicateSleeper) -> Result<bool, Error> {
    let place = place_of(sleeper.env, sleeper.page_address)?;
    let frame = kernel
        .mappings
        .lookup(place)
        .ok_or(Error::BadAddress)?
        .frame;
    let mut watched = [0u8; WATCHED_BYTES_MAX as usize];
    let watched = &mut watched[..sleeper.len];
    P::read_frame(frame, sleeper.offset, watched);
    let (is_true, unloaded) = kernel
        .filters
        .evaluate(sleeper.env, sleeper.filter, watched)?;
    if let Some(unloaded) = unloaded {
        kernel.note_filter_unloaded(unloaded);
        return Err(Error::NotFound);
    }
    Ok(is_true)
}

/// Ends the sleep of everyone waiting on filter `id` with `result`.
fn wake_predicate_sleepers_of<P: Platform>(
    kernel: &mut Kernel<P>,
    id: u64,
    result: Result<u64, Error>,
) {
    let (woken, sleeping): (Vec<_>, Vec<_>) = kernel
        .predicate_sleepers
        .iter()
        .partition(|sleeper| sleeper.filter == id);
    kernel.predicate_sleepers = sleeping;
    for sleeper in woken {
        kernel.wake_with(sleeper.env, result);
    }
}

impl<P: Platform> Kernel<P> {
    /// Runs every wake-up predicate and wakes the sleepers whose predicate holds; returns
    /// whether any woke.
    pub fn evaluate_wake_up_predicates(&mut self) -> bool {
        if self.predicate_sleepers.is_empty() {
            return false;
        }
        let mut has_woken = false;
        for sleeper in core::mem::take(&mut self.predicate_sleepers) {
            // A sleeper woken otherwise (an upcall, a frame) or ended is waiting no more.
            let is_asleep = self
                .environments
                .get(sleeper.env)
                .is_some_and(|environment| environment.state == EnvState::Sleeping);
            if !is_asleep {
                continue;
            }
            match evaluate(self, sleeper) {
                Ok(false) => self.predicate_sleepers.push(sleeper),
                Ok(true) => has_woken |= self.wake_with(sleeper.env, Ok(0)),
                Err(error) => has_woken |= self.wake_with(sleeper.env, Err(error)),
            }
        }
        has_woken
    }

    /// Makes sleeping `env` runnable, its call returning `result`.
    fn wake_with(&mut self, env: EnvId, result: Result<u64, Error>) -> bool {
        if !self.end_sleep(env) {
            return false;
        }
        if let Some(machine) = self.environments.machine_mut(env) {
            machine.registers.rax = encode_result(result);
        }
        true
    }

    /// Tells the owner of a filter that struck out, by console line and upcall, and ends the
    /// sleeps that waited on it.
    pub fn note_filter_unloaded(&mut self, unloaded: Unloaded<EnvId>) {
        kprintln!(
            P,
            "exokernel: env {} filter {} unloaded after {} strikes",
            unloaded.owner.0,
            unloaded.id,
            exo_abi::filter::STRIKES_MAX
        );
        self.kernel_memory.refund(unloaded.owner, unloaded.charge);
        wake_predicate_sleepers_of(self, unloaded.id, Err(Error::NotFound));
        if let Some(machine) = self.environments.machine_mut(unloaded.owner)
            && machine.upcalls_enabled.contains(Upcalls::FILTER_UNLOADED)
        {
            machine
                .pending_upcalls
                .insert(upcall::FILTER_UNLOADED, (unloaded.id, 0));
            self.end_sleep(unloaded.owner);
        }
    }
}
