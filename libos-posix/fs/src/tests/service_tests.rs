//! The file system as a service: a request sent through its wire form (words and a page) and
//! performed by a server does exactly what it does performed in place, and hostile words and
//! pages are refused without harm.

use super::new_file_system;
use crate::service::{
    DirectoryEntries, END_OF_DIRECTORY, PAGE_BYTES, Page, Received, Reply, Request, decode_reply,
    encode, encode_reply, open, perform,
};
use crate::{Errno, FsError};
use alloc::string::String;
use alloc::vec;

/// Sends `request` through the wire to a server that performs it on `server_fs`, as a file
/// server does; returns the reply and the page as the client then sees it.
fn remote(
    server_fs: &mut super::TestFileSystem,
    request: &Request<'_>,
    page: &mut Page,
) -> Result<Reply, Errno> {
    let words = encode(request, page)?;
    let mut received = Received::default();
    let reply = received
        .decode(words, page)
        .and_then(|request| perform(server_fs, request).map_err(Errno::from));
    decode_reply(request, encode_reply(reply))
}

#[test]
fn every_request_answers_the_same_in_place_and_through_the_wire() {
    let mut local = new_file_system(512);
    let mut server = new_file_system(512);
    let mut page: Page = [0; PAGE_BYTES];
    let mut local_page: Page = [0; PAGE_BYTES];
    let create = open::CREATE | open::WRITES;
    // The same sequence on both: each reply compared.
    macro_rules! same {
        ($request:expr) => {{
            let in_place = perform(&mut local, $request).map_err(Errno::from);
            let through_wire = remote(&mut server, &$request, &mut page);
            assert_eq!(in_place, through_wire, "{:?}", stringify!($request));
            through_wire
        }};
    }
    let file = same!(Request::Open {
        path: "/a",
        options: create
    })
    .expect("made");
    assert_eq!(
        same!(Request::Open {
            path: "/a",
            options: open::CREATE_NEW
        }),
        Err(Errno::Exists)
    );
    let Reply::Inode(inode) = file else {
        panic!("an inode: {file:?}")
    };
    let data = vec![7u8; 3000];
    assert_eq!(
        same!(Request::Write {
            inode,
            offset: 100,
            bytes: &data
        }),
        Ok(Reply::Count(3000))
    );
    let mut local_buffer = [0u8; 200];
    let in_place = perform(
        &mut local,
        Request::Read {
            inode,
            offset: 3000,
            buffer: &mut local_buffer,
        },
    );
    let wire_request = Request::Read {
        inode,
        offset: 3000,
        buffer: &mut [0u8; 200],
    };
    let through_wire = remote(&mut server, &wire_request, &mut page);
    assert_eq!(in_place.map_err(Errno::from), through_wire);
    assert_eq!(
        &page[..100],
        &local_buffer[..100],
        "the data came back in the page"
    );
    assert!(
        matches!(same!(Request::Metadata { path: "/a" }), Ok(Reply::Metadata(m)) if m.size == 3100)
    );
    same!(Request::MetadataOf { inode }).expect("described");
    same!(Request::SetLen { inode, size: 10 }).expect("cut");
    same!(Request::Fsync { inode }).expect("synced");
    same!(Request::CreateDir { path: "/d" }).expect("made");
    same!(Request::Open {
        path: "/d/x",
        options: create
    })
    .expect("made");
    assert_eq!(
        same!(Request::Open {
            path: "/d",
            options: open::WRITES
        }),
        Err(Errno::IsADirectory)
    );
    same!(Request::Rename {
        from: "/d/x",
        to: "/d/y"
    })
    .expect("renamed");
    assert_eq!(
        same!(Request::RemoveDir { path: "/d" }),
        Err(Errno::NotEmpty)
    );
    let in_place = perform(
        &mut local,
        Request::ReadDir {
            path: "/d",
            cursor: 0,
            entries: &mut local_page,
        },
    );
    let wire_request = Request::ReadDir {
        path: "/d",
        cursor: 0,
        entries: &mut [0; PAGE_BYTES],
    };
    let through_wire = remote(&mut server, &wire_request, &mut page);
    assert_eq!(in_place.map_err(Errno::from), through_wire);
    let Ok(Reply::Entries {
        count: 1,
        next: END_OF_DIRECTORY,
    }) = through_wire
    else {
        panic!("one entry: {through_wire:?}")
    };
    let listed = DirectoryEntries::read(&page, 1);
    assert_eq!(listed, DirectoryEntries::read(&local_page, 1));
    assert_eq!(String::from_utf8_lossy(&listed[0].name), "y");
    same!(Request::RemoveFile { path: "/d/y" }).expect("removed");
    same!(Request::RemoveDir { path: "/d" }).expect("removed");
    same!(Request::Sync).expect("synced");
    same!(Request::Space).expect("told");
    same!(Request::Touch).expect("nothing");
    assert_eq!(
        same!(Request::RemoveFile { path: "/nothing" }),
        Err(Errno::NotFound)
    );
}

