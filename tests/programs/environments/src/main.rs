//! Environments built by hand, started, killed and inspected, the calls a library OS builds
//! processes with:
//!
//! - a child made with `EnvironmentCreate` gets this program's code pages shared read-only and
//!   executable, a stack frame given and bound with `FrameGrant` and `PageMapInto`, is started
//!   at a naked function that exits with 42 by a raw system call, and is waited for;
//! - a child that sleeps for ever is waited for without hanging, then killed; an unstarted
//!   child is killed; a child kills itself;
//! - a `sibling` child, given a `CONTROL` copy over a `middle` child, kills the grandchild that
//!   `middle` made (a descendant), and is refused for a non-descendant and for init;
//! - each refused request gets its error: starting twice, starting at a kernel address,
//!   binding a frame the target does not own, binding through a handle without `SHARE`;
//! - `PageQuery` flags on a shared page, `PageList` in order from an address and by count,
//!   `ConsoleRead` without input.
//!
//! Run without arguments. Exits 0 when every check passed.
#![no_std]
#![no_main]

use core::time::Duration;
use exo_abi::capability::{Rights, SELF};
use exo_abi::{Error, ExitReason, PageBinding, Syscall, decode_result};
use exo_abi::{PageFlags, PageRights};
use libos_posix::shared_words::SharedWords;
use libos_posix::syscall::{self, Capability, PageInfo};
use test_support::checks::{Checker, report_run};
use test_support::hand_built_child::{self, exit_with_status};
use test_support::waiting::wait_until;

libos_posix::main!(main);

const NAME: &str = "environments";
const PAGE_BYTES: u64 = 4096;
/// A page the parent shares with `middle` and `sibling`: word 0 is the grandchild's id, word 1
/// the handle `sibling` kills it through.
const MAILBOX: u64 = 0x3000_0000_0000;
/// The mailbox's words.
// SAFETY: each environment touches a word only once it bound MAILBOX writable itself or found
// it shared writable into it (`page_query`).
const MAILBOX_WORDS: SharedWords = unsafe { SharedWords::new(MAILBOX) };
/// A page and an alias derived from it, for the flags of `PageQuery`.
const PAGE: u64 = 0x3100_0000_0000;
const ALIAS: u64 = 0x3200_0000_0000;
/// Where the pages listed by `PageList` are bound: at pages 0, 2 and 5 from here.
const LIST_BASE: u64 = 0x3300_0000_0000;
const LIST_PAGES: [u64; 3] = [0, 2, 5];
/// The stack page of the child built by hand, in its address space.
const CHILD_STACK: u64 = 0x3400_0000_0000;
/// An address in the kernel half, refused everywhere.
const KERNEL_ADDRESS: u64 = 0xffff_ffff_8000_0000;
/// The whole program of a child that sleeps for ever, a second at a time, until it is killed.
#[unsafe(naked)]
extern "C" fn sleep_for_ever() -> ! {
    core::arch::naked_asm!(
        "2:",
        "mov edi, 1000000",
        "mov eax, {sleep}",
        "syscall",
        "jmp 2b",
        sleep = const Syscall::Sleep as u64,
    )
}

/// Bytes of either child program (`sleep_for_ever`, `hand_built_child::exit_with_status`), with
/// room to spare: the pages to share cover them.
const CODE_BYTES: u64 = 32;

/// How long a child waits for the mailbox, and the parent for the grandchild's id.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// A system call with raw arguments, for the refusals no typed wrapper can express.
fn raw(call: Syscall, arguments: [u64; 5]) -> Result<u64, Error> {
    let [a0, a1, a2, a3, a4] = arguments;
    decode_result(syscall::raw(call.number(), [a0, a1, a2, a3, a4, 0]))
}

fn page_of(address: u64) -> u64 {
    address & !(PAGE_BYTES - 1)
}

/// Shares the pages holding the code at `entry` into `child` at the same addresses, read-only
/// and executable.
fn share_code(child: Capability, entry: u64) -> Result<(), Error> {
    let first = page_of(entry);
    let last = page_of(entry + CODE_BYTES - 1);
    let mut page = first;
    while page <= last {
        syscall::page_share(page, child, page, PageRights::EXECUTABLE)?;
        page += PAGE_BYTES;
    }
    Ok(())
}

/// A fresh frame of this environment's, given to `child` and bound there at `address`.
fn give_page(child: Capability, address: u64, rights: PageRights) -> Result<u64, Error> {
    let frame = syscall::frame_allocate(None)?;
    syscall::frame_grant(frame, child)?;
    syscall::page_map_into(child, address, frame, rights)?;
    Ok(frame)
}

