//! Frames filled through scratch pages: a fresh frame is bound for a moment at one of the
//! scratch pages (`layout::scratch_page`), written there as bytes, and unbound again, so that
//! it can be given to another environment (a one-off program image's pages) or bound
//! elsewhere (a copy of a page shared copy-on-write).

use crate::error::{Errno, Result};
use crate::layout::{PAGE_BYTES, is_scratch, scratch_page};
use crate::syscall;
use exo_abi::PageRights;

const PAGE: usize = PAGE_BYTES as usize;

/// Allocates a frame, lets `fill` write it through scratch page `scratch`, and returns it.
pub(crate) fn filled_frame(scratch: u64, fill: impl FnOnce(&mut [u8; PAGE])) -> Result<u64> {
    try_filled_frame(scratch, |page| {
        fill(page);
        Ok(())
    })
}

/// As [`filled_frame`], for a `fill` that may fail: then the frame is freed and its error
/// returned.
pub(crate) fn try_filled_frame(
    scratch: u64,
    fill: impl FnOnce(&mut [u8; PAGE]) -> Result<()>,
) -> Result<u64> {
    let frame = syscall::frame_allocate(None)?;
    let address = scratch_page(scratch);
    if let Err(error) = syscall::page_map(address, frame, PageRights::WRITABLE) {
        let _ = syscall::frame_free(frame);
        return Err(error.into());
    }
    // SAFETY: the page was free (a bound page makes `page_map` fail with `Occupied`) and is now
    // bound writable to a fresh, zeroed frame of this process's own, so nothing else refers to
    // it; it stays bound until after `fill` has returned.
    let filled = fill(unsafe { &mut *(address as *mut [u8; PAGE]) });
    let _ = syscall::page_unmap(address);
    match filled {
        Ok(()) => Ok(frame),
        Err(error) => {
            let _ = syscall::frame_free(frame);
            Err(error)
        }
    }
}

/// A new frame holding a copy of the page at `address`, made through scratch page `scratch`.
/// The page must be bound in this process and not be a scratch page.
pub(crate) fn copy_of_page(scratch: u64, address: u64) -> Result<u64> {
    if !address.is_multiple_of(PAGE_BYTES) || is_scratch(address) {
        return Err(Errno::InvalidArgument);
    }
    syscall::page_query(address)?;
    filled_frame(scratch, |bytes| {
        // SAFETY: the page at `address` is bound, so readable (checked just above), and is not
        // the scratch page `bytes` is at (no scratch page is a source); the copy is of bytes,
        // never read here as Rust values.
        unsafe { core::ptr::copy_nonoverlapping(address as *const u8, bytes.as_mut_ptr(), PAGE) };
    })
}
