//! Building a child's address space from a program file: each page of each segment is filled
//! in a frame this process allocates and binds for a moment at a scratch page (see
//! `runtime::scratch`), then given to the child and bound in its address space there
//! (`FrameGrant`, then `PageMapInto`). The checks of the file are the kernel's own loader plan
//! (`exo_core::elf_plan`).

use crate::error::{Errno, Result};
use crate::layout::{PAGE_BYTES, STACK_BYTES, STACK_TOP};
use crate::runtime::scratch;
use crate::syscall::{self, Capability};
use exo_abi::page_rights::{EXECUTABLE, WRITABLE};
use exo_core::elf_plan;

/// Gives `frame` to `child` and binds it at `address` there with `rights`; on failure the
/// frame is freed (or is the child's, and goes when the child is killed).
pub fn give(child: Capability, address: u64, frame: u64, rights: u64) -> Result<()> {
    if let Err(error) = syscall::frame_grant(frame, child) {
        let _ = syscall::frame_free(frame);
        return Err(error.into());
    }
    syscall::page_map_into(child, address, frame, rights)?;
    Ok(())
}

/// Loads the program `image` into `child`, with a fresh stack; returns its entry point.
pub fn load(child: Capability, image: &[u8]) -> Result<u64> {
    let plan = elf_plan::plan(image).map_err(|_| Errno::NotExecutable)?;
    for segment in &plan.segments {
        let mut rights = 0;
        if segment.is_writable {
            rights |= WRITABLE;
        }
        if segment.is_executable {
            rights |= EXECUTABLE;
        }
        let file_end = segment.virtual_address + segment.file_len;
        for page in (segment.first_page()..segment.end_page()).step_by(PAGE_BYTES as usize) {
            let frame = scratch::filled_frame(0, |bytes| {
                let start = page.max(segment.virtual_address);
                let end = (page + PAGE_BYTES).min(file_end);
                if start < end {
                    let offset = (segment.file_offset + (start - segment.virtual_address)) as usize;
                    let length = (end - start) as usize;
                    let at = (start - page) as usize;
                    bytes[at..at + length].copy_from_slice(&image[offset..offset + length]);
                }
            })?;
            give(child, page, frame, rights)?;
        }
    }
    for page in (STACK_TOP - STACK_BYTES..STACK_TOP).step_by(PAGE_BYTES as usize) {
        give(child, page, syscall::frame_allocate(None)?, WRITABLE)?;
    }
    Ok(plan.entry)
}
