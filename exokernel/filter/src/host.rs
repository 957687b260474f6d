//! What a filter's store holds besides the instance: the input the accessor imports read, and
//! the resource limiter that keeps a module inside the contract's memory and table bounds.

use alloc::vec::Vec;
use core::fmt;

use exo_abi::filter::{INPUT_BYTES_MAX, MEMORY_PAGES_MAX};
use wasmi::errors::HostError;
use wasmi::{CallHook, Caller, ResourceLimiter};
use wasmi_core::LimiterError;

use crate::{LoadError, TABLE_ELEMENTS_MAX, TABLES_MAX};

/// Bytes in one WebAssembly page: the limiter sees sizes in bytes, the contract counts pages.
const PAGE_BYTES: usize = 64 * 1024;

/// Most bytes of linear memory a module may have at any time.
const MEMORY_BYTES_MAX: usize = MEMORY_PAGES_MAX as usize * PAGE_BYTES;

/// The host error that ends a run which read past the end of its input. It is its own type so
/// that [`crate::Filter::run`] can tell a short packet (no strike) from a fault of the filter.
#[derive(Debug)]
pub(crate) struct PastInputEnd;

impl fmt::Display for PastInputEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("read past the end of the filter's input")
    }
}

impl HostError for PastInputEnd {}

/// The data of a filter's store.
pub(crate) struct Host {
    /// The current run's input, already cut to [`INPUT_BYTES_MAX`]. Its capacity is reserved
    /// once, so a run copies the input without allocating.
    pub(crate) input: Vec<u8>,
    /// The resource limiter wasmi consults for every memory and table allocation.
    pub(crate) limits: Limits,
}

impl Host {
    pub(crate) fn new() -> Host {
        Host {
            input: Vec::with_capacity(INPUT_BYTES_MAX),
            limits: Limits::default(),
        }
    }

    /// Replaces the input with the first [`INPUT_BYTES_MAX`] bytes of `input`.
    pub(crate) fn set_input(&mut self, input: &[u8]) {
        self.input.clear();
        self.input
            .extend_from_slice(&input[..input.len().min(INPUT_BYTES_MAX)]);
    }
}

/// Installed as the store's call hook: the first entry into WebAssembly code (the start
/// function, or else the first run) ends the creation of the module's memories and tables, after
/// which the limiter treats every request as a growth.
pub(crate) fn note_call(host: &mut Host, hook: CallHook) -> Result<(), wasmi::Error> {
    if matches!(hook, CallHook::CallingWasm) {
        host.limits.code_started = true;
    }
    Ok(())
}

/// The limiter of one filter's store.
///
/// wasmi asks the same questions when it creates a memory or table at instantiation (with a
/// current size of 0) and when code grows one, so the limiter also needs to know whether any
/// code has run yet ([`note_call`] tells it): a declaration beyond the bounds refuses the module,
/// a growth beyond them only fails.
#[derive(Default)]
pub(crate) struct Limits {
    /// Whether WebAssembly code has been entered.
    code_started: bool,
    /// Elements of all the tables created so far.
    table_elements: usize,
    /// Why the limiter denied a declaration, for [`crate::Sandbox::load`] to report.
    pub(crate) refusal: Option<LoadError>,
}

