//! The kernel's loaded filters: who owns each, which are bound to packet receive and in what
//! order, and the rule that settles a frame several filters would claim. Generic over the
//! owner (an environment id in the kernel) and the receive ring (the kernel's record of the
//! ring's frames), so that the rules are tested on the host with real filters.
//!
//! **Who claims a frame.** Bound filters run in the order they were bound; the first whose
//! verdict is a match claims the frame and the rest do not run. A filter bound later that would
//! match the same frames gets only what earlier filters leave: binding cannot steal traffic
//! that another environment already claims.
//!
//! **Recognised filters** (see [`Filter::test_list`]) are not run one by one: the table keeps
//! them merged in one decision structure, which finds the earliest bound of them that matches
//! with about one lookup, however many there are. The interpreter then runs only the other
//! filters bound before that one, in bind order, as it always did; the first match of all wins.
//! Recognised runs have no effect and never strike, so the claimer, the runs that strike and
//! the strikes are the same as if every filter ran in turn.
//!
//! **Strikes.** A run that strikes counts against its filter (see [`Filter::run`]); the run
//! that exhausts it unloads it here, and the caller is told so that it can notify the owner.

use crate::merged::Merged;
use crate::{Filter, Verdict};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use exo_abi::Error;
use exo_abi::filter::FILTERS_PER_ENVIRONMENT_MAX;

struct Loaded<Owner> {
    owner: Owner,
    filter: Filter,
    /// The kernel memory charged to the owner for it, given back when it goes.
    charge: usize,
}

/// A filter bound to packet receive.
struct Binding<Owner, Ring> {
    id: u64,
    owner: Owner,
    ring: Ring,
}

/// Every loaded filter and the packet bindings.
pub struct FilterTable<Owner, Ring> {
    loaded: BTreeMap<u64, Loaded<Owner>>,
    /// Bound filters with their rings, in bind order.
    bindings: Vec<Binding<Owner, Ring>>,
    /// Positions in `bindings` of the filters the interpreter runs, in bind order.
    interpreted: Vec<usize>,
    /// The recognised bound filters, merged; rebuilt whenever `bindings` changes.
    merged: Merged<Owner>,
    next_id: u64,
}

/// A filter unloaded because it ran out of strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unloaded<Owner> {
    pub id: u64,
    pub owner: Owner,
    /// The kernel memory it was charged, now to be given back to its owner.
    pub charge: usize,
}

/// What [`FilterTable::demultiplex`] decided for one frame.
#[derive(Debug)]
pub struct Claim<'a, Owner, Ring> {
    /// The filter that claimed the frame, its owner and its ring; `None`: nobody did.
    pub claimed_by: Option<(u64, Owner, &'a Ring)>,
    /// Filters this frame's runs exhausted, now unloaded.
    pub unloaded: Vec<Unloaded<Owner>>,
    /// Filters the interpreter ran for this frame (the recognised ones are decided together,
    /// without a run).
    pub runs: usize,
}

impl<Owner: Copy + Eq, Ring> Default for FilterTable<Owner, Ring> {
    fn default() -> Self {
        FilterTable {
            loaded: BTreeMap::new(),
            bindings: Vec::new(),
            interpreted: Vec::new(),
            merged: Merged::default(),
            next_id: 1,
        }
    }
}

