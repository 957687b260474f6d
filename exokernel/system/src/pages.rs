//! The page system calls: frames allocated by physical name or any, freed, and bound into the
//! caller's address space (or, with `SHARE` over it, another's) as secure bindings checked once
//! at bind time. Each call decodes and checks its arguments first and changes nothing when they
//! are refused.

use crate::capabilities::environment_named;
use crate::kernel::Kernel;
use crate::platform::{AddressSpace, Platform};
use crate::user_memory;
use exo_abi::capability::Rights;
use exo_abi::{Error, FRAME_ANY, PageRights, arguments, region};
use exo_core::PAGE_SIZE;
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameError, FrameOwner};
use exo_core::mappings::{MappingError, MappingView, Place};
use exo_core::regions::{Borrow, RegionNumber};

/// The page number of user address `address`, which must be page-aligned, in the user half
/// and not the null page (never bound, so that a null pointer always faults).
#[inline]
pub(crate) fn page_of(address: u64) -> Result<u64, Error> {
    if address >= exo_abi::USER_END || !address.is_multiple_of(PAGE_SIZE) || address == 0 {
        return Err(Error::BadAddress);
    }
    Ok(address / PAGE_SIZE)
}

/// The place of the caller's page at user address `address`, which must be page-aligned and in
/// the user half.
#[inline]
pub fn place_of(caller: EnvId, address: u64) -> Result<Place, Error> {
    Ok(Place::new(caller, page_of(address)?))
}

#[inline]
pub(crate) fn rights_of(bits: u64) -> Result<PageRights, Error> {
    PageRights::from_bits(bits).ok_or(Error::InvalidArgument)
}

#[inline]
fn mapping_error(error: MappingError) -> Error {
    match error {
        MappingError::Occupied => Error::Occupied,
        MappingError::NoMapping => Error::NotFound,
        MappingError::RightsExceedSource => Error::PermissionDenied,
        MappingError::NoMemory => Error::NoMemory,
    }
}

/// [`exo_abi::Syscall::FrameAllocate`].
pub fn frame_allocate<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    frame: u64,
) -> Result<u64, Error> {
    let owner = FrameOwner::Environment(caller);
    if frame == FRAME_ANY {
        return P::allocate_zeroed(&mut kernel.frames, owner);
    }
    kernel
        .frames
        .allocate_named(frame, owner)
        .map_err(|error| match error {
            FrameError::NotFree | FrameError::Untracked => Error::Unavailable,
            FrameError::NotOwner | FrameError::FreeIsNotAnOwner => Error::InvalidArgument,
        })?;
    P::with_frame_page(frame, |page| page.fill(0));
    Ok(frame)
}

/// [`exo_abi::Syscall::FrameFree`].
pub fn frame_free<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    frame: u64,
) -> Result<u64, Error> {
    if kernel.frames.owner(frame) != Some(FrameOwner::Environment(caller)) {
        return Err(Error::PermissionDenied);
    }
    let removals = kernel.mappings.remove_frame(frame);
    kernel.clear_page_table_entries(&removals);
    kernel
        .frames
        .free(frame, FrameOwner::Environment(caller))
        .map_err(|_| Error::PermissionDenied)?;
    kernel.frame_left(caller, frame);
    Ok(0)
}

/// [`exo_abi::Syscall::PageMap`].
pub fn page_map<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
    frame: u64,
    bits: u64,
) -> Result<u64, Error> {
    let place = place_of(caller, address)?;
    let rights = rights_of(bits)?;
    bind_root(kernel, place, frame, rights)
}

/// [`exo_abi::Syscall::PageMapInto`].
pub fn page_map_into<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::PageMapInto,
) -> Result<u64, Error> {
    let page = page_of(a.address)?;
    let rights = rights_of(a.rights)?;
    let target = environment_named(kernel, caller, a.target, Rights::SHARE)?;
    bind_root(kernel, Place::new(target, page), a.frame, rights)
}

