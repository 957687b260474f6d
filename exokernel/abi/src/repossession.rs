//! The repossession vector: the page through which the kernel tells an environment which
//! resources it took by force, and why.
//!
//! The environment gives the kernel one of its own pages for it with
//! [`Syscall::SetRepossessionVector`](crate::Syscall::SetRepossessionVector); the kernel writes
//! it and the library OS decodes it with this same code.
//!
//! # Layout (4096 bytes, every field a little-endian `u64`)
//!
//! | bytes        | field                                                                   |
//! |--------------|-------------------------------------------------------------------------|
//! | 0..8         | `written_count`: records ever written; also the newest record's sequence |
//! | 8..16        | `capacity`: record slots in the ring, [`CAPACITY`] (127)                |
//! | 16..24       | `version`: [`LAYOUT_VERSION`] (1)                                       |
//! | 24..32       | reserved, zero                                                          |
//! | 32..4096     | the ring: [`CAPACITY`] records of [`RECORD_BYTES`] (32) bytes           |
//!
//! A record is `kind` ([`ResourceKind`] code), `name` (frame number, block number or slot
//! position), `reason` ([`Reason`] code) and `sequence`, at offsets 0, 8, 16 and 24. Sequences
//! count from 1; the record with sequence `s` is in slot `(s - 1) % CAPACITY`, so once more than
//! [`CAPACITY`] records were written the newest overwrite the oldest. An all-zero record was
//! never written.
//!
//! A reader remembers the newest sequence it has seen and asks [`unread`] for what came after.
//! The kernel may append while the environment reads, so a reader should copy the page first
//! and decode the copy: a record whose stored sequence is not the expected one was overwritten
//! during the copy, and is counted as lost rather than misread.

/// Size of the vector page, in bytes.
pub const PAGE_BYTES: usize = 4096;

/// Size of the header at the start of the page, in bytes.
pub const HEADER_BYTES: usize = 32;

/// Size of one record, in bytes.
pub const RECORD_BYTES: usize = 32;

/// How many records the ring holds.
pub const CAPACITY: u64 = ((PAGE_BYTES - HEADER_BYTES) / RECORD_BYTES) as u64;

/// The layout this code reads and writes, stored in the header.
pub const LAYOUT_VERSION: u64 = 1;

/// Byte offset of `written_count` in the header.
pub const WRITTEN_COUNT_OFFSET: usize = 0;

/// Byte offset of `capacity` in the header.
pub const CAPACITY_OFFSET: usize = 8;

/// Byte offset of `version` in the header.
pub const VERSION_OFFSET: usize = 16;

/// A kind of revocable resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// A physical frame; named by its frame number.
    Frame = 1,
    /// A disk block; named by its block number.
    Block = 2,
    /// A slot in the time-slice vector; named by its position.
    Slot = 3,
}

impl ResourceKind {
    /// Every kind, for tests and tables.
    pub const ALL: [ResourceKind; 3] =
        [ResourceKind::Frame, ResourceKind::Block, ResourceKind::Slot];

    /// The code stored in a record (and passed in upcalls).
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The kind with code `code`, or `None` for a code this version does not know.
    pub fn from_code(code: u64) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// Why the kernel took a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The environment was asked to release resources of this kind and had not released enough
    /// when the deadline came (the abort protocol).
    DeadlineMissed = 1,
    /// The environment could not be asked: it has no revocation entry point, or the upcall
    /// could not be delivered, so the kernel ran the abort protocol without a deadline.
    Unreachable = 2,
}

impl Reason {
    /// Every reason, for tests and tables.
    pub const ALL: [Reason; 2] = [Reason::DeadlineMissed, Reason::Unreachable];

    /// The code stored in a record.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The reason with code `code`, or `None` for a code this version does not know.
    pub fn from_code(code: u64) -> Option<Reason> {
        Reason::ALL.into_iter().find(|reason| reason.code() == code)
    }
}

/// One repossession, as stored. The codes stay raw so that a reader built against an older
/// layout still sees records whose kind or reason it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// A [`ResourceKind`] code.
    pub kind_code: u64,
    /// The frame number, block number or slot position taken.
    pub name: u64,
    /// A [`Reason`] code.
    pub reason_code: u64,
    /// The record's position in the order of writing, from 1.
    pub sequence: u64,
}

impl Record {
    /// A record of `kind` resource `name` taken for `reason`, as the `sequence`-th record.
    pub fn new(kind: ResourceKind, name: u64, reason: Reason, sequence: u64) -> Record {
        Record {
            kind_code: kind.code(),
            name,
            reason_code: reason.code(),
            sequence,
        }
    }

