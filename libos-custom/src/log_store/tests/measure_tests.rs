//! The cost table of the README: blocks written per put by value size and batch size, and
//! what recovery reads for 100,000 keys. Run with
//! `cargo test -p libos-custom --lib log_store::tests::measure -- --nocapture` to see it.

use crate::block_device::MemoryBlocks;
use crate::log_store::{Greedy, Layout, LogStore, measure_puts};

/// Puts per row of the table: enough that the first commit's costs do not show.
const PUTS_PER_ROW: u64 = 1_000;

/// Keys of the recovery measurement.
const RECOVERY_KEYS: u64 = 100_000;

#[test]
fn measure_blocks_per_put_and_recovery_reads() {
    println!(
        "| value bytes | batch | puts | blocks written | write calls | flushes | blocks per put |"
    );
    println!("|---|---|---|---|---|---|---|");
    for value_bytes in [100, 1_024, 4_096] {
        for batch in [1, 32] {
            let layout = Layout::default();
            // Room for every put without cleaning: a put takes at most two blocks.
            let segments = (2 * PUTS_PER_ROW).div_ceil(u64::from(layout.segment_blocks)) + 4;
            let blocks = 1
                + 2 * u64::from(layout.checkpoint_slot_blocks)
                + segments * u64::from(layout.segment_blocks);
            let device = MemoryBlocks::new(blocks as usize);
            let mut store = LogStore::format(device, Greedy, layout).unwrap();
            let cost = measure_puts(&mut store, PUTS_PER_ROW, value_bytes, batch).unwrap();
            let device = cost.device;
            assert_eq!(device.segments_cleaned, 0);
            assert_eq!(device.write_calls, PUTS_PER_ROW.div_ceil(batch));
            // Blocks per put in thousandths: integer arithmetic only.
            let per_put_thousandths = device.blocks_written * 1_000 / cost.puts;
            println!(
                "| {value_bytes} | {batch} | {} | {} | {} | {} | {}.{:03} |",
                cost.puts,
                device.blocks_written,
                device.write_calls,
                device.flushes,
                per_put_thousandths / 1_000,
                per_put_thousandths % 1_000
            );
        }
    }
    measure_recovery();
}

/// Recovery reads with a checkpoint after the last put, and with the whole log to replay.
fn measure_recovery() {
    // 100-byte values and 11-byte keys: 135-byte records, 24-byte index entries.
    let layout = Layout {
        segment_blocks: 64,
        checkpoint_slot_blocks: 640,
    };
    // Batches of 32 records of 135 bytes take two blocks each: 6,250 blocks of log, in 256 KiB
    // segments, with room to spare so that nothing is cleaned.
    let segments = 112u64;
    let blocks = 1
        + 2 * u64::from(layout.checkpoint_slot_blocks)
        + segments * u64::from(layout.segment_blocks);
    let device = MemoryBlocks::new(blocks as usize);
    let mut store = LogStore::format(device, Greedy, layout).unwrap();
    measure_puts(&mut store, RECOVERY_KEYS, 100, 32).unwrap();
    assert_eq!(store.statistics().segments_cleaned, 0);
    let replay_everything = store.into_device();
    let mut store = LogStore::open(replay_everything.clone(), Greedy).unwrap();
    let replayed = store.statistics().blocks_read;
    assert_eq!(store.len(), RECOVERY_KEYS as usize);
    store.checkpoint().unwrap();
    let from_checkpoint = LogStore::open(store.into_device(), Greedy).unwrap();
    assert_eq!(from_checkpoint.len(), RECOVERY_KEYS as usize);
    println!(
        "recovery of {RECOVERY_KEYS} keys of 100 B: {} blocks read from a checkpoint, \
         {replayed} replaying the whole log ({} segments of {} blocks, {} free)",
        from_checkpoint.statistics().blocks_read,
        segments,
        layout.segment_blocks,
        from_checkpoint.free_segment_count()
    );
}
