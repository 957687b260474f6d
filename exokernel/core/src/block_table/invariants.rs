//! Consistency checks of the block table, for tests and for the kernel's own checks: the
//! in-memory indexes against the records, and the records against what a mount would read.

use super::disk_format::entry_owner;
use super::{BlockDevice, BlockTable};
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec;

impl BlockTable {
    /// Checks the table's own consistency: every data block is free or owned by exactly one
    /// principal in use, and table blocks by nobody; the counts and the credential index match
    /// the records; each binding of an environment to a principal is recorded both ways. Returns the first inconsistency found.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_owner_entries()?;
        self.check_credential_index()?;
        self.check_bindings()
    }

    fn check_owner_entries(&self) -> Result<(), String> {
        let mut owned = vec![0u64; self.principals.len()];
        for (block, &entry) in self.owner_entries.iter().enumerate() {
            let Some(owner) = entry_owner(entry) else {
                continue;
            };
            if !self.layout.is_data_block(block as u64) {
                return Err(format!("table block {block} has an owner"));
            }
            if !self.is_in_use(owner) {
                return Err(format!("block {block} is owned by unused {owner:?}"));
            }
            owned[owner.0 as usize] += 1;
        }
        if owned != self.owned_block_counts {
            return Err(String::from(
                "the owned block counts disagree with the owners",
            ));
        }
        if self.free_block_counts != self.count_free_blocks() {
            return Err(String::from(
                "the free block counts disagree with the owners",
            ));
        }
        Ok(())
    }

    fn check_credential_index(&self) -> Result<(), String> {
        let in_use = self.principals.iter().flatten().count();
        if in_use != self.principal_by_credential.len() {
            return Err(String::from("the credential index has the wrong size"));
        }
        for (credential, principal) in &self.principal_by_credential {
            if self.principals.get(principal.0 as usize) != Some(&Some(*credential)) {
                return Err(format!("the credential index is wrong for {principal:?}"));
            }
        }
        Ok(())
    }

    fn check_bindings(&self) -> Result<(), String> {
        let bound: usize = self.bound_environments.iter().map(BTreeSet::len).sum();
        if bound != self.bindings.len() {
            return Err(String::from(
                "the environments bound to principals disagree with the bindings",
            ));
        }
        for (&environment, &principal) in &self.bindings {
            let is_listed = self
                .bound_environments
                .get(principal.0 as usize)
                .is_some_and(|bound| bound.contains(&environment));
            if !self.is_in_use(principal) || !is_listed {
                return Err(format!(
                    "{environment:?} is bound to {principal:?} one way only"
                ));
            }
        }
        Ok(())
    }

    /// Checks that what [`BlockTable::mount`] would read from `device` now is exactly the
    /// in-memory table (principals and owners; bindings are not durable). Reads the whole
    /// table, so it is for tests and occasional consistency checks. After a failed table write
    /// the two may differ by that one write.
    pub fn check_against_disk(&self, device: &mut impl BlockDevice) -> Result<(), String> {
        let on_disk = BlockTable::mount(device).map_err(|error| format!("{error:?}"))?;
        if on_disk.layout != self.layout {
            return Err(String::from("the disk has another layout"));
        }
        if on_disk.principals != self.principals {
            return Err(String::from("the disk has other principals"));
        }
        if on_disk.owner_entries != self.owner_entries {
            return Err(String::from("the disk has other owners"));
        }
        Ok(())
    }
}
