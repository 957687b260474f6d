//! Regions shared whole ([`exo_abi::Syscall::RegionShare`]): which environment borrows which
//! region from which owner. The owner's last-level page table of the region is bound into each
//! borrower's page table as one entry; this table is the kernel's record of those entries, so
//! that it can check them, and unlink every borrower before an owner's page tables go.

use crate::environments::EnvId;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

/// A region as a number: its address divided by [`exo_abi::region::BYTES`].
pub type RegionNumber = u64;

/// What an environment borrows at one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Borrow {
    /// The environment whose page table the region's pages are bound in.
    pub owner: EnvId,
    /// The region in the owner's address space (the borrower may see it at another).
    pub owner_region: RegionNumber,
    /// Whether writes may go through (where the owner's bindings allow them).
    pub is_writable: bool,
}

/// Every borrowed region, by borrower and by owner.
#[derive(Debug, Default)]
pub struct Regions {
    /// By borrower and the region where it sees the borrowed one.
    borrows: BTreeMap<(EnvId, RegionNumber), Borrow>,
    /// By owner and its region: each borrower and where it sees the region.
    borrowers: BTreeMap<(EnvId, RegionNumber), BTreeSet<(EnvId, RegionNumber)>>,
    /// How many regions each environment borrows (none: no entry), asked at every binding
    /// an environment makes, since each borrowed region counts as one of its bindings.
    borrowed_counts: BTreeMap<EnvId, usize>,
}

impl Regions {
    /// What `env` borrows at `region`, if anything.
    pub fn borrowed(&self, env: EnvId, region: RegionNumber) -> Option<Borrow> {
        self.borrows.get(&(env, region)).copied()
    }

    /// Records that `borrower` sees at its `region` what `borrow` says. The caller checked that
    /// `borrower` had nothing at `region` and is not the owner.
    pub fn lend(&mut self, region: RegionNumber, borrower: EnvId, borrow: Borrow) {
        debug_assert!(borrower != borrow.owner);
        if self.borrows.insert((borrower, region), borrow).is_none() {
            *self.borrowed_counts.entry(borrower).or_default() += 1;
        }
        self.borrowers
            .entry((borrow.owner, borrow.owner_region))
            .or_default()
            .insert((borrower, region));
    }

    /// Whether `owner` lends its `region` to anyone.
    pub fn is_lent(&self, owner: EnvId, region: RegionNumber) -> bool {
        self.borrowers.contains_key(&(owner, region))
    }

    /// Forgets what `env` borrows, and every region it lent: returns the borrowers of those,
    /// each with the region, whose page tables must drop the region before `env`'s go.
    pub fn end_environment(&mut self, env: EnvId) -> Vec<(EnvId, RegionNumber)> {
        let borrowed: Vec<RegionNumber> = self
            .borrows
            .range((env, 0)..=(env, RegionNumber::MAX))
            .map(|(&(_, region), _)| region)
            .collect();
        self.borrowed_counts.remove(&env);
        for region in borrowed {
            if let Some(borrow) = self.borrows.remove(&(env, region))
                && let Some(borrowers) =
                    self.borrowers.get_mut(&(borrow.owner, borrow.owner_region))
            {
                borrowers.remove(&(env, region));
                if borrowers.is_empty() {
                    self.borrowers.remove(&(borrow.owner, borrow.owner_region));
                }
            }
        }
        let lent: Vec<RegionNumber> = self
            .borrowers
            .range((env, 0)..=(env, RegionNumber::MAX))
            .map(|(&(_, region), _)| region)
            .collect();
        let mut unlinked = Vec::new();
        for region in lent {
            for (borrower, seen_at) in self.borrowers.remove(&(env, region)).unwrap_or_default() {
                if self.borrows.remove(&(borrower, seen_at)).is_some() {
                    self.uncount(borrower);
                }
                unlinked.push((borrower, seen_at));
            }
        }
        unlinked
    }

