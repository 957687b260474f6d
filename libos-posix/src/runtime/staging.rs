//! Pages from which a child gets a page in one call (`PageCopyInto`): a page of zeros in this
//! program's image, never written, and a page on the caller's stack where a value for a child
//! is written first. Allocating a frame, filling it through a scratch page and giving it took
//! three to five calls.

use crate::layout::PAGE_BYTES;

const PAGE: usize = PAGE_BYTES as usize;

/// A page aligned as a page, so that it is one page of memory.
#[repr(C, align(4096))]
struct AlignedPage([u8; PAGE]);

static ZEROS: AlignedPage = AlignedPage([0; PAGE]);

/// The address of a page of zeros.
pub(crate) fn zero_page() -> u64 {
    core::ptr::addr_of!(ZEROS) as u64
}

/// Calls `use_page` with the address of a page holding `value` at its start and zeros after
/// it. The page is on this call's stack (a static page would be two more pages of static data
/// that every fork copies).
pub(crate) fn with_page_holding<T: Copy, R>(value: &T, use_page: impl FnOnce(u64) -> R) -> R {
    const {
        assert!(core::mem::size_of::<T>() <= PAGE && core::mem::align_of::<T>() <= PAGE);
    }
    let mut page = AlignedPage([0; PAGE]);
    // SAFETY: `T` fits in the page and the page is aligned for it (checked at compile time).
    unsafe { core::ptr::write(page.0.as_mut_ptr().cast::<T>(), *value) };
    use_page(core::hint::black_box(&page).0.as_ptr() as u64)
}
