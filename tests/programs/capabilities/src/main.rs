//! Capabilities, hostile and delegated. The parent forges handles (init's id, its own
//! neighbours, other generations), overreaches with narrowed copies and with its capability over
//! init, and uses handles after dropping them and after their environment ended: each is
//! refused with its error. Then it delegates: a `sharer` child receives a capability to share
//! pages into a `worker` child, a sibling over which it had no right, and uses it.
//! Run without arguments. Exits 0 when every check passed.
#![no_std]
#![no_main]

use core::time::Duration;
use exo_abi::Error;
use exo_abi::PageRights;
use exo_abi::capability::Rights;
use exo_abi::repossession::ResourceKind;
use libos_posix::shared_words::SharedWords;
use libos_posix::syscall::Capability;
use libos_posix::{ExitReason, syscall};
use test_support::checks::{Checker, report_run};
use test_support::waiting::wait_until;

libos_posix::main!(main);

const NAME: &str = "capabilities";
/// Where the parent binds the page that tells the sharer its handle.
const HANDLE_PAGE: u64 = 0x5000_0000_0000;
/// Where the sharer binds the page it shares into the worker.
const SHARER_PAGE: u64 = 0x5100_0000_0000;
/// Where that page appears in the worker.
const WORKER_PAGE: u64 = 0x5200_0000_0000;
/// What the sharer writes for the worker, and the worker's acknowledgement.
const MESSAGE: u64 = 0x5EED;
const ACKNOWLEDGED: u64 = 0xACC;

/// The handle page's words: the parent binds it writable, the sharer reads it once `page_query`
/// finds it shared in.
// SAFETY: each side touches it only as the line above says.
const HANDLE_WORDS: SharedWords = unsafe { SharedWords::new(HANDLE_PAGE) };
/// The sharer's page: it binds the page writable before it touches a word.
// SAFETY: as the line above says.
const SHARER_WORDS: SharedWords = unsafe { SharedWords::new(SHARER_PAGE) };
/// That page in the worker, shared writable: touched once `page_query` finds it there.
// SAFETY: as the line above says.
const WORKER_WORDS: SharedWords = unsafe { SharedWords::new(WORKER_PAGE) };
/// How long a child waits for its page, and the sharer for the worker's acknowledgement.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// The worker: waits for the sharer's page, reads its message and acknowledges it.
fn worker() -> i32 {
    if !wait_until(WAIT_LIMIT, || syscall::page_query(WORKER_PAGE).is_ok()) {
        return 2;
    }
    if WORKER_WORDS.read(0) != MESSAGE {
        return 1;
    }
    WORKER_WORDS.write(1, ACKNOWLEDGED);
    0
}

/// The sharer: reads the handle its parent gave it, shares a page into the worker through it,
/// and checks that the handle carries no more than the right to share.
fn sharer() -> i32 {
    let mut check = Checker::new(NAME);
    if !wait_until(WAIT_LIMIT, || syscall::page_query(HANDLE_PAGE).is_ok()) {
        return 2;
    }
    let over_worker = Capability(HANDLE_WORDS.read(0));
    let Ok(frame) = syscall::frame_allocate(None) else {
        return 3;
    };
    if syscall::page_map(SHARER_PAGE, frame, PageRights::WRITABLE).is_err() {
        return 3;
    }
    SHARER_WORDS.write(0, MESSAGE);
    check.expect(
        "share into the worker through the delegated capability",
        syscall::page_share(SHARER_PAGE, over_worker, WORKER_PAGE, PageRights::WRITABLE),
        Ok(()),
    );
    check.expect(
        "revoke through a capability that only shares",
        syscall::revoke(over_worker, ResourceKind::Frame, 1, 1_000),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "wait for a sibling",
        syscall::wait(over_worker),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "share into the parent through PARENT, which carries no right",
        syscall::page_share(
            SHARER_PAGE,
            Capability::PARENT,
            WORKER_PAGE,
            PageRights::empty(),
        ),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "the worker acknowledged",
        wait_until(WAIT_LIMIT, || SHARER_WORDS.read(1) == ACKNOWLEDGED),
        true,
    );
    check.failures().min(1) as i32
}