/// The child built by hand runs the exit function; every refusal around it changes nothing.
fn check_built_child(check: &mut Checker) -> Result<(), Error> {
    let child = syscall::create_environment("exit-42")?;
    let (_, child_rights) = syscall::capability_inspect(child)?;
    check.expect("a created child's capability", child_rights, Rights::ALL);
    let entry = exit_with_status as *const () as u64;
    share_code(child, entry)?;
    check.expect(
        "the shared code page has a derived binding",
        syscall::page_query(page_of(entry)).map(|page| (page.has_derived, page.is_derived)),
        Ok((true, false)),
    );
    let stack_frame = give_page(child, CHILD_STACK, PageRights::WRITABLE)?;

    let own_frame = syscall::frame_allocate(None)?;
    check.expect(
        "bind into the child a frame it does not own",
        syscall::page_map_into(
            child,
            CHILD_STACK + PAGE_BYTES,
            own_frame,
            PageRights::WRITABLE,
        ),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "bind a frame the child owns where it has one",
        syscall::page_map_into(child, CHILD_STACK, stack_frame, PageRights::empty()),
        Err(Error::Occupied),
    );
    check.expect(
        "bind into the child at an unaligned address",
        syscall::page_map_into(child, CHILD_STACK + 1, stack_frame, PageRights::empty()),
        Err(Error::BadAddress),
    );
    check.expect(
        "bind into the child with unknown rights",
        raw(
            Syscall::PageMapInto,
            [child.0, CHILD_STACK + PAGE_BYTES, stack_frame, 1 << 7, 0],
        ),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "bind through a forged handle",
        syscall::page_map_into(
            Capability(77),
            CHILD_STACK,
            stack_frame,
            PageRights::empty(),
        ),
        Err(Error::BadCapability),
    );
    let without_share =
        syscall::capability_copy(child, Rights::GRANT | Rights::CONTROL, Capability::SELF)?;
    check.expect(
        "bind through a handle without SHARE",
        syscall::page_map_into(
            without_share,
            CHILD_STACK + PAGE_BYTES,
            stack_frame,
            PageRights::empty(),
        ),
        Err(Error::PermissionDenied),
    );
    let without_control = syscall::capability_copy(child, Rights::SHARE, Capability::SELF)?;
    check.expect(
        "start through a handle without CONTROL",
        syscall::start_environment(without_control, entry, CHILD_STACK + PAGE_BYTES, 0, 0),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "kill through a handle without CONTROL",
        syscall::kill_environment(without_control, 0),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "start at a kernel address",
        syscall::start_environment(child, KERNEL_ADDRESS, CHILD_STACK + PAGE_BYTES, 0, 0),
        Err(Error::BadAddress),
    );
    check.expect(
        "start with a kernel stack",
        syscall::start_environment(child, entry, KERNEL_ADDRESS, 0, 0),
        Err(Error::BadAddress),
    );
    check.expect(
        "bind into oneself through SELF",
        syscall::page_map_into(
            Capability::SELF,
            CHILD_STACK,
            own_frame,
            PageRights::empty(),
        ),
        Ok(()),
    );
    check.expect(
        "start",
        syscall::start_environment(child, entry, CHILD_STACK + PAGE_BYTES, 0, 0),
        Ok(()),
    );
    let second_start = syscall::start_environment(child, entry, CHILD_STACK + PAGE_BYTES, 0, 0);
    // Refused as started while the child runs, or as gone once a timer tick has let it exit.
    if second_start != Err(Error::NoSuchEnvironment) {
        check.expect("start twice", second_start, Err(Error::InvalidArgument));
    }
    check.expect(
        "the child ran the shared code and exited",
        syscall::wait(child),
        Ok(ExitReason::Exited(hand_built_child::STATUS)),
    );
    check.expect(
        "start a reaped child",
        syscall::start_environment(child, entry, 0, 0, 0),
        Err(Error::BadCapability),
    );
    check.expect(
        "bind into an ended child",
        syscall::page_map_into(without_control, CHILD_STACK, own_frame, PageRights::empty()),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "kill an ended child",
        syscall::kill_environment(without_share, 0),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "the code page has no derived binding once the child ended",
        syscall::page_query(page_of(entry)).map(|page| page.has_derived),
        Ok(false),
    );
    syscall::capability_drop(without_share)?;
    syscall::capability_drop(without_control)?;
    syscall::page_unmap(CHILD_STACK)?;
    syscall::frame_free(own_frame)?;
    Ok(())
}

