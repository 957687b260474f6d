//! Files: the library's file system (`posix_fs`) on its own partition of the disk, kept in the
//! world with its buffer cache so that every process of the library OS works on the same
//! cached blocks, behind one lock; and the std-like API programs use: [`File`], [`OpenOptions`],
//! [`read_dir`], [`metadata`], [`create_dir`], [`remove_file`], [`rename`] and the rest.
//!
//! The partition is a range of disk blocks the kernel records as owned by the library's
//! durable principal (see [`posix_fs::partition`]); the boot tool formats it and installs the
//! programs. Blocks move by DMA straight between the disk and cache pages in the world, which
//! every process has bound: the kernel checks the principal's ownership of each block and the
//! caller's binding of each page.

use crate::descriptors::{self, Descriptor, mode};
use crate::error::{Errno, Result};
use crate::layout::PAGE_BYTES;
use crate::lock::SharedLock;
use crate::runtime::shared_cell::SharedSlot;
use crate::runtime::world_memory::CachePages;
use crate::world::{self, World};
use crate::{clock, file_client, process, syscall};
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use exo_abi::BlockTransfer;
use posix_fs::partition::{CREDENTIAL, FIRST_BLOCK};
use posix_fs::service::{self, DirectoryEntries, Reply, Request, open};
use posix_fs::{Block, CachedBlock, FileSystem, FsError, IoError, Kind, ReadHint};
use spin::Mutex;

/// Blocks the buffer cache holds.
pub const CACHE_SLOTS: usize = 256;

/// The library's partition as the file system sees it: block `n` is disk block
/// [`FIRST_BLOCK`] + `n`, moved by the block system calls.
#[derive(Clone, Copy, Debug)]
pub struct PartitionDisk {
    blocks: u64,
}

impl PartitionDisk {
    /// The whole partition: the file system's superblock says how far it goes.
    pub fn whole() -> PartitionDisk {
        PartitionDisk {
            blocks: u64::from(u32::MAX),
        }
    }
}

impl posix_fs::Disk for PartitionDisk {
    fn block_count(&self) -> u64 {
        self.blocks
    }

    fn read(&mut self, block: u64, into: &mut Block) -> core::result::Result<(), IoError> {
        self.read_batch(&mut [(block, into)])
    }

    fn read_batch(&mut self, reads: &mut [(u64, &mut Block)]) -> core::result::Result<(), IoError> {
        if let Some(world) = world::get() {
            world
                .files
                .blocks_read
                .fetch_add(reads.len() as u64, Ordering::Relaxed);
        }
        let pairs = reads
            .iter_mut()
            .map(|(block, into)| (*block, &raw mut **into as u64));
        move_blocks(pairs, syscall::block_read)
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> core::result::Result<(), IoError> {
        if let Some(world) = world::get() {
            world
                .files
                .blocks_written
                .fetch_add(writes.len() as u64, Ordering::Relaxed);
        }
        let pairs = writes
            .iter()
            .map(|&(block, data)| (block, data as *const Block as u64));
        move_blocks(pairs, syscall::block_write)
    }

    fn flush(&mut self) -> core::result::Result<(), IoError> {
        syscall::block_flush().map_err(|_| IoError::DeviceFailed)
    }
}

/// Moves each `(partition block, page address)` pair of `pairs` through `call` (the block read
/// or write call), as many blocks per call as the kernel takes.
fn move_blocks(
    pairs: impl Iterator<Item = (u64, u64)>,
    call: fn(&[BlockTransfer]) -> core::result::Result<(), exo_abi::Error>,
) -> core::result::Result<(), IoError> {
    let mut transfers = [BlockTransfer::default(); exo_abi::BLOCK_TRANSFERS_MAX as usize];
    let mut pairs = pairs.peekable();
    while pairs.peek().is_some() {
        let mut count = 0;
        for (transfer, (block, page_address)) in transfers.iter_mut().zip(&mut pairs) {
            *transfer = BlockTransfer {
                block: FIRST_BLOCK + block,
                page_address,
            };
            count += 1;
        }
        call(&transfers[..count]).map_err(|_| IoError::DeviceFailed)?;
    }
    Ok(())
}

type Mounted = FileSystem<PartitionDisk, CachePages>;

/// The file system's place in the world: once mounted, the mounted file system, behind its
/// lock.
#[repr(C)]
pub struct FileSystemCell {
    /// When the next background commit is due (see [`commit_if_due`]), in [`clock::ticks`]:
    /// a deadline rather than the last commit's time, so that the check each call makes is one
    /// comparison.
    commit_due: AtomicU64,
    /// How many requests that may change a name or a file's bytes have run (see
    /// [`change_count`]).
    changes: AtomicU64,
    /// Blocks read from and written to the disk (see [`blocks_read`], [`blocks_written`]).
    blocks_read: AtomicU64,
    blocks_written: AtomicU64,
    mounted: SharedSlot<Mounted>,
}

/// Changes are committed (as by [`sync`]) once the last commit is this old, by the next
/// file-system call of any process or by an idle shell ([`commit_if_due`]), so that a crash
/// loses at most the last 5 s of work, as with ext4's default. Below 5 s: a commit is made
/// only when some caller looks, and the commit itself takes time.
pub const COMMIT_AGE_MILLISECONDS: u64 = 4_000;

impl core::fmt::Debug for FileSystemCell {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("FileSystemCell")
            .field("is_mounted", &self.mounted.is_filled())
            .finish_non_exhaustive()
    }
}

