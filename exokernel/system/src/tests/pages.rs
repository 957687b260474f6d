use super::FREE_PAGE;
use crate::fake::{Booted, Event, leaves_of, refuse_next_map, take_events, use_page};
use crate::platform::Platform;
use exo_abi::Syscall::{
    CapabilityCopy, EnvironmentCreate, FrameAllocate, FrameFree, FreeFrames, PageCopyBatch,
    PageCopyInto, PageFlush, PageList, PageMap, PageProtect, PageQuery, PageShare, PageUnmap,
    PageUsage,
};
use exo_abi::capability::Rights;
use exo_abi::capability::SELF;
use exo_abi::{Error, FRAME_ANY, USER_END};
use exo_abi::{PageFlags, PageRights, PageUse};
use exo_core::frame_table::FrameOwner;
type P = crate::fake::Fake;

const READ_ONLY: PageRights = PageRights::empty();
const READ_WRITE: PageRights = PageRights::WRITABLE;
/// The rights arguments as the calls carry them.
const WRITABLE: u64 = PageRights::WRITABLE.bits();
const ALL: u64 = PageRights::all().bits();

/// Init with a fresh frame of its own.
fn with_a_frame() -> (Booted, u64) {
    let mut booted = Booted::new();
    let frame = booted
        .call(FrameAllocate, &[FRAME_ANY])
        .expect("a free frame");
    (booted, frame)
}

/// Init and an empty child it created; returns the handle.
fn with_a_child(booted: &mut Booted) -> u64 {
    let name = booted.put(0, b"child");
    booted.call(EnvironmentCreate, &[name, 5]).expect("created")
}

/// Init with a frame bound writable at [`FREE_PAGE`] and shared with a child with `rights`;
/// returns the frame and the child's handle.
fn shared_with_a_child(rights: u64) -> (Booted, u64, u64) {
    let (mut booted, frame) = with_a_frame();
    let child = with_a_child(&mut booted);
    booted
        .call(PageMap, &[FREE_PAGE, frame, WRITABLE])
        .expect("bound");
    booted
        .call(PageShare, &[FREE_PAGE, child, FREE_PAGE, rights])
        .expect("shared");
    (booted, frame, child)
}

#[test]
fn a_binding_reaches_the_page_table_and_reads_back() {
    let (mut booted, frame) = with_a_frame();
    assert_eq!(booted.call(PageMap, &[FREE_PAGE, frame, WRITABLE]), Ok(0));
    let space = booted.kernel.current_address_space().id();
    assert_eq!(
        take_events(),
        [Event::Mapped {
            space,
            page: FREE_PAGE,
            frame,
            rights: READ_WRITE
        }]
    );
    assert_eq!(
        leaves_of(&booted.kernel, booted.init)[&FREE_PAGE],
        (frame, READ_WRITE)
    );
    let word = booted.call(PageQuery, &[FREE_PAGE]).expect("bound");
    assert_eq!(word >> 12, frame);
    assert_eq!(word & ALL, WRITABLE);
}

#[test]
fn a_bad_binding_is_refused_and_touches_no_page_table() {
    let (mut booted, frame) = with_a_frame();
    let refusals = [
        ([0, frame, 0], Error::BadAddress),
        ([FREE_PAGE + 8, frame, 0], Error::BadAddress),
        ([USER_END, frame, 0], Error::BadAddress),
        ([!0xfff, frame, 0], Error::BadAddress),
        ([FREE_PAGE, frame, 1 << 7], Error::InvalidArgument),
        ([FREE_PAGE, frame + 1, 0], Error::PermissionDenied),
        ([FREE_PAGE, 0, 0], Error::PermissionDenied),
        ([FREE_PAGE, u64::MAX, 0], Error::PermissionDenied),
    ];
    for (arguments, error) in refusals {
        assert_eq!(
            booted.call(PageMap, &arguments),
            Err(error),
            "{arguments:x?}"
        );
    }
    assert_eq!(take_events(), []);
    booted.call(PageMap, &[FREE_PAGE, frame, 0]).expect("bound");
    assert_eq!(
        booted.call(PageMap, &[FREE_PAGE, frame, 0]),
        Err(Error::Occupied)
    );
}