/// A sleeping child is waited for without hanging, then killed; so is an unstarted one; a
/// child that kills itself ends.
fn check_kills(check: &mut Checker) -> Result<(), Error> {
    let sleeper = syscall::create_environment("sleeper")?;
    let entry = sleep_for_ever as *const () as u64;
    share_code(sleeper, entry)?;
    check.expect(
        "wait with unknown flags",
        raw(Syscall::Wait, [sleeper.0, 1 << 5, 0, 0, 0]),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "wait without hanging for an unstarted child",
        syscall::try_wait(sleeper),
        Ok(None),
    );
    syscall::start_environment(sleeper, entry, 0, 0, 0)?;
    syscall::yield_now();
    check.expect(
        "wait without hanging for a running child",
        raw(
            Syscall::Wait,
            [sleeper.0, exo_abi::WaitFlags::NO_HANG.bits(), 0, 0, 0],
        ),
        Err(Error::Unavailable),
    );
    check.expect(
        "the handle stays after waiting without hanging",
        syscall::try_wait(sleeper),
        Ok(None),
    );
    check.expect(
        "kill the running child",
        syscall::kill_environment(sleeper, 0),
        Ok(()),
    );
    check.expect(
        "kill it again before reaping it",
        syscall::kill_environment(sleeper, 0),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "the killed child is reaped without hanging",
        syscall::try_wait(sleeper),
        Ok(Some(ExitReason::Killed)),
    );

    let unstarted = syscall::create_environment("unstarted")?;
    give_page(unstarted, CHILD_STACK, PageRights::WRITABLE)?;
    check.expect(
        "kill an unstarted child",
        syscall::kill_environment(unstarted, 0),
        Ok(()),
    );
    check.expect(
        "the unstarted child was killed",
        syscall::wait(unstarted),
        Ok(ExitReason::Killed),
    );

    let suicide = syscall::spawn(NAME, "suicide")?;
    check.expect(
        "a child that kills itself",
        syscall::wait(suicide),
        Ok(ExitReason::Killed),
    );
    check.expect(
        "start oneself, spawned and running",
        syscall::start_environment(Capability::SELF, entry, 0, 0, 0),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "kill init through SELF",
        syscall::kill_environment(Capability::SELF, 1),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "kill through a forged handle",
        syscall::kill_environment(Capability(77), 0),
        Err(Error::BadCapability),
    );
    check.expect(
        "kill an environment that does not exist",
        syscall::kill_environment(Capability::SELF, 999_999),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "kill an id beyond every id",
        raw(Syscall::EnvironmentKill, [SELF, 1 << 40, 0, 0, 0]),
        Err(Error::NoSuchEnvironment),
    );
    Ok(())
}

/// `middle` makes a grandchild; `sibling`, holding a `CONTROL` copy over `middle`, kills it.
fn check_descendants(check: &mut Checker) -> Result<(), Error> {
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(MAILBOX, frame, PageRights::WRITABLE)?;
    let middle = syscall::spawn(NAME, "middle")?;
    syscall::page_share(MAILBOX, middle, MAILBOX, PageRights::WRITABLE)?;
    if !wait_until(WAIT_LIMIT, || MAILBOX_WORDS.read(0) != 0) {
        check.expect("middle made a grandchild", false, true);
        return Err(Error::Unavailable);
    }
    let grandchild = MAILBOX_WORDS.read(0) as u32;
    // Checked while `middle` cannot have ended (it waits for its child, which only the sibling
    // kills), not after the sibling is given the page: both may have ended by then.
    check.expect(
        "the mailbox is shared",
        syscall::page_query(MAILBOX).map(|page| (page.is_owned, page.has_derived)),
        Ok((true, true)),
    );
    check.expect(
        "the parent kills outside its capability's subtree",
        syscall::kill_environment(middle, syscall::environment_id()),
        Err(Error::NoSuchEnvironment),
    );
    let sibling = syscall::spawn(NAME, "sibling")?;
    let delegated = syscall::capability_copy(middle, Rights::CONTROL, sibling)?;
    MAILBOX_WORDS.write(1, delegated.0);
    syscall::page_share(MAILBOX, sibling, MAILBOX, PageRights::WRITABLE)?;
    check.expect(
        "the sibling did its checks",
        syscall::wait(sibling),
        Ok(ExitReason::Exited(0)),
    );
    check.expect(
        "middle saw its child killed",
        syscall::wait(middle),
        Ok(ExitReason::Exited(0)),
    );
    check.expect(
        "the grandchild is gone",
        syscall::kill_environment(Capability::SELF, grandchild),
        Err(Error::NoSuchEnvironment),
    );
    syscall::page_unmap(MAILBOX)?;
    syscall::frame_free(frame)?;
    Ok(())
}