#[test]
fn a_directory_longer_than_a_page_is_listed_a_page_at_a_time() {
    let mut fs = new_file_system(1024);
    fs.mkdir("/many").expect("made");
    let name = |index: usize| alloc::format!("/many/{index:0>200}");
    for index in 0..60 {
        fs.create(name(index)).expect("made");
    }
    let mut page: Page = [0; PAGE_BYTES];
    let (mut cursor, mut listed) = (0, 0);
    while cursor != END_OF_DIRECTORY {
        let reply = perform(
            &mut fs,
            Request::ReadDir {
                path: "/many",
                cursor,
                entries: &mut page,
            },
        );
        let Ok(Reply::Entries { count, next }) = reply else {
            panic!("{reply:?}")
        };
        assert!(count > 0 || next == END_OF_DIRECTORY);
        listed += DirectoryEntries::read(&page, count).len();
        cursor = next;
    }
    assert_eq!(listed, 60);
}

#[test]
fn hostile_words_and_pages_are_refused_or_harmless() {
    let mut fs = new_file_system(512);
    let mut page: Page = [0xFF; PAGE_BYTES];
    let mut received = Received::default();
    for words in [
        [0, 0, 0, 0],
        [99, 0, 0, 0],
        [u64::MAX, u64::MAX, u64::MAX, u64::MAX],
        [1, 0, PAGE_BYTES as u64 + 1, 0],
        [1, 0, u64::MAX, 0],
        [4, 1, 0, PAGE_BYTES as u64 + 1],
        [5, 1, 0, u64::MAX],
        [12, PAGE_BYTES as u64, 1, 0],
        [12, u64::MAX, u64::MAX, 0],
    ] {
        if let Ok(request) = received.decode(words, &mut page) {
            panic!("{words:?} decoded as {request:?}");
        }
    }
    // Bytes that are no text, or no absolute path: an error, never a panic.
    let words = [1, open::CREATE, 8, 0];
    let request = received.decode(words, &mut page);
    assert_eq!(request.err(), Some(Errno::InvalidArgument));
    page[..3].copy_from_slice(b"rel");
    let request = received
        .decode([1, open::CREATE, 3, 0], &mut page)
        .expect("text");
    assert!(perform(&mut fs, request).is_err());
    let request = received
        .decode([1, 1 << 20, 3, 0], &mut page)
        .expect("text");
    assert_eq!(
        perform(&mut fs, request).err(),
        Some(FsError::InvalidArgument)
    );
    // A reply a hostile server sends: an unknown error code reads as an I/O error.
    assert_eq!(
        decode_reply(&Request::Sync, [1 << 40, 0, 0, 0]),
        Err(Errno::Io)
    );
    // A page of entries that claims more than it holds gives what it holds.
    let count = DirectoryEntries::read(&page, u64::MAX).len();
    assert!(count < PAGE_BYTES);
}