impl FileSystemCell {
    /// The lock every file-system call holds (a killer takes it too).
    pub fn lock(&self) -> &SharedLock {
        self.mounted.lock()
    }
}

/// Where the cache starts, from the world's base: the first page after the world's header.
pub const fn cache_offset() -> u64 {
    (core::mem::size_of::<World>() as u64).next_multiple_of(PAGE_BYTES)
}

/// Bytes of the cache.
pub const fn cache_bytes() -> u64 {
    (CACHE_SLOTS * core::mem::size_of::<CachedBlock>()) as u64
}

/// Mounts the file system into the world (done once, by the process that made the world):
/// presents the library's credential, so the partition's blocks are this principal's, and
/// replays the journal.
pub fn mount() -> Result<()> {
    let world = world::require()?;
    present_credential()?;
    world.files.mounted.fill_with(|| {
        let cache = CachePages::take().ok_or(Errno::Io)?;
        FileSystem::mount(PartitionDisk::whole(), cache).map_err(Errno::from)
    })
}

/// The environment that presented the library's credential: a forked child inherits this
/// memory, not the binding, so the flag names who presented it.
static CREDENTIAL_PRESENTED_BY: AtomicU32 = AtomicU32::new(0);

/// Binds this process to the library's disk principal, once (each process moves its own
/// blocks).
pub(crate) fn present_credential() -> Result<()> {
    let me = process::pid();
    if CREDENTIAL_PRESENTED_BY.load(Ordering::Acquire) != me {
        syscall::block_credential(&CREDENTIAL).map_err(|_| Errno::Io)?;
        CREDENTIAL_PRESENTED_BY.store(me, Ordering::Release);
    }
    Ok(())
}

/// Where this process's last file read ended: reading the same block again, or a file in
/// small steps, skips the inode and block lookups (see [`posix_fs::ReadHint`]).
static READ_HINT: Mutex<ReadHint> = Mutex::new(ReadHint::EMPTY);

/// Carries out `request`: on the world's file system, or by the file server when one serves
/// the world (the microkernel path, see `file_client`).
fn request(request: Request<'_>) -> Result<Reply> {
    let world = world::require()?;
    match world.file_server() {
        Some(endpoint) => file_client::call(endpoint, request),
        None => {
            let may_change = request.may_change_files();
            with(|mounted| {
                let reply = service::perform(mounted, request);
                if may_change {
                    // Under the file system's lock, which a killer takes too: no process
                    // ends between a change and its count.
                    world.files.changes.fetch_add(1, Ordering::AcqRel);
                }
                reply
            })
        }
    }
}

/// How many requests that may have changed a name or a file's bytes the world's file system
/// has carried out, by any process: what was read from a file is still what it holds while
/// the count stays the same. `None` on the microkernel path, where the file server alone sees
/// the changes.
pub fn change_count() -> Option<u64> {
    let world = world::get()?;
    if world.file_server().is_some() {
        return None;
    }
    Some(world.files.changes.load(Ordering::Acquire))
}