    /// The kind of resource taken, or `None` for a kind this version does not know.
    pub fn kind(&self) -> Option<ResourceKind> {
        ResourceKind::from_code(self.kind_code)
    }

    /// Why it was taken, or `None` for a reason this version does not know.
    pub fn reason(&self) -> Option<Reason> {
        Reason::from_code(self.reason_code)
    }

    /// The record's bytes.
    pub fn encode(&self) -> [u8; RECORD_BYTES] {
        let mut bytes = [0; RECORD_BYTES];
        write_u64(&mut bytes, 0, self.kind_code);
        write_u64(&mut bytes, 8, self.name);
        write_u64(&mut bytes, 16, self.reason_code);
        write_u64(&mut bytes, 24, self.sequence);
        bytes
    }

    /// The record stored in `bytes`.
    pub fn decode(bytes: &[u8; RECORD_BYTES]) -> Record {
        Record {
            kind_code: read_u64(bytes, 0),
            name: read_u64(bytes, 8),
            reason_code: read_u64(bytes, 16),
            sequence: read_u64(bytes, 24),
        }
    }
}

/// The header of a vector page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// How many records were ever written; the sequence of the newest.
    pub written_count: u64,
    /// How many records the ring holds.
    pub capacity: u64,
    /// The layout version.
    pub version: u64,
}

impl Header {
    /// Whether this code can read a page with this header.
    pub fn is_known_layout(&self) -> bool {
        self.version == LAYOUT_VERSION && self.capacity == CAPACITY
    }
}

/// Why a vector page could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorError {
    /// The header names another layout version or capacity (or the page was never initialised).
    UnknownLayout,
    /// The reader claims to have seen a sequence the page has not reached yet.
    SequenceAhead,
}

/// Makes `page` an empty vector.
pub fn initialize(page: &mut [u8; PAGE_BYTES]) {
    page.fill(0);
    write_u64(page, CAPACITY_OFFSET, CAPACITY);
    write_u64(page, VERSION_OFFSET, LAYOUT_VERSION);
}

/// Appends a record of `kind` resource `name` taken for `reason`, overwriting the oldest record
/// when the ring is full; returns the new record's sequence.
pub fn append(page: &mut [u8; PAGE_BYTES], kind: ResourceKind, name: u64, reason: Reason) -> u64 {
    // 2^64 records cannot be written; wrapping only keeps the kernel free of panics.
    let sequence = header(page).written_count.wrapping_add(1);
    let offset = record_offset(sequence);
    let bytes = Record::new(kind, name, reason, sequence).encode();
    page[offset..offset + RECORD_BYTES].copy_from_slice(&bytes);
    write_u64(page, WRITTEN_COUNT_OFFSET, sequence);
    sequence
}

/// The header of `page`.
pub fn header(page: &[u8; PAGE_BYTES]) -> Header {
    Header {
        written_count: read_u64(page, WRITTEN_COUNT_OFFSET),
        capacity: read_u64(page, CAPACITY_OFFSET),
        version: read_u64(page, VERSION_OFFSET),
    }
}

/// The record with `sequence`, if the ring still holds it.
pub fn record(page: &[u8; PAGE_BYTES], sequence: u64) -> Option<Record> {
    let written_count = header(page).written_count;
    let oldest_kept = written_count.saturating_sub(CAPACITY) + 1;
    if sequence < oldest_kept || sequence > written_count {
        return None;
    }
    let stored = stored_record(page, sequence);
    (stored.sequence == sequence).then_some(stored)
}

/// The records written after `last_seen_sequence` (0 for a reader that has seen none).
pub fn unread(page: &[u8; PAGE_BYTES], last_seen_sequence: u64) -> Result<Unread<'_>, VectorError> {
    let header = header(page);
    if !header.is_known_layout() {
        return Err(VectorError::UnknownLayout);
    }
    if last_seen_sequence > header.written_count {
        return Err(VectorError::SequenceAhead);
    }
    let not_seen_count = header.written_count - last_seen_sequence;
    let overwritten_count = not_seen_count.saturating_sub(CAPACITY);
    Ok(Unread {
        page,
        // The sum is at most `written_count`; adding one wraps only when nothing is unread.
        next_sequence: (last_seen_sequence + overwritten_count).wrapping_add(1),
        remaining_count: not_seen_count - overwritten_count,
        newest_sequence: header.written_count,
        lost_count: overwritten_count,
    })
}

