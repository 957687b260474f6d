//! The checker (`fsck`): verifies every invariant of an unmounted file system and lists what
//! is wrong.
//!
//! It never writes. A committed journal transaction is replayed into a private in-memory
//! overlay (the blocks it logs are read from there instead of the disk), so the check sees
//! what a mount would. Then it checks the superblock; every inode in use (known kind, pointers
//! inside the data region, each block used once, no data past the size, a block count equal
//! to the blocks held, directories a whole number of blocks without holes); every directory
//! reachable from the root (well-formed records, valid names without duplicates, entries
//! naming inodes in use of the recorded kind, each directory named by exactly one entry, in
//! the directory its parent field names); the orphan list; link counts; and that both bitmaps
//! mark exactly the inodes and blocks in use.

use crate::block::{BLOCK_SIZE, Block, Disk};
use crate::crc::crc32c;
use crate::directory::{Records, check_name};
use crate::error::FsError;
use crate::inode::{
    DOUBLE_INDIRECT_START, INODE_SIZE, Ino, Inode, Kind, MAX_FILE_SIZE, POINTERS_PER_BLOCK,
    SINGLE_INDIRECT_START, pointer_at,
};
use crate::journal::{JournalHeader, check_header, log_block, log_entry};
use crate::layout::{
    BITS_PER_BLOCK, INODES_PER_BLOCK, JOURNAL_START, Layout, SUPERBLOCK_BLOCK, StaticGeometry,
    Superblock,
};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Problems listed in full; more are only counted.
const MAX_LISTED_PROBLEMS: usize = 1000;

/// What [`check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Every inconsistency found, in words; empty for a clean file system.
    pub problems: Vec<String>,
    /// Files reachable from the root.
    pub files: u64,
    /// Directories reachable from the root, the root included.
    pub directories: u64,
    /// Data-region blocks held by inodes (data and indirect blocks).
    pub used_blocks: u64,
    /// Inodes on the orphan list (unlinked, not yet freed; a mount frees them).
    pub orphans: u64,
    /// Whether a committed journal transaction was replayed (into the check's overlay).
    pub replayed_transaction: bool,
}

impl CheckReport {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(text);
        } else if self.problems.len() == MAX_LISTED_PROBLEMS {
            self.problems.push(String::from("more problems not listed"));
        }
    }
}

/// Checks the file system on the unmounted `disk` without writing to it.
///
/// Errors: [`FsError::Corrupt`] when the disk does not hold this file system (bad magic,
/// another version, larger than the disk); [`FsError::Io`] when the device fails. Anything
/// else wrong is a problem in the report.
pub fn check<D: Disk>(disk: &mut D) -> Result<CheckReport, FsError> {
    let mut report = CheckReport::default();
    let mut reader = OverlayReader {
        disk,
        replayed: BTreeMap::new(),
    };
    let mut buffer = Box::new(Block::ZEROED);
    reader.read(SUPERBLOCK_BLOCK, &mut buffer)?;
    let geometry = StaticGeometry::decode(&buffer)?;
    if geometry.block_count > reader.disk.block_count() {
        return Err(FsError::Corrupt("file system larger than the disk"));
    }
    report.replayed_transaction = reader.replay(geometry, &mut report)?;
    reader.read(SUPERBLOCK_BLOCK, &mut buffer)?;
    let superblock = match Superblock::decode(&buffer) {
        Ok(superblock) => superblock,
        Err(error) => {
            report.problem(format!("superblock: {error}"));
            return Ok(report);
        }
    };
    let mut checker = Checker::load(reader, superblock.layout, report)?;
    checker.check_inode_blocks()?;
    checker.walk_tree()?;
    checker.check_orphans(superblock.orphan_head);
    checker.check_links();
    checker.check_inode_bitmap()?;
    checker.check_block_bitmap()?;
    Ok(checker.finish())
}

/// Reads blocks from the disk, or from the replayed transaction when it logs them.
struct OverlayReader<'d, D: Disk> {
    disk: &'d mut D,
    replayed: BTreeMap<u64, Box<Block>>,
}