/// How many blocks the world's file system has read from the disk, by any process: what its
/// cache missed. `None` outside a world.
pub fn blocks_read() -> Option<u64> {
    Some(world::get()?.files.blocks_read.load(Ordering::Relaxed))
}

/// How many blocks the world's file system has written to the disk, by any process (its
/// journal's included). `None` outside a world.
pub fn blocks_written() -> Option<u64> {
    Some(world::get()?.files.blocks_written.load(Ordering::Relaxed))
}

/// Runs `action` on the mounted file system under its lock.
fn with<T>(action: impl FnOnce(&mut Mounted) -> core::result::Result<T, FsError>) -> Result<T> {
    with_in(world::require()?, action)
}

/// [`with`] in `world`, found already.
fn with_in<T>(
    world: &World,
    action: impl FnOnce(&mut Mounted) -> core::result::Result<T, FsError>,
) -> Result<T> {
    let cell = &world.files;
    if !cell.mounted.is_filled() {
        return Err(Errno::NoFileSystem);
    }
    present_credential()?;
    cell.mounted
        .with(|mounted| {
            let result = action(mounted).map_err(Errno::from);
            commit_when_old(cell, mounted);
            result
        })
        .ok_or(Errno::NoFileSystem)?
}

/// Commits what changed (a journaled commit, crash-consistent like any other) when the last
/// background commit is older than [`COMMIT_AGE_MILLISECONDS`]; a commit that fails is tried
/// again next time.
#[inline]
fn commit_when_old(cell: &FileSystemCell, mounted: &mut Mounted) {
    if mounted.has_unsynced_changes() && clock::ticks() >= cell.commit_due.load(Ordering::Acquire) {
        commit_now(cell, mounted);
    }
}

/// The commit [`commit_when_old`] found due.
#[inline(never)]
fn commit_now(cell: &FileSystemCell, mounted: &mut Mounted) {
    if mounted.sync().is_ok() {
        let age = COMMIT_AGE_MILLISECONDS * clock::ticks_per_millisecond();
        cell.commit_due
            .store(clock::ticks() + age, Ordering::Release);
    }
}

/// Commits what changed if the last commit is old enough (see [`COMMIT_AGE_MILLISECONDS`]):
/// for a process that waits without calling the file system, such as the shell at its prompt.
pub fn commit_if_due() -> Result<()> {
    request(Request::Touch).map(|_| ())
}

/// `path` made absolute against the working directory: `path` itself, not copied, when it is
/// absolute already.
pub fn absolute(path: &str) -> Cow<'_, str> {
    if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(join(&crate::process::current_directory(), path))
    }
}

/// Absolute `path` with `.` and `..` resolved and repeated slashes dropped (`..` of `/` is
/// `/`). The file system has no symbolic links, so the result names what `path` names.
pub fn normalized(path: &str) -> String {
    let mut components: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            component => components.push(component),
        }
    }
    if components.is_empty() {
        return String::from("/");
    }
    let mut normal = String::with_capacity(path.len());
    for component in components {
        normal.push('/');
        normal.push_str(component);
    }
    normal
}

/// `name` inside `directory`.
pub fn join(directory: &str, name: &str) -> String {
    let mut joined = String::from(directory);
    if !joined.ends_with('/') {
        joined.push('/');
    }
    joined.push_str(name);
    joined
}

/// The last component of `path`, ignoring trailing slashes.
pub fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// What [`metadata`] tells about a file or directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Its inode number.
    pub inode: u64,
    /// Size in bytes.
    pub size: u64,
    /// Names that refer to it.
    pub links: u32,
    /// Disk blocks it uses.
    pub blocks: u64,
    is_directory: bool,
}

impl Metadata {
    /// Whether it is a directory.
    pub fn is_directory(&self) -> bool {
        self.is_directory
    }

    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        !self.is_directory
    }
}

impl From<posix_fs::Metadata> for Metadata {
    fn from(stat: posix_fs::Metadata) -> Metadata {
        Metadata {
            inode: u64::from(stat.ino.0),
            size: stat.size,
            links: stat.links,
            blocks: u64::from(stat.blocks_used),
            is_directory: stat.kind == Kind::Directory,
        }
    }
}

fn metadata_reply(reply: Reply) -> Result<Metadata> {
    match reply {
        Reply::Metadata(stat) => Ok(stat.into()),
        _ => Err(Errno::Io),
    }
}

