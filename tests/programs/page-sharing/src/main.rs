//! Sharing pages between environments (L4's map, flush and grant): the parent shares a page
//! read-write into its child, which answers through it; a flush takes derived bindings away; a
//! grant moves a frame's ownership; and naming an environment without a capability is refused.
//! A region shared whole reaches its borrower with every page bound in it later, and the
//! borrower can bind, unbind or protect nothing there. A page copied in one call is a frame of
//! its own. (`capabilities` checks the capabilities
//! themselves.)
//! Run without arguments; it spawns itself with the argument `child`. Exits 0 when every check
//! passed.
#![no_std]
#![no_main]

use exo_abi::PageRights;
use exo_abi::capability::Rights;
use exo_abi::region::ShareFlags;
use exo_abi::{Error, Syscall, decode_result};
use libos_posix::shared_words::SharedWords;
use libos_posix::syscall::Capability;
use libos_posix::{ExitReason, syscall};
use test_support::checks::{Checker, report_run};
use test_support::waiting::wait_for_page;

libos_posix::main!(main);

const NAME: &str = "page-sharing";
/// Where the parent binds its page.
const PAGE: u64 = 0x5000_0000_0000;
/// Where the page appears in the child.
const CHILD_PAGE: u64 = 0x5100_0000_0000;
/// A second place in the parent, for sharing with itself.
const ALIAS: u64 = 0x5200_0000_0000;
/// A region the parent shares whole (`RegionShare`), at the same address in the borrower.
const REGION: u64 = 0x5300_0000_0000;
/// A page of the region the parent binds only after sharing it.
const LATER_PAGE: u64 = REGION + 2 * 4096;
const QUESTION: u64 = 41;
const ANSWER: u64 = 42;

/// The parent's page: it binds the page writable before it touches a word.
// SAFETY: as the line above says.
const PAGE_WORDS: SharedWords = unsafe { SharedWords::new(PAGE) };
/// The alias: read while it is the page shared with itself read-only, written once the parent
/// binds a frame of its own there writable.
// SAFETY: as the lines above say.
const ALIAS_WORDS: SharedWords = unsafe { SharedWords::new(ALIAS) };
/// The page in a child, once `page_query` finds it shared in: writable in `child`, read-only in
/// `grantee`, which only reads it.
// SAFETY: as the lines above say.
const CHILD_WORDS: SharedWords = unsafe { SharedWords::new(CHILD_PAGE) };

/// The child: waits until its parent has shared the page, then answers the question in it.
fn child() -> i32 {
    wait_for_page(CHILD_PAGE);
    let question = CHILD_WORDS.read(0);
    CHILD_WORDS.write(0, question + 1);
    if question == QUESTION { 0 } else { 1 }
}

/// The region's first page, in the parent and in the borrower: bound writable by the parent
/// before anyone touches a word, and seen by the borrower once `page_query` finds it.
// SAFETY: as the lines above say.
const REGION_WORDS: SharedWords = unsafe { SharedWords::new(REGION) };
/// The page the parent binds later, read once `page_query` finds it.
// SAFETY: the borrower reads only after `page_query` finds the page bound in the region it
// borrows, and the parent binds it there only after it has written the word.
const LATER_WORDS: SharedWords = unsafe { SharedWords::new(LATER_PAGE) };

/// The borrower of the region: reads the question through it, finds it can change nothing of
/// the region's bindings, answers, and reads the page bound after the share. Exits 0 when all
/// holds, or the number of the first thing that did not.
fn borrower() -> i32 {
    wait_for_page(REGION);
    if REGION_WORDS.read(0) != QUESTION {
        return 1;
    }
    let Ok(frame) = syscall::frame_allocate(None) else {
        return 2;
    };
    if syscall::page_map(REGION + 4096, frame, PageRights::WRITABLE) != Err(Error::Occupied) {
        return 3;
    }
    if syscall::page_unmap(REGION) != Err(Error::NotFound)
        || syscall::page_protect(REGION, PageRights::empty()) != Err(Error::NotFound)
    {
        return 4;
    }
    if syscall::page_query(REGION).map(|page| page.is_owned) != Ok(false) {
        return 5;
    }
    REGION_WORDS.write(0, ANSWER);
    wait_for_page(LATER_PAGE);
    if LATER_WORDS.read(0) == QUESTION {
        0
    } else {
        6
    }
}

