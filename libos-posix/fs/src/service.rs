//! The file system as a service: each operation a library OS makes on its file system, as a
//! [`Request`] that [`perform`] carries out on a mounted [`FileSystem`], and its wire form for a
//! file server in another environment: four words of a message (the operation and its
//! numbers, [`encode`] and [`Received::decode`]) and one shared page for the bytes (paths, directory
//! entries, and file data when it fits). A client may instead grant its own buffer for a read
//! or a write ([`granted_words`], [`perform_granted`]): the server then copies the data
//! between that buffer and its cache once. The library OS performs requests itself on the path
//! where it owns the file system, and sends them to the server on the path where the server
//! does; both run this same code.

use crate::{Disk, Errno, FileSystem, FsError, Ino, Kind, Metadata};
use alloc::vec::Vec;
use core::ops::DerefMut;

/// Bytes of the shared page: the most a request or a reply carries besides its words.
pub const PAGE_BYTES: usize = 4096;

/// The shared page.
pub type Page = [u8; PAGE_BYTES];

/// The four words of a message (see `exo_abi::ipc`).
pub type Words = [u64; 4];

/// How an open treats the file, as std's `OpenOptions` does.
pub mod open {
    /// Make the file when it does not exist.
    pub const CREATE: u64 = 1 << 0;
    /// Make the file, failing when it exists.
    pub const CREATE_NEW: u64 = 1 << 1;
    /// Cut the file to zero bytes (with writing).
    pub const TRUNCATE: u64 = 1 << 2;
    /// The open writes (or appends): a directory is refused.
    pub const WRITES: u64 = 1 << 3;
    /// Every defined bit.
    pub const ALL: u64 = CREATE | CREATE_NEW | TRUNCATE | WRITES;
}

