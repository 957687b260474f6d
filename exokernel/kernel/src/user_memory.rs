//! The only path by which the kernel touches user memory: check every page of the range in the
//! running environment's page table, then copy with SMAP lifted for the copy alone.

use crate::arch::cpu::with_user_access;
use crate::arch::paging::{Access, AddressSpace};
use alloc::vec;
use alloc::vec::Vec;
use exo_abi::Error;
use exo_core::user_range::UserRange;

/// Copies the user bytes of `range` into `buffer` (which must be `range.len()` long). The
/// address space must be the active one.
pub fn copy_from_user(
    address_space: &AddressSpace,
    range: UserRange,
    buffer: &mut [u8],
) -> Result<(), Error> {
    assert_eq!(buffer.len() as u64, range.len());
    check_mapped(address_space, range, Access::Read)?;
    with_user_access(|| {
        // SAFETY: every page of the range is mapped present and user-readable in the active
        // address space (checked above; nothing can change it: one CPU, interrupts off), and
        // `buffer` is a kernel buffer of exactly the range's length.
        unsafe {
            core::ptr::copy_nonoverlapping(
                range.start() as *const u8,
                buffer.as_mut_ptr(),
                buffer.len(),
            )
        }
    });
    Ok(())
}

/// Copies `bytes` to the user range starting at `address`, which must lie in the user half and
/// be mapped writable. The address space must be the active one.
pub fn copy_to_user(address_space: &AddressSpace, address: u64, bytes: &[u8]) -> Result<(), Error> {
    let range = UserRange::new(address, bytes.len() as u64)?;
    check_mapped(address_space, range, Access::Write)?;
    with_user_access(|| {
        // SAFETY: every page of the range is mapped present, user-accessible and writable in the
        // active address space (checked above; nothing can change it: one CPU, interrupts off),
        // and the kernel holds no reference into user memory.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) }
    });
    Ok(())
}

/// Checks that the `len` bytes at `address` lie in the user half and are mapped writable in
/// `address_space`, without touching them.
pub fn check_writable(address_space: &AddressSpace, address: u64, len: u64) -> Result<(), Error> {
    check_mapped(address_space, UserRange::new(address, len)?, Access::Write)
}

/// Reads a list of `count` entries of `WORDS` little-endian `u64`s at user address `list`;
/// more than `max_count` entries fail with `TooLong`. The address space must be the active one.
pub fn copy_entries_from_user<const WORDS: usize>(
    address_space: &AddressSpace,
    list: u64,
    count: u64,
    max_count: u64,
) -> Result<Vec<[u64; WORDS]>, Error> {
    if count > max_count {
        return Err(Error::TooLong);
    }
    let range = UserRange::new(list, count * WORDS as u64 * 8)?;
    let mut bytes = vec![0u8; range.len() as usize];
    copy_from_user(address_space, range, &mut bytes)?;
    Ok(bytes
        .chunks_exact(WORDS * 8)
        .map(|entry| {
            core::array::from_fn(|word| {
                let bytes = &entry[word * 8..word * 8 + 8];
                u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
            })
        })
        .collect())
}

/// Whether every page of `range` is mapped in `address_space` for `access`.
fn check_mapped(
    address_space: &AddressSpace,
    range: UserRange,
    access: Access,
) -> Result<(), Error> {
    let is_mapped = range
        .pages()
        .all(|page| address_space.translate_user(page, access).is_some());
    if is_mapped {
        Ok(())
    } else {
        Err(Error::BadAddress)
    }
}