fn count_reply(reply: Reply) -> Result<usize> {
    match reply {
        Reply::Count(count) => Ok(count as usize),
        _ => Err(Errno::Io),
    }
}

/// Describes the file or directory at `path`.
pub fn metadata(path: &str) -> Result<Metadata> {
    let path = absolute(path);
    metadata_reply(request(Request::Metadata { path: &path })?)
}

/// Describes file `inode`.
fn metadata_of(inode: u64) -> Result<Metadata> {
    metadata_reply(request(Request::MetadataOf { inode })?)
}

/// Reads from file `inode` at `offset`; used by descriptors.
pub fn read_at(inode: u64, offset: u64, buffer: &mut [u8]) -> Result<usize> {
    let world = world::require()?;
    // Taken only when free: a read from inside an exception handler that interrupted one goes
    // the plain way.
    if world.file_server().is_none()
        && let Some(mut hint) = READ_HINT.try_lock()
    {
        return with_in(world, |mounted| {
            mounted.read_hinted(&mut hint, service::ino(inode), offset, buffer)
        });
    }
    count_reply(request(Request::Read {
        inode,
        offset,
        buffer,
    })?)
}

/// Writes to file `inode` at `offset`; used by descriptors.
pub fn write_at(inode: u64, offset: u64, bytes: &[u8]) -> Result<usize> {
    count_reply(request(Request::Write {
        inode,
        offset,
        bytes,
    })?)
}

/// The size of file `inode`.
pub fn size_of(inode: u64) -> Result<u64> {
    Ok(metadata_of(inode)?.size)
}

/// The whole content of the file at `path`.
pub fn read_all(path: &str) -> Result<Vec<u8>> {
    let file = File::open(path)?;
    let size = file.metadata()?.size as usize;
    let mut bytes = alloc::vec![0; size];
    let mut done = 0;
    while done < size {
        let count = file.read(&mut bytes[done..])?;
        if count == 0 {
            break;
        }
        done += count;
    }
    bytes.truncate(done);
    Ok(bytes)
}

/// How to open a file.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    create: bool,
    create_new: bool,
    truncate: bool,
}

impl OpenOptions {
    /// Nothing chosen yet.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }
    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut OpenOptions {
        self.read = on;
        self
    }
    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut OpenOptions {
        self.write = on;
        self
    }
    /// Write at the end, always (implies write).
    pub fn append(&mut self, on: bool) -> &mut OpenOptions {
        self.append = on;
        self
    }
    /// Create the file if it is missing.
    pub fn create(&mut self, on: bool) -> &mut OpenOptions {
        self.create = on;
        self
    }
    /// Create the file, failing with [`Errno::Exists`] if it is there.
    pub fn create_new(&mut self, on: bool) -> &mut OpenOptions {
        self.create_new = on;
        self
    }
    /// Cut the file to zero bytes.
    pub fn truncate(&mut self, on: bool) -> &mut OpenOptions {
        self.truncate = on;
        self
    }

    /// Opens `path` as chosen.
    pub fn open(&self, path: &str) -> Result<File> {
        let path = absolute(path);
        let writes = self.write || self.append;
        let options = [
            (self.create, open::CREATE),
            (self.create_new, open::CREATE_NEW),
            (self.truncate, open::TRUNCATE),
            (writes, open::WRITES),
        ]
        .into_iter()
        .filter(|&(is_on, _)| is_on)
        .fold(0, |options, (_, bit)| options | bit);
        let Reply::Inode(inode) = request(Request::Open {
            path: &path,
            options,
        })?
        else {
            return Err(Errno::Io);
        };
        let mut bits = 0;
        if self.read || !(self.write || self.append) {
            bits |= mode::READ;
        }
        if self.write || self.append {
            bits |= mode::WRITE;
        }
        if self.append {
            bits |= mode::APPEND;
        }
        let fd = descriptors::open(Descriptor::File {
            inode,
            offset: 0,
            mode: bits,
        })?;
        Ok(File { fd })
    }
}

/// An open file; closed when dropped.
#[derive(Debug)]
pub struct File {
    fd: usize,
}

impl File {
    /// Opens `path` for reading.
    pub fn open(path: &str) -> Result<File> {
        OpenOptions::new().read(true).open(path)
    }