/// Binds `frame` at `place` with `rights` as a root binding, when the place's environment (which
/// is alive) owns the frame and the place is free: the one secure binding that `PageMap`,
/// `PageMapInto` and the batches make.
fn bind_root<P: Platform>(
    kernel: &mut Kernel<P>,
    place: Place,
    frame: u64,
    rights: PageRights,
) -> Result<u64, Error> {
    if kernel.frames.owner(frame) != Some(FrameOwner::Environment(place.environment)) {
        return Err(Error::PermissionDenied);
    }
    check_free_place(kernel, place)?;
    bind_checked_root(kernel, place, frame, rights)
}

/// Whether `place` can take a new root binding: nothing is bound there, and
/// [`reserve_binding_room`] passes.
pub(crate) fn check_free_place<P: Platform>(
    kernel: &mut Kernel<P>,
    place: Place,
) -> Result<(), Error> {
    if kernel.mappings.lookup(place).is_some() {
        return Err(Error::Occupied);
    }
    reserve_binding_room(kernel, place.environment)
}

/// Whether one more root binding fits in `environment`'s quota, and the database has room for
/// it (reserved, for the binding that follows).
pub(crate) fn reserve_binding_room<P: Platform>(
    kernel: &mut Kernel<P>,
    environment: EnvId,
) -> Result<(), Error> {
    kernel.check_binding_room(environment)?;
    kernel.mappings.reserve_one().map_err(mapping_error)
}

/// [`bind_root`] once its checks ([`check_free_place`]) have passed, with nothing changed in
/// the mapping database since.
fn bind_checked_root<P: Platform>(
    kernel: &mut Kernel<P>,
    place: Place,
    frame: u64,
    rights: PageRights,
) -> Result<u64, Error> {
    let owner = place.environment;
    let Kernel {
        frames,
        environments,
        ..
    } = kernel;
    let machine = environments
        .machine_mut(owner)
        .ok_or(Error::NoSuchEnvironment)?;
    machine
        .address_space
        .map(place.page * PAGE_SIZE, frame, rights, frames)?;
    kernel.mappings.map_root_reserved(place, frame, rights);
    Ok(0)
}

/// [`exo_abi::Syscall::PageUnmap`].
pub fn page_unmap<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
) -> Result<u64, Error> {
    let place = place_of(caller, address)?;
    let removals = kernel.mappings.unmap(place).map_err(mapping_error)?;
    kernel.clear_page_table_entries(&removals);
    Ok(0)
}

/// [`exo_abi::Syscall::PageProtect`].
pub fn page_protect<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
    bits: u64,
) -> Result<u64, Error> {
    let place = place_of(caller, address)?;
    let rights = rights_of(bits)?;
    let Kernel {
        mappings,
        environments,
        ..
    } = kernel;
    mappings
        .protect_with(place, rights, |change| {
            let machine = environments.machine_mut(change.place.environment);
            if let Some(machine) = machine {
                machine
                    .address_space
                    .set_rights(change.place.page * PAGE_SIZE, change.rights);
            }
        })
        .map_err(mapping_error)?;
    Ok(0)
}

/// [`exo_abi::Syscall::PageQuery`].
pub fn page_query<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    address: u64,
) -> Result<u64, Error> {
    let mapping = seen_binding(kernel, caller, address)?.ok_or(Error::NotFound)?;
    Ok(mapping.frame << 12 | status_bits(kernel, caller, address / PAGE_SIZE, &mapping))
}

/// The binding `caller` sees at page address `address`: its own, or in a region it borrows,
/// the owner's, narrowed to reading when the region was lent so. `BadAddress` for a bad
/// address.
pub fn seen_binding<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    address: u64,
) -> Result<Option<MappingView>, Error> {
    let place = place_of(caller, address)?;
    if let Some(mapping) = kernel.mappings.lookup(place) {
        return Ok(Some(mapping));
    }
    let Some(borrow) = kernel.regions.borrowed(caller, region_of(address)) else {
        return Ok(None);
    };
    let owner_page = borrow.owner_region * PAGES_PER_REGION + place.page % PAGES_PER_REGION;
    Ok(kernel
        .mappings
        .lookup(Place::new(borrow.owner, owner_page))
        .map(|mut mapping| {
            if !borrow.is_writable {
                mapping.rights.remove(PageRights::WRITABLE);
            }
            mapping
        }))
}

