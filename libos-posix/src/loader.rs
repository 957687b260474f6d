//! Building a child's address space from a program image (see `images`): each page of each
//! segment is bound in the child, its frame given (`FrameGrant`, then `PageMapInto`), or, from
//! a kept image, copied (`PageCopyInto`, for data) or shared (for the code and read-only data:
//! each region whole, `RegionShare` of the image's window, or else each page, `PageShare`,
//! derived from this process's binding in the window); a page of zeros (the stack, data past
//! the file's bytes) is a copy of a zero page of this program's own. The checks of the file are the kernel's own
//! loader plan (`exo_core::elf_plan`).

use crate::error::Result;
use crate::images::{self, Image};
use crate::layout::{PAGE_BYTES, STACK_TOP};
use crate::runtime::staging;
use crate::syscall::{self, Capability};
use alloc::vec::Vec;
use exo_abi::PageRights;
use exo_abi::region::{self, ShareFlags};

/// Gives `frame` to `child` and binds it at `address` there with `rights`; on failure the
/// frame is freed (or is the child's, and goes when the child is killed).
pub fn give(child: Capability, address: u64, frame: u64, rights: PageRights) -> Result<()> {
    if let Err(error) = syscall::frame_grant(frame, child) {
        let _ = syscall::frame_free(frame);
        return Err(error.into());
    }
    syscall::page_map_into(child, address, frame, rights)?;
    Ok(())
}

/// Binds a fresh zeroed frame of `child`'s at `address` there with `rights`.
pub fn give_zeroed(child: Capability, address: u64, rights: PageRights) -> Result<()> {
    syscall::page_copy_into(staging::zero_page(), child, address, rights)?;
    Ok(())
}

/// Binds a fresh frame of `child`'s at `address` there with `rights`, holding `value` at its
/// start and zeros after it.
pub fn give_holding<T: Copy>(
    child: Capability,
    address: u64,
    value: &T,
    rights: PageRights,
) -> Result<()> {
    staging::with_page_holding(value, |page| {
        syscall::page_copy_into(page, child, address, rights)
    })?;
    Ok(())
}

/// Loads `image` into `child`, with a fresh stack of `stack_bytes` below
/// [`STACK_TOP`]; returns its entry point. A page that holds
/// file bytes is shared from a kept image when the program cannot write it, copied from a kept
/// image when it can, and taken out of a one-off image whole; every other page is a fresh,
/// zeroed frame.
pub fn load(child: Capability, image: &mut Image, stack_bytes: u64) -> Result<u64> {
    let plan = image.plan().clone();
    for segment in &plan.segments {
        let rights = images::segment_rights(segment);
        let regions = images::segment_regions(segment);
        let whole: Option<Vec<(u64, u64)>> = regions
            .clone()
            .step_by(region::BYTES as usize)
            .map(|region| Some((image.kept_region(segment, region)?, region)))
            .collect();
        if let Some(whole) = whole {
            for (kept, region) in whole {
                syscall::region_share_at(kept, child, region, ShareFlags::empty())?;
            }
            continue;
        }
        for page in (segment.first_page()..segment.end_page()).step_by(PAGE_BYTES as usize) {
            match image.kept_at(page) {
                Some(kept) if !segment.is_writable => {
                    syscall::page_share(kept, child, page, rights)?;
                }
                Some(kept) => {
                    syscall::page_copy_into(kept, child, page, rights)?;
                }
                None => match image.take_frame(page) {
                    Some(frame) => give(child, page, frame, rights)?,
                    None => give_zeroed(child, page, rights)?,
                },
            }
        }
    }
    for page in (STACK_TOP - stack_bytes..STACK_TOP).step_by(PAGE_BYTES as usize) {
        give_zeroed(child, page, PageRights::WRITABLE)?;
    }
    Ok(plan.entry)
}
