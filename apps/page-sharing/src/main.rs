//! Sharing pages between environments (L4's map, flush and grant): the parent shares a page
//! read-write into its child, which answers through it; a flush takes derived bindings away; a
//! grant moves a frame's ownership; and naming an environment without a capability is refused.
//! (`capabilities` checks the capabilities themselves.)
//! Run without arguments; it spawns itself with the argument `child`. Exits 0 when every check
//! passed.
#![no_std]
#![no_main]

use exo_abi::Error;
use exo_abi::capability::rights;
use exo_abi::page_rights::{EXECUTABLE, WRITABLE};
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
    syscall::page_map(PAGE, frame, WRITABLE)?;
    PAGE_WORDS.write(0, QUESTION);
    let child = syscall::spawn(NAME, "child")?;

    check.expect(
        "share more rights than held",
        syscall::page_share(PAGE, child, CHILD_PAGE, WRITABLE | EXECUTABLE),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "share into init, named by its id (no capability)",
        syscall::page_share(PAGE, Capability(1), CHILD_PAGE, 0),
        Err(Error::BadCapability),
    );
    check.expect(
        "share an unbound page",
        syscall::page_share(ALIAS, child, CHILD_PAGE, 0),
        Err(Error::NotFound),
    );
    check.expect(
        "share into the kernel half",
        syscall::page_share(PAGE, child, 0xffff_8000_0000_0000, 0),
        Err(Error::BadAddress),
    );
    check.expect(
        "share read-write into the child",
        syscall::page_share(PAGE, child, CHILD_PAGE, WRITABLE),
        Ok(()),
    );
    check.expect(
        "share onto a taken page",
        syscall::page_share(PAGE, Capability::SELF, PAGE, 0),
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
        syscall::page_share(PAGE, Capability::SELF, ALIAS, 0),
        Ok(()),
    );
    check.expect("the alias reads the page", ALIAS_WORDS.read(0), ANSWER);
    check.expect(
        "the alias is read-only",
        syscall::page_query(ALIAS).map(|page| (page.frame, page.rights)),
        Ok((frame, 0)),
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
        Ok((frame, WRITABLE)),
    );

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
        syscall::page_map(PAGE, frame, 0),
        Err(Error::PermissionDenied),
    );
    let consent = syscall::capability_copy(Capability::SELF, rights::GRANT, grantee)?;
    let signal = syscall::frame_allocate(None)?;
    syscall::page_map(ALIAS, signal, WRITABLE)?;
    ALIAS_WORDS.write(0, consent.0);
    syscall::page_share(ALIAS, grantee, CHILD_PAGE, 0)?;
    check.expect(
        "grantee ends",
        syscall::wait(grantee),
        Ok(ExitReason::Exited(0)),
    );
    Ok(check.failures())
}

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "child" => child(),
        "grantee" => grantee(),
        _ => report_run(NAME, parent()),
    }
}