#[test]
fn freeing_a_frame_unbinds_it_in_every_address_space() {
    let (mut booted, frame, _) = shared_with_a_child(0);
    take_events();
    assert_eq!(booted.call(FrameFree, &[frame]), Ok(0));
    let unmapped = take_events()
        .into_iter()
        .filter(|event| {
            matches!(
                event,
                Event::Unmapped {
                    page: FREE_PAGE,
                    ..
                }
            )
        })
        .count();
    assert_eq!(unmapped, 2);
    assert!(!leaves_of(&booted.kernel, booted.init).contains_key(&FREE_PAGE));
    assert_eq!(
        booted.call(FrameFree, &[frame]),
        Err(Error::PermissionDenied)
    );
}

#[test]
fn protecting_a_page_narrows_what_was_derived_from_it_and_flushing_removes_that() {
    let (mut booted, frame, _) = shared_with_a_child(WRITABLE);
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    assert_eq!(
        leaves_of(&booted.kernel, child_id)[&FREE_PAGE],
        (frame, READ_WRITE)
    );
    assert_eq!(booted.call(PageProtect, &[FREE_PAGE, 0]), Ok(0));
    assert_eq!(
        leaves_of(&booted.kernel, child_id)[&FREE_PAGE],
        (frame, READ_ONLY)
    );
    assert_eq!(booted.call(PageFlush, &[FREE_PAGE]), Ok(0));
    assert!(leaves_of(&booted.kernel, child_id).is_empty());
    assert_eq!(leaves_of(&booted.kernel, booted.init)[&FREE_PAGE].0, frame);
    assert_eq!(booted.call(PageUnmap, &[FREE_PAGE]), Ok(0));
    assert_eq!(booted.call(PageUnmap, &[FREE_PAGE]), Err(Error::NotFound));
}

#[test]
fn sharing_needs_the_share_right_and_stays_within_the_callers_rights() {
    let (mut booted, frame) = with_a_frame();
    let child = with_a_child(&mut booted);
    booted
        .call(PageMap, &[FREE_PAGE, frame, 0])
        .expect("bound read-only");
    take_events();
    assert_eq!(
        booted.call(PageShare, &[FREE_PAGE, child, FREE_PAGE, WRITABLE]),
        Err(Error::PermissionDenied)
    );
    let control_only = booted
        .call(CapabilityCopy, &[child, Rights::CONTROL.bits(), SELF])
        .expect("a narrowed copy for the caller");
    assert_eq!(
        booted.call(PageShare, &[FREE_PAGE, control_only, FREE_PAGE, 0]),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        booted.call(PageShare, &[FREE_PAGE, 12345, FREE_PAGE, 0]),
        Err(Error::BadCapability)
    );
    assert_eq!(take_events(), []);
}

#[test]
fn a_share_whose_page_table_cannot_grow_leaves_no_record() {
    let (mut booted, frame) = with_a_frame();
    let child = with_a_child(&mut booted);
    booted
        .call(PageMap, &[FREE_PAGE, frame, WRITABLE])
        .expect("bound");
    refuse_next_map();
    assert_eq!(
        booted.call(PageShare, &[FREE_PAGE, child, FREE_PAGE, WRITABLE]),
        Err(Error::NoMemory)
    );
    let word = booted.call(PageQuery, &[FREE_PAGE]).expect("still bound");
    assert_eq!(word & PageFlags::HAS_DERIVED.bits(), 0, "nothing derived");
    assert!(crate::consistency::check(&booted.kernel).is_ok());
    assert_eq!(
        booted.call(PageShare, &[FREE_PAGE, child, FREE_PAGE, WRITABLE]),
        Ok(0),
        "the same share goes through once the page table can grow"
    );
    assert!(crate::consistency::check(&booted.kernel).is_ok());
}

/// `RegionShare`'s arguments for a share at the same address in the target.
fn same_place(address: u64, target: u64, flags: u64) -> exo_abi::arguments::RegionShare {
    exo_abi::arguments::RegionShare {
        address,
        target,
        target_address: address,
        flags,
    }
}

