//! The only path by which the kernel touches user memory: check every page of the range in the
//! running environment's page table, then copy (`Platform::read_user`, `write_user`).

use crate::platform::{Access, AddressSpace, FrameCopy, Platform};
use alloc::vec;
use alloc::vec::Vec;
use exo_abi::{Error, ExceptionFrame};
use exo_core::PAGE_SIZE;
use exo_core::user_range::UserRange;

/// Copies the user bytes of `range` into `buffer` (which must be `range.len()` long). The
/// address space must be the active one.
pub fn copy_from_user<P: Platform>(
    address_space: &P::AddressSpace,
    range: UserRange,
    buffer: &mut [u8],
) -> Result<(), Error> {
    assert_eq!(buffer.len() as u64, range.len());
    check_mapped::<P>(address_space, range, Access::Read)?;
    P::read_user(range.start(), buffer);
    crate::counters::note_copied(buffer.len());
    Ok(())
}

/// Copies `bytes` to the user range starting at `address`, which must lie in the user half and
/// be mapped writable. The address space must be the active one.
pub fn copy_to_user<P: Platform>(
    address_space: &P::AddressSpace,
    address: u64,
    bytes: &[u8],
) -> Result<(), Error> {
    let range = UserRange::new(address, bytes.len() as u64)?;
    check_mapped::<P>(address_space, range, Access::Write)?;
    P::write_user(address, bytes);
    crate::counters::note_copied(bytes.len());
    Ok(())
}

/// Writes the frame `build` makes to the user address `address`, which must lie in the user
/// half and be mapped writable. The address space must be the active one. The frame is built
/// after the check, so that its fields go straight to the user's memory.
pub fn write_exception_frame<P: Platform>(
    address_space: &P::AddressSpace,
    address: u64,
    build: impl FnOnce() -> ExceptionFrame,
) -> Result<(), Error> {
    let size = core::mem::size_of::<ExceptionFrame>();
    let range = UserRange::new(address, size as u64)?;
    check_mapped::<P>(address_space, range, Access::Write)?;
    P::write_user_frame(address, &build());
    crate::counters::note_copied(size);
    Ok(())
}

/// Copies the page at `page_address` of the active address space, which [`check_readable`]
/// found mapped readable there, into `frame`, whole.
pub fn copy_readable_page_to_frame<P: Platform>(page_address: u64, frame: u64) {
    P::copy_user_and_frame(
        page_address,
        frame,
        0,
        PAGE_SIZE as usize,
        FrameCopy::UserToFrame,
    );
    crate::counters::note_copied(PAGE_SIZE as usize);
}

/// Whether every page of the `len` bytes at `address` is mapped readable in `address_space`.
/// Errors: [`Error::BadAddress`] when one is not, or the range leaves the user half.
pub fn check_readable<P: Platform>(
    address_space: &P::AddressSpace,
    address: u64,
    len: u64,
) -> Result<(), Error> {
    check_mapped::<P>(address_space, UserRange::new(address, len)?, Access::Read)
}

/// Checks that the `len` bytes at `address` lie in the user half and are mapped writable in
/// `address_space`, without touching them.
pub fn check_writable<P: Platform>(
    address_space: &P::AddressSpace,
    address: u64,
    len: u64,
) -> Result<(), Error> {
    check_mapped::<P>(address_space, UserRange::new(address, len)?, Access::Write)
}

/// Copies between the active address space's memory at `own` and `other`'s memory at
/// `granted` (not the active one), of the same length, into `other`'s with
/// [`FrameCopy::UserToFrame`]: every page of both ranges is checked mapped for the copy first,
/// so that it is whole or nothing. The bytes go once, through `other`'s frames.
pub fn copy_between_spaces<P: Platform>(
    active: &P::AddressSpace,
    own: UserRange,
    other: &P::AddressSpace,
    granted: UserRange,
    direction: FrameCopy,
) -> Result<(), Error> {
    assert_eq!(own.len(), granted.len());
    let (own_access, granted_access) = match direction {
        FrameCopy::UserToFrame => (Access::Read, Access::Write),
        FrameCopy::FrameToUser => (Access::Write, Access::Read),
    };
    check_mapped::<P>(active, own, own_access)?;
    // Every page of `other`'s is looked up before a byte moves; the first few are remembered
    // for the copy (nothing can change between: one CPU, interrupts off).
    let mut remembered = [0; REMEMBERED_PAGES];
    for (index, page) in granted.pages().enumerate() {
        let frame = other
            .translate_user(page, granted_access)
            .ok_or(Error::BadAddress)?;
        if let Some(slot) = remembered.get_mut(index) {
            *slot = frame;
        }
    }
    let mut done = 0;
    for (index, page) in granted.pages().enumerate() {
        let frame = match remembered.get(index) {
            Some(&frame) => frame,
            None => other
                .translate_user(page, granted_access)
                .ok_or(Error::BadAddress)?,
        };
        let address = granted.start() + done;
        let within = address % PAGE_SIZE;
        let length = (PAGE_SIZE - within).min(granted.len() - done);
        P::copy_user_and_frame(
            own.start() + done,
            frame,
            within as usize,
            length as usize,
            direction,
        );
        done += length;
    }
    crate::counters::note_copied(granted.len() as usize);
    Ok(())
}

/// Pages of a copy between address spaces whose frames are remembered from the check (a file
/// block's worth, unaligned, takes two).
const REMEMBERED_PAGES: usize = 4;

/// Reads a list of `count` entries of `WORDS` little-endian `u64`s at user address `list`;
/// more than `max_count` entries fail with `TooLong`. The address space must be the active one.
pub fn copy_entries_from_user<P: Platform, const WORDS: usize>(
    address_space: &P::AddressSpace,
    list: u64,
    count: u64,
    max_count: u64,
) -> Result<Vec<[u64; WORDS]>, Error> {
    if count > max_count {
        return Err(Error::TooLong);
    }
    let range = UserRange::new(list, count * WORDS as u64 * 8)?;
    let mut bytes = vec![0u8; range.len() as usize];
    copy_from_user::<P>(address_space, range, &mut bytes)?;
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
fn check_mapped<P: Platform>(
    address_space: &P::AddressSpace,
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