/// An operation on the file system, borrowing its bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// Finds (or makes, per [`open`] bits) the file at `path`; replies [`Reply::Inode`].
    Open { path: &'a str, options: u64 },
    /// Describes the file at `path`; replies [`Reply::Metadata`].
    Metadata { path: &'a str },
    /// Describes file `inode`; replies [`Reply::Metadata`].
    MetadataOf { inode: u64 },
    /// Reads file `inode` at `offset` into `buffer` (at most a page); replies [`Reply::Count`].
    Read {
        inode: u64,
        offset: u64,
        buffer: &'a mut [u8],
    },
    /// Writes `bytes` (at most a page) into file `inode` at `offset`; replies [`Reply::Count`].
    Write {
        inode: u64,
        offset: u64,
        bytes: &'a [u8],
    },
    /// Cuts or extends file `inode` to `size` bytes.
    SetLen { inode: u64, size: u64 },
    /// Makes file `inode` durable.
    Fsync { inode: u64 },
    /// Lists the directory at `path` from `cursor` (0 first) into `entries` (see
    /// [`DirectoryEntries`]); replies [`Reply::Entries`].
    ReadDir {
        path: &'a str,
        cursor: u64,
        entries: &'a mut Page,
    },
    /// Makes the directory `path`.
    CreateDir { path: &'a str },
    /// Removes the empty directory `path`.
    RemoveDir { path: &'a str },
    /// Removes the file `path`.
    RemoveFile { path: &'a str },
    /// Renames `from` to `to`.
    Rename { from: &'a str, to: &'a str },
    /// Makes every change durable.
    Sync,
    /// Tells the space; replies [`Reply::Space`].
    Space,
    /// Does nothing: gives the file system a chance to commit what is old enough.
    Touch,
}

impl Request<'_> {
    /// Whether carrying it out may change what some path names or what a file holds (a
    /// program image kept from an earlier read is then stale).
    pub fn may_change_files(&self) -> bool {
        match self {
            Request::Open { options, .. } => {
                options & (open::CREATE | open::CREATE_NEW | open::TRUNCATE) != 0
            }
            Request::Write { .. }
            | Request::SetLen { .. }
            | Request::CreateDir { .. }
            | Request::RemoveDir { .. }
            | Request::RemoveFile { .. }
            | Request::Rename { .. } => true,
            Request::Metadata { .. }
            | Request::MetadataOf { .. }
            | Request::Read { .. }
            | Request::Fsync { .. }
            | Request::ReadDir { .. }
            | Request::Sync
            | Request::Space
            | Request::Touch => false,
        }
    }
}

/// What a request answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    Done,
    Inode(u64),
    Count(u64),
    Metadata(Metadata),
    /// Total and free blocks.
    Space(u64, u64),
    /// How many entries were written and the cursor of the next ([`END_OF_DIRECTORY`] when
    /// the listing is complete).
    Entries {
        count: u64,
        next: u64,
    },
}

/// The cursor after the last entry of a directory.
pub const END_OF_DIRECTORY: u64 = u64::MAX;

/// The file system's inode number for `inode` (inode numbers fit 32 bits, so a larger value
/// names none).
pub fn ino(inode: u64) -> Ino {
    Ino(u32::try_from(inode).unwrap_or(0))
}

/// Carries out `request` on `fs`.
pub fn perform<D: Disk, C: DerefMut<Target = [crate::CachedBlock]>>(
    fs: &mut FileSystem<D, C>,
    request: Request<'_>,
) -> Result<Reply, FsError> {
    Ok(match request {
        Request::Open { path, options } => Reply::Inode(open_inode(fs, path, options)?),
        Request::Metadata { path } => {
            let inode = fs.lookup(path)?;
            Reply::Metadata(fs.stat(inode)?)
        }
        Request::MetadataOf { inode } => Reply::Metadata(fs.stat(ino(inode))?),
        Request::Read {
            inode,
            offset,
            buffer,
        } => Reply::Count(fs.read(ino(inode), offset, buffer)? as u64),
        Request::Write {
            inode,
            offset,
            bytes,
        } => Reply::Count(fs.write(ino(inode), offset, bytes)? as u64),
        Request::SetLen { inode, size } => {
            fs.truncate(ino(inode), size)?;
            Reply::Done
        }
        Request::Fsync { inode } => {
            fs.fsync(ino(inode))?;
            Reply::Done
        }
        Request::ReadDir {
            path,
            cursor,
            entries,
        } => {
            let directory = fs.lookup(path)?;
            let (count, next) = list(fs, directory, cursor, entries)?;
            Reply::Entries { count, next }
        }
        Request::CreateDir { path } => {
            fs.mkdir(path)?;
            Reply::Done
        }
        Request::RemoveDir { path } => {
            fs.rmdir(path)?;
            Reply::Done
        }
        Request::RemoveFile { path } => {
            fs.unlink(path)?;
            Reply::Done
        }
        Request::Rename { from, to } => {
            fs.rename(from, to)?;
            Reply::Done
        }
        Request::Sync => {
            fs.sync()?;
            Reply::Done
        }
        Request::Space => {
            let stats = fs.statfs();
            Reply::Space(stats.total_blocks, stats.free_blocks)
        }
        Request::Touch => Reply::Done,
    })
}

fn open_inode<D: Disk, C: DerefMut<Target = [crate::CachedBlock]>>(
    fs: &mut FileSystem<D, C>,
    path: &str,
    options: u64,
) -> Result<u64, FsError> {
    if options & !open::ALL != 0 {
        return Err(FsError::InvalidArgument);
    }
    let (inode, is_new) = if options & (open::CREATE | open::CREATE_NEW) != 0 {
        fs.lookup_or_create(path)?
    } else {
        (fs.lookup(path)?, false)
    };
    if is_new {
        // An empty file, just made: nothing to check or cut.
        return Ok(u64::from(inode.0));
    }
    if options & open::CREATE_NEW != 0 {
        return Err(FsError::Exists);
    }
    let writes = options & open::WRITES != 0;
    if writes && fs.stat(inode)?.kind == Kind::Directory {
        return Err(FsError::IsADirectory);
    }
    if writes && options & open::TRUNCATE != 0 {
        fs.truncate(inode, 0)?;
    }
    Ok(u64::from(inode.0))
}

/// Directory entries in a page: each is its inode (4 bytes, little-endian), whether it is a
/// directory (1 byte), its name's length (1 byte) and its name.
pub struct DirectoryEntries;

/// One entry read back from a page of [`DirectoryEntries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedEntry {
    pub inode: u64,
    pub is_directory: bool,
    pub name: Vec<u8>,
}

impl DirectoryEntries {
    const HEADER: usize = 6;

    /// The first `count` entries of `page`; fewer when the page does not hold them (it came
    /// from another environment).
    pub fn read(page: &Page, count: u64) -> Vec<ListedEntry> {
        let mut entries = Vec::new();
        let mut at = 0;
        for _ in 0..count {
            let Some(header) = page.get(at..at + Self::HEADER) else {
                break;
            };
            let inode = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let length = usize::from(header[5]);
            let Some(name) = page.get(at + Self::HEADER..at + Self::HEADER + length) else {
                break;
            };
            entries.push(ListedEntry {
                inode: u64::from(inode),
                is_directory: header[4] == 1,
                name: name.to_vec(),
            });
            at += Self::HEADER + length;
        }
        entries
    }
}

/// Writes the entries of `directory` from `cursor` into `page` while they fit; returns how
/// many and the next cursor.
fn list<D: Disk, C: DerefMut<Target = [crate::CachedBlock]>>(
    fs: &mut FileSystem<D, C>,
    directory: Ino,
    mut cursor: u64,
    page: &mut Page,
) -> Result<(u64, u64), FsError> {
    let (mut count, mut at) = (0, 0);
    loop {
        let Some((entry, next)) = fs.read_dir(directory, cursor)? else {
            return Ok((count, END_OF_DIRECTORY));
        };
        let name = entry.name();
        let end = at + DirectoryEntries::HEADER + name.len();
        if end > PAGE_BYTES {
            return Ok((count, cursor));
        }
        page[at..at + 4].copy_from_slice(&entry.ino.0.to_le_bytes());
        page[at + 4] = u8::from(entry.kind == Kind::Directory);
        page[at + 5] = name.len() as u8;
        page[at + DirectoryEntries::HEADER..end].copy_from_slice(name);
        (count, at, cursor) = (count + 1, end, next);
    }
}

/// The operations' numbers, in a request's first word.
mod operation {
    pub const OPEN: u64 = 1;
    pub const METADATA: u64 = 2;
    pub const METADATA_OF: u64 = 3;
    pub const READ: u64 = 4;
    pub const WRITE: u64 = 5;
    pub const SET_LEN: u64 = 6;
    pub const FSYNC: u64 = 7;
    pub const READ_DIR: u64 = 8;
    pub const CREATE_DIR: u64 = 9;
    pub const REMOVE_DIR: u64 = 10;
    pub const REMOVE_FILE: u64 = 11;
    pub const RENAME: u64 = 12;
    pub const SYNC: u64 = 13;
    pub const SPACE: u64 = 14;
    pub const TOUCH: u64 = 15;
    pub const READ_GRANTED: u64 = 16;
    pub const WRITE_GRANTED: u64 = 17;
}

/// Most bytes one granted read or write moves ([`granted_words`]): a larger one is split, so
/// that a server never works long for one call.
pub const GRANTED_BYTES_MAX: usize = 1 << 20;

/// The bytes a client granted the server for the call being served (`exo_abi::ipc`, granted
/// bytes): file data moves between them and the server's cache with one copy. Each copy is
/// whole or nothing; an error is [`FsError::BadBuffer`].
pub trait Grant {
    /// Copies `bytes` into the grant from byte `offset`.
    fn copy_in(&mut self, offset: usize, bytes: &[u8]) -> Result<(), FsError>;
    /// Fills `bytes` from the grant from byte `offset`.
    fn copy_out(&mut self, offset: usize, bytes: &mut [u8]) -> Result<(), FsError>;
}

/// The words of `request` when its data goes through a grant of the request's buffer (the
/// client's side): reads and writes of at most [`GRANTED_BYTES_MAX`]; `None` for any other.
pub fn granted_words(request: &Request<'_>) -> Option<Words> {
    use operation::*;
    let (operation, inode, offset, length) = match *request {
        Request::Read {
            inode,
            offset,
            ref buffer,
        } => (READ_GRANTED, inode, offset, buffer.len()),
        Request::Write {
            inode,
            offset,
            bytes,
        } => (WRITE_GRANTED, inode, offset, bytes.len()),
        _ => return None,
    };
    (length <= GRANTED_BYTES_MAX).then_some([operation, inode, offset, length as u64])
}

/// Whether `words` ask for a granted read or write ([`perform_granted`]).
pub fn is_granted(words: Words) -> bool {
    matches!(words[0], operation::READ_GRANTED | operation::WRITE_GRANTED)
}

/// Carries out the granted read or write in `words` on `fs` (the server's side): the file's
/// bytes go straight between the cache and `grant`. Replies [`Reply::Count`].
pub fn perform_granted<D: Disk, C: DerefMut<Target = [crate::CachedBlock]>>(
    fs: &mut FileSystem<D, C>,
    words: Words,
    grant: &mut impl Grant,
) -> Result<Reply, FsError> {
    let [operation, inode, offset, length] = words;
    let length = usize::try_from(length)
        .ok()
        .filter(|&length| length <= GRANTED_BYTES_MAX)
        .ok_or(FsError::InvalidArgument)?;
    let mut done = 0;
    let count = match operation {
        operation::READ_GRANTED => fs.read_with(ino(inode), offset, length, |bytes| {
            grant.copy_in(done, bytes)?;
            done += bytes.len();
            Ok(())
        })?,
        operation::WRITE_GRANTED => fs.write_with(ino(inode), offset, length, |bytes| {
            grant.copy_out(done, bytes)?;
            done += bytes.len();
            Ok(())
        })?,
        _ => return Err(FsError::InvalidArgument),
    };
    Ok(Reply::Count(count as u64))
}

/// Puts `request` in message words and the shared `page` (the client's side). A request
/// whose bytes do not fit the page is refused ([`Errno::NameTooLong`] for paths,
/// [`Errno::InvalidArgument`] for data: the caller splits data by pages).
pub fn encode(request: &Request<'_>, page: &mut Page) -> Result<Words, Errno> {
    use operation::*;
    let path_words = |operation: u64, path: &str, page: &mut Page, argument: u64| {
        put(page, 0, path.as_bytes(), Errno::NameTooLong)
            .map(|()| [operation, argument, path.len() as u64, 0])
    };
    match *request {
        Request::Open { path, options } => path_words(OPEN, path, page, options),
        Request::Metadata { path } => path_words(METADATA, path, page, 0),
        Request::MetadataOf { inode } => Ok([METADATA_OF, inode, 0, 0]),
        Request::Read {
            inode,
            offset,
            ref buffer,
        } => {
            if buffer.len() > PAGE_BYTES {
                return Err(Errno::InvalidArgument);
            }
            Ok([READ, inode, offset, buffer.len() as u64])
        }
        Request::Write {
            inode,
            offset,
            bytes,
        } => put(page, 0, bytes, Errno::InvalidArgument)
            .map(|()| [WRITE, inode, offset, bytes.len() as u64]),
        Request::SetLen { inode, size } => Ok([SET_LEN, inode, size, 0]),
        Request::Fsync { inode } => Ok([FSYNC, inode, 0, 0]),
        Request::ReadDir { path, cursor, .. } => path_words(READ_DIR, path, page, cursor),
        Request::CreateDir { path } => path_words(CREATE_DIR, path, page, 0),
        Request::RemoveDir { path } => path_words(REMOVE_DIR, path, page, 0),
        Request::RemoveFile { path } => path_words(REMOVE_FILE, path, page, 0),
        Request::Rename { from, to } => {
            put(page, 0, from.as_bytes(), Errno::NameTooLong)?;
            put(page, from.len(), to.as_bytes(), Errno::NameTooLong)?;
            Ok([RENAME, from.len() as u64, to.len() as u64, 0])
        }
        Request::Sync => Ok([SYNC, 0, 0, 0]),
        Request::Space => Ok([SPACE, 0, 0, 0]),
        Request::Touch => Ok([TOUCH, 0, 0, 0]),
    }
}

fn put(page: &mut Page, at: usize, bytes: &[u8], too_long: Errno) -> Result<(), Errno> {
    let end = at.checked_add(bytes.len()).ok_or(too_long)?;
    page.get_mut(at..end)
        .ok_or(too_long)?
        .copy_from_slice(bytes);
    Ok(())
}

/// What a server needs to carry out a request it received: the copy of its path (or paths),
/// taken out of the shared page first, since the client may write the page at any time.
#[derive(Debug, Default)]
pub struct Received {
    paths: Vec<u8>,
}

impl Received {
    /// A server's request from `words` and the shared `page` (the server's side; every word and
    /// byte is the client's, so all are checked). Paths are copied out of the page; a read's
    /// data goes into the page, a write's comes from it.
    pub fn decode<'a>(
        &'a mut self,
        words: Words,
        page: &'a mut Page,
    ) -> Result<Request<'a>, Errno> {
        use operation::*;
        let [operation, first, second, third] = words;
        let path_length = |length: u64| {
            usize::try_from(length)
                .ok()
                .filter(|&length| length <= PAGE_BYTES)
                .ok_or(Errno::NameTooLong)
        };
        self.paths.clear();
        let copied_paths = match operation {
            OPEN | METADATA | READ_DIR | CREATE_DIR | REMOVE_DIR | REMOVE_FILE => {
                path_length(second)?
            }
            RENAME => {
                let total = path_length(first)? + path_length(second)?;
                if total > PAGE_BYTES {
                    return Err(Errno::NameTooLong);
                }
                total
            }
            _ => 0,
        };
        self.paths.extend_from_slice(&page[..copied_paths]);
        let text =
            |bytes: &'a [u8]| core::str::from_utf8(bytes).map_err(|_| Errno::InvalidArgument);
        let data_length = |length: u64| {
            usize::try_from(length)
                .ok()
                .filter(|&length| length <= PAGE_BYTES)
                .ok_or(Errno::InvalidArgument)
        };
        let paths = &self.paths[..];
        Ok(match operation {
            OPEN => Request::Open {
                path: text(paths)?,
                options: first,
            },
            METADATA => Request::Metadata { path: text(paths)? },
            METADATA_OF => Request::MetadataOf { inode: first },
            READ => Request::Read {
                inode: first,
                offset: second,
                buffer: &mut page[..data_length(third)?],
            },
            WRITE => Request::Write {
                inode: first,
                offset: second,
                bytes: &page[..data_length(third)?],
            },
            SET_LEN => Request::SetLen {
                inode: first,
                size: second,
            },
            FSYNC => Request::Fsync { inode: first },
            READ_DIR => Request::ReadDir {
                path: text(paths)?,
                cursor: first,
                entries: page,
            },
            CREATE_DIR => Request::CreateDir { path: text(paths)? },
            REMOVE_DIR => Request::RemoveDir { path: text(paths)? },
            REMOVE_FILE => Request::RemoveFile { path: text(paths)? },
            RENAME => {
                let (from, to) = paths.split_at(first as usize);
                Request::Rename {
                    from: text(from)?,
                    to: text(to)?,
                }
            }
            SYNC => Request::Sync,
            SPACE => Request::Space,
            TOUCH => Request::Touch,
            _ => return Err(Errno::InvalidArgument),
        })
    }
}