#[test]
fn a_region_is_shared_whole_and_its_borrower_cannot_change_it() {
    use crate::pages::{page_map, page_protect, page_query, page_unmap, region_share};
    use exo_abi::region::{BYTES, ShareFlags};
    const REGION_WRITABLE: u64 = ShareFlags::WRITABLE.bits();
    let (mut booted, frame) = with_a_frame();
    let child = with_a_child(&mut booted);
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    let init = booted.init;
    let region = FREE_PAGE & !(BYTES - 1);
    let kernel = &mut booted.kernel;
    assert_eq!(
        region_share(kernel, init, same_place(region, child, REGION_WRITABLE)),
        Err(Error::NotFound),
        "nothing bound there yet"
    );
    page_map(kernel, init, FREE_PAGE, frame, WRITABLE).expect("bound");
    for (address, flags, error) in [
        (region + 0x1000, REGION_WRITABLE, Error::BadAddress),
        (USER_END, 0, Error::BadAddress),
        (region, 1 << 5, Error::InvalidArgument),
    ] {
        assert_eq!(
            region_share(kernel, init, same_place(address, child, flags)),
            Err(error)
        );
    }
    assert_eq!(
        region_share(kernel, init, same_place(region, 12345, 0)),
        Err(Error::BadCapability)
    );
    assert_eq!(
        region_share(kernel, init, same_place(region, SELF, 0)),
        Err(Error::Occupied),
        "the owner itself"
    );
    assert_eq!(
        region_share(kernel, init, same_place(region, child, REGION_WRITABLE)),
        Ok(0)
    );
    assert_eq!(
        region_share(kernel, init, same_place(region, child, 0)),
        Err(Error::Occupied),
        "borrowed already"
    );
    // The borrower sees the owner's page, and what the owner binds later, not owned.
    let binding = crate::pages::seen_binding(kernel, child_id, FREE_PAGE)
        .expect("a good address")
        .expect("seen");
    assert_eq!(
        (binding.frame, binding.rights.contains(PageRights::WRITABLE)),
        (frame, true)
    );
    let seen = page_query(kernel, child_id, FREE_PAGE).expect("seen");
    assert_eq!(seen >> 12, frame);
    assert_eq!(seen & PageFlags::OWNED.bits(), 0);
    let later = P::allocate_zeroed(&mut kernel.frames, FrameOwner::Environment(init)).unwrap();
    page_map(kernel, init, FREE_PAGE + 0x1000, later, 0).expect("bound later");
    assert_eq!(
        page_query(kernel, child_id, FREE_PAGE + 0x1000).map(|word| word >> 12),
        Ok(later)
    );
    // It cannot bind, unbind or protect anything there.
    let own = P::allocate_zeroed(&mut kernel.frames, FrameOwner::Environment(child_id)).unwrap();
    assert_eq!(
        page_map(kernel, child_id, FREE_PAGE + 0x2000, own, WRITABLE),
        Err(Error::Occupied)
    );
    assert_eq!(
        page_unmap(kernel, child_id, FREE_PAGE),
        Err(Error::NotFound)
    );
    assert_eq!(
        page_protect(kernel, child_id, FREE_PAGE, 0),
        Err(Error::NotFound)
    );
    assert!(crate::consistency::check(kernel).is_ok());
    // The owner's unbinding reaches it.
    page_unmap(kernel, init, FREE_PAGE + 0x1000).expect("unbound");
    assert_eq!(
        page_query(kernel, child_id, FREE_PAGE + 0x1000),
        Err(Error::NotFound)
    );
    assert!(crate::consistency::check(kernel).is_ok());
}

#[test]
fn a_borrowed_region_passes_on_from_its_owner_and_goes_with_it() {
    use crate::pages::{page_map, page_query, region_share};
    use exo_abi::region::{BYTES, ShareFlags};
    const REGION_WRITABLE: u64 = ShareFlags::WRITABLE.bits();
    let (mut booted, frame) = with_a_frame();
    let reader = with_a_child(&mut booted);
    with_a_child(&mut booted);
    let ids: Vec<_> = booted.kernel.environments.ids().collect();
    let (reader_id, writer_id) = (ids[ids.len() - 2], ids[ids.len() - 1]);
    let init = booted.init;
    let region = FREE_PAGE & !(BYTES - 1);
    let kernel = &mut booted.kernel;
    page_map(kernel, init, FREE_PAGE, frame, WRITABLE).expect("bound");
    region_share(kernel, init, same_place(region, reader, 0)).expect("lent for reading");
    // A handle over `writer` for the reader, to pass the region on with.
    let handle = crate::capabilities::hold_child(kernel, reader_id, writer_id).expect("held");
    assert_eq!(
        region_share(
            kernel,
            reader_id,
            same_place(region, handle, REGION_WRITABLE)
        ),
        Err(Error::PermissionDenied),
        "no more than it has"
    );
    region_share(kernel, reader_id, same_place(region, handle, 0)).expect("passed on");
    assert_eq!(
        kernel
            .regions
            .borrowed(writer_id, region / BYTES)
            .map(|borrow| borrow.owner),
        Some(init),
        "borrowed from the owner, not from the one that passed it"
    );
    let word = page_query(kernel, writer_id, FREE_PAGE).expect("seen");
    assert_eq!(word & WRITABLE, 0, "read-only");
    // What the disk calls check a transfer's page against: read-only, so no block read into it.
    let seen = crate::pages::seen_binding(kernel, writer_id, FREE_PAGE)
        .expect("a good address")
        .expect("seen");
    assert_eq!(
        (seen.frame, seen.rights.contains(PageRights::WRITABLE)),
        (frame, false)
    );
    assert!(crate::consistency::check(kernel).is_ok());
    // The reader ends: the writer keeps the region; then the owner's end takes it.
    kernel.end(reader_id, exo_abi::ExitReason::Killed);
    assert!(page_query(kernel, writer_id, FREE_PAGE).is_ok());
    assert!(crate::consistency::check(kernel).is_ok());
    kernel.end(init, exo_abi::ExitReason::Killed);
    assert_eq!(kernel.regions.len(), 0);
}

