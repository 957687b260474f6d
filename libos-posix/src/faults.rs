//! The library's own page-fault handling, tried before an app's handler: breaking
//! copy-on-write sharing after a fork, and growing the stack. Everything here runs on the
//! exception stack and writes only to it and to frames it binds, so it never faults itself.
//!
//! Copy-on-write, seen from each side of a fork (see `fork`):
//! - the child's shared page is a read-only binding derived from the parent's shadow; on a
//!   write it copies the page into a frame of its own and binds that instead;
//! - the parent's page is read-only and its frame is also bound at the page's shadow; on a
//!   write it copies the page to a new frame and rebinds the page, leaving the old frame to the
//!   children at the shadow, or, when no child binds the shadow any more, simply drops the
//!   shadow and makes the page writable again.

use crate::exceptions::RESUME_STACK_BYTES;
use crate::layout::{PAGE_BYTES, STACK_LIMIT, STACK_TOP, is_copy_on_write_region, shadow_of};
use crate::runtime::scratch;
use crate::syscall;
use exo_abi::ExceptionFrame;
use exo_abi::PageRights;

const PAGE_FAULT: u64 = 14;
const ERROR_PRESENT: u64 = 1 << 0;
const ERROR_WRITE: u64 = 1 << 1;
/// The scratch page the handler copies through (the loader uses page 0).
const HANDLER_SCRATCH: u64 = 1;

/// Handles `frame` if it is a fault this library resolves; true when the program can resume.
pub fn handle(frame: &ExceptionFrame) -> bool {
    if frame.vector != PAGE_FAULT {
        return false;
    }
    let page = frame.fault_address & !(PAGE_BYTES - 1);
    let is_resolved = if frame.error_code & ERROR_PRESENT != 0 {
        frame.error_code & ERROR_WRITE != 0 && make_writable(page)
    } else {
        grow_stack(page)
    };
    // Resuming pushes a few bytes below the interrupted stack pointer: that memory must take a
    // write without faulting, since the push happens after this handler has returned.
    let below = frame.registers.rsp.wrapping_sub(RESUME_STACK_BYTES) & !(PAGE_BYTES - 1);
    is_resolved && prepare_for_write(below)
}

/// Makes `page` writable if it is a page this library shares copy-on-write, or is already; on
/// the stack, binds it if it is missing.
pub fn prepare_for_write(page: u64) -> bool {
    match syscall::page_query(page) {
        Ok(binding) if binding.rights.contains(PageRights::WRITABLE) => true,
        Ok(_) => make_writable(page),
        Err(_) => grow_stack(page),
    }
}

/// Breaks copy-on-write sharing of the present, read-only `page`; false when it is not writable
/// by nature (a write to code or read-only data).
fn make_writable(page: u64) -> bool {
    let Ok(binding) = syscall::page_query(page) else {
        return false;
    };
    if binding.rights.contains(PageRights::WRITABLE) {
        return true;
    }
    if binding.rights.contains(PageRights::EXECUTABLE) || !is_copy_on_write_region(page) {
        return false;
    }
    if !binding.is_owned {
        return copy_into_own_frame(page);
    }
    let shadow = shadow_of(page);
    match syscall::page_query(shadow) {
        Ok(shadow_binding) if shadow_binding.frame == binding.frame => {
            if shadow_binding.has_derived {
                copy_into_own_frame(page)
            } else {
                syscall::page_unmap(shadow).is_ok() && widen_to_writable(page)
            }
        }
        // Its own frame, shared with no child: it was only left read-only.
        _ => widen_to_writable(page),
    }
}

/// Makes this process's own read-only binding at `page` writable again.
pub(crate) fn widen_to_writable(page: u64) -> bool {
    syscall::page_protect(page, PageRights::WRITABLE).is_ok()
}

/// Replaces the binding at `page` by a writable binding of a new frame holding a copy.
fn copy_into_own_frame(page: u64) -> bool {
    let Ok(copy) = scratch::copy_of_page(HANDLER_SCRATCH, page) else {
        return false;
    };
    if syscall::page_unmap(page).is_err()
        || syscall::page_map(page, copy, PageRights::WRITABLE).is_err()
    {
        let _ = syscall::frame_free(copy);
        return false;
    }
    true
}

/// Binds a zeroed frame at `page` if it is in the stack's growth range.
fn grow_stack(page: u64) -> bool {
    if !(STACK_LIMIT..STACK_TOP).contains(&page) {
        return false;
    }
    match syscall::frame_allocate(None) {
        Ok(frame) => {
            if syscall::page_map(page, frame, PageRights::WRITABLE).is_ok() {
                true
            } else {
                let _ = syscall::frame_free(frame);
                false
            }
        }
        Err(_) => false,
    }
}