impl Limits {
    fn refuse(&mut self, why: LoadError) {
        if !self.code_started {
            self.refusal = Some(why);
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        // The maximum only matters at creation: a memory that was accepted declares no maximum
        // above the bound, and then `desired` alone decides a growth.
        let fits = desired <= MEMORY_BYTES_MAX && maximum.is_none_or(|max| max <= MEMORY_BYTES_MAX);
        if !fits {
            self.refuse(LoadError::MemoryTooLarge);
        }
        Ok(fits)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if self.code_started {
            return Ok(false);
        }
        match self.table_elements.checked_add(desired) {
            Some(total) if total <= TABLE_ELEMENTS_MAX => {
                self.table_elements = total;
                Ok(true)
            }
            _ => {
                self.refuse(LoadError::TablesTooLarge);
                Ok(false)
            }
        }
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        TABLES_MAX
    }

    fn memories(&self) -> usize {
        1
    }
}

/// `input_length`.
pub(crate) fn input_length(caller: Caller<'_, Host>) -> i32 {
    // The input is at most INPUT_BYTES_MAX (2048) bytes, far below i32::MAX.
    caller.data().input.len() as i32
}

/// `input_u8`.
pub(crate) fn input_u8(caller: Caller<'_, Host>, offset: i32) -> Result<i32, wasmi::Error> {
    read_be(&caller.data().input, offset, 1)
}

/// `input_u16`.
pub(crate) fn input_u16(caller: Caller<'_, Host>, offset: i32) -> Result<i32, wasmi::Error> {
    read_be(&caller.data().input, offset, 2)
}

/// `input_u32`.
pub(crate) fn input_u32(caller: Caller<'_, Host>, offset: i32) -> Result<i32, wasmi::Error> {
    read_be(&caller.data().input, offset, 4)
}

/// The `width`-byte big-endian number at `offset` (taken as unsigned, as the contract says), or
/// the [`PastInputEnd`] error when any of its bytes lies past the end of `input`.
fn read_be(input: &[u8], offset: i32, width: usize) -> Result<i32, wasmi::Error> {
    let start = offset as u32 as usize;
    let bytes = start
        .checked_add(width)
        .and_then(|end| input.get(start..end))
        .ok_or_else(|| wasmi::Error::host(PastInputEnd))?;
    let value = bytes
        .iter()
        .fold(0u32, |value, &byte| (value << 8) | u32::from(byte));
    // The contract hands the 32 bits over unchanged: a u32 above i32::MAX reads as negative.
    Ok(value as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8], offset: i32, width: usize) -> Option<i32> {
        read_be(input, offset, width).ok()
    }

    #[test]
    fn reads_are_big_endian_and_zero_extended() {
        let input = [0x12, 0x34, 0xfe, 0xdc, 0xba];
        assert_eq!(read(&input, 0, 1), Some(0x12));
        assert_eq!(read(&input, 2, 1), Some(0xfe));
        assert_eq!(read(&input, 1, 2), Some(0x34fe));
        assert_eq!(read(&input, 3, 2), Some(0xdcba));
        assert_eq!(read(&input, 1, 4), Some(0x34fe_dcba_u32 as i32));
    }

    #[test]
    fn reads_past_the_end_fail_with_the_distinguishable_error() {
        let input = [1, 2, 3, 4];
        assert_eq!(read(&input, 3, 1), Some(4));
        assert_eq!(read(&input, 4, 1), None);
        assert_eq!(read(&input, 3, 2), None);
        assert_eq!(read(&input, 1, 4), None);
        // Negative offsets are huge unsigned ones, not reads before the start.
        assert_eq!(read(&input, -1, 1), None);
        assert_eq!(read(&input, i32::MIN, 4), None);
        let error = read_be(&input, 4, 1).unwrap_err();
        assert!(error.downcast_ref::<PastInputEnd>().is_some());
    }

    #[test]
    fn input_is_cut_to_the_contract_length() {
        let mut host = Host::new();
        host.set_input(&[7; INPUT_BYTES_MAX + 100]);
        assert_eq!(host.input.len(), INPUT_BYTES_MAX);
        host.set_input(&[1, 2]);
        assert_eq!(host.input, [1, 2]);
    }

    #[test]
    fn declarations_beyond_the_bounds_are_refused_before_code_runs() {
        let mut limits = Limits::default();
        assert_eq!(limits.memory_growing(0, PAGE_BYTES, None).ok(), Some(true));
        assert_eq!(
            limits
                .memory_growing(0, PAGE_BYTES, Some(2 * PAGE_BYTES))
                .ok(),
            Some(false)
        );
        assert_eq!(limits.refusal, Some(LoadError::MemoryTooLarge));

        let mut limits = Limits::default();
        assert_eq!(
            limits.table_growing(0, TABLE_ELEMENTS_MAX, None).ok(),
            Some(true)
        );
        assert_eq!(limits.table_growing(0, 1, None).ok(), Some(false));
        assert_eq!(limits.refusal, Some(LoadError::TablesTooLarge));
    }

    #[test]
    fn growth_after_code_started_fails_without_refusing() {
        let mut host = Host::new();
        note_call(&mut host, CallHook::CallingWasm).unwrap();
        let limits = &mut host.limits;
        assert_eq!(limits.memory_growing(0, PAGE_BYTES, None).ok(), Some(true));
        assert_eq!(
            limits.memory_growing(PAGE_BYTES, 2 * PAGE_BYTES, None).ok(),
            Some(false)
        );
        assert_eq!(limits.table_growing(0, 1, None).ok(), Some(false));
        assert_eq!(limits.refusal, None);
    }
}