/// The grandchild of init: stays alive until its parent signals (by sharing a page) that it is
/// done granting to it; then checks that it may not grant to init, over which it holds no
/// capability (init's id is no handle), nor to its parent through `PARENT`, which carries no
/// right, but may give the frame back through the capability its parent gave it to receive
/// frames (whose handle is the first word of the shared page).
fn grantee() -> i32 {
    wait_for_page(CHILD_PAGE);
    let Ok(frame) = syscall::frame_allocate(None) else {
        return 1;
    };
    let to_init = syscall::frame_grant(frame, Capability(1));
    let without_consent = syscall::frame_grant(frame, Capability::PARENT);
    let to_parent = syscall::frame_grant(frame, Capability(CHILD_WORDS.read(0)));
    if to_init == Err(Error::BadCapability)
        && without_consent == Err(Error::PermissionDenied)
        && to_parent == Ok(())
    {
        0
    } else {
        1
    }
}

fn parent() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(PAGE, frame, PageRights::WRITABLE)?;
    PAGE_WORDS.write(0, QUESTION);
    let child = syscall::spawn(NAME, "child")?;

    check.expect(
        "share more rights than held",
        syscall::page_share(
            PAGE,
            child,
            CHILD_PAGE,
            PageRights::WRITABLE | PageRights::EXECUTABLE,
        ),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "share into init, named by its id (no capability)",
        syscall::page_share(PAGE, Capability(1), CHILD_PAGE, PageRights::empty()),
        Err(Error::BadCapability),
    );
    check.expect(
        "share an unbound page",
        syscall::page_share(ALIAS, child, CHILD_PAGE, PageRights::empty()),
        Err(Error::NotFound),
    );
    check.expect(
        "share into the kernel half",
        syscall::page_share(PAGE, child, 0xffff_8000_0000_0000, PageRights::empty()),
        Err(Error::BadAddress),
    );
    check.expect(
        "share read-write into the child",
        syscall::page_share(PAGE, child, CHILD_PAGE, PageRights::WRITABLE),
        Ok(()),
    );
    check.expect(
        "share onto a taken page",
        syscall::page_share(PAGE, Capability::SELF, PAGE, PageRights::empty()),
        Err(Error::Occupied),
    );
    check.expect(
        "child ends",
        syscall::wait(child),
        Ok(ExitReason::Exited(0)),
    );
    check.expect("the child's answer", PAGE_WORDS.read(0), ANSWER);

    check.expect(
        "share with itself",
        syscall::page_share(PAGE, Capability::SELF, ALIAS, PageRights::empty()),
        Ok(()),
    );
    check.expect("the alias reads the page", ALIAS_WORDS.read(0), ANSWER);
    check.expect(
        "the alias is read-only",
        syscall::page_query(ALIAS).map(|page| (page.frame, page.rights)),
        Ok((frame, PageRights::empty())),
    );
    check.expect("flush", syscall::page_flush(PAGE), Ok(()));
    check.expect(
        "flush removed the alias",
        syscall::page_query(ALIAS),
        Err(Error::NotFound),
    );
    check.expect(
        "flush kept the page",
        syscall::page_query(PAGE).map(|page| (page.frame, page.rights)),
        Ok((frame, PageRights::WRITABLE)),
    );

    check_region(&mut check)?;
    check_copy(&mut check, frame)?;

    let grantee = syscall::spawn(NAME, "grantee")?;
    check.expect(
        "grant a frame it does not own",
        syscall::frame_grant(1, grantee),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "grant to the child",
        syscall::frame_grant(frame, grantee),
        Ok(()),
    );
    check.expect(
        "granting removed the binding",
        syscall::page_query(PAGE),
        Err(Error::NotFound),
    );
    check.expect(
        "the frame is no longer ours",
        syscall::page_map(PAGE, frame, PageRights::empty()),
        Err(Error::PermissionDenied),
    );
    let consent = syscall::capability_copy(Capability::SELF, Rights::GRANT, grantee)?;
    let signal = syscall::frame_allocate(None)?;
    syscall::page_map(ALIAS, signal, PageRights::WRITABLE)?;
    ALIAS_WORDS.write(0, consent.0);
    syscall::page_share(ALIAS, grantee, CHILD_PAGE, PageRights::empty())?;
    check.expect(
        "grantee ends",
        syscall::wait(grantee),
        Ok(ExitReason::Exited(0)),
    );
    Ok(check.failures())
}

