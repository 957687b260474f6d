//! A device that records every write and flush, and rebuilds what a crash at any write could
//! leave on the medium: every write issued before the cut (the device stopped there), or
//! everything flushed plus any subset of the writes issued since the last flush (the device
//! reordered them), and possibly a torn prefix of the write in flight.

use super::{Random, chance};
use crate::block_device::{BLOCK_SIZE, Block, BlockDevice, DeviceError, MemoryBlocks};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// One request the store made.
pub(crate) enum DeviceEvent {
    Write { block: u64, data: Box<Block> },
    Flush,
}

/// A memory device that records the requests made of it.
pub(crate) struct RecordingDevice {
    current: MemoryBlocks,
    pub events: Vec<DeviceEvent>,
    pub write_count: usize,
}

impl RecordingDevice {
    pub fn new(base: MemoryBlocks) -> RecordingDevice {
        RecordingDevice {
            current: base,
            events: Vec::new(),
            write_count: 0,
        }
    }
}

impl BlockDevice for RecordingDevice {
    fn block_count(&self) -> u64 {
        self.current.block_count()
    }

    fn read(&mut self, block: u64, into: &mut Block) -> Result<(), DeviceError> {
        self.current.read(block, into)
    }

    fn write(&mut self, writes: &[(u64, &Block)]) -> Result<(), DeviceError> {
        self.current.write(writes)?;
        for &(block, data) in writes {
            self.events.push(DeviceEvent::Write {
                block,
                data: Box::new(data.clone()),
            });
        }
        self.write_count += writes.len();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.events.push(DeviceEvent::Flush);
        Ok(())
    }
}

/// Builds crash images from a recording, for cuts in increasing order.
pub(crate) struct CrashImages<'r> {
    events: &'r [DeviceEvent],
    /// The base plus every write before `applied_until`.
    prefix: MemoryBlocks,
    applied_until: usize,
    /// The base plus every write before the last flush before `applied_until`.
    durable: MemoryBlocks,
    durable_until: usize,
    write_positions: Vec<usize>,
}

impl<'r> CrashImages<'r> {
    pub fn new(base: MemoryBlocks, events: &'r [DeviceEvent]) -> CrashImages<'r> {
        let write_positions = events
            .iter()
            .enumerate()
            .filter(|(_, event)| matches!(event, DeviceEvent::Write { .. }))
            .map(|(position, _)| position)
            .collect();
        CrashImages {
            events,
            prefix: base.clone(),
            applied_until: 0,
            durable: base,
            durable_until: 0,
            write_positions,
        }
    }

    pub fn write_count(&self) -> usize {
        self.write_positions.len()
    }

    fn position_of(&self, cut: usize) -> usize {
        self.write_positions
            .get(cut)
            .copied()
            .unwrap_or(self.events.len())
    }

    /// The medium when the device drops write number `cut` and every one after it.
    pub fn dropped_after(&mut self, cut: usize) -> MemoryBlocks {
        let cut_position = self.position_of(cut);
        assert!(cut_position >= self.applied_until, "cuts must increase");
        for event in &self.events[self.applied_until..cut_position] {
            apply(&mut self.prefix, event);
        }
        self.applied_until = cut_position;
        self.prefix.clone()
    }

    /// The medium after power is lost while write number `cut` is in flight: the durable
    /// state, each write since the last flush kept or lost at random, and with `may_tear` a
    /// random prefix of the cut write.
    pub fn reordered_at(
        &mut self,
        cut: usize,
        random: &mut Random,
        may_tear: bool,
    ) -> MemoryBlocks {
        let cut_position = self.position_of(cut);
        let last_flush = self.events[..cut_position]
            .iter()
            .rposition(|event| matches!(event, DeviceEvent::Flush));
        if let Some(last_flush) = last_flush {
            assert!(last_flush >= self.durable_until, "cuts must increase");
            for event in &self.events[self.durable_until..last_flush] {
                apply(&mut self.durable, event);
            }
            self.durable_until = last_flush;
        }
        let mut image = self.durable.clone();
        for event in &self.events[self.durable_until..cut_position] {
            if chance(random, 1, 2) {
                apply(&mut image, event);
            }
        }
        if may_tear && let Some(DeviceEvent::Write { block, data }) = self.events.get(cut_position)
        {
            let mut torn = image.block(*block).expect("recorded block").clone();
            let landed = 1 + random.below(BLOCK_SIZE as u64 - 1) as usize;
            torn.0[..landed].copy_from_slice(&data.0[..landed]);
            image.write(&[(*block, &torn)]).expect("recorded block");
        }
        image
    }
}

fn apply(device: &mut MemoryBlocks, event: &DeviceEvent) {
    if let DeviceEvent::Write { block, data } = event {
        device.write(&[(*block, data)]).expect("recorded block");
    }
}
