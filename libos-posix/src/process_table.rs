//! The process table in the world: the library's list of its processes
//! (`posix_core::process_list`) under the world's lock. The kernel knows environments; this
//! table is the library's view of which of them are its processes.

use crate::lock::SharedLock;
use crate::runtime::shared_cell::Locked;
use posix_core::process_list::ProcessList;
pub use posix_core::process_list::{NAME_BYTES, PROCESSES_MAX, ProcessEntry};

/// The table. All zeros is an empty table.
#[repr(C)]
#[derive(Debug)]
pub struct ProcessTable {
    entries: Locked<ProcessList>,
}

impl ProcessTable {
    /// The lock a killer takes so that its victim is not inside a table operation.
    pub fn lock(&self) -> &SharedLock {
        self.entries.lock()
    }

    /// Lists process `pid`, child of `parent`, running `name` (replacing an entry for `pid`).
    /// A full table leaves the process unlisted; it runs all the same.
    pub fn add(&self, pid: u32, parent: u32, name: &str) {
        self.entries.with(|list| list.add(pid, parent, name));
    }

    /// Unlists process `pid`.
    pub fn remove(&self, pid: u32) {
        self.entries.with(|list| list.remove(pid));
    }

    /// A copy of every listed process, in table order.
    pub fn snapshot(&self) -> alloc::vec::Vec<ProcessEntry> {
        self.entries.with(|list| list.listed().copied().collect())
    }

    /// The pids of `pid`'s listed children.
    pub fn children_of(&self, pid: u32) -> alloc::vec::Vec<u32> {
        self.entries.with(|list| list.children_of(pid).collect())
    }

    /// `pid` and every listed descendant of it, descendants first (see
    /// `ProcessList::subtree`), walked under the table's lock without copying it.
    pub fn subtree(&self, pid: u32) -> alloc::vec::Vec<u32> {
        self.entries.with(|list| list.subtree(pid))
    }
}