/// The words that carry a reply (the server's side): the error's code first, or 0 and the
/// reply's numbers.
pub fn encode_reply(reply: Result<Reply, Errno>) -> Words {
    match reply {
        Err(errno) => [errno.code(), 0, 0, 0],
        Ok(Reply::Done) => [0; 4],
        Ok(Reply::Inode(inode)) => [0, inode, 0, 0],
        Ok(Reply::Count(count)) => [0, count, 0, 0],
        Ok(Reply::Metadata(metadata)) => [
            0,
            metadata.size,
            u64::from(metadata.ino.0) | u64::from(metadata.links) << 32,
            u64::from(metadata.blocks_used) | u64::from(metadata.kind == Kind::Directory) << 32,
        ],
        Ok(Reply::Space(total, free)) => [0, total, free, 0],
        Ok(Reply::Entries { count, next }) => [0, count, next, 0],
    }
}

/// The reply to `request` from its words (the client's side; the words are the server's, and a
/// server's error code nobody knows reads as [`Errno::Io`]).
pub fn decode_reply(request: &Request<'_>, words: Words) -> Result<Reply, Errno> {
    let [status, first, second, third] = words;
    if status != 0 {
        return Err(Errno::from_code(status).unwrap_or(Errno::Io));
    }
    Ok(match request {
        Request::Open { .. } => Reply::Inode(first),
        Request::Read { .. } | Request::Write { .. } => Reply::Count(first),
        Request::Metadata { .. } | Request::MetadataOf { .. } => Reply::Metadata(Metadata {
            ino: Ino(second as u32),
            kind: if third >> 32 & 1 == 1 {
                Kind::Directory
            } else {
                Kind::File
            },
            size: first,
            links: (second >> 32) as u32,
            blocks_used: third as u32,
        }),
        Request::Space => Reply::Space(first, second),
        Request::ReadDir { .. } => Reply::Entries {
            count: first,
            next: second,
        },
        _ => Reply::Done,
    })
}