/// `middle`: makes an unstarted child, tells the parent its id, and waits for it to be killed.
fn middle() -> i32 {
    if !wait_until(WAIT_LIMIT, || syscall::page_query(MAILBOX).is_ok()) {
        return 2;
    }
    let Ok(grandchild) = syscall::create_environment("grandchild") else {
        return 3;
    };
    let Ok((id, _)) = syscall::capability_inspect(grandchild) else {
        return 3;
    };
    MAILBOX_WORDS.write(0, u64::from(id));
    match syscall::wait(grandchild) {
        Ok(ExitReason::Killed) => 0,
        _ => 1,
    }
}

/// `sibling`: kills its sibling's child through the copy it was given, and nothing else.
fn sibling() -> i32 {
    let mut check = Checker::new(NAME);
    if !wait_until(WAIT_LIMIT, || syscall::page_query(MAILBOX).is_ok()) {
        return 2;
    }
    let over_middle = Capability(MAILBOX_WORDS.read(1));
    let grandchild = MAILBOX_WORDS.read(0) as u32;
    let (parent, _) =
        syscall::capability_inspect(Capability::PARENT).unwrap_or((0, Rights::empty()));
    let mailbox = syscall::page_query(MAILBOX);
    check.expect(
        "a shared page is derived and not owned",
        mailbox.map(|page| (page.is_owned, page.is_derived, page.has_derived)),
        Ok((false, true, false)),
    );
    check.expect(
        "kill a non-descendant (the parent)",
        syscall::kill_environment(over_middle, parent),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "kill a non-descendant (itself)",
        syscall::kill_environment(over_middle, syscall::environment_id()),
        Err(Error::NoSuchEnvironment),
    );
    check.expect(
        "kill init",
        syscall::kill_environment(over_middle, 1),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "kill through PARENT, which only grants",
        syscall::kill_environment(Capability::PARENT, 0),
        Err(Error::PermissionDenied),
    );
    check.expect(
        "start through the copy an environment that runs",
        syscall::start_environment(over_middle, 0x1000, 0, 0, 0),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "kill the grandchild through the copy",
        syscall::kill_environment(over_middle, grandchild),
        Ok(()),
    );
    check.failures().min(1) as i32
}

/// A child that kills itself; the kill does not return.
fn suicide() -> i32 {
    let _ = syscall::kill_environment(Capability::SELF, 0);
    1
}

/// `PageQuery` flags through sharing and flushing.
fn check_query_flags(check: &mut Checker) -> Result<(), Error> {
    let frame = syscall::frame_allocate(None)?;
    syscall::page_map(PAGE, frame, PageRights::WRITABLE)?;
    let alone = PageInfo {
        frame,
        rights: PageRights::WRITABLE,
        is_owned: true,
        has_derived: false,
        is_derived: false,
    };
    check.expect("a page of one's own", syscall::page_query(PAGE), Ok(alone));
    syscall::page_share(PAGE, Capability::SELF, ALIAS, PageRights::empty())?;
    check.expect(
        "a page shared on",
        syscall::page_query(PAGE),
        Ok(PageInfo {
            has_derived: true,
            ..alone
        }),
    );
    check.expect(
        "the alias derived from it",
        syscall::page_query(ALIAS),
        Ok(PageInfo {
            rights: PageRights::empty(),
            is_derived: true,
            ..alone
        }),
    );
    syscall::page_flush(PAGE)?;
    check.expect(
        "the page after a flush",
        syscall::page_query(PAGE),
        Ok(alone),
    );
    syscall::frame_free(frame)?;
    Ok(())
}