impl<D: Disk> OverlayReader<'_, D> {
    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), FsError> {
        match self.replayed.get(&block) {
            Some(replayed) => into.clone_from(replayed),
            None => self.disk.read(block, into)?,
        }
        Ok(())
    }

    /// Loads the committed transaction, if any, into the overlay; reports a transaction that
    /// cannot be replayed.
    fn replay(
        &mut self,
        geometry: StaticGeometry,
        report: &mut CheckReport,
    ) -> Result<bool, FsError> {
        let mut header_block = Box::new(Block::ZEROED);
        self.disk.read(JOURNAL_START, &mut header_block)?;
        let Some(header) = JournalHeader::decode(&header_block) else {
            return Ok(false);
        };
        if header.entry_count == 0 {
            return Ok(false);
        }
        if let Err(error) = check_header(&header, &header_block, geometry) {
            report.problem(format!("journal header: {error}"));
            return Ok(false);
        }
        let mut logged = Vec::with_capacity(header.entry_count);
        for index in 0..header.entry_count {
            let (home, crc) = log_entry(&header_block, index);
            let mut block = Box::new(Block::ZEROED);
            let log_position = log_block(geometry.journal_blocks, header.sequence, index);
            self.disk.read(log_position, &mut block)?;
            if crc32c(&block.0) != crc {
                report.problem(format!(
                    "journal: block {index} of committed transaction {} fails its checksum",
                    header.sequence
                ));
                return Ok(false);
            }
            logged.push((u64::from(home), block));
        }
        self.replayed.extend(logged);
        Ok(true)
    }
}

/// The state of a check after the superblock is known.
struct Checker<'d, D: Disk> {
    reader: OverlayReader<'d, D>,
    layout: Layout,
    report: CheckReport,
    /// Every inode, by number; an undecodable one is taken as free.
    inodes: Vec<Inode>,
    /// The inode holding each data block (by data block index), 0 for none.
    block_owners: Vec<u32>,
    /// The blocks of each directory, in order.
    directory_blocks: BTreeMap<u32, Vec<u32>>,
    /// Directory entries naming each inode.
    references: Vec<u32>,
    /// Subdirectories of each directory.
    subdirectories: Vec<u32>,
    /// Directories reached from the root.
    is_reached: Vec<bool>,
    /// Inodes on the orphan list.
    is_orphan: Vec<bool>,
}