    /// Creates `path` (or cuts it to zero bytes) and opens it for writing.
    pub fn create(path: &str) -> Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    /// Its descriptor number, to pass to a child as standard input or output.
    pub fn descriptor(&self) -> usize {
        self.fd
    }

    /// Reads into `buffer` from the current offset; 0 at end of file.
    pub fn read(&self, buffer: &mut [u8]) -> Result<usize> {
        descriptors::read(self.fd, buffer)
    }

    /// Reads into `buffer` from `offset`, leaving the current offset where it is (POSIX
    /// `pread`); 0 at end of file.
    pub fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        descriptors::read_at(self.fd, offset, buffer)
    }

    /// Writes all of `bytes` at the current offset (at the end when appending).
    pub fn write(&self, bytes: &[u8]) -> Result<usize> {
        descriptors::write(self.fd, bytes)
    }

    /// Moves the offset to `offset` bytes from the start.
    pub fn seek(&self, offset: u64) -> Result<u64> {
        descriptors::seek(self.fd, offset)
    }

    /// Describes the file.
    pub fn metadata(&self) -> Result<Metadata> {
        metadata_of(self.inode()?)
    }

    /// Cuts or extends the file to `size` bytes (an extension reads as zeros).
    pub fn set_len(&self, size: u64) -> Result<()> {
        let inode = self.inode()?;
        request(Request::SetLen { inode, size }).map(|_| ())
    }

    /// Makes the file's data and metadata durable.
    pub fn sync_all(&self) -> Result<()> {
        let inode = self.inode()?;
        request(Request::Fsync { inode }).map(|_| ())
    }

    fn inode(&self) -> Result<u64> {
        match descriptors::get(self.fd)? {
            Descriptor::File { inode, .. } => Ok(inode),
            _ => Err(Errno::BadDescriptor),
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = descriptors::close(self.fd);
    }
}

/// One entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Its name.
    pub name: String,
    /// Its inode number.
    pub inode: u64,
    /// Whether it is a directory.
    pub is_directory: bool,
}

/// The entries of the directory at `path` (without `.` and `..`), in directory order.
pub fn read_dir(path: &str) -> Result<Vec<DirEntry>> {
    let path = absolute(path);
    let mut page = alloc::boxed::Box::new([0; service::PAGE_BYTES]);
    let mut entries = Vec::new();
    let mut cursor = 0;
    while cursor != service::END_OF_DIRECTORY {
        let reply = request(Request::ReadDir {
            path: &path,
            cursor,
            entries: &mut page,
        })?;
        let Reply::Entries { count, next } = reply else {
            return Err(Errno::Io);
        };
        let listed = DirectoryEntries::read(&page, count);
        if listed.is_empty() && next != service::END_OF_DIRECTORY && next <= cursor {
            // A server that makes no progress.
            return Err(Errno::Io);
        }
        entries.extend(listed.into_iter().map(|entry| DirEntry {
            name: String::from_utf8_lossy(&entry.name).into_owned(),
            inode: entry.inode,
            is_directory: entry.is_directory,
        }));
        cursor = next;
    }
    Ok(entries)
}

/// Makes the directory `path`.
pub fn create_dir(path: &str) -> Result<()> {
    let path = absolute(path);
    request(Request::CreateDir { path: &path }).map(|_| ())
}

/// Removes the empty directory `path`.
pub fn remove_dir(path: &str) -> Result<()> {
    let path = absolute(path);
    request(Request::RemoveDir { path: &path }).map(|_| ())
}

/// Removes the file `path`.
pub fn remove_file(path: &str) -> Result<()> {
    let path = absolute(path);
    request(Request::RemoveFile { path: &path }).map(|_| ())
}

/// Renames `from` to `to`, replacing a file there.
pub fn rename(from: &str, to: &str) -> Result<()> {
    let (from, to) = (absolute(from), absolute(to));
    request(Request::Rename {
        from: &from,
        to: &to,
    })
    .map(|_| ())
}

/// Makes every change so far durable.
pub fn sync() -> Result<()> {
    request(Request::Sync).map(|_| ())
}

/// Space on the file system: (total blocks, free blocks).
pub fn space() -> Result<(u64, u64)> {
    match request(Request::Space)? {
        Reply::Space(total, free) => Ok((total, free)),
        _ => Err(Errno::Io),
    }
}