    /// The regions `env` borrows.
    pub fn borrowed_by(&self, env: EnvId) -> impl Iterator<Item = (RegionNumber, Borrow)> + '_ {
        self.borrows
            .range((env, 0)..=(env, RegionNumber::MAX))
            .map(|(&(_, region), &borrow)| (region, borrow))
    }

    /// How many regions are borrowed, by every environment together.
    pub fn len(&self) -> usize {
        self.borrows.len()
    }

    /// Whether no region is borrowed.
    pub fn is_empty(&self) -> bool {
        self.borrows.is_empty()
    }

    /// How many regions `env` borrows (each is charged to it as one binding).
    pub fn count_borrowed_by(&self, env: EnvId) -> usize {
        self.borrowed_counts.get(&env).copied().unwrap_or(0)
    }

    /// Counts one region fewer borrowed by `env`.
    fn uncount(&mut self, env: EnvId) {
        if let Some(count) = self.borrowed_counts.get_mut(&env) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.borrowed_counts.remove(&env);
            }
        }
    }

    /// Checks that the two indexes and the counts agree.
    pub fn check_invariants(&self) -> Result<(), alloc::string::String> {
        let mut counted = BTreeMap::new();
        for &(borrower, _) in self.borrows.keys() {
            *counted.entry(borrower).or_default() += 1;
        }
        if counted != self.borrowed_counts {
            return Err(alloc::format!(
                "regions: borrowed counts {:?}, but the borrows count {counted:?}",
                self.borrowed_counts
            ));
        }
        let from_owners: usize = self.borrowers.values().map(BTreeSet::len).sum();
        if from_owners != self.borrows.len() {
            return Err(alloc::format!(
                "regions: {} borrows but {from_owners} by owner",
                self.borrows.len()
            ));
        }
        for (&(owner, region), borrowers) in &self.borrowers {
            for &(borrower, seen_at) in borrowers {
                let recorded = self
                    .borrowed(borrower, seen_at)
                    .map(|borrow| (borrow.owner, borrow.owner_region));
                if recorded != Some((owner, region)) {
                    return Err(alloc::format!(
                        "regions: env {} listed as borrowing region {region:#x} of env {} at {seen_at:#x}",
                        borrower.0,
                        owner.0
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: EnvId = EnvId(1);
    const A: EnvId = EnvId(2);
    const B: EnvId = EnvId(3);

    fn borrow(is_writable: bool) -> Borrow {
        borrow_of(7, is_writable)
    }

    fn borrow_of(owner_region: RegionNumber, is_writable: bool) -> Borrow {
        Borrow {
            owner: OWNER,
            owner_region,
            is_writable,
        }
    }

    #[test]
    fn a_borrower_ending_forgets_only_its_own_borrows() {
        let mut regions = Regions::default();
        regions.lend(7, A, borrow(true));
        regions.lend(7, B, borrow(false));
        regions.lend(8, A, borrow_of(8, true));
        assert_eq!(regions.borrowed(B, 7), Some(borrow(false)));
        assert_eq!(regions.count_borrowed_by(A), 2);
        assert_eq!(regions.end_environment(A), Vec::new());
        assert_eq!(regions.borrowed(A, 7), None);
        assert_eq!(regions.borrowed(B, 7), Some(borrow(false)));
        regions.check_invariants().unwrap();
    }

    #[test]
    fn an_owner_ending_names_every_borrower_to_unlink() {
        let mut regions = Regions::default();
        regions.lend(7, A, borrow(true));
        regions.lend(7, B, borrow(true));
        regions.lend(9, B, borrow_of(9, false));
        // Seen at another region than the owner's.
        regions.lend(20, A, borrow_of(9, false));
        assert!(regions.is_lent(OWNER, 9) && !regions.is_lent(OWNER, 20));
        regions.check_invariants().unwrap();
        // What the owner borrows itself elsewhere goes with it too.
        regions.lend(
            8,
            OWNER,
            Borrow {
                owner: EnvId(4),
                owner_region: 30,
                is_writable: true,
            },
        );
        assert!(regions.is_lent(EnvId(4), 30));
        assert_eq!(
            regions.end_environment(OWNER),
            [(A, 7), (B, 7), (A, 20), (B, 9)]
        );
        assert!(!regions.is_lent(EnvId(4), 30));
        assert_eq!(
            regions.count_borrowed_by(A) + regions.count_borrowed_by(B),
            0
        );
        assert_eq!(regions.count_borrowed_by(OWNER), 0);
        regions.check_invariants().unwrap();
        assert_eq!(regions.end_environment(EnvId(4)), Vec::new());
    }
}
