//! Capabilities: the rights one environment holds over another environment or over an
//! endpoint (`crate::endpoints`), named by handles that index a table the kernel keeps for each
//! environment. A handle means something only in its holder's
//! table, so a forged or stale one names nothing (or something the holder already had); a
//! dropped slot's generation changes so that its old handles stay dead.

use crate::endpoints::EndpointId;
use crate::environments::EnvId;
use alloc::vec::Vec;
use exo_abi::Error;
use exo_abi::capability::{CAPABILITIES_MAX, PARENT, Rights, SELF};

/// What a capability names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    Environment(EnvId),
    Endpoint(EndpointId),
}

/// The right of `rights` bits over `object`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    pub object: Object,
    pub rights: Rights,
}

impl Capability {
    /// `rights` over environment `target`.
    pub fn over_environment(target: EnvId, rights: Rights) -> Capability {
        Capability {
            object: Object::Environment(target),
            rights,
        }
    }

    /// The environment it names, if it names one.
    pub fn environment(self) -> Option<EnvId> {
        match self.object {
            Object::Environment(target) => Some(target),
            Object::Endpoint(_) => None,
        }
    }

    /// A narrowed copy with `wanted` rights, for another holder. [`Rights::WAIT`] and
    /// [`Rights::RECEIVE`] never move: only the environment that spawned a child reaps it, and
    /// only an endpoint's server receives on it.
    pub fn narrowed(self, wanted: Rights) -> Result<Capability, Error> {
        let movable = match self.object {
            Object::Environment(_) => Rights::ALL & !Rights::WAIT,
            Object::Endpoint(_) => Rights::CALL,
        };
        if !movable.contains(wanted) {
            return Err(Error::InvalidArgument);
        }
        if !self.rights.contains(wanted) {
            return Err(Error::PermissionDenied);
        }
        Ok(Capability {
            object: self.object,
            rights: wanted,
        })
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    generation: u32,
    capability: Option<Capability>,
}

/// One environment's capabilities.
#[derive(Clone, Debug, Default)]
pub struct CapabilityTable {
    slots: Vec<Slot>,
}

fn handle_of(index: usize, generation: u32) -> u64 {
    (u64::from(generation) << 32) | index as u64
}

fn index_and_generation(handle: u64) -> (usize, u32) {
    ((handle & 0xFFFF_FFFF) as usize, (handle >> 32) as u32)
}

impl CapabilityTable {
    /// The table a new environment starts with: [`PARENT`] names its parent, if it has one,
    /// with no right (nothing is pushed onto an environment without its consent: a parent that
    /// wants to receive frames or capabilities from its child gives it [`Rights::GRANT`]).
    pub fn at_birth(parent: Option<EnvId>) -> CapabilityTable {
        let mut table = CapabilityTable::default();
        if let Some(parent) = parent {
            table.slots.push(Slot {
                generation: 1,
                capability: Some(Capability::over_environment(parent, Rights::empty())),
            });
        }
        debug_assert!(parent.is_none() || table.get(PARENT).is_ok());
        table
    }

    /// Whether another capability fits.
    pub fn has_room(&self) -> bool {
        self.len() < CAPABILITIES_MAX
    }

    /// Adds `capability`; returns its handle (never 0 nor [`SELF`]).
    /// Errors: [`Error::NoMemory`] when [`CAPABILITIES_MAX`] are held.
    pub fn insert(&mut self, capability: Capability) -> Result<u64, Error> {
        if let Some(index) = self.slots.iter().position(|slot| slot.capability.is_none()) {
            let slot = &mut self.slots[index];
            slot.capability = Some(capability);
            return Ok(handle_of(index, slot.generation));
        }
        if self.slots.len() >= CAPABILITIES_MAX {
            return Err(Error::NoMemory);
        }
        self.slots.push(Slot {
            generation: 1,
            capability: Some(capability),
        });
        Ok(handle_of(self.slots.len() - 1, 1))
    }

    /// The capability `handle` names. Errors: [`Error::BadCapability`] for a handle that names
    /// nothing in this table (forged, dropped or never issued).
    #[inline]
    pub fn get(&self, handle: u64) -> Result<Capability, Error> {
        let (index, generation) = index_and_generation(handle);
        match self.slots.get(index) {
            Some(slot) if slot.generation == generation => {
                slot.capability.ok_or(Error::BadCapability)
            }
            _ => Err(Error::BadCapability),
        }
    }

    /// Removes the capability `handle` names; its handle never works again.
    pub fn remove(&mut self, handle: u64) -> Result<Capability, Error> {
        let capability = self.get(handle)?;
        let (index, _) = index_and_generation(handle);
        let slot = &mut self.slots[index];
        slot.capability = None;
        // Generation 0 is skipped so that no handle is ever 0.
        slot.generation = slot.generation.checked_add(1).unwrap_or(1);
        Ok(capability)
    }

