//! The batch forms of the page calls, for hot paths that bind or unbind many pages at once, and
//! the lists of the frames an environment owns and of its bindings. A batch is checked whole
//! before anything changes, so it takes effect completely or not at all.

use crate::capabilities::environment_named;
use crate::kernel::Kernel;
use crate::pages::{
    PAGES_PER_REGION, copy_checked, page_map, page_unmap, place_of, region_of,
    reserve_binding_room, rights_of, status_bits_in_region,
};
use crate::platform::{AddressSpace, Platform};
use crate::user_memory::{check_readable, copy_entries_from_user, copy_to_user};
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use exo_abi::capability::Rights;
use exo_abi::{Error, PAGE_BATCH_MAX, PageBinding, PageRights, PageUse, arguments};
use exo_core::PAGE_SIZE;
use exo_core::environments::EnvId;
use exo_core::frame_table::FrameOwner;
use exo_core::mappings::Place;

/// Reads `count` entries of `WORDS` words from the caller's memory at `list`.
fn read_entries<P: Platform, const WORDS: usize>(
    kernel: &Kernel<P>,
    list: u64,
    count: u64,
) -> Result<Vec<[u64; WORDS]>, Error> {
    copy_entries_from_user::<P, _>(kernel.current_address_space(), list, count, PAGE_BATCH_MAX)
}

/// [`exo_abi::Syscall::PageMapBatch`].
pub fn page_map_batch<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    list: u64,
    count: u64,
) -> Result<u64, Error> {
    let bindings = read_entries::<P, 3>(kernel, list, count)?;
    let mut places = BTreeSet::new();
    for &[address, frame, bits] in &bindings {
        let place = place_of(caller, address)?;
        PageRights::from_bits(bits).ok_or(Error::InvalidArgument)?;
        if kernel.frames.owner(frame) != Some(FrameOwner::Environment(caller)) {
            return Err(Error::PermissionDenied);
        }
        if kernel.mappings.lookup(place).is_some() || !places.insert(place) {
            return Err(Error::Occupied);
        }
    }
    for (done, &[address, frame, bits]) in bindings.iter().enumerate() {
        if let Err(error) = page_map(kernel, caller, address, frame, bits) {
            for &[bound, _, _] in &bindings[..done] {
                // Cannot fail: this batch bound the page just now.
                let _ = page_unmap(kernel, caller, bound);
            }
            return Err(error);
        }
    }
    Ok(count)
}

/// [`exo_abi::Syscall::PageCopyBatch`]: the checks that change nothing first, for every entry,
/// then each copy; a copy refused after others were made (a quota reached) undoes them.
pub fn page_copy_batch<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::PageCopyBatch,
) -> Result<u64, Error> {
    let addresses = read_entries::<P, 1>(kernel, a.addresses, a.count)?;
    let rights = rights_of(a.rights)?;
    let target = environment_named(kernel, caller, a.target, Rights::SHARE)?;
    let mut previous: Option<u64> = None;
    // Addresses increase, so a region's pages come together: whether the target borrows it is
    // asked once.
    let mut checked_region = None;
    for &[address] in &addresses {
        let place = place_of(target, address)?;
        if previous.is_some_and(|previous| previous >= address) {
            return Err(Error::InvalidArgument);
        }
        previous = Some(address);
        check_readable::<P>(kernel.current_address_space(), address, PAGE_SIZE)?;
        let region = region_of(address);
        if checked_region != Some(region) {
            if kernel.regions.borrowed(target, region).is_some() {
                return Err(Error::Occupied);
            }
            checked_region = Some(region);
        }
        if kernel.mappings.lookup(place).is_some() {
            return Err(Error::Occupied);
        }
    }
    if kernel.frames.free_count() < addresses.len() {
        return Err(Error::NoMemory);
    }
    for (done, &[address]) in addresses.iter().enumerate() {
        let place = Place::new(target, address / PAGE_SIZE);
        if let Err(error) = reserve_binding_room(kernel, target)
            .and_then(|()| copy_checked(kernel, address, place, rights))
        {
            for &[copied] in &addresses[..done] {
                undo_copy(kernel, Place::new(target, copied / PAGE_SIZE));
            }
            return Err(error);
        }
    }
    Ok(a.count)
}

/// Unbinds the copy this batch bound at `place` just now, and frees its frame.
fn undo_copy<P: Platform>(kernel: &mut Kernel<P>, place: Place) {
    let Some(copy) = kernel.mappings.lookup(place) else {
        return;
    };
    // Cannot fail: the binding is there, and its frame was allocated to the place's
    // environment and bound nowhere else.
    let _ = page_unmap(kernel, place.environment, place.page * PAGE_SIZE);
    let _ = kernel
        .frames
        .free(copy.frame, FrameOwner::Environment(place.environment));
}