#[test]
fn a_page_copied_into_a_child_is_a_fresh_frame_of_the_childs_with_the_same_bytes() {
    let (mut booted, frame) = with_a_frame();
    let child = with_a_child(&mut booted);
    booted
        .call(PageMap, &[FREE_PAGE, frame, WRITABLE])
        .expect("bound");
    let bytes: Vec<u8> = (0..4096u32).map(|index| (index * 7 % 251) as u8).collect();
    P::write_user(FREE_PAGE, &bytes);
    take_events();
    let copy = booted
        .call(PageCopyInto, &[FREE_PAGE, child, FREE_PAGE, WRITABLE])
        .expect("copied");
    assert_ne!(copy, frame);
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    assert_eq!(
        booted.kernel.frames.owner(copy),
        Some(FrameOwner::Environment(child_id))
    );
    assert_eq!(
        leaves_of(&booted.kernel, child_id)[&FREE_PAGE],
        (copy, READ_WRITE)
    );
    assert_eq!(P::with_frame_page(copy, |page| page.to_vec()), bytes);
    // The caller's page is untouched, and the copy is no binding derived from it.
    assert_eq!(
        leaves_of(&booted.kernel, booted.init)[&FREE_PAGE],
        (frame, READ_WRITE)
    );
    let word = booted.call(PageQuery, &[FREE_PAGE]).expect("bound");
    assert_eq!(word & PageFlags::HAS_DERIVED.bits(), 0);
    // Into itself, at a free page.
    let own = booted
        .call(PageCopyInto, &[FREE_PAGE, SELF, FREE_PAGE + 4096, 0])
        .expect("copied");
    assert_eq!(
        leaves_of(&booted.kernel, booted.init)[&(FREE_PAGE + 4096)],
        (own, READ_ONLY)
    );
}

#[test]
fn a_refused_page_copy_takes_no_frame_and_binds_nothing() {
    let (mut booted, frame) = with_a_frame();
    let child = with_a_child(&mut booted);
    booted
        .call(PageMap, &[FREE_PAGE, frame, WRITABLE])
        .expect("bound");
    let read_only = booted
        .call(CapabilityCopy, &[child, Rights::CONTROL.bits(), SELF])
        .expect("a handle without SHARE");
    let unbound = FREE_PAGE + 8 * 4096;
    let refusals = [
        ([unbound, child, FREE_PAGE, 0], Error::BadAddress),
        ([FREE_PAGE + 8, child, FREE_PAGE, 0], Error::BadAddress),
        ([USER_END, child, FREE_PAGE, 0], Error::BadAddress),
        ([0, child, FREE_PAGE, 0], Error::BadAddress),
        ([FREE_PAGE, child, FREE_PAGE + 1, 0], Error::BadAddress),
        ([FREE_PAGE, child, USER_END, 0], Error::BadAddress),
        ([u64::MAX, child, FREE_PAGE, 0], Error::BadAddress),
        ([FREE_PAGE, child, u64::MAX, 0], Error::BadAddress),
        (
            [FREE_PAGE, child, FREE_PAGE, u64::MAX],
            Error::InvalidArgument,
        ),
        (
            [FREE_PAGE, child, FREE_PAGE, 1 << 7],
            Error::InvalidArgument,
        ),
        ([FREE_PAGE, 12345, FREE_PAGE, 0], Error::BadCapability),
        (
            [FREE_PAGE, read_only, FREE_PAGE, 0],
            Error::PermissionDenied,
        ),
        ([FREE_PAGE, SELF, FREE_PAGE, 0], Error::Occupied),
    ];
    take_events();
    let free = booted.call(FreeFrames, &[]).expect("counted");
    for (arguments, error) in refusals {
        assert_eq!(
            booted.call(PageCopyInto, &arguments),
            Err(error),
            "{arguments:x?}"
        );
    }
    assert_eq!(take_events(), []);
    assert_eq!(booted.call(FreeFrames, &[]), Ok(free));
    booted
        .call(PageCopyInto, &[FREE_PAGE, child, FREE_PAGE, 0])
        .expect("copied");
    assert_eq!(
        booted.call(PageCopyInto, &[FREE_PAGE, child, FREE_PAGE, 0]),
        Err(Error::Occupied)
    );
    assert_eq!(booted.call(FreeFrames, &[]), Ok(free - 1));
}