/// `PageList`: in address order, from an address, below an end, by count.
fn check_page_list(check: &mut Checker) -> Result<(), Error> {
    let rights_of = |index: usize| {
        if index == 1 {
            PageRights::empty()
        } else {
            PageRights::WRITABLE
        }
    };
    let mut frames = [0; LIST_PAGES.len()];
    for (index, page) in LIST_PAGES.iter().enumerate() {
        frames[index] = syscall::frame_allocate(None)?;
        syscall::page_map(
            LIST_BASE + page * PAGE_BYTES,
            frames[index],
            rights_of(index),
        )?;
    }
    let expected: [PageBinding; 3] = core::array::from_fn(|index| PageBinding {
        page_address: LIST_BASE + LIST_PAGES[index] * PAGE_BYTES,
        frame: frames[index],
        rights: rights_of(index).bits() | PageFlags::OWNED.bits(),
    });
    let mut buffer = [PageBinding::default(); exo_abi::PAGE_BATCH_MAX as usize];
    let count = syscall::page_list(&mut buffer, LIST_BASE..u64::MAX)?;
    check.expect(
        "list from the first page",
        (count >= 3).then(|| &buffer[..3]),
        Some(&expected[..]),
    );
    check.expect(
        "list at most two",
        syscall::page_list(&mut buffer[..2], LIST_BASE..u64::MAX)
            .map(|count| (count, buffer[..2] == expected[..2])),
        Ok((2, true)),
    );
    check.expect(
        "list none",
        syscall::page_list(&mut buffer[..0], LIST_BASE..u64::MAX),
        Ok(0),
    );
    let count = syscall::page_list(&mut buffer[..1], LIST_BASE + 1..u64::MAX)?;
    check.expect(
        "list from inside a page starts at the next",
        (count, buffer[0]),
        (1, expected[1]),
    );
    let count = syscall::page_list(&mut buffer[..1], LIST_BASE + 6 * PAGE_BYTES..u64::MAX)?;
    check.expect(
        "list past the listed pages",
        count == 0 || buffer[0].page_address > expected[2].page_address,
        true,
    );
    let count = syscall::page_list(&mut buffer, LIST_BASE..LIST_BASE + 5 * PAGE_BYTES)?;
    check.expect(
        "list below an end address",
        (count, buffer[..2] == expected[..2]),
        (2, true),
    );
    let count = syscall::page_list(&mut buffer, LIST_BASE + 1..LIST_BASE + 5 * PAGE_BYTES + 1)?;
    check.expect(
        "list to an end inside a page takes that page",
        (count, buffer[..2] == expected[1..]),
        (2, true),
    );
    let count =
        syscall::page_list_with_rights(&mut buffer, LIST_BASE..u64::MAX, PageRights::WRITABLE)?;
    check.expect(
        "list only the writable bindings",
        (
            count >= 2,
            buffer[0] == expected[0],
            buffer[1] == expected[2],
        ),
        (true, true, true),
    );
    check.expect(
        "list writable bindings where only a read-only one lies",
        syscall::page_list_with_rights(
            &mut buffer,
            LIST_BASE + PAGE_BYTES..LIST_BASE + 5 * PAGE_BYTES,
            PageRights::WRITABLE,
        ),
        Ok(0),
    );
    let count = syscall::page_list_with_rights(
        &mut buffer[..1],
        LIST_BASE + 1..LIST_BASE + 5 * PAGE_BYTES + 1,
        PageRights::WRITABLE,
    )?;
    check.expect(
        "list writable bindings past a read-only one",
        (count, buffer[0]),
        (1, expected[2]),
    );
    check.expect(
        "list executable bindings among data pages",
        syscall::page_list_with_rights(
            &mut buffer,
            LIST_BASE..LIST_BASE + 6 * PAGE_BYTES,
            PageRights::EXECUTABLE,
        ),
        Ok(0),
    );
    check.expect(
        "list with unknown rights bits",
        raw(
            Syscall::PageList,
            [
                buffer.as_mut_ptr() as u64,
                buffer.len() as u64,
                LIST_BASE,
                u64::MAX,
                1 << 40,
            ],
        ),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "list a range that ends before it starts",
        raw(
            Syscall::PageList,
            [
                buffer.as_mut_ptr() as u64,
                buffer.len() as u64,
                LIST_BASE + 2 * PAGE_BYTES,
                LIST_BASE,
                0,
            ],
        ),
        Ok(0),
    );
    check.expect(
        "list from the end of the user half",
        syscall::page_list(&mut buffer, exo_abi::USER_END..u64::MAX),
        Ok(0),
    );
    check.expect(
        "list into the kernel half",
        raw(Syscall::PageList, [KERNEL_ADDRESS, 4, 0, u64::MAX, 0]),
        Err(Error::BadAddress),
    );
    check.expect(
        "list into read-only code",
        raw(
            Syscall::PageList,
            [exit_with_status as *const () as u64, 1, 0, u64::MAX, 0],
        ),
        Err(Error::BadAddress),
    );
    check_whole_list(check, &expected)?;
    for (index, page) in LIST_PAGES.iter().enumerate() {
        syscall::page_unmap(LIST_BASE + page * PAGE_BYTES)?;
        syscall::frame_free(frames[index])?;
    }
    Ok(())
}