/// The number of the region holding user address `address`.
pub(crate) fn region_of(address: u64) -> RegionNumber {
    address / region::BYTES
}

/// [`exo_abi::Syscall::PageCopyInto`]: every check before the frame is taken, so a refusal
/// changes nothing.
pub fn page_copy_into<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::PageCopyInto,
) -> Result<u64, Error> {
    page_of(a.address)?;
    let place_page = page_of(a.target_address)?;
    let rights = rights_of(a.rights)?;
    let target = environment_named(kernel, caller, a.target, Rights::SHARE)?;
    user_memory::check_readable::<P>(kernel.current_address_space(), a.address, PAGE_SIZE)?;
    if kernel
        .regions
        .borrowed(target, region_of(a.target_address))
        .is_some()
    {
        return Err(Error::Occupied);
    }
    let place = Place::new(target, place_page);
    check_free_place(kernel, place)?;
    copy_checked(kernel, a.address, place, rights)
}

/// Copies the caller's page at `address` into a fresh frame of `place`'s environment and binds
/// it at `place` with `rights`, once the caller's page is known readable, `place` free and in
/// no borrowed region, and [`reserve_binding_room`] has passed; returns the frame. On an error
/// nothing has changed.
pub(crate) fn copy_checked<P: Platform>(
    kernel: &mut Kernel<P>,
    address: u64,
    place: Place,
    rights: PageRights,
) -> Result<u64, Error> {
    let owner = FrameOwner::Environment(place.environment);
    let frame = kernel
        .frames
        .allocate(owner)
        .ok()
        .flatten()
        .ok_or(Error::NoMemory)?;
    user_memory::copy_readable_page_to_frame::<P>(address, frame);
    match bind_checked_root(kernel, place, frame, rights) {
        Ok(_) => Ok(frame),
        Err(error) => {
            // Cannot fail: the frame was allocated to `place`'s environment just now and bound
            // nowhere.
            let _ = kernel.frames.free(frame, owner);
            Err(error)
        }
    }
}

/// [`exo_abi::Syscall::RegionShare`].
pub fn region_share<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::RegionShare,
) -> Result<u64, Error> {
    let arguments::RegionShare {
        address,
        target,
        target_address,
        flags,
    } = a;
    let is_region =
        |address: u64| address < exo_abi::USER_END && address.is_multiple_of(region::BYTES);
    if !is_region(address) || !is_region(target_address) {
        return Err(Error::BadAddress);
    }
    let flags = region::ShareFlags::from_bits(flags).ok_or(Error::InvalidArgument)?;
    let is_writable = flags.contains(region::ShareFlags::WRITABLE);
    let target = environment_named(kernel, caller, target, Rights::SHARE)?;
    let region = region_of(address);
    // The owner of the region as the caller sees it: itself, or whoever it borrowed it from.
    let (owner, owner_region) = match kernel.regions.borrowed(caller, region) {
        Some(borrow) if is_writable && !borrow.is_writable => {
            return Err(Error::PermissionDenied);
        }
        Some(borrow) => (borrow.owner, borrow.owner_region),
        None => (caller, region),
    };
    let target_region = region_of(target_address);
    let table = kernel
        .environments
        .machine(caller)
        .and_then(|machine| machine.address_space.region_table(address))
        .ok_or(Error::NotFound)?;
    if target == owner || kernel.regions.borrowed(target, target_region).is_some() {
        return Err(Error::Occupied);
    }
    kernel.check_binding_room(target)?;
    let Kernel {
        frames,
        environments,
        regions,
        ..
    } = kernel;
    environments
        .machine_mut(target)
        .ok_or(Error::NoSuchEnvironment)?
        .address_space
        .borrow_region(target_address, table, is_writable, frames)?;
    regions.lend(
        target_region,
        target,
        Borrow {
            owner,
            owner_region,
            is_writable,
        },
    );
    Ok(0)
}