impl<Owner: Copy + Eq, Ring> FilterTable<Owner, Ring> {
    /// Adds `filter`, owned by `owner`, which was charged `charge` bytes of kernel memory for
    /// it; returns its id (ids are never reused).
    /// Errors: [`Error::NoMemory`] when `owner` has
    /// [`FILTERS_PER_ENVIRONMENT_MAX`] filters already.
    pub fn load(&mut self, owner: Owner, filter: Filter, charge: usize) -> Result<u64, Error> {
        if self.count_owned_by(owner) >= FILTERS_PER_ENVIRONMENT_MAX {
            return Err(Error::NoMemory);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.loaded.insert(
            id,
            Loaded {
                owner,
                filter,
                charge,
            },
        );
        Ok(id)
    }

    /// How many filters `owner` has loaded.
    pub fn count_owned_by(&self, owner: Owner) -> usize {
        self.loaded
            .values()
            .filter(|loaded| loaded.owner == owner)
            .count()
    }

    fn check_owner(&self, owner: Owner, id: u64) -> Result<(), Error> {
        match self.loaded.get(&id) {
            Some(loaded) if loaded.owner == owner => Ok(()),
            _ => Err(Error::NotFound),
        }
    }

    /// Unloads `owner`'s filter `id` and its binding; returns the charge it was loaded with.
    /// Errors: [`Error::NotFound`] when `id` is not `owner`'s filter.
    pub fn unload(&mut self, owner: Owner, id: u64) -> Result<usize, Error> {
        self.check_owner(owner, id)?;
        Ok(self.remove(id))
    }

    /// Removes filter `id` and its binding; returns its charge.
    fn remove(&mut self, id: u64) -> usize {
        self.unbind(id);
        self.loaded.remove(&id).map_or(0, |loaded| loaded.charge)
    }

    /// Removes every loaded filter `is_gone` picks, and their bindings, sorting the bound
    /// filters again once, not once a filter: that sort reads every bound filter. Cold: its
    /// moves of whole filters would otherwise give every frame's demultiplexing a stack frame
    /// of kilobytes.
    #[cold]
    #[inline(never)]
    fn remove_where(&mut self, is_gone: impl Fn(u64, &Loaded<Owner>) -> bool) {
        let bound = self.bindings.len();
        let loaded = &self.loaded;
        self.bindings.retain(|binding| {
            loaded
                .get(&binding.id)
                .is_none_or(|filter| !is_gone(binding.id, filter))
        });
        self.loaded.retain(|&id, filter| !is_gone(id, filter));
        if self.bindings.len() != bound {
            self.sort_bindings();
        }
    }

    /// Sorts the bound filters again into those the interpreter runs and the merged ones,
    /// after `bindings` changed.
    fn sort_bindings(&mut self) {
        let loaded = &self.loaded;
        let bound = || {
            self.bindings
                .iter()
                .enumerate()
                .filter_map(|(position, binding)| Some((position, loaded.get(&binding.id)?)))
        };
        self.interpreted = bound()
            .filter(|(_, loaded)| loaded.filter.test_list().is_none())
            .map(|(position, _)| position)
            .collect();
        self.merged = Merged::new(bound().filter_map(|(position, loaded)| {
            Some((position, loaded.owner, loaded.filter.shared_test_list()?))
        }));
    }

    /// Unloads every filter of `owner` (its environment ended).
    pub fn remove_owner(&mut self, owner: Owner) {
        // Every environment's end comes here: one that loaded nothing (most) costs a read of
        // the owners, not the lookups and the rebuilt maps of a removal.
        if self.loaded.values().any(|loaded| loaded.owner == owner) {
            self.remove_where(|_, loaded| loaded.owner == owner);
        }
    }

    /// Binds `owner`'s filter `id` to packet receive, after every filter bound before it.
    /// Errors: [`Error::NotFound`] when `id` is not `owner`'s filter; [`Error::Occupied`] when
    /// it is bound already.
    pub fn bind(&mut self, owner: Owner, id: u64, ring: Ring) -> Result<(), Error> {
        self.check_owner(owner, id)?;
        if self.bindings.iter().any(|binding| binding.id == id) {
            return Err(Error::Occupied);
        }
        self.bindings.push(Binding { id, owner, ring });
        self.sort_bindings();
        Ok(())
    }

    /// How many filters are bound to packet receive.
    pub fn bound_count(&self) -> usize {
        self.bindings.len()
    }

    /// Unbinds filter `id` from packet receive (its ring broke); it stays loaded.
    pub fn unbind(&mut self, id: u64) {
        let before = self.bindings.len();
        self.bindings.retain(|binding| binding.id != id);
        if self.bindings.len() != before {
            self.sort_bindings();
        }
    }

    /// Runs the bound filters on `frame` in bind order until one claims it; with `only`,
    /// just the filters that owner loaded run (a frame an environment makes up itself reaches
    /// nobody else). The recognised filters are decided together first; the interpreter runs
    /// only the others bound before the earliest recognised one that matches.
    pub fn demultiplex(&mut self, frame: &[u8], only: Option<Owner>) -> Claim<'_, Owner, Ring> {
        let recognised = self.merged.first_match(frame, only);
        let mut unloaded = Vec::new();
        let mut claimer = recognised;
        let mut runs = 0;
        for &position in &self.interpreted {
            if recognised.is_some_and(|first| first < position) {
                break;
            }
            let id = &self.bindings[position].id;
            let Some(loaded) = self.loaded.get_mut(id) else {
                continue;
            };
            if only.is_some_and(|owner| owner != loaded.owner) {
                continue;
            }
            runs += 1;
            let outcome = loaded.filter.run(frame);
            if loaded.filter.is_exhausted() {
                unloaded.push(Unloaded {
                    id: *id,
                    owner: loaded.owner,
                    charge: loaded.charge,
                });
            }
            if outcome.verdict == Verdict::Match {
                claimer = Some(position);
                break;
            }
        }
        let claimer = claimer.map(|position| (position, self.bindings[position].id));
        if !unloaded.is_empty() {
            self.remove_where(|id, _| unloaded.iter().any(|gone| gone.id == id));
        }
        // A run that matched did not strike, and recognised filters never strike, so the
        // claimer is still bound; only removals can have moved it.
        let claimed_by = claimer.and_then(|(position, id)| {
            let binding = if unloaded.is_empty() {
                &self.bindings[position]
            } else {
                self.bindings.iter().find(|binding| binding.id == id)?
            };
            Some((id, binding.owner, &binding.ring))
        });
        Claim {
            claimed_by,
            unloaded,
            runs,
        }
    }

