//! The process table in the world: every process of the library OS with its parent and
//! program name, for `ps` and for killing a process together with its descendants. The kernel
//! knows environments; this table is the library's view of which of them are its processes.

use crate::lock::SharedLock;
use crate::runtime::shared_cell::Locked;

/// Most processes the table lists at once.
pub const PROCESSES_MAX: usize = 128;
/// Bytes of a program name kept.
pub const NAME_BYTES: usize = 32;

/// One process. All zeros is an unused entry.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ProcessEntry {
    /// Its environment id (its pid); 0 for an unused entry.
    pub pid: u32,
    /// Its parent's pid.
    pub parent: u32,
    name_len: u32,
    name: [u8; NAME_BYTES],
}

impl ProcessEntry {
    /// The program's name, cut to [`NAME_BYTES`].
    pub fn name(&self) -> &str {
        let bytes = &self.name[..(self.name_len as usize).min(NAME_BYTES)];
        core::str::from_utf8(bytes).unwrap_or("?")
    }
}

/// The table. All zeros is an empty table.
#[repr(C)]
#[derive(Debug)]
pub struct ProcessTable {
    entries: Locked<[ProcessEntry; PROCESSES_MAX]>,
}

impl ProcessTable {
    /// The lock a killer takes so that its victim is not inside a table operation.
    pub fn lock(&self) -> &SharedLock {
        self.entries.lock()
    }

    fn with<T>(&self, action: impl FnOnce(&mut [ProcessEntry; PROCESSES_MAX]) -> T) -> T {
        self.entries.with(action)
    }

    /// Lists process `pid`, child of `parent`, running `name` (replacing an entry for `pid`).
    /// A full table leaves the process unlisted; it runs all the same.
    pub fn add(&self, pid: u32, parent: u32, name: &str) {
        self.with(|entries| {
            let slot = entries
                .iter()
                .position(|entry| entry.pid == pid)
                .or_else(|| entries.iter().position(|entry| entry.pid == 0));
            if let Some(slot) = slot {
                let name = &name.as_bytes()[..name.len().min(NAME_BYTES)];
                let mut entry = ProcessEntry {
                    pid,
                    parent,
                    name_len: name.len() as u32,
                    name: [0; NAME_BYTES],
                };
                entry.name[..name.len()].copy_from_slice(name);
                entries[slot] = entry;
            }
        });
    }

    /// Unlists process `pid`.
    pub fn remove(&self, pid: u32) {
        self.with(|entries| {
            for entry in entries.iter_mut().filter(|entry| entry.pid == pid) {
                entry.pid = 0;
            }
        });
    }

    /// A copy of every listed process, in table order.
    pub fn snapshot(&self) -> alloc::vec::Vec<ProcessEntry> {
        self.with(|entries| {
            entries
                .iter()
                .filter(|entry| entry.pid != 0)
                .copied()
                .collect()
        })
    }

    /// The pids of `pid`'s listed children.
    pub fn children_of(&self, pid: u32) -> alloc::vec::Vec<u32> {
        self.with(|entries| {
            entries
                .iter()
                .filter(|entry| entry.pid != 0 && entry.parent == pid && entry.pid != pid)
                .map(|entry| entry.pid)
                .collect()
        })
    }

    /// `pid` and every listed descendant of it, descendants first.
    /// Walked under the table's lock, without copying it; a table whose parent links loop
    /// (written by a hostile process of the world) gives at most [`PROCESSES_MAX`] more.
    pub fn subtree(&self, pid: u32) -> alloc::vec::Vec<u32> {
        self.with(|entries| {
            let mut found = alloc::vec![pid];
            let mut index = 0;
            while index < found.len() && found.len() <= PROCESSES_MAX {
                let parent = found[index];
                found.extend(
                    entries
                        .iter()
                        .filter(|entry| {
                            entry.pid != 0 && entry.parent == parent && entry.pid != parent
                        })
                        .map(|entry| entry.pid),
                );
                index += 1;
            }
            found.truncate(PROCESSES_MAX + 1);
            found.reverse();
            found
        })
    }
}
