//! The file system as a service: a request sent through its wire form (words and a page) and
//! performed by a server does exactly what it does performed in place, and hostile words and
//! pages are refused without harm.

use super::new_file_system;
use crate::service::{
    DirectoryEntries, END_OF_DIRECTORY, GRANTED_BYTES_MAX, Grant, PAGE_BYTES, Page, Received,
    Reply, Request, decode_reply, encode, encode_reply, granted_words, is_granted, open, perform,
    perform_granted,
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

/// A client's granted bytes, in memory; refuses every copy once `refusing`.
struct MemoryGrant {
    bytes: Vec<u8>,
    refusing: bool,
}

impl Grant for MemoryGrant {
    fn copy_in(&mut self, offset: usize, bytes: &[u8]) -> Result<(), FsError> {
        let target = self
            .bytes
            .get_mut(offset..offset + bytes.len())
            .filter(|_| !self.refusing)
            .ok_or(FsError::BadBuffer)?;
        target.copy_from_slice(bytes);
        Ok(())
    }

    fn copy_out(&mut self, offset: usize, bytes: &mut [u8]) -> Result<(), FsError> {
        let source = self
            .bytes
            .get(offset..offset + bytes.len())
            .filter(|_| !self.refusing)
            .ok_or(FsError::BadBuffer)?;
        bytes.copy_from_slice(source);
        Ok(())
    }
}

#[test]
fn granted_reads_and_writes_move_the_data_between_the_cache_and_the_grant() {
    let mut fs = new_file_system(512);
    let inode = u64::from(fs.create("/f").unwrap().0);
    let data: Vec<u8> = (0..3 * PAGE_BYTES + 7)
        .map(|index| (index % 251) as u8)
        .collect();
    let mut source = vec![0; data.len()];
    source.copy_from_slice(&data);
    let write = Request::Write {
        inode,
        offset: 10,
        bytes: &source,
    };
    let words = granted_words(&write).expect("a write is granted");
    assert!(is_granted(words));
    let mut grant = MemoryGrant {
        bytes: data.clone(),
        refusing: false,
    };
    assert_eq!(
        perform_granted(&mut fs, words, &mut grant),
        Ok(Reply::Count(data.len() as u64))
    );
    let mut buffer = vec![0; data.len() + 100];
    let read = Request::Read {
        inode,
        offset: 10,
        buffer: &mut buffer,
    };
    let words = granted_words(&read).expect("a read is granted");
    let mut grant = MemoryGrant {
        bytes: vec![0xEE; data.len() + 100],
        refusing: false,
    };
    assert_eq!(
        perform_granted(&mut fs, words, &mut grant),
        Ok(Reply::Count(data.len() as u64)),
        "short at the end of the file"
    );
    assert_eq!(&grant.bytes[..data.len()], &data[..]);
    assert!(grant.bytes[data.len()..].iter().all(|&byte| byte == 0xEE));
    // A grant that takes nothing: the client's bad address, reported as such.
    grant.refusing = true;
    let refused = perform_granted(&mut fs, words, &mut grant);
    assert_eq!(refused, Err(FsError::BadBuffer));
    assert_eq!(
        encode_reply(refused.map_err(Errno::from))[0],
        Errno::BadAddress.code()
    );
}

#[test]
fn granted_words_are_only_for_data_and_never_too_long() {
    let mut huge = vec![0; GRANTED_BYTES_MAX + 1];
    let too_long = Request::Read {
        inode: 1,
        offset: 0,
        buffer: &mut huge,
    };
    assert_eq!(granted_words(&too_long), None);
    assert_eq!(granted_words(&Request::Sync), None);
    let mut fs = new_file_system(512);
    let mut grant = MemoryGrant {
        bytes: vec![0; 16],
        refusing: false,
    };
    let words = [16, 1, 0, GRANTED_BYTES_MAX as u64 + 1];
    assert!(is_granted(words));
    assert_eq!(
        perform_granted(&mut fs, words, &mut grant),
        Err(FsError::InvalidArgument)
    );
    assert!(!is_granted([4, 1, 0, 16]), "a read through the page");
    assert_eq!(
        perform_granted(&mut fs, [4, 1, 0, 16], &mut grant),
        Err(FsError::InvalidArgument)
    );
    assert_eq!(
        perform_granted(&mut fs, [16, 9999, 0, 16], &mut grant),
        Err(FsError::InvalidArgument),
        "no such inode"
    );
}

/// Every name under `directory` with its file's bytes (a directory's entries follow it).
fn tree(fs: &mut super::TestFileSystem, directory: &str) -> Vec<(String, Vec<u8>)> {
    let mut listed = Vec::new();
    let mut page: Page = [0; PAGE_BYTES];
    let Ok(Reply::Entries { count, .. }) = perform(
        fs,
        Request::ReadDir {
            path: directory,
            cursor: 0,
            entries: &mut page,
        },
    ) else {
        panic!("{directory} lists")
    };
    for entry in DirectoryEntries::read(&page, count) {
        let path = alloc::format!(
            "{}/{}",
            directory.trim_end_matches('/'),
            String::from_utf8_lossy(&entry.name)
        );
        if entry.is_directory {
            listed.push((path.clone(), Vec::new()));
            listed.extend(tree(fs, &path));
            continue;
        }
        let mut bytes = vec![0u8; PAGE_BYTES];
        let Ok(Reply::Count(read)) = perform(
            fs,
            Request::Read {
                inode: entry.inode,
                offset: 0,
                buffer: &mut bytes,
            },
        ) else {
            panic!("{path} reads")
        };
        bytes.truncate(read as usize);
        listed.push((path, bytes));
    }
    listed
}

#[test]
fn a_request_that_says_it_changes_no_file_leaves_every_name_and_byte_as_it_was() {
    let mut fs = new_file_system(512);
    let create = open::CREATE | open::WRITES;
    let Ok(Reply::Inode(inode)) = perform(
        &mut fs,
        Request::Open {
            path: "/a",
            options: create,
        },
    ) else {
        panic!("made")
    };
    let mut buffer = [0u8; 64];
    let mut page: Page = [0; PAGE_BYTES];
    let requests = [
        Request::Write {
            inode,
            offset: 0,
            bytes: b"program",
        },
        Request::Open {
            path: "/a",
            options: open::WRITES,
        },
        Request::Open {
            path: "/a",
            options: open::WRITES | open::TRUNCATE,
        },
        Request::Write {
            inode,
            offset: 3,
            bytes: b"gram",
        },
        Request::Read {
            inode,
            offset: 0,
            buffer: &mut buffer,
        },
        Request::Metadata { path: "/a" },
        Request::MetadataOf { inode },
        Request::SetLen { inode, size: 2 },
        Request::Fsync { inode },
        Request::CreateDir { path: "/d" },
        Request::Open {
            path: "/d/b",
            options: create,
        },
        Request::Open {
            path: "/d/b",
            options: open::CREATE,
        },
        Request::ReadDir {
            path: "/d",
            cursor: 0,
            entries: &mut page,
        },
        Request::Rename {
            from: "/a",
            to: "/d/b",
        },
        Request::RemoveFile { path: "/d/b" },
        Request::RemoveDir { path: "/d" },
        Request::Sync,
        Request::Space,
        Request::Touch,
    ];
    let mut changes_seen = 0;
    for request in requests {
        let says_it_may = request.may_change_files();
        let described = alloc::format!("{request:?}");
        let before = tree(&mut fs, "/");
        perform(&mut fs, request).expect(&described);
        let changed = tree(&mut fs, "/") != before;
        assert!(
            says_it_may || !changed,
            "{described} changed files unannounced"
        );
        changes_seen += usize::from(changed);
    }
    // The sequence does change files, and each kind that says so is among them.
    assert_eq!(changes_seen, 9);
}