/// Init with three pages bound writable at `FREE_PAGE` and on, each filled with its own
/// bytes, and a child; returns the pages' bytes and the handle to the child.
fn with_three_pages_and_a_child() -> (Booted, Vec<Vec<u8>>, u64) {
    let mut booted = Booted::new();
    let child = with_a_child(&mut booted);
    let mut contents = Vec::new();
    for index in 0..3u64 {
        let frame = booted.call(FrameAllocate, &[FRAME_ANY]).expect("a frame");
        let page = FREE_PAGE + index * 4096;
        booted
            .call(PageMap, &[page, frame, WRITABLE])
            .expect("bound");
        let bytes: Vec<u8> = (0..4096u64).map(|at| (at * 3 + index) as u8).collect();
        P::write_user(page, &bytes);
        contents.push(bytes);
    }
    take_events();
    (booted, contents, child)
}

/// Writes `addresses` into init's data page as a list a batch call reads; returns its address.
fn address_list(booted: &mut Booted, addresses: &[u64]) -> u64 {
    let bytes: Vec<u8> = addresses
        .iter()
        .flat_map(|word| word.to_le_bytes())
        .collect();
    booted.put(0x100, &bytes)
}

#[test]
fn a_page_copy_batch_copies_each_page_into_a_fresh_frame_of_the_target() {
    let (mut booted, contents, child) = with_three_pages_and_a_child();
    let pages = [FREE_PAGE, FREE_PAGE + 2 * 4096];
    let list = address_list(&mut booted, &pages);
    let free = booted.call(FreeFrames, &[]).expect("counted");
    assert_eq!(
        booted.call(PageCopyBatch, &[child, list, 2, WRITABLE]),
        Ok(2)
    );
    assert_eq!(booted.call(FreeFrames, &[]), Ok(free - 2));
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    let leaves = leaves_of(&booted.kernel, child_id);
    assert_eq!(leaves.len(), 2);
    let own = leaves_of(&booted.kernel, booted.init);
    for (page, bytes) in [(pages[0], &contents[0]), (pages[1], &contents[2])] {
        let (frame, rights) = leaves[&page];
        assert_eq!(rights, READ_WRITE);
        assert_ne!(frame, own[&page].0, "a copy, not the caller's frame");
        assert_eq!(
            booted.kernel.frames.owner(frame),
            Some(FrameOwner::Environment(child_id))
        );
        assert_eq!(&P::with_frame_page(frame, |page| page.to_vec()), bytes);
    }
    assert!(crate::consistency::check(&booted.kernel).is_ok());
    // The empty batch copies nothing.
    assert_eq!(booted.call(PageCopyBatch, &[child, list, 0, 0]), Ok(0));
}

