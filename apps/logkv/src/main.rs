//! A log-structured durable key-value store on disk blocks this program owns
//! (`libos_custom::log_store`), against the two ways an app stores the same puts durably on the
//! POSIX library OS: one file per key, and one append-only file synced per batch.
//!
//! - `logkv custom [VALUE_BYTES] [BATCH]`, `logkv files [VALUE_BYTES] [BATCH]`,
//!   `logkv append [VALUE_BYTES] [BATCH]`: [`PUTS`] puts of distinct keys with values of
//!   VALUE_BYTES (default 1024), durable after every BATCH puts (default 32); prints the
//!   instructions (or cycles) and blocks written per put;
//! - `logkv recover [KEYS]`: puts KEYS keys (default 100,000) of 100 bytes in batches of 32,
//!   then opens the store again as after a crash, and prints what recovery read and cost.
//!
//! With `bench` first (`logkv bench custom` ...), every value size of [`VALUE_SIZES`] with
//! batches of 1 and 32 is measured and printed as figure lines `C2.<path> ...` for
//! `make bench` (and, for `custom`, the recovery row).
#![no_std]
#![no_main]

extern crate alloc;

mod posix_paths;

use alloc::vec::Vec;
use libos_custom::kernel_blocks::KernelBlocks;
use libos_custom::log_store::{CostBenefit, Layout, LogStore, measure_puts};
use libos_posix::stopwatch::{Count, Stopwatch};
use libos_posix::syscall::Kernel;
use libos_posix::{Args, println};

libos_posix::main!(main);

pub const NAME: &str = "logkv";
/// Puts per measurement with batches of 32; a quarter as many with batches of 1.
pub const PUTS: u64 = 1_024;
/// Value sizes `bench` measures.
pub const VALUE_SIZES: [usize; 3] = [100, 1024, 4096];
/// The durable owner of this program's blocks (a bearer secret of its own).
const CREDENTIAL: [u8; 16] = *b"logkv demo key!!";
/// Blocks of the custom store: room for the largest run's log and two checkpoint slots.
const STORE_BLOCKS: usize = 6 * 1024;
/// Checkpoint slots big enough for the index of 100,000 keys of 11 bytes (some 2.4 MB).
const LAYOUT: Layout = Layout {
    segment_blocks: 64,
    checkpoint_slot_blocks: 640,
};

/// What a run of puts cost.
pub struct Cost {
    pub puts: u64,
    pub ticks: u64,
    pub blocks_written: u64,
    pub flushes: u64,
}

impl Cost {
    fn print(&self, path: &str, value_bytes: usize, batch: u64) {
        println!(
            "{NAME}: {path}: {} puts of {value_bytes}-byte values, durable every {batch}: \
             {} ticks and {}.{:02} blocks written per put, {} flushes",
            self.puts,
            self.ticks / self.puts.max(1),
            self.blocks_written / self.puts.max(1),
            self.blocks_written * 100 / self.puts.max(1) % 100,
            self.flushes,
        );
    }
}

fn puts_for(batch: u64) -> u64 {
    if batch == 1 { PUTS / 4 } else { PUTS }
}

/// `logkv custom`: the log store on this program's own blocks.
fn custom(value_bytes: usize, batch: u64, count: Count) -> Result<Cost, &'static str> {
    let device = KernelBlocks::<Kernel>::allocate(&CREDENTIAL, STORE_BLOCKS)
        .map_err(|_| "cannot allocate the store's disk blocks")?;
    let mut store =
        LogStore::format(device, CostBenefit, LAYOUT).map_err(|_| "cannot format the store")?;
    let stopwatch = Stopwatch::start(count);
    let measured = measure_puts(&mut store, puts_for(batch), value_bytes, batch);
    let elapsed = stopwatch.ticks();
    let outcome = measured
        .map(|cost| Cost {
            puts: cost.puts,
            ticks: elapsed,
            blocks_written: cost.device.blocks_written,
            flushes: cost.device.flushes,
        })
        .map_err(|_| "a put failed");
    store
        .into_device()
        .free()
        .map_err(|_| "cannot free the store's disk blocks")?;
    outcome
}

/// What recovery of a store of `keys` keys read and cost.
struct Recovery {
    keys: usize,
    ticks: u64,
    blocks_read: u64,
}

