//! What puts cost on a device, counted the same way on the host and in the guest: the store
//! counts its own device calls, so any [`BlockDevice`] will do.

use super::{CleaningPolicy, LogStore, StoreError, StoreStatistics};
use crate::block_device::BlockDevice;
use alloc::format;
use alloc::vec::Vec;

/// What [`measure_puts`] did and what it cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutCost {
    /// Puts made.
    pub puts: u64,
    /// The device work and log use they caused (cleaning included, if any ran).
    pub device: StoreStatistics,
}

/// Puts `put_count` distinct keys (`key00000000`, `key00000001`, ...; 11 bytes, a put over
/// a key already there overwrites it) with values of `value_bytes` bytes, committing after
/// every `batch_puts` puts and after the last, and returns the counts.
///
/// Errors: those of [`LogStore::put`] and [`LogStore::commit`].
pub fn measure_puts<D: BlockDevice, C: CleaningPolicy>(
    store: &mut LogStore<D, C>,
    put_count: u64,
    value_bytes: usize,
    batch_puts: u64,
) -> Result<PutCost, StoreError> {
    let before = *store.statistics();
    let batch_puts = batch_puts.max(1);
    for index in 0..put_count {
        let key = format!("key{index:08}");
        let value: Vec<u8> = (0..value_bytes)
            .map(|position| (index as usize).wrapping_add(position) as u8)
            .collect();
        store.put(key.as_bytes(), &value)?;
        if (index + 1) % batch_puts == 0 {
            store.commit()?;
        }
    }
    store.commit()?;
    Ok(PutCost {
        puts: put_count,
        device: store.statistics().since(&before),
    })
}