impl<'d, D: Disk> Checker<'d, D> {
    fn load(
        mut reader: OverlayReader<'d, D>,
        layout: Layout,
        mut report: CheckReport,
    ) -> Result<Checker<'d, D>, FsError> {
        let inode_count = layout.inode_count as usize;
        let mut inodes = Vec::with_capacity(inode_count);
        let mut buffer = Box::new(Block::ZEROED);
        for table_block in 0..u64::from(layout.inode_table_blocks) {
            reader.read(layout.inode_table_start + table_block, &mut buffer)?;
            for index in 0..INODES_PER_BLOCK as usize {
                let ino = table_block * u64::from(INODES_PER_BLOCK) + index as u64;
                let bytes = &buffer.0[index * INODE_SIZE..(index + 1) * INODE_SIZE];
                inodes.push(Inode::decode(bytes).unwrap_or_else(|reason| {
                    report.problem(format!("inode {ino}: {reason}"));
                    Inode::default()
                }));
            }
        }
        if inodes[0].kind.is_some() {
            report.problem(String::from("inode 0 is in use"));
            inodes[0] = Inode::default();
        }
        Ok(Checker {
            reader,
            layout,
            report,
            inodes,
            block_owners: vec![0; layout.data_blocks as usize],
            directory_blocks: BTreeMap::new(),
            references: vec![0; inode_count],
            subdirectories: vec![0; inode_count],
            is_reached: vec![false; inode_count],
            is_orphan: vec![false; inode_count],
        })
    }

    /// Checks the blocks of every inode in use.
    fn check_inode_blocks(&mut self) -> Result<(), FsError> {
        for ino in 1..self.inodes.len() {
            if self.inodes[ino].kind.is_some() {
                self.check_blocks_of(ino as u32)?;
            }
        }
        Ok(())
    }

    fn check_blocks_of(&mut self, ino: u32) -> Result<(), FsError> {
        let inode = self.inodes[ino as usize];
        if inode.size > MAX_FILE_SIZE {
            self.report
                .problem(format!("inode {ino}: size {} over the maximum", inode.size));
        }
        let mut mapped = Vec::new();
        let mut held_blocks = 0u64;
        for (index, &pointer) in inode.direct.iter().enumerate() {
            if self.claim(ino, pointer, &mut held_blocks) {
                mapped.push((index as u64, pointer));
            }
        }
        let mut table = Box::new(Block::ZEROED);
        if self.claim(ino, inode.single_indirect, &mut held_blocks) {
            self.reader
                .read(u64::from(inode.single_indirect), &mut table)?;
            self.claim_table(
                ino,
                &table,
                SINGLE_INDIRECT_START,
                &mut held_blocks,
                &mut mapped,
            );
        }
        if self.claim(ino, inode.double_indirect, &mut held_blocks) {
            let mut top = Box::new(Block::ZEROED);
            self.reader
                .read(u64::from(inode.double_indirect), &mut top)?;
            for outer in 0..POINTERS_PER_BLOCK as usize {
                let pointer = pointer_at(&top.0, outer);
                if self.claim(ino, pointer, &mut held_blocks) {
                    self.reader.read(u64::from(pointer), &mut table)?;
                    let first = DOUBLE_INDIRECT_START + outer as u64 * POINTERS_PER_BLOCK;
                    self.claim_table(ino, &table, first, &mut held_blocks, &mut mapped);
                }
            }
        }
        if held_blocks != u64::from(inode.blocks_used) {
            self.report.problem(format!(
                "inode {ino}: records {} blocks but holds {held_blocks}",
                inode.blocks_used
            ));
        }
        let size_blocks = inode.size_in_blocks();
        for &(file_block, block) in &mapped {
            if file_block >= size_blocks {
                self.report.problem(format!(
                    "inode {ino}: block {block} at file block {file_block}, past its size {}",
                    inode.size
                ));
            }
        }
        if inode.is_directory() {
            self.check_directory_shape(ino, &inode, &mapped);
        }
        Ok(())
    }

    /// Records that `ino` holds `pointer` (when not 0); returns whether it is a valid block
    /// to follow.
    fn claim(&mut self, ino: u32, pointer: u32, held_blocks: &mut u64) -> bool {
        if pointer == 0 {
            return false;
        }
        if !self.layout.is_data_block(pointer) {
            self.report.problem(format!(
                "inode {ino}: pointer to block {pointer}, outside the data region"
            ));
            return false;
        }
        *held_blocks += 1;
        let owner = &mut self.block_owners[(u64::from(pointer) - self.layout.data_start) as usize];
        if *owner != 0 {
            let first_owner = *owner;
            self.report.problem(format!(
                "block {pointer} used twice: by inode {first_owner} and inode {ino}"
            ));
            return false;
        }
        *owner = ino;
        true
    }

    /// Claims the data blocks an indirect block maps, file blocks from `first`.
    fn claim_table(
        &mut self,
        ino: u32,
        table: &Block,
        first: u64,
        held_blocks: &mut u64,
        mapped: &mut Vec<(u64, u32)>,
    ) {
        for index in 0..POINTERS_PER_BLOCK as usize {
            let pointer = pointer_at(&table.0, index);
            if self.claim(ino, pointer, held_blocks) {
                mapped.push((first + index as u64, pointer));
            }
        }
    }

    /// A directory must be whole blocks, without holes; keeps its block list.
    fn check_directory_shape(&mut self, ino: u32, inode: &Inode, mapped: &[(u64, u32)]) {
        let block_bytes = BLOCK_SIZE as u64;
        if !inode.size.is_multiple_of(block_bytes) {
            self.report.problem(format!(
                "directory {ino}: size {} is not a whole number of blocks",
                inode.size
            ));
        }
        let block_count = inode.size.min(MAX_FILE_SIZE) / block_bytes;
        let mut blocks = vec![0u32; block_count as usize];
        for &(file_block, block) in mapped {
            if file_block < block_count {
                blocks[file_block as usize] = block;
            }
        }
        if blocks.contains(&0) {
            self.report.problem(format!("directory {ino}: has a hole"));
            blocks.retain(|&block| block != 0);
        }
        self.directory_blocks.insert(ino, blocks);
    }

    /// Walks every directory reachable from the root, checking its entries.
    fn walk_tree(&mut self) -> Result<(), FsError> {
        let root = Ino::ROOT.0 as usize;
        let root_inode = self.inodes[root];
        if !root_inode.is_directory() {
            self.report
                .problem(String::from("the root is not a directory"));
            return Ok(());
        }
        if root_inode.parent != Ino::ROOT.0 {
            self.report.problem(format!(
                "the root's parent is {}, not itself",
                root_inode.parent
            ));
        }
        self.is_reached[root] = true;
        let mut pending = VecDeque::from([Ino::ROOT.0]);
        let mut buffer = Box::new(Block::ZEROED);
        while let Some(directory) = pending.pop_front() {
            let blocks = self
                .directory_blocks
                .get(&directory)
                .cloned()
                .unwrap_or_default();
            let mut names = BTreeSet::new();
            for block in blocks {
                self.reader.read(u64::from(block), &mut buffer)?;
                self.check_directory_block(directory, block, &buffer, &mut names, &mut pending);
            }
        }
        Ok(())
    }

    fn check_directory_block(
        &mut self,
        directory: u32,
        block: u32,
        data: &Block,
        names: &mut BTreeSet<Vec<u8>>,
        pending: &mut VecDeque<u32>,
    ) {
        for record in Records::of(&data.0) {
            let record = match record {
                Ok(record) => record,
                Err(reason) => {
                    self.report
                        .problem(format!("directory {directory}, block {block}: {reason}"));
                    return;
                }
            };
            let Some((ino, kind)) = record.entry else {
                continue;
            };
            let name = record.name(&data.0);
            let shown = String::from_utf8_lossy(name);
            if check_name(name).is_err() || name == b"." || name == b".." {
                self.report
                    .problem(format!("directory {directory}: invalid name {shown:?}"));
            }
            if !names.insert(name.to_vec()) {
                self.report.problem(format!(
                    "directory {directory}: name {shown:?} appears twice"
                ));
            }
            self.check_entry(directory, &shown, ino.0, kind, pending);
        }
    }

    fn check_entry(
        &mut self,
        directory: u32,
        name: &str,
        ino: u32,
        kind: Kind,
        pending: &mut VecDeque<u32>,
    ) {
        let at = format!("directory {directory}, entry {name:?}");
        if ino == Ino::ROOT.0 || !self.layout.is_valid_ino(Ino(ino)) {
            self.report.problem(format!("{at}: names inode {ino}"));
            return;
        }
        let inode = self.inodes[ino as usize];
        match inode.kind {
            None => {
                self.report
                    .problem(format!("{at}: names inode {ino}, which is free"));
                return;
            }
            Some(actual) if actual != kind => {
                self.report.problem(format!(
                    "{at}: says {kind:?} but inode {ino} is a {actual:?}"
                ));
                return;
            }
            Some(_) => {}
        }
        self.references[ino as usize] += 1;
        if kind != Kind::Directory {
            return;
        }
        self.subdirectories[directory as usize] += 1;
        if inode.parent != directory {
            self.report.problem(format!(
                "{at}: directory {ino} records parent {}",
                inode.parent
            ));
        }
        if self.is_reached[ino as usize] {
            self.report
                .problem(format!("{at}: directory {ino} has more than one entry"));
        } else {
            self.is_reached[ino as usize] = true;
            pending.push_back(ino);
        }
    }

    /// The orphan list: inodes in use with no link, each once.
    fn check_orphans(&mut self, head: u32) {
        let mut current = head;
        while current != 0 {
            if !self.layout.is_valid_ino(Ino(current)) {
                self.report
                    .problem(format!("orphan list names inode {current}, out of range"));
                return;
            }
            let index = current as usize;
            if self.is_orphan[index] {
                self.report
                    .problem(format!("orphan list loops at inode {current}"));
                return;
            }
            self.is_orphan[index] = true;
            self.report.orphans += 1;
            let inode = self.inodes[index];
            if inode.kind.is_none() || inode.links != 0 || self.references[index] != 0 {
                self.report.problem(format!(
                    "orphan {current}: must be in use, unlinked and unnamed (links {}, named {} times)",
                    inode.links, self.references[index]
                ));
            }
            current = inode.next_orphan;
        }
    }

    /// Every inode in use is reachable or an orphan, with the right link count.
    fn check_links(&mut self) {
        for ino in 1..self.inodes.len() {
            let inode = self.inodes[ino];
            let Some(kind) = inode.kind else {
                continue;
            };
            if self.is_orphan[ino] {
                continue;
            }
            let references = self.references[ino];
            match kind {
                Kind::File if references == 0 => {
                    self.report
                        .problem(format!("file {ino} is in use but no entry names it"));
                }
                Kind::File => {
                    self.report.files += 1;
                    if inode.links != references {
                        self.report.problem(format!(
                            "file {ino}: link count {} but {references} entries",
                            inode.links
                        ));
                    }
                }
                Kind::Directory if !self.is_reached[ino] => {
                    self.report.problem(format!(
                        "directory {ino} is in use but not reachable from the root"
                    ));
                }
                Kind::Directory => {
                    self.report.directories += 1;
                    let expected = 2 + self.subdirectories[ino];
                    if inode.links != expected {
                        self.report.problem(format!(
                            "directory {ino}: link count {} but expected {expected}",
                            inode.links
                        ));
                    }
                }
            }
        }
    }

    /// Reads bitmap blocks from `start` and compares the first `bits` bits with `is_used`;
    /// bits past them must be clear.
    fn compare_bitmap(
        &mut self,
        what: &str,
        start: u64,
        block_count: u32,
        bits: u64,
        is_used: impl Fn(&Self, u64) -> bool,
    ) -> Result<(), FsError> {
        let mut buffer = Box::new(Block::ZEROED);
        let mut mismatches = Vec::new();
        for bitmap_index in 0..u64::from(block_count) {
            self.reader.read(start + bitmap_index, &mut buffer)?;
            for bit in 0..BITS_PER_BLOCK {
                let number = bitmap_index * BITS_PER_BLOCK + bit;
                let is_marked = buffer.0[(bit / 8) as usize] & (1 << (bit % 8)) != 0;
                let should_be_marked = number < bits && is_used(self, number);
                if is_marked != should_be_marked {
                    mismatches.push((number, is_marked));
                }
            }
        }
        for (number, is_marked) in mismatches {
            let state = if is_marked {
                "marked used but not in use"
            } else {
                "in use but marked free"
            };
            self.report.problem(format!("{what} {number}: {state}"));
        }
        Ok(())
    }

    fn check_inode_bitmap(&mut self) -> Result<(), FsError> {
        let layout = self.layout;
        self.compare_bitmap(
            "inode",
            layout.inode_bitmap_start,
            layout.inode_bitmap_blocks,
            u64::from(layout.inode_count),
            |checker, ino| ino == 0 || checker.inodes[ino as usize].kind.is_some(),
        )
    }

    fn check_block_bitmap(&mut self) -> Result<(), FsError> {
        let layout = self.layout;
        self.compare_bitmap(
            "data block",
            layout.block_bitmap_start,
            layout.block_bitmap_blocks,
            layout.data_blocks,
            |checker, index| checker.block_owners[index as usize] != 0,
        )
    }

    fn finish(mut self) -> CheckReport {
        self.report.used_blocks = self
            .block_owners
            .iter()
            .filter(|&&owner| owner != 0)
            .count() as u64;
        self.report
    }
}
