//! The key-value request format the UDP server speaks, and its store.
//!
//! One request per datagram, one reply per request, big-endian:
//!
//! | bytes | request | reply |
//! |---|---|---|
//! | 0..4 | request id, chosen by the client | the request's id |
//! | 4 | operation: `G` get, `S` set | status: `V` value, `N` no such key, `K` stored, `E` error |
//! | 5 | key length, 1 to [`KEY_BYTES_MAX`] | 0, or the [`ErrorCode`] after `E` |
//! | 6..8 | value length: 0 for `G`, up to [`VALUE_BYTES_MAX`] for `S` | value length (`V` only) |
//! | 8.. | the key, then the value | the value (`V` only) |
//!
//! A datagram whose length is not exactly 8 plus the two lengths is malformed; it gets an `E`
//! reply (its id is its first four bytes, zero-padded when it is shorter).

use alloc::vec::Vec;
use hashbrown::HashMap;

/// Bytes of a request's or a reply's fixed part.
pub const HEADER_BYTES: usize = 8;
/// Longest key.
pub const KEY_BYTES_MAX: usize = 64;
/// Longest value.
pub const VALUE_BYTES_MAX: usize = 1024;
/// Longest reply payload: the fixed part and a value.
pub const REPLY_BYTES_MAX: usize = HEADER_BYTES + VALUE_BYTES_MAX;
/// Operation byte of a get.
pub const GET: u8 = b'G';
/// Operation byte of a set.
pub const SET: u8 = b'S';
/// Status byte of a get that found its key; the value follows.
pub const FOUND: u8 = b'V';
/// Status byte of a get that did not find its key.
pub const NOT_FOUND: u8 = b'N';
/// Status byte of a set done.
pub const STORED: u8 = b'K';
/// Status byte of a request refused; byte 5 holds the [`ErrorCode`].
pub const ERROR: u8 = b'E';

/// Why a request was refused (byte 5 of an `E` reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// Not a request of this format: lengths that disagree, an unknown operation, an empty or
    /// too long key, a value too long, a value on a get.
    Malformed = 1,
    /// A set of a new key into a store holding its most keys.
    Full = 2,
}

/// A request parsed in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'payload> {
    /// Get the value of a key.
    Get {
        /// The key.
        key: &'payload [u8],
    },
    /// Set the value of a key.
    Set {
        /// The key.
        key: &'payload [u8],
        /// Its new value.
        value: &'payload [u8],
    },
}

/// The id of `payload` (its first four bytes, zero-padded) and the request it holds, or why
/// it holds none.
pub fn parse(payload: &[u8]) -> ([u8; 4], Result<Request<'_>, ErrorCode>) {
    let mut id = [0u8; 4];
    let id_bytes = payload.len().min(4);
    id[..id_bytes].copy_from_slice(&payload[..id_bytes]);
    let Some(header) = payload.get(..HEADER_BYTES) else {
        return (id, Err(ErrorCode::Malformed));
    };
    let key_bytes = usize::from(header[5]);
    let value_bytes = usize::from(u16::from_be_bytes([header[6], header[7]]));
    let is_well_formed = (1..=KEY_BYTES_MAX).contains(&key_bytes)
        && value_bytes <= VALUE_BYTES_MAX
        && payload.len() == HEADER_BYTES + key_bytes + value_bytes;
    if !is_well_formed {
        return (id, Err(ErrorCode::Malformed));
    }
    let key = &payload[HEADER_BYTES..HEADER_BYTES + key_bytes];
    let value = &payload[HEADER_BYTES + key_bytes..];
    let request = match header[4] {
        GET if value.is_empty() => Ok(Request::Get { key }),
        SET => Ok(Request::Set { key, value }),
        _ => Err(ErrorCode::Malformed),
    };
    (id, request)
}

/// Writes a request into `payload`; returns its length. For clients and tests. A get has an
/// empty value.
///
/// # Panics
///
/// When `payload` is shorter than `8 + key + value` bytes, or the key or the value is longer
/// than its length field holds.
pub fn write_request(
    payload: &mut [u8],
    id: u32,
    operation: u8,
    key: &[u8],
    value: &[u8],
) -> usize {
    let key_bytes = u8::try_from(key.len()).expect("a key of at most 255 bytes");
    let value_bytes = u16::try_from(value.len()).expect("a value of at most 65,535 bytes");
    payload[0..4].copy_from_slice(&id.to_be_bytes());
    payload[4] = operation;
    payload[5] = key_bytes;
    payload[6..8].copy_from_slice(&value_bytes.to_be_bytes());
    payload[HEADER_BYTES..HEADER_BYTES + key.len()].copy_from_slice(key);
    let end = HEADER_BYTES + key.len() + value.len();
    payload[HEADER_BYTES + key.len()..end].copy_from_slice(value);
    end
}

/// The keys and values, in memory, with a bound on how many keys it holds.
#[derive(Debug)]
pub struct KvStore {
    entries: HashMap<Vec<u8>, Vec<u8>>,
    keys_max: usize,
}

impl KvStore {
    /// An empty store of at most `keys_max` keys.
    pub fn new(keys_max: usize) -> KvStore {
        KvStore {
            entries: HashMap::with_capacity(keys_max),
            keys_max,
        }
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Answers the request in `payload`, writing the reply payload into `reply` (at least
    /// [`REPLY_BYTES_MAX`] bytes); returns the reply's length. Any bytes at all are a request
    /// or get an error reply.
    ///
    /// # Panics
    ///
    /// When `reply` is shorter than [`REPLY_BYTES_MAX`].
    pub fn execute(&mut self, payload: &[u8], reply: &mut [u8]) -> usize {
        let (id, request) = parse(payload);
        reply[0..4].copy_from_slice(&id);
        let (status, detail, value) = match request {
            Ok(Request::Get { key }) => match self.entries.get(key) {
                Some(value) => (FOUND, 0, value.as_slice()),
                None => (NOT_FOUND, 0, &[][..]),
            },
            Ok(Request::Set { key, value }) => match self.set(key, value) {
                Ok(()) => (STORED, 0, &[][..]),
                Err(code) => (ERROR, code as u8, &[][..]),
            },
            Err(code) => (ERROR, code as u8, &[][..]),
        };
        reply[4] = status;
        reply[5] = detail;
        reply[6..8].copy_from_slice(&(value.len() as u16).to_be_bytes());
        reply[HEADER_BYTES..HEADER_BYTES + value.len()].copy_from_slice(value);
        HEADER_BYTES + value.len()
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<(), ErrorCode> {
        if let Some(old) = self.entries.get_mut(key) {
            old.clear();
            old.extend_from_slice(value);
            return Ok(());
        }
        if self.entries.len() >= self.keys_max {
            return Err(ErrorCode::Full);
        }
        self.entries.insert(key.to_vec(), value.to_vec());
        Ok(())
    }
}
