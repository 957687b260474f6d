//! A hostile client of the file server. The parent starts a file server and a world whose
//! files it serves (the microkernel path), writes a file, and runs this program again as a
//! `child` that sends the server malformed requests (unknown operations, lengths past its
//! page, a second connection without a page, granted reads and writes with a grant missing,
//! too small, read-only or over nothing) and finally unbinds its own transfer page under the
//! server's window and calls again; malformed pipe requests go the same way. Each is
//! answered with an error; the server keeps serving: the parent reads its file back and a
//! second child does too. Last, a `reader` child blocked in the server on an empty pipe is
//! killed, and the server forgets its end: a write finds nobody to read.
//! Run without arguments. Exits 0 when every check passed.
#![no_std]
#![no_main]

use exo_abi::Error;
use exo_abi::capability::Rights;
use exo_abi::ipc::GrantFlags;
use libos_posix::descriptors::{self, Descriptor};
use libos_posix::file_client::CONNECT;
use libos_posix::files::{self, File};
use libos_posix::layout::TRANSFER_PAGE;
use libos_posix::process::{self, Stdio};
use libos_posix::syscall::{self, Capability};
use libos_posix::{Errno, ExitReason, pipe_service, servers, world};
use posix_fs::service::{self, PAGE_BYTES, Request};
use test_support::checks::{Checker, report_run};

libos_posix::main!(main);

const NAME: &str = "hostile-file-client";
const PROGRAM: &str = "/tests/hostile-file-client";
const FILE: &str = "/hostile-file";

/// This process's handle to call the file server.
fn server_handle() -> Option<Capability> {
    let endpoint = world::get()?.file_server()?;
    syscall::capability_find(|id, rights| {
        u64::from(id) == endpoint && rights.contains(Rights::CALL)
    })
}

/// The error the server answered `words` with, if it answered one.
fn refused(handle: Capability, words: [u64; 4]) -> Option<Errno> {
    match syscall::endpoint_call(handle, words) {
        Ok([0, ..]) => None,
        Ok([code, ..]) => Some(Errno::from_code(code).unwrap_or(Errno::Io)),
        Err(_) => Some(Errno::Io),
    }
}

fn child() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    // Connect the library's way first.
    check.expect("a first honest call", files::metadata("/").is_ok(), true);
    let handle = server_handle().ok_or(Error::NotFound)?;
    let mut page = [0u8; PAGE_BYTES];
    let honest = service::encode(&Request::Metadata { path: "/" }, &mut page)
        .map_err(|_| Error::InvalidArgument)?;
    for (what, words) in [
        ("no operation", [0, 0, 0, 0]),
        ("an unknown operation", [99, 1, 2, 3]),
        ("every bit set", [u64::MAX; 4]),
        (
            "a path past the page",
            [honest[0], 0, PAGE_BYTES as u64 + 1, 0],
        ),
        ("a path of 2^64 - 1 bytes", [honest[0], 0, u64::MAX, 0]),
        ("a second connection without a page", [CONNECT, 0, 0, 0]),
    ] {
        check.expect(what, refused(handle, words).is_some(), true);
    }
    check_granted_requests(&mut check, handle)?;
    // Pipes are the file server's too: malformed pipe requests are refused.
    let (read_end, write_end) = descriptors::pipe().map_err(|_| Error::NoMemory)?;
    let id = match descriptors::get(read_end) {
        Ok(Descriptor::PipeRead(id)) => u64::from(id),
        _ => return Err(Error::NotFound),
    };
    for (what, words, expected) in [
        (
            "read 0 bytes of a pipe",
            [pipe_service::READ, id, 0, 0],
            Errno::InvalidArgument,
        ),
        (
            "read past the page",
            [pipe_service::READ, id, PAGE_BYTES as u64 + 1, 0],
            Errno::InvalidArgument,
        ),
        (
            "read pipe 5000",
            [pipe_service::READ, 5000, 1, 0],
            Errno::BadDescriptor,
        ),
        (
            "read pipe 2^64 - 1",
            [pipe_service::READ, u64::MAX, 1, 0],
            Errno::BadDescriptor,
        ),
        (
            "hold end 7 of a pipe",
            [pipe_service::HOLD, id, 7, 0],
            Errno::InvalidArgument,
        ),
        (
            "hold for pid 2^64 - 1",
            [pipe_service::HOLD, id, 0, u64::MAX],
            Errno::NoSuchProcess,
        ),
    ] {
        check.expect(what, refused(handle, words), Some(expected));
    }
    let _ = descriptors::close(read_end);
    check.expect(
        "write to a pipe nobody reads",
        descriptors::write(write_end, b"lost"),
        Err(Errno::BrokenPipe),
    );
    let _ = descriptors::close(write_end);

    // The transfer page goes from under the server's window: the next call is refused, and the
    // server forgets this client.
    syscall::page_unmap(TRANSFER_PAGE)?;
    check.expect(
        "a call after unbinding the transfer page",
        refused(handle, honest),
        Some(Errno::Io),
    );
    check.expect(
        "a call after being forgotten",
        refused(handle, honest),
        Some(Errno::PermissionDenied),
    );
    Ok(check.failures())
}

