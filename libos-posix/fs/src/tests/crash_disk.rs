//! A disk that records every write and flush, and rebuilds what a crash at any write could
//! leave on the medium: everything flushed before the last flush preceding the cut, any subset
//! of the writes issued after that flush, and possibly a torn prefix of the write in flight.

use super::SplitMix64;
use crate::{BLOCK_SIZE, Block, Disk, IoError, MemoryDisk};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// One request the file system made.
pub(crate) enum DiskEvent {
    Write { block: u64, data: Box<Block> },
    Flush,
}

/// A memory disk that records the requests made of it.
pub(crate) struct RecordingDisk {
    current: MemoryDisk,
    pub events: Vec<DiskEvent>,
    pub write_count: usize,
}

impl RecordingDisk {
    pub fn new(base: MemoryDisk) -> RecordingDisk {
        RecordingDisk {
            current: base,
            events: Vec::new(),
            write_count: 0,
        }
    }
}

impl Disk for RecordingDisk {
    fn block_count(&self) -> u64 {
        self.current.block_count()
    }

    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), IoError> {
        self.current.read(block, into)
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), IoError> {
        self.current.write(writes)?;
        for &(block, data) in writes {
            self.events.push(DiskEvent::Write {
                block,
                data: Box::new(data.clone()),
            });
        }
        self.write_count += writes.len();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IoError> {
        self.events.push(DiskEvent::Flush);
        Ok(())
    }
}

/// Builds crash images from a recording, for cuts in increasing order.
pub(crate) struct CrashImages<'r> {
    events: &'r [DiskEvent],
    /// The medium as of `durable_until`: the base plus every write before the flush there.
    durable: MemoryDisk,
    durable_until: usize,
    /// The event index of each write, by write number.
    write_positions: Vec<usize>,
}

impl<'r> CrashImages<'r> {
    pub fn new(base: MemoryDisk, events: &'r [DiskEvent]) -> CrashImages<'r> {
        let write_positions = events
            .iter()
            .enumerate()
            .filter(|(_, event)| matches!(event, DiskEvent::Write { .. }))
            .map(|(position, _)| position)
            .collect();
        CrashImages {
            events,
            durable: base,
            durable_until: 0,
            write_positions,
        }
    }

    /// Writes recorded.
    pub fn write_count(&self) -> usize {
        self.write_positions.len()
    }

    /// The medium after power is lost while write number `cut` is in flight (`cut` equal to
    /// the write count: after the last request): the durable state, each write since the last
    /// flush kept or lost at random, and with `may_tear`, a random prefix of the cut write.
    /// Cuts must come in increasing order.
    pub fn image_at(&mut self, cut: usize, random: &mut SplitMix64, may_tear: bool) -> MemoryDisk {
        let mut image = self.durable.clone();
        self.write_image_at(cut, random, may_tear, &mut image);
        image
    }

    /// As [`CrashImages::image_at`], into `image` (a disk of the same size), which saves
    /// allocating a disk for every cut.
    pub fn write_image_at(
        &mut self,
        cut: usize,
        random: &mut SplitMix64,
        may_tear: bool,
        image: &mut MemoryDisk,
    ) {
        let cut_position = self
            .write_positions
            .get(cut)
            .copied()
            .unwrap_or(self.events.len());
        let last_flush = self.events[..cut_position]
            .iter()
            .rposition(|event| matches!(event, DiskEvent::Flush));
        if let Some(last_flush) = last_flush {
            assert!(
                last_flush >= self.durable_until,
                "cuts must come in increasing order"
            );
            for event in &self.events[self.durable_until..last_flush] {
                apply(&mut self.durable, event);
            }
            self.durable_until = last_flush;
        }
        image.blocks_mut().clone_from_slice(self.durable.blocks());
        for event in &self.events[self.durable_until..cut_position] {
            if random.chance(1, 2) {
                apply(image, event);
            }
        }
        if may_tear && let Some(DiskEvent::Write { block, data }) = self.events.get(cut_position) {
            let landed = 1 + random.below(BLOCK_SIZE as u64 - 1) as usize;
            image.blocks_mut()[*block as usize].0[..landed].copy_from_slice(&data.0[..landed]);
        }
    }
}

fn apply(disk: &mut MemoryDisk, event: &DiskEvent) {
    if let DiskEvent::Write { block, data } = event {
        disk.blocks_mut()[*block as usize] = (**data).clone();
    }
}