#[test]
fn a_refused_page_copy_batch_takes_no_frame_and_binds_nothing() {
    let (mut booted, _, child) = with_three_pages_and_a_child();
    let read_only = booted
        .call(CapabilityCopy, &[child, Rights::CONTROL.bits(), SELF])
        .expect("a handle without SHARE");
    let unbound = FREE_PAGE + 8 * 4096;
    let lists: [&[u64]; 7] = [
        &[FREE_PAGE, FREE_PAGE + 4096],
        &[FREE_PAGE, unbound],
        &[FREE_PAGE, FREE_PAGE + 8],
        &[FREE_PAGE + 4096, USER_END],
        &[FREE_PAGE, 0],
        &[FREE_PAGE + 4096, FREE_PAGE],
        &[FREE_PAGE, FREE_PAGE + 4096, FREE_PAGE + 4096],
    ];
    let good = address_list(&mut booted, lists[0]);
    let refusals = [
        (
            [child, good, exo_abi::PAGE_BATCH_MAX + 1, 0],
            Error::TooLong,
        ),
        ([child, good, u64::MAX, 0], Error::TooLong),
        ([child, USER_END - 8, 2, 0], Error::BadAddress),
        ([child, 0, 2, 0], Error::BadAddress),
        ([child, good, 2, u64::MAX], Error::InvalidArgument),
        ([12345, good, 2, 0], Error::BadCapability),
        ([read_only, good, 2, 0], Error::PermissionDenied),
        // Into itself at the same addresses: every page is bound there already.
        ([SELF, good, 2, 0], Error::Occupied),
    ];
    let free = booted.call(FreeFrames, &[]).expect("counted");
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    for (arguments, error) in refusals {
        assert_eq!(
            booted.call(PageCopyBatch, &arguments),
            Err(error),
            "{arguments:x?}"
        );
    }
    for (list, error) in lists[1..].iter().zip([
        Error::BadAddress,
        Error::BadAddress,
        Error::BadAddress,
        Error::BadAddress,
        Error::InvalidArgument,
        Error::InvalidArgument,
    ]) {
        let address = address_list(&mut booted, list);
        assert_eq!(
            booted.call(PageCopyBatch, &[child, address, list.len() as u64, 0]),
            Err(error),
            "{list:x?}"
        );
    }
    assert_eq!(take_events(), []);
    assert_eq!(booted.call(FreeFrames, &[]), Ok(free));
    // A page the target binds already.
    let good = address_list(&mut booted, lists[0]);
    booted
        .call(
            PageCopyInto,
            &[FREE_PAGE + 4096, child, FREE_PAGE + 4096, 0],
        )
        .expect("copied");
    assert_eq!(
        booted.call(PageCopyBatch, &[child, good, 2, 0]),
        Err(Error::Occupied)
    );
    assert_eq!(booted.call(FreeFrames, &[]), Ok(free - 1));
    assert_eq!(leaves_of(&booted.kernel, child_id).len(), 1);
}

#[test]
fn a_page_copy_batch_the_targets_quota_stops_halfway_undoes_its_copies() {
    use exo_abi::kernel_memory::BINDING_BYTES;
    use exo_core::kernel_memory::KernelMemory;
    let (mut booted, _, child) = with_three_pages_and_a_child();
    let list = address_list(
        &mut booted,
        &[FREE_PAGE, FREE_PAGE + 4096, FREE_PAGE + 2 * 4096],
    );
    let free = booted.call(FreeFrames, &[]).expect("counted");
    // Room for two of the three bindings in the target.
    booted.kernel.kernel_memory = KernelMemory::new(2 * BINDING_BYTES, usize::MAX);
    assert_eq!(
        booted.call(PageCopyBatch, &[child, list, 3, 0]),
        Err(Error::NoMemory)
    );
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    assert_eq!(leaves_of(&booted.kernel, child_id).len(), 0);
    assert_eq!(booted.call(FreeFrames, &[]), Ok(free));
    assert!(crate::consistency::check(&booted.kernel).is_ok());
    // Two fit.
    assert_eq!(booted.call(PageCopyBatch, &[child, list, 2, 0]), Ok(2));
}