/// Granted reads and writes whose grant is missing, too small, read-only, over nothing, or
/// whose length is absurd: each refused, the file untouched (the parent reads it back).
fn check_granted_requests(check: &mut Checker, handle: Capability) -> Result<(), Error> {
    let inode = files::metadata(FILE).map_err(|_| Error::NotFound)?.inode;
    let mut buffer = [0u8; 12];
    let read = service::granted_words(&Request::Read {
        inode,
        offset: 0,
        buffer: &mut buffer,
    })
    .ok_or(Error::InvalidArgument)?;
    let write = service::granted_words(&Request::Write {
        inode,
        offset: 0,
        bytes: b"overwritten!",
    })
    .ok_or(Error::InvalidArgument)?;
    check.expect(
        "a granted read with no grant",
        refused(handle, read),
        Some(Errno::BadAddress),
    );
    syscall::endpoint_grant(&raw const buffer[..4], GrantFlags::WRITABLE)?;
    check.expect(
        "a read past its grant",
        refused(handle, read),
        Some(Errno::BadAddress),
    );
    let code = core::ptr::slice_from_raw_parts(main as *const u8, 12);
    syscall::endpoint_grant(code, GrantFlags::WRITABLE)?;
    check.expect(
        "a read into its own code",
        refused(handle, read),
        Some(Errno::BadAddress),
    );
    let nothing = core::ptr::slice_from_raw_parts(0x7000_0000_0000 as *const u8, 12);
    syscall::endpoint_grant(nothing, GrantFlags::empty())?;
    check.expect(
        "a write from nothing",
        refused(handle, write),
        Some(Errno::BadAddress),
    );
    syscall::endpoint_grant(&raw const buffer, GrantFlags::empty())?;
    check.expect(
        "a read into a read-only grant",
        refused(handle, read),
        Some(Errno::BadAddress),
    );
    let [operation, ..] = read;
    for (what, length) in [
        (
            "a read past the most one call moves",
            service::GRANTED_BYTES_MAX as u64 + 1,
        ),
        ("a read of 2^64 - 1 bytes", u64::MAX),
    ] {
        syscall::endpoint_grant(&raw const buffer, GrantFlags::WRITABLE)?;
        check.expect(
            what,
            refused(handle, [operation, inode, 0, length]),
            Some(Errno::InvalidArgument),
        );
    }
    Ok(())
}

fn parent() -> Result<u32, Error> {
    let mut check = Checker::new(NAME);
    let servers = servers::start().map_err(|_| Error::NotFound)?;
    world::start_as_root_served(NAME, &servers).map_err(|_| Error::NotFound)?;
    let written = File::create(FILE).and_then(|file| file.write(b"still served"));
    check.expect("write a file", written, Ok(12));
    for round in ["child", "child"] {
        let outcome =
            process::spawn(PROGRAM, &[NAME, round], Stdio::INHERIT).and_then(process::wait);
        check.expect(
            "the hostile child ran its checks",
            outcome,
            Ok(ExitReason::Exited(0)),
        );
        check.expect(
            "the server still serves",
            files::read_all(FILE).ok().as_deref() == Some(b"still served".as_slice()),
            true,
        );
    }
    check.expect("remove the file", files::remove_file(FILE), Ok(()));

    // A reader blocked in the server on an empty pipe is killed: the server forgets it and
    // its end, so a write finds nobody to read.
    let (read_end, write_end) = descriptors::pipe().map_err(|_| Error::NoMemory)?;
    let reader_stdio = Stdio {
        stdin: read_end,
        ..Stdio::INHERIT
    };
    let reader = process::spawn(PROGRAM, &[NAME, "reader"], reader_stdio);
    let _ = descriptors::close(read_end);
    syscall::sleep(100_000);
    if let Ok(reader) = reader {
        let pid = reader.pid();
        check.expect("kill the blocked reader", process::kill(pid), Ok(()));
        check.expect(
            "the blocked reader's end",
            process::wait(reader),
            Ok(ExitReason::Killed),
        );
    } else {
        check.expect("start the reader", reader.map(|_| ()), Ok(()));
    }
    check.expect(
        "write after the reader was killed",
        descriptors::write(write_end, b"lost"),
        Err(Errno::BrokenPipe),
    );
    let _ = descriptors::close(write_end);
    check.expect(
        "the server still serves",
        files::metadata("/").is_ok(),
        true,
    );
    Ok(check.failures())
}

fn main(args: libos_posix::Args) -> i32 {
    match args.as_str() {
        "child" => report_run(NAME, child()),
        "reader" => {
            // Blocks in the server until it is killed.
            let mut buffer = [0u8; 16];
            let _ = descriptors::read(descriptors::STDIN, &mut buffer);
            1
        }
        _ => report_run(NAME, parent()),
    }
}