/// Pages through every binding: strictly ascending, the code executable, the listed pages in.
fn check_whole_list(check: &mut Checker, expected: &[PageBinding]) -> Result<(), Error> {
    let mut buffer = [PageBinding::default(); exo_abi::PAGE_BATCH_MAX as usize];
    let code = page_of(exit_with_status as *const () as u64);
    let (mut from, mut previous, mut total, mut found) = (0, None, 0, 0);
    let mut is_ascending = true;
    let mut code_rights = None;
    loop {
        let count = syscall::page_list(&mut buffer, from..u64::MAX)?;
        for binding in &buffer[..count] {
            is_ascending &= previous.is_none_or(|previous| binding.page_address > previous);
            previous = Some(binding.page_address);
            found += usize::from(expected.contains(binding));
            if binding.page_address == code {
                code_rights = Some(PageInfo::from_binding(binding).rights);
            }
        }
        total += count;
        if count < buffer.len() {
            break;
        }
        from = buffer[count - 1].page_address + PAGE_BYTES;
    }
    check.expect("the whole list ascends", is_ascending, true);
    check.expect(
        "the whole list holds the listed pages",
        found,
        expected.len(),
    );
    check.expect(
        "the code page is listed executable",
        code_rights.map(|rights| rights & PageRights::EXECUTABLE),
        Some(PageRights::EXECUTABLE),
    );
    check.expect("the whole list is longer than a batch", total > 16, true);
    Ok(())
}

/// `ConsoleRead` with nothing typed, and its refusals.
fn check_console(check: &mut Checker) {
    let mut buffer = [0u8; 16];
    check.expect(
        "read the console without blocking",
        syscall::console_read(&mut buffer, true),
        Ok(0),
    );
    check.expect(
        "read nothing, blocking",
        syscall::console_read(&mut buffer[..0], false),
        Ok(0),
    );
    let address = buffer.as_mut_ptr() as u64;
    let nonblocking = exo_abi::ConsoleReadFlags::NONBLOCKING.bits();
    check.expect(
        "read with unknown flags",
        raw(Syscall::ConsoleRead, [address, 16, 1 << 3, 0, 0]),
        Err(Error::InvalidArgument),
    );
    check.expect(
        "read too much",
        raw(
            Syscall::ConsoleRead,
            [
                address,
                exo_abi::CONSOLE_READ_MAX_BYTES + 1,
                nonblocking,
                0,
                0,
            ],
        ),
        Err(Error::TooLong),
    );
    check.expect(
        "read into the kernel half",
        raw(
            Syscall::ConsoleRead,
            [KERNEL_ADDRESS, 16, nonblocking, 0, 0],
        ),
        Err(Error::BadAddress),
    );
    check.expect(
        "read into read-only code",
        raw(
            Syscall::ConsoleRead,
            [exit_with_status as *const () as u64, 16, 0, 0, 0],
        ),
        Err(Error::BadAddress),
    );
}

/// `EnvironmentCreate`'s refusals.
fn check_create_refusals(check: &mut Checker) {
    let long = [b'a'; exo_abi::PROGRAM_NAME_MAX_BYTES as usize + 1];
    check.expect(
        "create with a name too long",
        raw(
            Syscall::EnvironmentCreate,
            [long.as_ptr() as u64, long.len() as u64, 0, 0, 0],
        ),
        Err(Error::TooLong),
    );
    check.expect(
        "create with a kernel name",
        raw(Syscall::EnvironmentCreate, [KERNEL_ADDRESS, 4, 0, 0, 0]),
        Err(Error::BadAddress),
    );
    let not_utf8 = [0xFF, 0xFE];
    check.expect(
        "create with a name that is not UTF-8",
        raw(
            Syscall::EnvironmentCreate,
            [not_utf8.as_ptr() as u64, 2, 0, 0, 0],
        ),
        Err(Error::InvalidArgument),
    );
}

fn parent() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    check_built_child(&mut check)?;
    check_kills(&mut check)?;
    check_descendants(&mut check)?;
    check_query_flags(&mut check)?;
    check_page_list(&mut check)?;
    check_console(&mut check);
    check_create_refusals(&mut check);
    Ok(check.failures())
}

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "middle" => middle(),
        "sibling" => sibling(),
        "suicide" => suicide(),
        _ => report_run(NAME, parent()),
    }
}
