//! Two pages of this program's image from which a child gets a page in one call
//! (`PageCopyInto`): a page of zeros, never written, and a staging page where a value for a
//! child is written first. Allocating a frame, filling it through a scratch page and giving it
//! took three to five calls.

use crate::layout::PAGE_BYTES;
use spin::Mutex;

const PAGE: usize = PAGE_BYTES as usize;

/// A page aligned as a page, so that it is one page of the image.
#[repr(C, align(4096))]
struct AlignedPage([u8; PAGE]);

static ZEROS: AlignedPage = AlignedPage([0; PAGE]);

static STAGING: Mutex<AlignedPage> = Mutex::new(AlignedPage([0; PAGE]));

/// The address of a page of zeros.
pub(crate) fn zero_page() -> u64 {
    core::ptr::addr_of!(ZEROS) as u64
}

/// Calls `use_page` with the address of a page holding `value` at its start and zeros after
/// it, which nothing else writes until `use_page` returns.
pub(crate) fn with_page_holding<T: Copy, R>(value: &T, use_page: impl FnOnce(u64) -> R) -> R {
    const {
        assert!(core::mem::size_of::<T>() <= PAGE && core::mem::align_of::<T>() <= PAGE);
    }
    let mut staging = STAGING.lock();
    staging.0.fill(0);
    // SAFETY: `T` fits in the page and the page is aligned for it (checked at compile time);
    // the lock makes this call the page's only user.
    unsafe { core::ptr::write(staging.0.as_mut_ptr().cast::<T>(), *value) };
    use_page(staging.0.as_ptr() as u64)
}