/// The records a reader has not seen, oldest first, from [`unread`].
#[derive(Clone, Debug)]
pub struct Unread<'a> {
    page: &'a [u8; PAGE_BYTES],
    next_sequence: u64,
    /// How many sequences, from `next_sequence` on, are still to be read.
    remaining_count: u64,
    /// The newest sequence when the header was read: the reader's next `last_seen_sequence`.
    pub newest_sequence: u64,
    /// Records the reader will never see because newer ones overwrote them. Final once the
    /// iterator is exhausted, since a record overwritten during a copy is found on the way.
    pub lost_count: u64,
}

impl Iterator for Unread<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        while self.remaining_count > 0 {
            let sequence = self.next_sequence;
            self.next_sequence = sequence.wrapping_add(1);
            self.remaining_count -= 1;
            let stored = stored_record(self.page, sequence);
            if stored.sequence == sequence {
                return Some(stored);
            }
            self.lost_count = self.lost_count.saturating_add(1);
        }
        None
    }
}

/// What the slot for `sequence` holds, whichever sequence that is.
fn stored_record(page: &[u8; PAGE_BYTES], sequence: u64) -> Record {
    let offset = record_offset(sequence);
    let mut bytes = [0; RECORD_BYTES];
    bytes.copy_from_slice(&page[offset..offset + RECORD_BYTES]);
    Record::decode(&bytes)
}

/// Where the record with `sequence` lives in the page.
fn record_offset(sequence: u64) -> usize {
    let slot = sequence.wrapping_sub(1) % CAPACITY;
    HEADER_BYTES + slot as usize * RECORD_BYTES
}

fn read_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(word)
}

