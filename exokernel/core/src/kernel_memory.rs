//! The kernel-memory quota: what the kernel heap holds on each environment's behalf, charged to
//! it, under a per-environment limit and a global limit that keeps the sum of all charges below
//! the heap's size (the rest is the kernel's own reserve), so that no set of environments can
//! exhaust the heap.
//!
//! Bindings are charged by count ([`exo_abi::kernel_memory::BINDING_BYTES`] each) from the
//! mapping database, which is their only record, so that their charge cannot drift whatever
//! path removes them; every other charge (filters, environments created) is recorded here, and
//! an environment's charges go with it when it ends.

use crate::environments::EnvId;
use alloc::collections::BTreeMap;
use exo_abi::Error;
use exo_abi::kernel_memory::BINDING_BYTES;

/// How many bindings the mapping database holds: those of the environment charged, and all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingCounts {
    pub environment: usize,
    pub total: usize,
}

/// The charges and their limits.
#[derive(Debug)]
pub struct KernelMemory {
    per_environment_limit: usize,
    global_limit: usize,
    /// Recorded charges by environment; an environment charged nothing has no entry.
    recorded: BTreeMap<EnvId, usize>,
    /// The sum of `recorded`.
    recorded_total: usize,
}

impl KernelMemory {
    /// No charges yet; each environment may be charged up to `per_environment_limit` bytes, and
    /// all together up to `global_limit`.
    pub fn new(per_environment_limit: usize, global_limit: usize) -> KernelMemory {
        KernelMemory {
            per_environment_limit,
            global_limit,
            recorded: BTreeMap::new(),
            recorded_total: 0,
        }
    }

    /// The most bytes all environments together may be charged.
    pub fn global_limit(&self) -> usize {
        self.global_limit
    }

    /// The bytes charged to `env`, which has `bindings` bindings.
    pub fn charged_to(&self, env: EnvId, bindings: usize) -> usize {
        self.recorded.get(&env).copied().unwrap_or(0) + bindings * BINDING_BYTES
    }

    /// The bytes charged to every environment together, which have `bindings` bindings.
    pub fn total(&self, bindings: usize) -> usize {
        self.recorded_total + bindings * BINDING_BYTES
    }

    /// Whether `bytes` more can be charged to `env` (a binding, say, whose record is the
    /// mapping database's).
    ///
    /// Errors: [`Error::NoMemory`] when `env` would go over the per-environment limit or all
    /// environments together over the global limit.
    pub fn check(&self, env: EnvId, bytes: usize, bindings: BindingCounts) -> Result<(), Error> {
        let environment = self
            .charged_to(env, bindings.environment)
            .checked_add(bytes)
            .ok_or(Error::NoMemory)?;
        let total = self
            .total(bindings.total)
            .checked_add(bytes)
            .ok_or(Error::NoMemory)?;
        if environment > self.per_environment_limit || total > self.global_limit {
            return Err(Error::NoMemory);
        }
        Ok(())
    }

    /// Records a charge of `bytes` to `env`.
    ///
    /// Errors: those of [`KernelMemory::check`]; then nothing is charged.
    pub fn charge(
        &mut self,
        env: EnvId,
        bytes: usize,
        bindings: BindingCounts,
    ) -> Result<(), Error> {
        self.check(env, bytes, bindings)?;
        *self.recorded.entry(env).or_default() += bytes;
        self.recorded_total += bytes;
        Ok(())
    }

    /// Gives back `bytes` charged to `env`; nothing when `env`'s charges were released already
    /// (it ended first), and never more than it was charged.
    pub fn refund(&mut self, env: EnvId, bytes: usize) {
        let Some(charged) = self.recorded.get_mut(&env) else {
            return;
        };
        let refunded = bytes.min(*charged);
        *charged -= refunded;
        self.recorded_total -= refunded;
        if *charged == 0 {
            self.recorded.remove(&env);
        }
    }

    /// Gives back everything recorded for `env` (it ended); returns how much that was.
    pub fn release_environment(&mut self, env: EnvId) -> usize {
        let released = self.recorded.remove(&env).unwrap_or(0);
        self.recorded_total -= released;
        released
    }