    /// Runs `owner`'s filter `id` as a wake-up predicate on `input`: whether it matched, and
    /// the filter if this run exhausted (and so unloaded) it.
    /// Errors: [`Error::NotFound`] when `id` is not `owner`'s filter.
    pub fn evaluate(
        &mut self,
        owner: Owner,
        id: u64,
        input: &[u8],
    ) -> Result<(bool, Option<Unloaded<Owner>>), Error> {
        self.check_owner(owner, id)?;
        let loaded = self.loaded.get_mut(&id).ok_or(Error::NotFound)?;
        let outcome = loaded.filter.run(input);
        let unloaded = loaded.filter.is_exhausted().then(|| Unloaded {
            id,
            owner,
            charge: self.remove(id),
        });
        Ok((outcome.verdict == Verdict::Match, unloaded))
    }

    /// Whether `id` is a loaded filter.
    pub fn is_loaded(&self, id: u64) -> bool {
        self.loaded.contains_key(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sandbox;

    /// The kernel memory each test filter is charged with, which comes back when it goes.
    const CHARGE: usize = 4321;

    /// A filter claiming frames whose first byte is `byte`.
    fn first_byte_is(sandbox: &Sandbox, byte: u8) -> Filter {
        let text = format!(
            r#"(module
                (import "exo" "input_u8" (func $u8 (param i32) (result i32)))
                (func (export "run") (result i32)
                    (i32.eq (call $u8 (i32.const 0)) (i32.const {byte}))))"#
        );
        sandbox.load(&wat::parse_str(text).unwrap()).unwrap()
    }

    /// A recognised filter claiming UDP frames to `port`.
    fn udp_to(sandbox: &Sandbox, port: u16) -> Filter {
        let module = libos_custom::filter::Predicate::udp_destination_port(port).to_wasm();
        let filter = sandbox.load(&module).unwrap();
        assert!(filter.test_list().is_some());
        filter
    }

    /// A frame of IPv4 UDP to `port`, whose first byte is 0.
    fn udp_frame(port: u16) -> [u8; 60] {
        let mut frame = [0u8; 60];
        frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        frame[14] = 0x45;
        frame[23] = 17;
        frame[36..38].copy_from_slice(&port.to_be_bytes());
        frame
    }

    fn spinning(sandbox: &Sandbox) -> Filter {
        let text = r#"(module (func (export "run") (result i32) (loop (br 0)) (i32.const 0)))"#;
        sandbox.load(&wat::parse_str(text).unwrap()).unwrap()
    }

    type Table = FilterTable<u32, &'static str>;

    fn claimer(table: &mut Table, frame: &[u8]) -> Option<(u32, &'static str)> {
        let claim = table.demultiplex(frame, None);
        claim.claimed_by.map(|(_, owner, ring)| (owner, *ring))
    }

    #[test]
    fn frames_go_to_the_matching_filter_and_unclaimed_ones_to_nobody() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let one = table.load(1, first_byte_is(&sandbox, 1), CHARGE).unwrap();
        let two = table.load(2, first_byte_is(&sandbox, 2), CHARGE).unwrap();
        table.bind(1, one, "ring one").unwrap();
        table.bind(2, two, "ring two").unwrap();
        assert_eq!(claimer(&mut table, &[1, 0]), Some((1, "ring one")));
        assert_eq!(claimer(&mut table, &[2, 0]), Some((2, "ring two")));
        assert_eq!(claimer(&mut table, &[3, 0]), None);
        assert_eq!(
            claimer(&mut table, &[]),
            None,
            "a short frame matches nothing"
        );
    }