fn write_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn empty_page() -> [u8; PAGE_BYTES] {
        let mut page = [0xAA; PAGE_BYTES];
        initialize(&mut page);
        page
    }

    #[test]
    fn layout_constants_fill_the_page() {
        assert_eq!(CAPACITY, 127);
        assert_eq!(HEADER_BYTES + CAPACITY as usize * RECORD_BYTES, PAGE_BYTES);
    }

    #[test]
    fn initialized_page_is_empty_and_known() {
        let page = empty_page();
        let header = header(&page);
        assert_eq!(header.written_count, 0);
        assert!(header.is_known_layout());
        assert_eq!(page[24..].iter().filter(|&&byte| byte != 0).count(), 0);
        assert_eq!(unread(&page, 0).unwrap().count(), 0);
        assert_eq!(record(&page, 0), None);
        assert_eq!(record(&page, 1), None);
    }

    #[test]
    fn append_writes_little_endian_fields_in_place() {
        let mut page = empty_page();
        assert_eq!(
            append(&mut page, ResourceKind::Block, 0x0102, Reason::Unreachable),
            1
        );
        assert_eq!(page[0..8], 1u64.to_le_bytes());
        assert_eq!(page[32..40], 2u64.to_le_bytes());
        assert_eq!(page[40..48], 0x0102u64.to_le_bytes());
        assert_eq!(page[48..56], 2u64.to_le_bytes());
        assert_eq!(page[56..64], 1u64.to_le_bytes());
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_none() {
        for kind in ResourceKind::ALL {
            assert_eq!(ResourceKind::from_code(kind.code()), Some(kind));
        }
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(ResourceKind::from_code(0), None);
        assert_eq!(ResourceKind::from_code(4), None);
        assert_eq!(Reason::from_code(0), None);
        assert_eq!(Reason::from_code(3), None);
    }

    #[test]
    fn reader_of_an_unknown_layout_is_refused() {
        let zeroed = [0; PAGE_BYTES];
        assert_eq!(unread(&zeroed, 0).err(), Some(VectorError::UnknownLayout));
        let mut newer = empty_page();
        write_u64(&mut newer, VERSION_OFFSET, LAYOUT_VERSION + 1);
        assert_eq!(unread(&newer, 0).err(), Some(VectorError::UnknownLayout));
    }

    #[test]
    fn reader_ahead_of_the_page_is_refused() {
        let mut page = empty_page();
        append(&mut page, ResourceKind::Frame, 7, Reason::DeadlineMissed);
        assert_eq!(unread(&page, 2).err(), Some(VectorError::SequenceAhead));
        assert_eq!(unread(&page, 1).unwrap().count(), 0);
    }

    #[test]
    fn ring_wraps_and_reports_lost_records() {
        let mut page = empty_page();
        for name in 0..CAPACITY + 3 {
            append(&mut page, ResourceKind::Frame, name, Reason::DeadlineMissed);
        }
        let mut reader = unread(&page, 0).unwrap();
        let names: Vec<u64> = reader.by_ref().map(|record| record.name).collect();
        assert_eq!(names, (3..CAPACITY + 3).collect::<Vec<u64>>());
        assert_eq!(reader.lost_count, 3);
        assert_eq!(reader.newest_sequence, CAPACITY + 3);
        assert_eq!(record(&page, 3), None);
        assert_eq!(record(&page, 4).map(|record| record.name), Some(3));
    }

    #[test]
    fn record_overwritten_during_a_copy_counts_as_lost() {
        let mut page = empty_page();
        for name in 0..3 {
            append(&mut page, ResourceKind::Slot, name, Reason::DeadlineMissed);
        }
        // A torn copy: slot 1 already holds a record from a later lap of the ring.
        let torn = Record::new(ResourceKind::Slot, 99, Reason::DeadlineMissed, 2 + CAPACITY);
        page[32 + RECORD_BYTES..32 + 2 * RECORD_BYTES].copy_from_slice(&torn.encode());
        let mut reader = unread(&page, 0).unwrap();
        let names: Vec<u64> = reader.by_ref().map(|record| record.name).collect();
        assert_eq!(names, [0, 2]);
        assert_eq!(reader.lost_count, 1);
    }

    fn kind() -> impl Strategy<Value = ResourceKind> {
        prop::sample::select(ResourceKind::ALL.to_vec())
    }

    fn reason() -> impl Strategy<Value = Reason> {
        prop::sample::select(Reason::ALL.to_vec())
    }

    proptest! {
        /// Every record decodes to what was encoded.
        #[test]
        fn record_round_trips(kind in kind(), name in any::<u64>(), reason in reason(), sequence in any::<u64>()) {
            let record = Record::new(kind, name, reason, sequence);
            let decoded = Record::decode(&record.encode());
            prop_assert_eq!(decoded, record);
            prop_assert_eq!(decoded.kind(), Some(kind));
            prop_assert_eq!(decoded.reason(), Some(reason));
        }

        /// A reader that has seen the first `seen` of the records written reads exactly the
        /// unseen ones the ring still holds, in order, and counts the overwritten rest as lost.
        #[test]
        fn reader_sees_the_newest_records_in_order(
            appended in proptest::collection::vec((kind(), any::<u64>(), reason()), 0..400),
            seen_fraction in 0.0f64..=1.0,
        ) {
            let mut page = empty_page();
            for (index, &(kind, name, reason)) in appended.iter().enumerate() {
                prop_assert_eq!(append(&mut page, kind, name, reason), index as u64 + 1);
            }
            let written = appended.len() as u64;
            let seen = (written as f64 * seen_fraction) as u64;
            let first_kept = seen.max(written.saturating_sub(CAPACITY));
            let mut reader = unread(&page, seen).unwrap();
            let records: Vec<Record> = reader.by_ref().collect();
            let expected: Vec<Record> = (first_kept..written)
                .map(|index| {
                    let (kind, name, reason) = appended[index as usize];
                    Record::new(kind, name, reason, index + 1)
                })
                .collect();
            prop_assert_eq!(&records, &expected);
            prop_assert_eq!(reader.lost_count, first_kept - seen);
            prop_assert_eq!(reader.newest_sequence, written);
            for expected_record in expected {
                prop_assert_eq!(record(&page, expected_record.sequence), Some(expected_record));
            }
        }

        /// Decoding and appending never panic, whatever the page holds.
        #[test]
        fn any_page_is_handled(
            bytes in proptest::collection::vec(any::<u8>(), PAGE_BYTES),
            header_words in (any::<u64>(), prop_oneof![Just(CAPACITY), any::<u64>()], prop_oneof![Just(LAYOUT_VERSION), any::<u64>()]),
            last_seen in any::<u64>(),
            sequence in any::<u64>(),
        ) {
            let mut page = [0; PAGE_BYTES];
            page.copy_from_slice(&bytes);
            write_u64(&mut page, WRITTEN_COUNT_OFFSET, header_words.0);
            write_u64(&mut page, CAPACITY_OFFSET, header_words.1);
            write_u64(&mut page, VERSION_OFFSET, header_words.2);
            let _ = record(&page, sequence);
            if let Ok(reader) = unread(&page, last_seen) {
                for unread_record in reader.take(2 * CAPACITY as usize) {
                    prop_assert!(unread_record.sequence > last_seen);
                }
            }
            append(&mut page, ResourceKind::Frame, 1, Reason::DeadlineMissed);
            prop_assert_eq!(header(&page).written_count, header_words.0.wrapping_add(1));
        }
    }
}