    /// The environments with recorded charges, and those charges.
    pub fn recorded(&self) -> impl Iterator<Item = (EnvId, usize)> + '_ {
        self.recorded.iter().map(|(&env, &bytes)| (env, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 100 * BINDING_BYTES;
    const GLOBAL: usize = 250 * BINDING_BYTES;
    const A: EnvId = EnvId(2);
    const B: EnvId = EnvId(3);

    fn none() -> BindingCounts {
        BindingCounts {
            environment: 0,
            total: 0,
        }
    }

    #[test]
    fn charges_up_to_the_per_environment_limit_and_no_further() {
        let mut memory = KernelMemory::new(LIMIT, GLOBAL);
        memory.charge(A, LIMIT - 1, none()).unwrap();
        assert_eq!(memory.charge(A, 2, none()), Err(Error::NoMemory));
        assert_eq!(memory.charged_to(A, 0), LIMIT - 1);
        memory.charge(A, 1, none()).unwrap();
        assert_eq!(memory.charged_to(A, 0), LIMIT);
        assert_eq!(memory.charge(B, LIMIT, none()), Ok(()));
    }

    #[test]
    fn bindings_count_against_both_limits() {
        let memory = KernelMemory::new(LIMIT, GLOBAL);
        let full = BindingCounts {
            environment: 100,
            total: 100,
        };
        assert_eq!(memory.check(A, BINDING_BYTES, full), Err(Error::NoMemory));
        let almost = BindingCounts {
            environment: 99,
            total: 250 - 1,
        };
        assert_eq!(memory.check(A, BINDING_BYTES, almost), Ok(()));
        let global_full = BindingCounts {
            environment: 0,
            total: 250,
        };
        assert_eq!(
            memory.check(B, BINDING_BYTES, global_full),
            Err(Error::NoMemory)
        );
        assert_eq!(memory.charged_to(A, 7), 7 * BINDING_BYTES);
        assert_eq!(memory.total(7), 7 * BINDING_BYTES);
    }

    #[test]
    fn the_global_limit_binds_environments_each_within_their_own() {
        let mut memory = KernelMemory::new(LIMIT, GLOBAL);
        memory.charge(A, LIMIT, none()).unwrap();
        memory.charge(B, LIMIT, none()).unwrap();
        let c = EnvId(4);
        assert_eq!(memory.charge(c, LIMIT, none()), Err(Error::NoMemory));
        assert_eq!(memory.charged_to(c, 0), 0);
        memory.charge(c, GLOBAL - 2 * LIMIT, none()).unwrap();
        assert_eq!(memory.total(0), GLOBAL);
        assert_eq!(memory.charge(c, 1, none()), Err(Error::NoMemory));
    }

    #[test]
    fn a_refund_gives_back_at_most_what_was_charged() {
        let mut memory = KernelMemory::new(LIMIT, GLOBAL);
        memory.charge(A, 300, none()).unwrap();
        memory.charge(B, 50, none()).unwrap();
        memory.refund(A, 100);
        assert_eq!(memory.charged_to(A, 0), 200);
        memory.refund(A, 1000);
        assert_eq!(memory.charged_to(A, 0), 0);
        assert_eq!(memory.total(0), 50);
        assert_eq!(memory.recorded().collect::<Vec<_>>(), [(B, 50)]);
    }

    #[test]
    fn an_ended_environment_keeps_no_charge_and_later_refunds_change_nothing() {
        let mut memory = KernelMemory::new(LIMIT, GLOBAL);
        memory.charge(A, 300, none()).unwrap();
        memory.charge(B, 40, none()).unwrap();
        assert_eq!(memory.release_environment(A), 300);
        assert_eq!(memory.charged_to(A, 0), 0);
        assert_eq!(memory.total(0), 40);
        memory.refund(A, 100);
        assert_eq!(memory.total(0), 40);
        assert_eq!(memory.release_environment(A), 0);
    }

    #[test]
    fn a_charge_that_would_overflow_is_refused() {
        let mut memory = KernelMemory::new(usize::MAX, usize::MAX);
        memory.charge(A, 10, none()).unwrap();
        assert_eq!(memory.charge(A, usize::MAX, none()), Err(Error::NoMemory));
        assert_eq!(memory.total(0), 10);
    }
}