#[test]
fn a_region_shared_at_another_address_shows_the_owners_pages_there() {
    use crate::pages::{page_map, page_query, region_share};
    use exo_abi::arguments::RegionShare;
    use exo_abi::region::BYTES;
    let (mut booted, frame) = with_a_frame();
    let reader = with_a_child(&mut booted);
    with_a_child(&mut booted);
    let ids: Vec<_> = booted.kernel.environments.ids().collect();
    let (reader_id, other_id) = (ids[ids.len() - 2], ids[ids.len() - 1]);
    let init = booted.init;
    let region = FREE_PAGE & !(BYTES - 1);
    let elsewhere = region + 6 * BYTES;
    let kernel = &mut booted.kernel;
    page_map(kernel, init, FREE_PAGE, frame, WRITABLE).expect("bound");
    assert_eq!(
        page_query(kernel, init, FREE_PAGE).unwrap() & PageFlags::HAS_DERIVED.bits(),
        0
    );
    let share = |target_address| RegionShare {
        address: region,
        target: reader,
        target_address,
        flags: 0,
    };
    assert_eq!(
        region_share(kernel, init, share(elsewhere + 0x1000)),
        Err(Error::BadAddress)
    );
    assert_eq!(
        region_share(kernel, init, share(USER_END)),
        Err(Error::BadAddress)
    );
    region_share(kernel, init, share(elsewhere)).expect("lent elsewhere");
    let offset = FREE_PAGE - region;
    assert_eq!(
        page_query(kernel, reader_id, elsewhere + offset).map(|word| word >> 12),
        Ok(frame)
    );
    assert_eq!(
        page_query(kernel, reader_id, FREE_PAGE),
        Err(Error::NotFound)
    );
    // The owner is told its page is seen by another.
    assert_ne!(
        page_query(kernel, init, FREE_PAGE).unwrap() & PageFlags::HAS_DERIVED.bits(),
        0
    );
    assert!(crate::consistency::check(kernel).is_ok());
    // Passed on from where the reader sees it, to a third place: still the owner's table.
    let handle = crate::capabilities::hold_child(kernel, reader_id, other_id).expect("held");
    let third = region + 9 * BYTES;
    region_share(
        kernel,
        reader_id,
        RegionShare {
            address: elsewhere,
            target: handle,
            target_address: third,
            flags: 0,
        },
    )
    .expect("passed on");
    assert_eq!(
        page_query(kernel, other_id, third + offset).map(|word| word >> 12),
        Ok(frame)
    );
    assert!(crate::consistency::check(kernel).is_ok());
    // Both go with the owner's binding's region when the owner ends.
    kernel.end(init, exo_abi::ExitReason::Exited(0));
    assert_eq!(
        page_query(kernel, reader_id, elsewhere + offset),
        Err(Error::NotFound)
    );
    assert_eq!(
        page_query(kernel, other_id, third + offset),
        Err(Error::NotFound)
    );
}

/// The words [`PageUsage`] wrote at `address`.
fn usage_words(address: u64, count: u64) -> Vec<u64> {
    let mut bytes = vec![0; count as usize * 8];
    P::read_user(address, &mut bytes);
    bytes
        .as_chunks::<8>()
        .0
        .iter()
        .map(|word| u64::from_le_bytes(*word))
        .collect()
}

#[test]
fn a_listing_by_rights_starts_at_the_first_binding_with_them() {
    let mut booted = Booted::new();
    // Pages 0 to 3 read-only, page 4 writable, page 6 read-only.
    for (page, rights) in [(0, 0), (1, 0), (2, 0), (3, 0), (4, WRITABLE), (6, 0)] {
        let frame = booted.call(FrameAllocate, &[FRAME_ANY]).unwrap();
        booted
            .call(PageMap, &[FREE_PAGE + page * 0x1000, frame, rights])
            .unwrap();
    }
    let buffer = booted.put(0x100, &[0; 96]);
    let listed = |booted: &mut Booted, from: u64, end: u64, rights: u64| {
        let count = booted.call(PageList, &[buffer, 4, from, end, rights])?;
        Ok::<_, Error>(
            usage_words(buffer, count * 3)
                .chunks(3)
                .map(|record| record[0])
                .collect::<Vec<u64>>(),
        )
    };
    assert_eq!(
        listed(&mut booted, FREE_PAGE, FREE_PAGE + 0x10000, WRITABLE),
        Ok(vec![FREE_PAGE + 0x4000])
    );
    assert_eq!(
        listed(&mut booted, FREE_PAGE, FREE_PAGE + 0x4000, WRITABLE),
        Ok(vec![])
    );
    assert_eq!(
        listed(&mut booted, FREE_PAGE, FREE_PAGE + 0x10000, ALL),
        Ok(vec![])
    );
    assert_eq!(
        listed(&mut booted, FREE_PAGE + 0x3001, FREE_PAGE + 0x10000, 0),
        Ok(vec![FREE_PAGE + 0x4000, FREE_PAGE + 0x6000])
    );
}