/// `logkv recover`: fills a store with `keys` keys, then opens it again.
fn recover(keys: u64, count: Count) -> Result<Recovery, &'static str> {
    let device = KernelBlocks::<Kernel>::allocate(&CREDENTIAL, STORE_BLOCKS)
        .map_err(|_| "cannot allocate the store's disk blocks")?;
    let mut store =
        LogStore::format(device, CostBenefit, LAYOUT).map_err(|_| "cannot format the store")?;
    let filled = measure_puts(&mut store, keys, 100, 32).map_err(|_| "a put failed");
    let device = store.into_device();
    let outcome = filled.and_then(|_| {
        let stopwatch = Stopwatch::start(count);
        let reopened = LogStore::open(device, CostBenefit);
        let elapsed = stopwatch.ticks();
        match reopened {
            Ok(store) => {
                let recovery = Recovery {
                    keys: store.len(),
                    ticks: elapsed,
                    blocks_read: store.statistics().blocks_read,
                };
                Ok((recovery, store.into_device()))
            }
            Err(_) => Err("recovery failed"),
        }
    });
    match outcome {
        Ok((recovery, device)) => {
            device
                .free()
                .map_err(|_| "cannot free the store's disk blocks")?;
            Ok(recovery)
        }
        Err(why) => Err(why),
    }
}

fn run(path: &str, value_bytes: usize, batch: u64, count: Count) -> Result<Cost, &'static str> {
    match path {
        "custom" => custom(value_bytes, batch, count),
        "files" => posix_paths::file_per_key(value_bytes, batch, puts_for(batch), count),
        "append" => posix_paths::append_only(value_bytes, batch, puts_for(batch), count),
        _ => Err("the path is custom, files or append"),
    }
}

fn number(word: Option<&&str>, default: u64, most: u64) -> Result<u64, &'static str> {
    match word {
        None => Ok(default),
        Some(word) => word
            .parse::<u64>()
            .ok()
            .filter(|value| (1..=most).contains(value))
            .ok_or("a number is out of range"),
    }
}

fn main(args: Args) -> i32 {
    let words: Vec<&str> = args.iter().collect();
    let outcome = match words.as_slice() {
        ["bench", path, rest @ ..] => bench(path, Count::from_arguments(rest.iter().copied())),
        ["recover", rest @ ..] => number(rest.first(), 100_000, 100_000)
            .and_then(|keys| recover(keys, Count::Cycles))
            .map(|recovery| {
                println!(
                    "{NAME}: recovered {} keys reading {} blocks in {} ticks",
                    recovery.keys, recovery.blocks_read, recovery.ticks
                )
            }),
        [path @ ("custom" | "files" | "append"), rest @ ..] => {
            let value_bytes = number(rest.first(), 1024, 16 * 1024);
            let batch = number(rest.get(1), 32, PUTS);
            value_bytes.and_then(|value_bytes| {
                let batch = batch?;
                run(path, value_bytes as usize, batch, Count::Cycles)
                    .map(|cost| cost.print(path, value_bytes as usize, batch))
            })
        }
        _ => Err("usage: logkv custom|files|append [VALUE_BYTES] [BATCH] | logkv recover [KEYS]"),
    };
    match outcome {
        Ok(()) => 0,
        Err(why) => {
            println!("{NAME}: {why}");
            1
        }
    }
}

/// The figure lines of one path for `make bench`.
fn bench(path: &str, count: Count) -> Result<(), &'static str> {
    let unit = count.unit();
    for value_bytes in VALUE_SIZES {
        for batch in [1, 32] {
            let cost = run(path, value_bytes, batch, count)?;
            let name = alloc::format!("put_{value_bytes}b_batch_{batch}");
            println!("C2.{path} {name} {} {unit}", cost.ticks / cost.puts.max(1));
            println!(
                "C2.{path} {name}_blocks_written {} per_100_puts",
                cost.blocks_written * 100 / cost.puts.max(1)
            );
        }
    }
    if path == "custom" {
        let recovery = recover(100_000, count)?;
        println!("C2.custom recovery_100000_keys {} {unit}", recovery.ticks);
        println!(
            "C2.custom recovery_100000_keys_blocks_read {} blocks",
            recovery.blocks_read
        );
    }
    Ok(())
}
