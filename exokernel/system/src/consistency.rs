//! The kernel's check of its own tables against each other and against the page tables the MMU
//! reads, and of the kernel-memory charges, run before every power-off so that each test also
//! checks that whatever its apps did left the kernel consistent.

use crate::kernel::Kernel;
use crate::platform::{AddressSpace, Platform, UserEntry};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use exo_core::PAGE_SIZE;
use exo_core::environments::EnvId;
use exo_core::frame_table::FrameOwner;
use exo_core::mappings::MappingView;

/// What a consistent kernel holds, for the report line.
pub struct Summary {
    pub free_frames: usize,
    pub bindings: usize,
    pub living_environments: usize,
    /// `, env N: B bytes` for each living environment charged anything.
    pub charges: String,
}

/// Checks that the mapping database is well formed, that every binding is backed by a frame a
/// living environment owns, and that each address space's page tables hold exactly its
/// bindings, built from page-table frames charged to it; and that no ended environment is
/// charged anything and the charges keep within their global limit. Returns the first
/// inconsistency.
pub fn check<P: Platform>(kernel: &Kernel<P>) -> Result<Summary, String> {
    kernel.mappings.check_invariants()?;
    kernel.regions.check_invariants()?;
    if let Some(blocks) = &kernel.blocks {
        blocks.table.check_invariants()?;
    }
    let mut bindings_seen = 0;
    for id in kernel.environments.ids() {
        let bindings: BTreeMap<u64, MappingView> = kernel.mappings.mappings_in(id).collect();
        let Some(machine) = kernel.environments.machine(id) else {
            if !bindings.is_empty() || kernel.frames.count_owned_by(id) != 0 {
                return Err(format!("ended env {} still has bindings or frames", id.0));
            }
            continue;
        };
        for (page, binding) in &bindings {
            check_binding_owner(kernel, id, *page, binding)?;
        }
        let mut leaves = 0;
        let mut borrowed = 0;
        let mut mismatch = None;
        machine.address_space.walk_user_half(&mut |entry| {
            if mismatch.is_none() {
                mismatch = check_entry(kernel, id, &bindings, entry).err();
            }
            leaves += usize::from(matches!(entry, UserEntry::Leaf { .. }));
            borrowed += usize::from(matches!(entry, UserEntry::Borrowed { .. }));
        });
        if let Some(mismatch) = mismatch {
            return Err(mismatch);
        }
        if borrowed != kernel.regions.count_borrowed_by(id) {
            return Err(format!(
                "env {}: {borrowed} borrowed regions in its page table but {} recorded",
                id.0,
                kernel.regions.count_borrowed_by(id)
            ));
        }
        if leaves != bindings.len() {
            return Err(format!(
                "env {}: {leaves} page-table leaves but {} bindings",
                id.0,
                bindings.len()
            ));
        }
        bindings_seen += leaves;
    }
    if bindings_seen != kernel.mappings.len() {
        return Err(String::from("bindings recorded for unknown environments"));
    }
    check_reachable_from_init(kernel)?;
    Ok(Summary {
        free_frames: kernel.frames.free_count(),
        bindings: bindings_seen,
        living_environments: kernel.environments.living_count(),
        charges: check_charges(kernel)?,
    })
}

/// Every living environment is init or a living descendant of it, so that something can kill,
/// wait for and revoke it (an environment's descendants end with it).
fn check_reachable_from_init<P: Platform>(kernel: &Kernel<P>) -> Result<(), String> {
    let init = EnvId(1);
    for id in kernel.environments.ids() {
        let is_alive = kernel.environments.machine(id).is_some();
        if is_alive && !kernel.environments.is_living_descendant(id, init) {
            return Err(format!("env {} is alive but unreachable from init", id.0));
        }
    }
    Ok(())
}

/// Lists the charge of each living environment, after checking that every recorded charge is
/// a living environment's and that all of them keep within the global limit.
fn check_charges<P: Platform>(kernel: &Kernel<P>) -> Result<String, String> {
    for (env, bytes) in kernel.kernel_memory.recorded() {
        if kernel.environments.machine(env).is_none() {
            return Err(format!(
                "ended env {} is still charged {bytes} bytes",
                env.0
            ));
        }
    }
    let total = kernel.charged_in_total();
    if total > kernel.kernel_memory.global_limit() {
        return Err(format!(
            "{total} bytes charged, over the limit of {}",
            kernel.kernel_memory.global_limit()
        ));
    }
    let mut charges = String::new();
    for env in kernel.environments.ids() {
        let charge = kernel.charged_to(env);
        if kernel.environments.machine(env).is_some() && charge != 0 {
            // Writing to a String cannot fail.
            let _ = write!(charges, ", env {}: {charge} bytes", env.0);
        }
    }
    Ok(charges)
}

/// A root binding's frame is owned by its environment; a derived one's by a living environment.
fn check_binding_owner<P: Platform>(
    kernel: &Kernel<P>,
    id: EnvId,
    page: u64,
    binding: &MappingView,
) -> Result<(), String> {
    let owner = kernel.frames.owner(binding.frame);
    let is_owned_rightly = match (binding.parent, owner) {
        (None, Some(FrameOwner::Environment(owner))) => owner == id,
        (Some(_), Some(FrameOwner::Environment(owner))) => {
            kernel.environments.machine(owner).is_some()
        }
        _ => false,
    };
    if is_owned_rightly {
        Ok(())
    } else {
        Err(format!(
            "env {} page {:#x} binds frame {:#x} owned by {owner:?}",
            id.0,
            page * PAGE_SIZE,
            binding.frame
        ))
    }
}

fn check_entry<P: Platform>(
    kernel: &Kernel<P>,
    id: EnvId,
    bindings: &BTreeMap<u64, MappingView>,
    entry: UserEntry,
) -> Result<(), String> {
    match entry {
        UserEntry::Table(frame) => match kernel.frames.owner(frame) {
            Some(FrameOwner::PageTableOf(owner)) if owner == id => Ok(()),
            owner => Err(format!(
                "env {}: page-table frame {frame:#x} owned by {owner:?}",
                id.0
            )),
        },
        UserEntry::Leaf {
            page_address,
            frame,
            rights,
        } => match bindings.get(&(page_address / PAGE_SIZE)) {
            Some(binding) if binding.frame == frame && binding.rights == rights => Ok(()),
            binding => Err(format!(
                "env {}: page {page_address:#x} maps frame {frame:#x} {rights:?}, recorded {binding:?}",
                id.0
            )),
        },
        // The owner's table of a region borrowed as recorded, the owner alive.
        UserEntry::Borrowed {
            region_address,
            table,
            is_writable,
        } => {
            let borrow = kernel
                .regions
                .borrowed(id, region_address / exo_abi::region::BYTES);
            let is_recorded = borrow.is_some_and(|borrow| {
                let owner_table = kernel.environments.machine(borrow.owner).and_then(|owner| {
                    owner
                        .address_space
                        .region_table(borrow.owner_region * exo_abi::region::BYTES)
                });
                borrow.is_writable == is_writable
                    && kernel.frames.owner(table) == Some(FrameOwner::PageTableOf(borrow.owner))
                    && owner_table == Some(table)
            });
            if is_recorded {
                Ok(())
            } else {
                Err(format!(
                    "env {}: region {region_address:#x} borrows table {table:#x}, recorded {borrow:?}",
                    id.0
                ))
            }
        }
    }
}