    /// How many capabilities are held.
    pub fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.capability.is_some())
            .count()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The capability `handle` names for `caller`: [`SELF`] names the caller itself, with every
/// right but [`Rights::WAIT`]; any other handle is looked up in its table.
pub fn held(table: &CapabilityTable, caller: EnvId, handle: u64) -> Result<Capability, Error> {
    if handle == SELF {
        return Ok(Capability::over_environment(
            caller,
            Rights::ALL & !Rights::WAIT,
        ));
    }
    table.get(handle)
}

/// The environment `handle` names for `caller`, when it carries every right of `needed`.
/// Errors: [`Error::BadCapability`] as [`CapabilityTable::get`], or when it names an endpoint;
/// [`Error::PermissionDenied`] when a right is missing.
pub fn resolve(
    table: &CapabilityTable,
    caller: EnvId,
    handle: u64,
    needed: Rights,
) -> Result<EnvId, Error> {
    let capability = held(table, caller, handle)?;
    let target = capability.environment().ok_or(Error::BadCapability)?;
    if capability.rights.contains(needed) {
        Ok(target)
    } else {
        Err(Error::PermissionDenied)
    }
}

/// The endpoint `handle` names, when it carries every right of `needed`.
/// Errors: [`Error::BadCapability`] as [`CapabilityTable::get`], or when it names an
/// environment ([`SELF`] included); [`Error::PermissionDenied`] when a right is missing.
#[inline]
pub fn resolve_endpoint(
    table: &CapabilityTable,
    handle: u64,
    needed: Rights,
) -> Result<EndpointId, Error> {
    let capability = table.get(handle)?;
    let Object::Endpoint(endpoint) = capability.object else {
        return Err(Error::BadCapability);
    };
    if capability.rights.contains(needed) {
        Ok(endpoint)
    } else {
        Err(Error::PermissionDenied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full(target: u32) -> Capability {
        Capability::over_environment(EnvId(target), Rights::ALL)
    }

    #[test]
    fn handles_name_what_was_inserted_and_nothing_else() {
        let mut table = CapabilityTable::default();
        let first = table.insert(full(7)).unwrap();
        let second = table.insert(full(8)).unwrap();
        assert_ne!(first, second);
        assert!(first != 0 && first != SELF && second != 0 && second != SELF);
        assert_eq!(table.get(first).unwrap().environment(), Some(EnvId(7)));
        assert_eq!(table.get(second).unwrap().environment(), Some(EnvId(8)));
        for forged in [0, SELF, 2, 7, first ^ (1 << 32), first + 2, u64::MAX - 1] {
            assert_eq!(table.get(forged), Err(Error::BadCapability), "{forged:#x}");
        }
    }

    #[test]
    fn a_dropped_handle_stays_dead_when_its_slot_is_reused() {
        let mut table = CapabilityTable::default();
        let old = table.insert(full(7)).unwrap();
        table.remove(old).unwrap();
        assert_eq!(table.get(old), Err(Error::BadCapability));
        assert_eq!(table.remove(old), Err(Error::BadCapability));
        let new = table.insert(full(9)).unwrap();
        assert_ne!(old, new);
        assert_eq!(table.get(old), Err(Error::BadCapability));
        assert_eq!(table.get(new).unwrap().environment(), Some(EnvId(9)));
    }

    #[test]
    fn rights_are_checked_and_only_narrowed() {
        let mut table = CapabilityTable::default();
        let handle = table
            .insert(Capability::over_environment(EnvId(3), Rights::SHARE))
            .unwrap();
        assert_eq!(
            resolve(&table, EnvId(1), handle, Rights::SHARE),
            Ok(EnvId(3))
        );
        assert_eq!(
            resolve(&table, EnvId(1), handle, Rights::REVOKE),
            Err(Error::PermissionDenied)
        );
        let held = table.get(handle).unwrap();
        assert_eq!(
            held.narrowed(Rights::empty()).unwrap().rights,
            Rights::empty()
        );
        assert_eq!(
            held.narrowed(Rights::SHARE | Rights::GRANT),
            Err(Error::PermissionDenied)
        );
        assert_eq!(
            full(3).narrowed(Rights::WAIT),
            Err(Error::InvalidArgument),
            "the right to reap never moves"
        );
        assert_eq!(
            full(3).narrowed(Rights::RECEIVE),
            Err(Error::InvalidArgument),
            "endpoint rights never name an environment"
        );
    }

    #[test]
    fn control_is_carried_by_self_and_copied() {
        let table = CapabilityTable::default();
        assert_eq!(
            resolve(&table, EnvId(4), SELF, Rights::CONTROL),
            Ok(EnvId(4)),
            "an environment may start and kill what it controls, itself included"
        );
        let copy = full(3).narrowed(Rights::CONTROL).unwrap();
        assert_eq!(copy.rights, Rights::CONTROL);
        assert_eq!(
            copy.narrowed(Rights::CONTROL | Rights::SHARE),
            Err(Error::PermissionDenied)
        );
        let share_only = full(3).narrowed(Rights::SHARE).unwrap();
        assert_eq!(
            share_only.narrowed(Rights::CONTROL),
            Err(Error::PermissionDenied)
        );
    }

    #[test]
    fn the_table_is_bounded() {
        let mut table = CapabilityTable::default();
        for _ in 0..CAPABILITIES_MAX {
            table.insert(full(1)).unwrap();
        }
        assert_eq!(table.insert(full(1)), Err(Error::NoMemory));
        assert_eq!(table.len(), CAPABILITIES_MAX);
    }

    #[test]
    fn a_child_is_born_holding_its_parent() {
        let table = CapabilityTable::at_birth(Some(EnvId(5)));
        assert_eq!(
            resolve(&table, EnvId(6), PARENT, Rights::empty()),
            Ok(EnvId(5))
        );
        for right in [
            Rights::GRANT,
            Rights::SHARE,
            Rights::REVOKE,
            Rights::CONTROL,
        ] {
            assert_eq!(
                resolve(&table, EnvId(6), PARENT, right),
                Err(Error::PermissionDenied)
            );
        }
        let orphan = CapabilityTable::at_birth(None);
        assert_eq!(orphan.get(PARENT), Err(Error::BadCapability));
        assert!(orphan.is_empty() && orphan.has_room());
    }

    #[test]
    fn self_names_the_caller_without_the_right_to_reap_it() {
        let table = CapabilityTable::default();
        assert_eq!(resolve(&table, EnvId(4), SELF, Rights::SHARE), Ok(EnvId(4)));
        assert_eq!(
            resolve(&table, EnvId(4), SELF, Rights::WAIT),
            Err(Error::PermissionDenied)
        );
        let given = held(&table, EnvId(4), SELF)
            .unwrap()
            .narrowed(Rights::SHARE);
        assert_eq!(given.unwrap().environment(), Some(EnvId(4)));
    }

    #[test]
    fn an_endpoint_capability_calls_and_names_no_environment() {
        let mut table = CapabilityTable::default();
        let endpoint = EndpointId(7);
        let server = table
            .insert(Capability {
                object: Object::Endpoint(endpoint),
                rights: Rights::CALL | Rights::RECEIVE,
            })
            .unwrap();
        assert_eq!(
            resolve_endpoint(&table, server, Rights::RECEIVE),
            Ok(endpoint)
        );
        assert_eq!(
            resolve(&table, EnvId(1), server, Rights::empty()),
            Err(Error::BadCapability),
            "an endpoint is not an environment"
        );
        assert_eq!(
            resolve_endpoint(&table, SELF, Rights::CALL),
            Err(Error::BadCapability)
        );
        let held = table.get(server).unwrap();
        let client = held.narrowed(Rights::CALL).unwrap();
        assert_eq!(client.object, Object::Endpoint(endpoint));
        assert_eq!(
            held.narrowed(Rights::RECEIVE),
            Err(Error::InvalidArgument),
            "only the server receives"
        );
        assert_eq!(held.narrowed(Rights::SHARE), Err(Error::InvalidArgument));
        let client = table.insert(client).unwrap();
        assert_eq!(
            resolve_endpoint(&table, client, Rights::RECEIVE),
            Err(Error::PermissionDenied)
        );
    }

    proptest! {
        /// Against a model: a handle works exactly while its capability is held, whatever the
        /// order of inserts and removes and whatever handles are guessed.
        #[test]
        fn only_issued_and_held_handles_work(
            operations in proptest::collection::vec((any::<bool>(), any::<u8>(), any::<u64>()), 1..200)
        ) {
            let mut table = CapabilityTable::default();
            let mut held: Vec<(u64, EnvId)> = Vec::new();
            let mut dropped: Vec<u64> = Vec::new();
            for (is_insert, pick, guess) in operations {
                if is_insert || held.is_empty() {
                    let target = EnvId(u32::from(pick));
                    let handle = table.insert(Capability::over_environment(target, Rights::ALL)).unwrap();
                    prop_assert!(held.iter().all(|&(other, _)| other != handle));
                    held.push((handle, target));
                } else {
                    let (handle, target) = held.remove(usize::from(pick) % held.len());
                    prop_assert_eq!(table.remove(handle).unwrap().environment(), Some(target));
                    dropped.push(handle);
                }
                for &(handle, target) in &held {
                    prop_assert_eq!(table.get(handle).unwrap().environment(), Some(target));
                }
                for &handle in &dropped {
                    prop_assert_eq!(table.get(handle), Err(Error::BadCapability));
                }
                let is_issued = held.iter().any(|&(handle, _)| handle == guess);
                prop_assert_eq!(table.get(guess).is_ok(), is_issued);
                prop_assert_eq!(table.len(), held.len());
            }
        }
    }
}