/// The rights and [`exo_abi::PageFlags`] bits `caller` is told about its binding `mapping`.
/// A page of a region the caller lends whole (`RegionShare`) counts as having a derived
/// binding: another environment sees it.
pub fn status_bits<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    page: u64,
    mapping: &MappingView,
) -> u64 {
    let is_lent = kernel.regions.is_lent(caller, page / PAGES_PER_REGION);
    status_bits_in_region(kernel, caller, mapping, is_lent)
}

/// [`status_bits`] when the caller knows whether the page's region is lent (a listing asks once
/// a region).
pub fn status_bits_in_region<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    mapping: &MappingView,
    is_region_lent: bool,
) -> u64 {
    let is_owned = kernel.frames.owner(mapping.frame) == Some(FrameOwner::Environment(caller));
    let mut mapping = *mapping;
    mapping.has_derived |= is_region_lent;
    mapping.status_bits(is_owned)
}

/// Pages in a region.
pub const PAGES_PER_REGION: u64 = region::BYTES / PAGE_SIZE;

/// The caller's binding at page address `address`, when its frame is the caller's own (not a
/// page shared in from another environment). Errors: `BadAddress` for a bad address,
/// `NotFound` when nothing is bound there, `PermissionDenied` when the frame is another's.
pub fn own_binding<P: Platform>(
    kernel: &Kernel<P>,
    caller: EnvId,
    address: u64,
) -> Result<MappingView, Error> {
    let binding = kernel
        .mappings
        .lookup(place_of(caller, address)?)
        .ok_or(Error::NotFound)?;
    if kernel.frames.owner(binding.frame) == Some(FrameOwner::Environment(caller)) {
        Ok(binding)
    } else {
        Err(Error::PermissionDenied)
    }
}

/// [`exo_abi::Syscall::PageShare`].
pub fn page_share<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    a: arguments::PageShare,
) -> Result<u64, Error> {
    let source = place_of(caller, a.address)?;
    let rights = rights_of(a.rights)?;
    let target = environment_named(kernel, caller, a.target, Rights::SHARE)?;
    share_binding(kernel, source, target, a.target_address, rights)?;
    Ok(0)
}

/// Binds the page of binding `source` at `target_address` in the living environment `target`
/// with `rights`, derived from `source`; charged to `target`. The database checks the binding
/// and records it first (one lookup of each place), then the page table is written; when that
/// fails for want of a page-table page, the record goes again.
/// Errors: as [`exo_abi::Syscall::PageShare`], for what is left to check.
pub fn share_binding<P: Platform>(
    kernel: &mut Kernel<P>,
    source: Place,
    target: EnvId,
    target_address: u64,
    rights: PageRights,
) -> Result<(), Error> {
    let target_place = place_of(target, target_address)?;
    kernel.check_binding_room(target)?;
    let frame = kernel
        .mappings
        .derive(source, target_place, rights)
        .map_err(mapping_error)?;
    let Kernel {
        frames,
        environments,
        mappings,
        ..
    } = kernel;
    let machine = environments
        .machine_mut(target)
        .expect("checked alive above");
    if let Err(error) = machine
        .address_space
        .map(target_address, frame, rights, frames)
    {
        // Nothing is derived from the record made just now, and nothing mapped it.
        let _ = mappings.unmap(target_place);
        return Err(error);
    }
    Ok(())
}

/// [`exo_abi::Syscall::PageFlush`].
pub fn page_flush<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
) -> Result<u64, Error> {
    let place = place_of(caller, address)?;
    let removals = kernel.mappings.flush(place).map_err(mapping_error)?;
    kernel.clear_page_table_entries(&removals);
    Ok(0)
}

/// [`exo_abi::Syscall::FrameGrant`].
pub fn frame_grant<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    frame: u64,
    target: u64,
) -> Result<u64, Error> {
    if kernel.frames.owner(frame) != Some(FrameOwner::Environment(caller)) {
        return Err(Error::PermissionDenied);
    }
    let target = environment_named(kernel, caller, target, Rights::GRANT)?;
    let removals = kernel.mappings.remove_frame(frame);
    kernel.clear_page_table_entries(&removals);
    kernel
        .frames
        .transfer(frame, caller, target)
        .map_err(|_| Error::PermissionDenied)?;
    kernel.frame_left(caller, frame);
    Ok(0)
}