/// [`exo_abi::Syscall::PageUnmapBatch`].
pub fn page_unmap_batch<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    list: u64,
    count: u64,
) -> Result<u64, Error> {
    let addresses = read_entries::<P, 1>(kernel, list, count)?;
    let mut places = BTreeSet::new();
    for &[address] in &addresses {
        let place = place_of(caller, address)?;
        if kernel.mappings.lookup(place).is_none() || !places.insert(place) {
            return Err(Error::NotFound);
        }
    }
    for &[address] in &addresses {
        page_unmap(kernel, caller, address)?;
    }
    Ok(count)
}

/// `words` as the bytes user memory holds them in, a word at a time (byte by byte through
/// the iterators, a listing cost some 800 instructions per binding).
fn little_endian_bytes(words: impl Iterator<Item = u64>, most: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(most * 8);
    for word in words {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes
}

/// [`exo_abi::Syscall::FrameList`].
pub fn frame_list<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    buffer: u64,
    capacity: u64,
    first: u64,
) -> Result<u64, Error> {
    let skip = usize::try_from(first).unwrap_or(usize::MAX);
    let take = usize::try_from(capacity.min(PAGE_BATCH_MAX)).unwrap_or(0);
    let bytes = little_endian_bytes(
        kernel
            .frames
            .frames_by_acquisition(caller)
            .skip(skip)
            .take(take),
        take,
    );
    if !bytes.is_empty() {
        copy_to_user::<P>(kernel.current_address_space(), buffer, &bytes)?;
    }
    Ok(bytes.len() as u64 / 8)
}

/// [`exo_abi::Syscall::PageList`].
pub fn page_list<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    a: arguments::PageList,
) -> Result<u64, Error> {
    let take = usize::try_from(a.capacity.min(PAGE_BATCH_MAX)).unwrap_or(0);
    let end_page = a.end.div_ceil(PAGE_SIZE);
    let required = PageRights::from_bits(a.required_rights).ok_or(Error::InvalidArgument)?;
    // Pages come in order, so whether their region is lent is asked once a region.
    let mut lent_region: Option<(u64, bool)> = None;
    let bytes = little_endian_bytes(
        kernel
            .mappings
            .mappings_from(caller, a.from.div_ceil(PAGE_SIZE))
            .take_while(|&(page, _)| page < end_page)
            .filter(|(_, mapping)| mapping.rights.contains(required))
            .take(take)
            .flat_map(|(page, mapping)| {
                let region = page / PAGES_PER_REGION;
                let is_lent = match lent_region {
                    Some((known, is_lent)) if known == region => is_lent,
                    _ => {
                        let is_lent = kernel.regions.is_lent(caller, region);
                        lent_region = Some((region, is_lent));
                        is_lent
                    }
                };
                [
                    page * PAGE_SIZE,
                    mapping.frame,
                    status_bits_in_region(kernel, caller, &mapping, is_lent),
                ]
            }),
        take * size_of::<PageBinding>() / 8,
    );
    if !bytes.is_empty() {
        copy_to_user::<P>(kernel.current_address_space(), a.buffer, &bytes)?;
    }
    Ok(bytes.len() as u64 / size_of::<PageBinding>() as u64)
}

/// [`exo_abi::Syscall::PageUsage`].
pub fn page_usage<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::PageUsage,
) -> Result<u64, Error> {
    let clear = PageUse::from_bits(a.clear).ok_or(Error::InvalidArgument)?;
    let take = usize::try_from(a.capacity.min(PAGE_BATCH_MAX)).unwrap_or(0);
    let Kernel {
        mappings,
        environments,
        ..
    } = &mut *kernel;
    let space = &mut environments
        .machine_mut(caller)
        .ok_or(Error::NoSuchEnvironment)?
        .address_space;
    // Read first and clear only once the report has reached the caller: a refused buffer
    // leaves every bit as it was.
    let used: Vec<u64> = mappings
        .pages_between(
            caller,
            a.from.div_ceil(PAGE_SIZE),
            a.end.div_ceil(PAGE_SIZE),
        )
        .map(|page| page * PAGE_SIZE)
        .filter_map(|address| {
            let usage = space.take_usage(address, PageUse::empty());
            (!usage.is_empty()).then_some(address | usage.bits())
        })
        .take(take)
        .collect();
    if used.is_empty() {
        return Ok(0);
    }
    let bytes = little_endian_bytes(used.iter().copied(), used.len());
    copy_to_user::<P>(kernel.current_address_space(), a.buffer, &bytes)?;
    if !clear.is_empty() {
        let space = &mut kernel.current_machine().address_space;
        for &word in &used {
            space.take_usage(word & !(PAGE_SIZE - 1), clear);
        }
    }
    Ok(used.len() as u64)
}
