//! The library OS's list of its processes, as it lies in the world (shared memory): every
//! process with its parent and program name, for `ps` and for killing a process together with
//! its descendants. Any process of the world can write this memory, so no walk trusts it
//! to be well formed: each stays within the table and ends.

/// Most processes the list holds at once.
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

/// The entries, and one past the highest entry in use: the walks stop there, so a list of a
/// few processes costs a few steps to search, not [`PROCESSES_MAX`]. All zeros is empty.
#[repr(C)]
#[derive(Debug)]
pub struct ProcessList {
    entries: [ProcessEntry; PROCESSES_MAX],
    /// Every entry from here on is unused; read through [`ProcessList::in_use`], which keeps
    /// it within the table whatever was written here.
    end: u32,
}

impl ProcessList {
    /// An empty list.
    pub const fn new() -> ProcessList {
        ProcessList {
            entries: [ProcessEntry {
                pid: 0,
                parent: 0,
                name_len: 0,
                name: [0; NAME_BYTES],
            }; PROCESSES_MAX],
            end: 0,
        }
    }

    /// The entries up to the highest one in use.
    fn in_use(&self) -> &[ProcessEntry] {
        &self.entries[..(self.end as usize).min(PROCESSES_MAX)]
    }

    /// Lists process `pid`, child of `parent`, running `name` (replacing an entry for `pid`).
    /// A full list leaves the process unlisted; it runs all the same.
    pub fn add(&mut self, pid: u32, parent: u32, name: &str) {
        let in_use = self.in_use();
        let slot = in_use
            .iter()
            .position(|entry| entry.pid == pid)
            .or_else(|| in_use.iter().position(|entry| entry.pid == 0))
            .or_else(|| Some(in_use.len()).filter(|&end| end < PROCESSES_MAX));
        if let Some(slot) = slot {
            let name = &name.as_bytes()[..name.len().min(NAME_BYTES)];
            let mut entry = ProcessEntry {
                pid,
                parent,
                name_len: name.len() as u32,
                name: [0; NAME_BYTES],
            };
            entry.name[..name.len()].copy_from_slice(name);
            self.entries[slot] = entry;
            self.end = (self.in_use().len().max(slot + 1)) as u32;
        }
    }

    /// Unlists process `pid`.
    pub fn remove(&mut self, pid: u32) {
        let mut end = self.in_use().len();
        for entry in self.entries[..end]
            .iter_mut()
            .filter(|entry| entry.pid == pid)
        {
            entry.pid = 0;
        }
        while end > 0 && self.entries[end - 1].pid == 0 {
            end -= 1;
        }
        self.end = end as u32;
    }

    /// Every listed process, in table order.
    pub fn listed(&self) -> impl Iterator<Item = &ProcessEntry> {
        self.in_use().iter().filter(|entry| entry.pid != 0)
    }

    /// The pids of `pid`'s listed children.
    pub fn children_of(&self, pid: u32) -> impl Iterator<Item = u32> + '_ {
        self.listed()
            .filter(move |entry| entry.parent == pid && entry.pid != pid)
            .map(|entry| entry.pid)
    }

    /// `pid` and every listed descendant of it, descendants first; a list whose parent links
    /// loop (written by a hostile process of the world) gives at most [`PROCESSES_MAX`] more.
    pub fn subtree(&self, pid: u32) -> alloc::vec::Vec<u32> {
        let mut found = alloc::vec![pid];
        let mut index = 0;
        while index < found.len() && found.len() <= PROCESSES_MAX {
            let parent = found[index];
            found.extend(self.children_of(parent));
            index += 1;
        }
        found.truncate(PROCESSES_MAX + 1);
        found.reverse();
        found
    }
}

impl Default for ProcessList {
    fn default() -> ProcessList {
        ProcessList::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pids(list: &ProcessList) -> Vec<u32> {
        list.listed().map(|entry| entry.pid).collect()
    }

    #[test]
    fn the_walks_stop_at_the_highest_entry_in_use() {
        let mut list = ProcessList::new();
        list.add(5, 1, "sh");
        list.add(6, 5, "cat");
        list.add(7, 5, "wc");
        assert_eq!(list.end, 3);
        list.remove(6);
        assert_eq!(list.end, 3, "a hole below the top keeps the end");
        list.remove(7);
        assert_eq!(list.end, 1, "the unused top is trimmed");
        list.add(8, 5, "ls");
        assert_eq!((pids(&list), list.end), (vec![5, 8], 2));
        list.remove(5);
        list.remove(8);
        assert_eq!((pids(&list), list.end), (vec![], 0));
    }

    #[test]
    fn a_free_entry_is_reused_and_a_full_list_leaves_a_process_out() {
        let mut list = ProcessList::new();
        for pid in 1..=PROCESSES_MAX as u32 {
            list.add(pid, 0, "p");
        }
        list.add(1000, 0, "late");
        assert_eq!(list.listed().count(), PROCESSES_MAX);
        assert!(!pids(&list).contains(&1000));
        list.remove(3);
        list.add(1000, 0, "late");
        assert_eq!(list.entries[2].pid, 1000);
        list.add(1000, 7, "again");
        assert_eq!(list.listed().filter(|entry| entry.pid == 1000).count(), 1);
        assert_eq!(list.entries[2].name(), "again");
    }

    #[test]
    fn a_subtree_lists_descendants_first() {
        let mut list = ProcessList::new();
        list.add(2, 1, "sh");
        list.add(3, 2, "a");
        list.add(4, 3, "b");
        list.add(5, 1, "other");
        assert_eq!(list.subtree(2), vec![4, 3, 2]);
        assert_eq!(list.subtree(5), vec![5]);
        assert_eq!(list.children_of(1).collect::<Vec<_>>(), vec![2, 5]);
    }

    #[test]
    fn a_hostile_end_or_looping_parents_stay_bounded() {
        let mut list = ProcessList::new();
        list.add(2, 3, "x");
        list.add(3, 2, "y");
        list.end = u32::MAX;
        assert_eq!(list.listed().count(), 2);
        assert!(list.subtree(2).len() <= PROCESSES_MAX + 1);
        list.remove(2);
        list.remove(3);
        assert_eq!(list.end, 0);
        list.end = 7;
        list.add(9, 0, "z");
        assert_eq!(pids(&list), vec![9]);
        list.add(10, 0, "w");
        assert_eq!(pids(&list), vec![9, 10]);
    }
}