fn parent() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(HANDLE_PAGE, frame, PageRights::WRITABLE)?;

    // Over init, this program holds PARENT, which carries no right.
    check.expect(
        "revoke init through PARENT",
        syscall::revoke(Capability::PARENT, ResourceKind::Frame, 1, 1_000),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "share into init through PARENT",
        syscall::page_share(
            HANDLE_PAGE,
            Capability::PARENT,
            HANDLE_PAGE,
            PageRights::empty(),
        ),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "widen PARENT",
        syscall::capability_copy(Capability::PARENT, Rights::SHARE, Capability::SELF),
        Err(Error::PermissionDenied),
    );

    let worker = syscall::spawn(NAME, "worker")?;
    let (worker_id, worker_rights) = syscall::capability_inspect(worker)?;
    check.expect(
        "a spawn's capability has every right",
        worker_rights,
        Rights::ALL,
    );
    for forged in [
        0,
        1,
        u64::from(worker_id),
        worker.0 + 1,
        worker.0 ^ (1 << 32),
        worker.0 + (1 << 32),
        u64::MAX - 1,
    ] {
        check.expect(
            "share through a forged handle",
            syscall::page_share(
                HANDLE_PAGE,
                Capability(forged),
                WORKER_PAGE,
                PageRights::empty(),
            ),
            Err(Error::BadCapability),
        );
        check.expect(
            "revoke through a forged handle",
            syscall::revoke(Capability(forged), ResourceKind::Frame, 1, 1_000),
            Err(Error::BadCapability),
        );
    }
    check.expect(
        "inspect SELF, which is no table entry",
        syscall::capability_inspect(Capability::SELF),
        Err(Error::BadCapability),
    );
    check.expect(
        "copy the right to reap",
        syscall::capability_copy(worker, Rights::SHARE | Rights::WAIT, Capability::SELF),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "copy an unknown right",
        exo_abi::stubs::capability_copy::<syscall::Kernel>(worker.0, 1 << 9, Capability::SELF.0),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "copy to a forged receiver",
        syscall::capability_copy(worker, Rights::SHARE, Capability(77)),
        Err(Error::BadCapability),
    );

    let narrowed = syscall::capability_copy(worker, Rights::SHARE, Capability::SELF)?;
    check.expect(
        "inspect the narrowed copy",
        syscall::capability_inspect(narrowed),
        Ok((worker_id, Rights::SHARE)),
    );
    check.expect(
        "revoke through the narrowed copy",
        syscall::revoke(narrowed, ResourceKind::Frame, 1, 1_000),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "widen the narrowed copy",
        syscall::capability_copy(narrowed, Rights::SHARE | Rights::GRANT, Capability::SELF),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "wait through the narrowed copy",
        syscall::wait(narrowed),
        Err(Error::PermissionDenied),
    );
    check.expect("drop it", syscall::capability_drop(narrowed), Ok(()));
    check.expect(
        "drop it twice",
        syscall::capability_drop(narrowed),
        Err(Error::BadCapability),
    );
    check.expect(
        "share through the dropped handle",
        syscall::page_share(HANDLE_PAGE, narrowed, WORKER_PAGE, PageRights::empty()),
        Err(Error::BadCapability),
    );

    let sharer = syscall::spawn(NAME, "sharer")?;
    let delegated = syscall::capability_copy(worker, Rights::SHARE, sharer)?;
    HANDLE_WORDS.write(0, delegated.0);
    syscall::page_share(HANDLE_PAGE, sharer, HANDLE_PAGE, PageRights::empty())?;
    let kept = syscall::capability_copy(worker, Rights::SHARE, Capability::SELF)?;
    check.expect(
        "sharer ends",
        syscall::wait(sharer),
        Ok(ExitReason::Exited(0)),
    );
    check.expect(
        "worker ends",
        syscall::wait(worker),
        Ok(ExitReason::Exited(0)),
    );

    check.expect(
        "wait again on the reaped worker's handle",
        syscall::wait(worker),
        Err(Error::BadCapability),
    );
    check.expect(
        "share through a copy over the ended worker",
        syscall::page_share(HANDLE_PAGE, kept, WORKER_PAGE, PageRights::empty()),
        Err(Error::NoSuchEnvironment),
    );
    check.expect("drop that copy", syscall::capability_drop(kept), Ok(()));
    Ok(check.failures())
}

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "worker" => worker(),
        "sharer" => sharer(),
        _ => report_run(NAME, parent()),
    }
}