/// Copies [`PAGE`] (frame `frame`) to [`ALIAS`] in one call, after the refusals: a frame of
/// its own with the same words, no binding of the page's frame.
fn check_copy(check: &mut Checker, frame: u64) -> Result<(), Error> {
    check.expect(
        "copy an unbound page",
        syscall::page_copy_into(ALIAS, Capability::SELF, REGION, PageRights::empty()).map(drop),
        Err(Error::BadAddress),
    );
    check.expect(
        "copy onto a taken page",
        syscall::page_copy_into(PAGE, Capability::SELF, PAGE, PageRights::empty()).map(drop),
        Err(Error::Occupied),
    );
    check.expect(
        "copy into init, named by its id (no capability)",
        syscall::page_copy_into(PAGE, Capability(1), ALIAS, PageRights::empty()).map(drop),
        Err(Error::BadCapability),
    );
    let copy = syscall::page_copy_into(PAGE, Capability::SELF, ALIAS, PageRights::WRITABLE)?;
    check.expect("the copy is another frame", copy != frame, true);
    check.expect("the copy reads the page", ALIAS_WORDS.read(0), ANSWER);
    ALIAS_WORDS.write(0, QUESTION);
    check.expect(
        "the page is apart from its copy",
        PAGE_WORDS.read(0),
        ANSWER,
    );
    check.expect(
        "the copy is a frame of its own",
        syscall::page_query(ALIAS).map(|page| (page.frame, page.is_owned, page.is_derived)),
        Ok((copy, true, false)),
    );
    syscall::page_unmap(ALIAS)?;
    syscall::frame_free(copy)?;
    Ok(())
}

/// Shares [`REGION`] whole with a borrower, after the refusals.
fn check_region(check: &mut Checker) -> Result<(), Error> {
    let borrower = syscall::spawn(NAME, "borrower")?;
    check.expect(
        "share a region nothing was bound in",
        syscall::region_share(REGION, borrower, ShareFlags::WRITABLE),
        Err(Error::NotFound),
    );
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(REGION, frame, PageRights::WRITABLE)?;
    REGION_WORDS.write(0, QUESTION);
    check.expect(
        "share a region at a page that does not start one",
        syscall::region_share(REGION + 4096, borrower, ShareFlags::WRITABLE),
        Err(Error::BadAddress),
    );
    check.expect(
        "share a region with unknown flags",
        decode_result(syscall::raw(
            Syscall::RegionShare.number(),
            [REGION, borrower.0, REGION, 1 << 9, 0, 0],
        ))
        .map(|_| ()),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "share a region with its owner",
        syscall::region_share(REGION, Capability::SELF, ShareFlags::WRITABLE),
        Err(Error::Occupied),
    );
    check.expect(
        "share a region writable",
        syscall::region_share(REGION, borrower, ShareFlags::WRITABLE),
        Ok(()),
    );
    check.expect(
        "share it again",
        syscall::region_share(REGION, borrower, ShareFlags::empty()),
        Err(Error::Occupied),
    );
    // The question goes into the frame before the frame appears in the region: the borrower
    // may run between the binding and a write made through it.
    let later = syscall::frame_allocate(None)?;
    syscall::page_map(ALIAS, later, PageRights::WRITABLE)?;
    ALIAS_WORDS.write(0, QUESTION);
    syscall::page_unmap(ALIAS)?;
    syscall::page_map(LATER_PAGE, later, PageRights::WRITABLE)?;
    check.expect(
        "the borrower's checks",
        syscall::wait(borrower),
        Ok(ExitReason::Exited(0)),
    );
    check.expect("the borrower's answer", REGION_WORDS.read(0), ANSWER);
    syscall::page_unmap(LATER_PAGE)?;
    syscall::page_unmap(REGION)?;
    syscall::frame_free(later)?;
    syscall::frame_free(frame)?;
    Ok(())
}

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "child" => child(),
        "borrower" => borrower(),
        "grantee" => grantee(),
        _ => report_run(NAME, parent()),
    }
}