    #[test]
    fn the_first_bound_of_two_overlapping_filters_claims() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let early = table.load(1, first_byte_is(&sandbox, 7), CHARGE).unwrap();
        let late = table.load(2, first_byte_is(&sandbox, 7), CHARGE).unwrap();
        table.bind(1, early, "early").unwrap();
        table.bind(2, late, "late").unwrap();
        let claim = table.demultiplex(&[7], None);
        assert_eq!(claim.runs, 1, "filters after the claimer do not run");
        assert_eq!(claim.claimed_by.map(|(_, owner, _)| owner), Some(1));
        table.unload(1, early).unwrap();
        assert_eq!(claimer(&mut table, &[7]), Some((2, "late")));
    }

    #[test]
    fn a_frame_for_one_owner_runs_only_its_filters() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let other = table.load(1, first_byte_is(&sandbox, 7), CHARGE).unwrap();
        let own = table.load(2, first_byte_is(&sandbox, 7), CHARGE).unwrap();
        table.bind(1, other, "other").unwrap();
        table.bind(2, own, "own").unwrap();
        let claim = table.demultiplex(&[7], Some(2));
        assert_eq!(claim.runs, 1, "the other owner's filter does not run");
        assert_eq!(
            claim.claimed_by.map(|(_, owner, ring)| (owner, *ring)),
            Some((2, "own"))
        );
        let claim = table.demultiplex(&[7], Some(3));
        assert_eq!((claim.runs, claim.claimed_by.is_none()), (0, true));
    }

    #[test]
    fn a_filter_that_strikes_out_is_unloaded_and_others_go_on() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let spinner = table.load(1, spinning(&sandbox), CHARGE).unwrap();
        let good = table.load(2, first_byte_is(&sandbox, 5), CHARGE).unwrap();
        table.bind(1, spinner, "spinner").unwrap();
        table.bind(2, good, "good").unwrap();
        for _ in 1..exo_abi::filter::STRIKES_MAX {
            let claim = table.demultiplex(&[5], None);
            assert!(claim.unloaded.is_empty());
            assert_eq!(claim.claimed_by.map(|(_, owner, _)| owner), Some(2));
        }
        let claim = table.demultiplex(&[5], None);
        assert_eq!(
            claim.unloaded,
            [Unloaded {
                id: spinner,
                owner: 1,
                charge: CHARGE
            }]
        );
        assert_eq!(claim.claimed_by.map(|(_, owner, _)| owner), Some(2));
        assert!(!table.is_loaded(spinner));
        assert_eq!(table.bound_count(), 1);
        assert_eq!(table.demultiplex(&[5], None).runs, 1);
    }

    #[test]
    fn only_the_owner_unloads_or_binds_and_a_filter_binds_once() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let id = table.load(1, first_byte_is(&sandbox, 1), CHARGE).unwrap();
        assert_eq!(table.unload(2, id), Err(Error::NotFound));
        assert_eq!(table.bind(2, id, "thief"), Err(Error::NotFound));
        assert_eq!(table.unload(1, 999), Err(Error::NotFound));
        table.bind(1, id, "ring").unwrap();
        assert_eq!(table.bind(1, id, "again"), Err(Error::Occupied));
        assert_eq!(table.unload(1, id), Ok(CHARGE));
        assert_eq!(table.bound_count(), 0);
        assert_eq!(table.unload(1, id), Err(Error::NotFound));
    }

    #[test]
    fn an_owner_has_a_bounded_number_of_filters_and_loses_them_all_when_it_ends() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        for _ in 0..FILTERS_PER_ENVIRONMENT_MAX {
            let id = table.load(1, first_byte_is(&sandbox, 1), CHARGE).unwrap();
            table.bind(1, id, "ring").unwrap();
        }
        assert_eq!(
            table.load(1, first_byte_is(&sandbox, 1), CHARGE).err(),
            Some(Error::NoMemory)
        );
        let other = table.load(2, first_byte_is(&sandbox, 1), CHARGE).unwrap();
        table.bind(2, other, "other").unwrap();
        table.remove_owner(1);
        assert_eq!(table.count_owned_by(1), 0);
        assert_eq!(table.bound_count(), 1);
        assert_eq!(claimer(&mut table, &[1]), Some((2, "other")));
    }

    #[test]
    fn a_wake_up_predicate_is_evaluated_for_its_owner_only() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let id = table.load(1, first_byte_is(&sandbox, 9), CHARGE).unwrap();
        assert_eq!(table.evaluate(1, id, &[0]), Ok((false, None)));
        assert_eq!(table.evaluate(1, id, &[9]), Ok((true, None)));
        assert_eq!(table.evaluate(2, id, &[9]), Err(Error::NotFound));
        let spinner = table.load(1, spinning(&sandbox), CHARGE).unwrap();
        for _ in 1..exo_abi::filter::STRIKES_MAX {
            assert_eq!(table.evaluate(1, spinner, &[]), Ok((false, None)));
        }
        let gone = Some(Unloaded {
            id: spinner,
            owner: 1,
            charge: CHARGE,
        });
        assert_eq!(table.evaluate(1, spinner, &[]), Ok((false, gone)));
        assert_eq!(table.evaluate(1, spinner, &[]), Err(Error::NotFound));
    }

    #[test]
    fn recognised_filters_leave_the_decision_when_unloaded_unbound_or_their_owner_ends() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let frame = udp_frame(7000);
        let first = table.load(1, udp_to(&sandbox, 7000), CHARGE).unwrap();
        let second = table.load(2, udp_to(&sandbox, 7000), CHARGE).unwrap();
        let third = table.load(3, udp_to(&sandbox, 7000), CHARGE).unwrap();
        table.bind(1, first, "first").unwrap();
        table.bind(2, second, "second").unwrap();
        table.bind(3, third, "third").unwrap();
        assert_eq!(claimer(&mut table, &frame), Some((1, "first")));
        table.unload(1, first).unwrap();
        assert_eq!(claimer(&mut table, &frame), Some((2, "second")));
        table.unbind(second);
        assert_eq!(claimer(&mut table, &frame), Some((3, "third")));
        table.bind(2, second, "second again").unwrap();
        table.remove_owner(3);
        assert_eq!(claimer(&mut table, &frame), Some((2, "second again")));
        table.remove_owner(2);
        assert_eq!(claimer(&mut table, &frame), None);
        assert_eq!(table.bound_count(), 0);
    }

    #[test]
    fn recognised_and_interpreted_filters_keep_the_bind_order() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let frame = udp_frame(7000);
        let interpreted = table.load(1, first_byte_is(&sandbox, 0), CHARGE).unwrap();
        let recognised = table.load(2, udp_to(&sandbox, 7000), CHARGE).unwrap();
        table.bind(1, interpreted, "interpreted").unwrap();
        table.bind(2, recognised, "recognised").unwrap();
        let claim = table.demultiplex(&frame, None);
        assert_eq!(claim.runs, 1);
        assert_eq!(claim.claimed_by.map(|(id, _, _)| id), Some(interpreted));
        // Bound again, the interpreted filter comes after the recognised one and does not run.
        table.unbind(interpreted);
        table.bind(1, interpreted, "interpreted").unwrap();
        let claim = table.demultiplex(&frame, None);
        assert_eq!(claim.runs, 0);
        assert_eq!(claim.claimed_by.map(|(id, _, _)| id), Some(recognised));
        // A frame the recognised filter does not claim goes on to the interpreted one.
        let claim = table.demultiplex(&udp_frame(7001), None);
        assert_eq!(claim.runs, 1);
        assert_eq!(claim.claimed_by.map(|(id, _, _)| id), Some(interpreted));
    }

    #[test]
    fn a_frame_for_one_owner_reaches_only_its_recognised_filters() {
        let sandbox = Sandbox::new();
        let mut table = Table::default();
        let frame = udp_frame(7000);
        let other = table.load(1, udp_to(&sandbox, 7000), CHARGE).unwrap();
        let own = table.load(2, udp_to(&sandbox, 7000), CHARGE).unwrap();
        table.bind(1, other, "other").unwrap();
        table.bind(2, own, "own").unwrap();
        let claim = table.demultiplex(&frame, Some(2));
        assert_eq!(
            claim.claimed_by.map(|(_, owner, ring)| (owner, *ring)),
            Some((2, "own"))
        );
        assert!(table.demultiplex(&frame, Some(3)).claimed_by.is_none());
    }
}
