//! The POSIX library OS's two ways of storing the same puts durably: a file per key (written,
//! then synced at the end of each batch), and one append-only file of records synced once a
//! batch. Both run in this program's world (one of its own when it has none).

use crate::Cost;
use alloc::format;
use alloc::vec::Vec;
use libos_posix::files::{self, File, OpenOptions};
use libos_posix::stopwatch::{Count, Stopwatch};
use libos_posix::world;

const DIRECTORY: &str = "/logkv";
const LOG: &str = "/logkv.log";

fn enter_world() -> Result<(), &'static str> {
    if world::get().is_none() {
        world::start_as_root(crate::NAME).map_err(|(what, _)| what)?;
    }
    Ok(())
}

fn blocks_written() -> u64 {
    files::blocks_written().unwrap_or(0)
}

/// What `puts` puts cost since `stopwatch` started and the disk had `written_before` blocks
/// written.
fn cost_since(puts: u64, stopwatch: &Stopwatch, written_before: u64, flushes: u64) -> Cost {
    Cost {
        puts,
        ticks: stopwatch.ticks(),
        blocks_written: blocks_written() - written_before,
        flushes,
    }
}

/// The value of put `index`, as `libos_custom::log_store::measure_puts` makes it.
fn value(index: u64, value_bytes: usize) -> Vec<u8> {
    (0..value_bytes)
        .map(|position| (index as usize).wrapping_add(position) as u8)
        .collect()
}

/// `puts` files `/logkv/keyNNNNNNNN` of `value_bytes` each, every file of a batch of `batch`
/// synced at its end; the files are removed afterwards.
pub fn file_per_key(
    value_bytes: usize,
    batch: u64,
    puts: u64,
    count: Count,
) -> Result<Cost, &'static str> {
    enter_world()?;
    match files::create_dir(DIRECTORY) {
        Ok(()) | Err(libos_posix::Errno::Exists) => {}
        Err(_) => return Err("cannot make /logkv"),
    }
    files::sync().map_err(|_| "cannot sync")?;
    let written_before = blocks_written();
    let stopwatch = Stopwatch::start(count);
    let mut open = Vec::new();
    let mut flushes = 0;
    for index in 0..puts {
        let file = File::create(&format!("{DIRECTORY}/key{index:08}"))
            .map_err(|_| "cannot create a key's file")?;
        file.write(&value(index, value_bytes))
            .map_err(|_| "cannot write a key's file")?;
        open.push(file);
        if (index + 1) % batch == 0 || index + 1 == puts {
            for file in open.drain(..) {
                file.sync_all().map_err(|_| "cannot sync a key's file")?;
                flushes += 1;
            }
        }
    }
    let cost = cost_since(puts, &stopwatch, written_before, flushes);
    for index in 0..puts {
        files::remove_file(&format!("{DIRECTORY}/key{index:08}"))
            .map_err(|_| "cannot remove a key's file")?;
    }
    files::sync().map_err(|_| "cannot sync")?;
    Ok(cost)
}

/// `puts` records (key, value length, value) appended to `/logkv.log`, synced after each
/// batch of `batch`; the file is removed afterwards.
pub fn append_only(
    value_bytes: usize,
    batch: u64,
    puts: u64,
    count: Count,
) -> Result<Cost, &'static str> {
    enter_world()?;
    let log = OpenOptions::new()
        .append(true)
        .create(true)
        .truncate(true)
        .open(LOG)
        .map_err(|_| "cannot create /logkv.log")?;
    files::sync().map_err(|_| "cannot sync")?;
    let written_before = blocks_written();
    let stopwatch = Stopwatch::start(count);
    let mut flushes = 0;
    let mut record = Vec::with_capacity(value_bytes + 15);
    for index in 0..puts {
        record.clear();
        record.extend_from_slice(format!("key{index:08}").as_bytes());
        record.extend_from_slice(&(value_bytes as u32).to_le_bytes());
        record.extend_from_slice(&value(index, value_bytes));
        log.write(&record).map_err(|_| "cannot append")?;
        if (index + 1) % batch == 0 || index + 1 == puts {
            log.sync_all().map_err(|_| "cannot sync the log")?;
            flushes += 1;
        }
    }
    let cost = cost_since(puts, &stopwatch, written_before, flushes);
    drop(log);
    files::remove_file(LOG).map_err(|_| "cannot remove /logkv.log")?;
    files::sync().map_err(|_| "cannot sync")?;
    Ok(cost)
}