#[test]
fn page_usage_reports_the_used_pages_in_range_and_clears_only_what_it_reported() {
    let mut booted = Booted::new();
    for page in 0..3 {
        let frame = booted.call(FrameAllocate, &[FRAME_ANY]).unwrap();
        booted
            .call(PageMap, &[FREE_PAGE + page * 0x1000, frame, WRITABLE])
            .unwrap();
    }
    let space = booted.kernel.current_address_space().id();
    use_page(space, FREE_PAGE, PageUse::ACCESSED);
    use_page(
        space,
        FREE_PAGE + 0x2000,
        PageUse::ACCESSED | PageUse::DIRTY,
    );
    let buffer = booted.put(0x100, &[0; 64]);

    let everything = |clear| [buffer, 8, FREE_PAGE, u64::MAX, clear];
    assert_eq!(
        booted.call(PageUsage, &everything(PageUse::ACCESSED.bits())),
        Ok(2)
    );
    assert_eq!(
        usage_words(buffer, 2),
        [
            FREE_PAGE | PageUse::ACCESSED.bits(),
            (FREE_PAGE + 0x2000) | (PageUse::ACCESSED | PageUse::DIRTY).bits()
        ]
    );
    assert_eq!(booted.call(PageUsage, &everything(0)), Ok(1));
    assert_eq!(
        usage_words(buffer, 1),
        [(FREE_PAGE + 0x2000) | PageUse::DIRTY.bits()]
    );

    use_page(space, FREE_PAGE, PageUse::ACCESSED);
    use_page(space, FREE_PAGE + 0x1000, PageUse::DIRTY);
    assert_eq!(
        booted.call(
            PageUsage,
            &[buffer, 1, FREE_PAGE, u64::MAX, PageUse::all().bits()]
        ),
        Ok(1),
        "at most the capacity"
    );
    assert_eq!(
        usage_words(buffer, 1),
        [FREE_PAGE | PageUse::ACCESSED.bits()]
    );
    assert_eq!(
        booted.call(PageUsage, &[buffer, 8, FREE_PAGE, FREE_PAGE + 0x1001, 0]),
        Ok(1),
        "the end bound: the page holding it counts"
    );
    assert_eq!(
        usage_words(buffer, 1),
        [(FREE_PAGE + 0x1000) | PageUse::DIRTY.bits()]
    );
    assert_eq!(
        booted.call(PageUsage, &[buffer, 8, FREE_PAGE + 0x3000, FREE_PAGE, 0]),
        Ok(0),
        "a reversed range"
    );
}

#[test]
fn page_usage_refuses_unknown_bits_and_a_bad_buffer_and_then_clears_nothing() {
    let (mut booted, frame) = with_a_frame();
    booted.call(PageMap, &[FREE_PAGE, frame, WRITABLE]).unwrap();
    let space = booted.kernel.current_address_space().id();
    use_page(space, FREE_PAGE, PageUse::ACCESSED | PageUse::DIRTY);
    let buffer = booted.put(0x100, &[0; 64]);
    assert_eq!(
        booted.call(PageUsage, &[buffer, 8, 0, u64::MAX, 1 << 2]),
        Err(Error::InvalidArgument)
    );
    for bad_buffer in [USER_END - 8, 0xffff_8000_0000_0000, FREE_PAGE + 0x5000] {
        assert_eq!(
            booted.call(
                PageUsage,
                &[bad_buffer, 8, 0, u64::MAX, PageUse::all().bits()]
            ),
            Err(Error::BadAddress)
        );
    }
    assert_eq!(
        booted.call(PageUsage, &[buffer, u64::MAX, 0, u64::MAX, 0]),
        Ok(1)
    );
    assert_eq!(
        usage_words(buffer, 1),
        [FREE_PAGE | (PageUse::ACCESSED | PageUse::DIRTY).bits()]
    );
}

#[test]
fn page_usage_reports_only_the_callers_own_bindings() {
    let (mut booted, _frame, _child) = shared_with_a_child(WRITABLE);
    let space = booted.kernel.current_address_space().id();
    use_page(space, FREE_PAGE, PageUse::ACCESSED);
    let child_id = booted.kernel.environments.ids().last().expect("the child");
    let child_space = booted
        .kernel
        .environments
        .machine(child_id)
        .expect("living")
        .address_space
        .id();
    use_page(child_space, FREE_PAGE, PageUse::DIRTY);
    let buffer = booted.put(0x100, &[0; 64]);
    assert_eq!(
        booted.call(PageUsage, &[buffer, 8, 0, u64::MAX, PageUse::all().bits()]),
        Ok(1)
    );
    assert_eq!(
        usage_words(buffer, 1),
        [FREE_PAGE | PageUse::ACCESSED.bits()]
    );
}
