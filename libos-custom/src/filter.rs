//! Predicates over bytes, compiled to the downloaded-filter modules of [`exo_abi::filter`].
//!
//! A [`Predicate`] is a conjunction of [`FieldTest`]s: each reads an unsigned field of 1, 2 or
//! 4 bytes at a fixed offset of the input, masks it, and compares it with a constant. That one
//! shape covers both uses of a downloaded filter:
//!
//! - packet filters, where the input is a received frame and fields are big-endian (network
//!   order, as the kernel's accessors read them): [`Predicate::field`], and the Ethernet helpers
//!   [`Predicate::ipv4`], [`Predicate::udp`] and [`Predicate::udp_destination_port`];
//! - wake-up predicates, where the input is words of memory a producer writes in the machine's
//!   own byte order, and a consumer sleeps until one reaches a value or changes:
//!   [`Predicate::word`] with [`Comparison::GreaterOrEqual`] or [`Comparison::NotEqual`].
//!
//! [`Predicate::to_wasm`] emits the module; [`Predicate::matches`] evaluates the same predicate
//! natively and gives the verdict the kernel would.
//!
//! The kernel recognises the modules of predicates whose multi-byte fields are all big-endian
//! (every packet filter the constructors above build) and runs them natively, merged with the
//! other packet filters bound, at a small fraction of the interpreter's cost (see
//! [`exo_abi::filter`]'s "Recognised filters"); a little-endian field of 2 or 4 bytes, whose
//! module swaps bytes, keeps the module in the interpreter.

mod wasm;

#[cfg(test)]
mod tests;

use alloc::vec::Vec;

/// How many bytes a field has. Fields are unsigned and zero-extended to 32 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// One byte (read with the `input_u8` accessor).
    U8,
    /// Two bytes (read with `input_u16`).
    U16,
    /// Four bytes (read with `input_u32`).
    U32,
}

impl Width {
    /// The field's size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U32 => 4,
        }
    }

    /// The largest value a field of this width holds.
    const fn all_ones(self) -> u32 {
        match self {
            Self::U8 => 0xff,
            Self::U16 => 0xffff,
            Self::U32 => u32::MAX,
        }
    }
}

/// The order of a multi-byte field's bytes in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Most significant byte first: network order, and what the kernel's accessors read.
    Big,
    /// Least significant byte first: how x86_64 stores words in memory. The emitted module
    /// swaps the bytes the accessor returns.
    Little,
}

impl ByteOrder {
    /// The order of this machine's words in memory, as a producer writes them.
    pub const NATIVE: Self = if cfg!(target_endian = "little") {
        Self::Little
    } else {
        Self::Big
    };
}

/// How a masked field is compared with a test's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `field & mask == value`.
    Equal,
    /// `field & mask != value`: for a consumer waiting until a word changes.
    NotEqual,
    /// `field & mask >= value`, unsigned: for a consumer waiting until a counter reaches a
    /// value.
    GreaterOrEqual,
}

/// One test of a [`Predicate`]: `(field & mask) <comparison> value`, where `field` is the
/// unsigned number of `width` bytes in `order` at byte `offset` of the input.
///
/// A field that does not fit in the input makes the whole run end with no match (the contract's
/// short input), whatever the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldTest {
    /// Byte offset of the field in the input.
    pub offset: u32,
    /// Size of the field.
    pub width: Width,
    /// Order of the field's bytes.
    pub order: ByteOrder,
    /// Bits of the field that take part in the comparison.
    pub mask: u32,
    /// How the masked field is compared with `value`.
    pub comparison: Comparison,
    /// The value the masked field is compared with.
    pub value: u32,
}

impl FieldTest {
    /// The field at the test's offset in `input`, masked; `None` if it does not fit in it.
    pub fn masked_field(&self, input: &[u8]) -> Option<u32> {
        let start = usize::try_from(self.offset).ok()?;
        let bytes = input.get(start..start.checked_add(self.width.bytes())?)?;
        let mut word = [0; 4];
        let field = match self.order {
            ByteOrder::Big => {
                // Right-aligned, so the big-endian number is zero-extended.
                word[4 - bytes.len()..].copy_from_slice(bytes);
                u32::from_be_bytes(word)
            }
            ByteOrder::Little => {
                word[..bytes.len()].copy_from_slice(bytes);
                u32::from_le_bytes(word)
            }
        };
        Some(field & self.mask)
    }

    /// Whether the test holds on `input`; `None` if the field does not fit in it.
    pub fn holds(&self, input: &[u8]) -> Option<bool> {
        let masked = self.masked_field(input)?;
        Some(match self.comparison {
            Comparison::Equal => masked == self.value,
            Comparison::NotEqual => masked != self.value,
            Comparison::GreaterOrEqual => masked >= self.value,
        })
    }
}

/// A conjunction of [`FieldTest`]s, evaluated in the order they were added and stopping at the
/// first that fails. The empty conjunction matches every input.
///
/// ```
/// use libos_custom::filter::{Predicate, Width};
///
/// // An IPv4 packet to 10.0.0.1, whatever its protocol.
/// let to_host = Predicate::ipv4().field(30, Width::U32, u32::MAX, 0x0a00_0001);
/// assert_eq!(to_host.tests().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Predicate {
    tests: Vec<FieldTest>,
}

// Ethernet II and IPv4 layout, for the helpers (offsets from the start of the frame).
const ETHERTYPE_OFFSET: u32 = 12;
const ETHERTYPE_IPV4: u32 = 0x0800;
const IPV4_OFFSET: u32 = 14;
const IPV4_VERSION_IHL_OFFSET: u32 = IPV4_OFFSET;
/// Version 4, header length 5 words: the only header length the helpers accept.
const IPV4_VERSION_IHL_NO_OPTIONS: u32 = 0x45;
const IPV4_FLAGS_FRAGMENT_OFFSET: u32 = IPV4_OFFSET + 6;
const IPV4_FRAGMENT_OFFSET_MASK: u32 = 0x1fff;
const IPV4_PROTOCOL_OFFSET: u32 = IPV4_OFFSET + 9;
const IPV4_PROTOCOL_UDP: u32 = 17;
/// Where the UDP header starts when the IPv4 header has no options (20 bytes).
const UDP_OFFSET: u32 = IPV4_OFFSET + 20;
const UDP_DESTINATION_PORT_OFFSET: u32 = UDP_OFFSET + 2;

impl Predicate {
    /// Most tests for which [`Predicate::to_wasm`] is sure to give a module within the
    /// contract's limits, whatever the tests: at most [`exo_abi::filter::MODULE_BYTES_MAX`]
    /// bytes (about 13 KiB at worst), and a run that needs under half of
    /// [`exo_abi::filter::FUEL_PER_RUN`] (at most about 18 units a test). Longer predicates
    /// still compile, but the kernel may refuse the module or the run may run out of fuel.
    pub const TESTS_MAX: usize = 256;

    /// The empty conjunction, which matches every input.
    pub const fn new() -> Self {
        Self { tests: Vec::new() }
    }

    /// Adds the test `(field & mask) == value` on a big-endian (network order) field: the
    /// usual test of a packet header.
    #[must_use]
    pub fn field(self, offset: u32, width: Width, mask: u32, value: u32) -> Self {
        self.test(FieldTest {
            offset,
            width,
            order: ByteOrder::Big,
            mask,
            comparison: Comparison::Equal,
            value,
        })
    }

    /// Adds a comparison of the whole 32-bit word at `offset`, in this machine's byte order,
    /// with `value`: the test of a wake-up predicate over words a producer writes in memory.
    #[must_use]
    pub fn word(self, offset: u32, comparison: Comparison, value: u32) -> Self {
        self.test(FieldTest {
            offset,
            width: Width::U32,
            order: ByteOrder::NATIVE,
            mask: u32::MAX,
            comparison,
            value,
        })
    }

    /// Adds any test, evaluated after those already added.
    #[must_use]
    pub fn test(mut self, test: FieldTest) -> Self {
        self.tests.push(test);
        self
    }

    /// The tests, in evaluation order.
    pub fn tests(&self) -> &[FieldTest] {
        &self.tests
    }

    /// The verdict the kernel gives when it runs [`Predicate::to_wasm`]'s module on `input`:
    /// true if every test holds. A field past the end of the input gives false, as a run that
    /// reads past the end ends with no match.
    pub fn matches(&self, input: &[u8]) -> bool {
        self.tests
            .iter()
            .all(|test| test.holds(input) == Some(true))
    }

    /// The bytes of a WebAssembly module that follows [`exo_abi::filter`] and computes this
    /// predicate: it imports only the accessors its tests read with, exports
    /// [`exo_abi::filter::EXPORT_RUN`] of type `[] -> [i32]`, and returns
    /// [`exo_abi::filter::VERDICT_MATCH`] if every test holds, else
    /// [`exo_abi::filter::VERDICT_NO_MATCH`] as soon as one fails. It declares no memory, table
    /// or global, and uses only WebAssembly 1.0 instructions.
    ///
    /// See [`Predicate::TESTS_MAX`] for the size of predicates the kernel is sure to accept.
    pub fn to_wasm(&self) -> Vec<u8> {
        wasm::module(&self.tests)
    }

    /// The same predicate as [`Predicate::to_wasm`], in the form that takes its input in its
    /// own memory ([`exo_abi::filter::EXPORT_INPUT_MEMORY`]): no import, one page of memory,
    /// and each field an ordinary load instead of a call into the kernel. It checks once that
    /// the input holds every field, and gives the same verdict on every input. The kernel does
    /// not recognise this form: it always runs in the interpreter, where it costs a fraction
    /// of the accessor form's run.
    pub fn to_wasm_in_memory(&self) -> Vec<u8> {
        wasm::memory_module(&self.tests)
    }

    /// Ethernet II frames that carry IPv4: EtherType 0x0800 at offset 12.
    ///
    /// Frames with an 802.1Q VLAN tag do not match (their EtherType is 0x8100).
    pub fn ipv4() -> Self {
        Self::new().field(ETHERTYPE_OFFSET, Width::U16, 0xffff, ETHERTYPE_IPV4)
    }

    /// Ethernet II frames that carry IPv4 with protocol UDP: [`Predicate::ipv4`], and protocol
    /// 17 at offset 23. Every fragment of a fragmented datagram matches.
    pub fn udp() -> Self {
        Self::ipv4().field(IPV4_PROTOCOL_OFFSET, Width::U8, 0xff, IPV4_PROTOCOL_UDP)
    }

    /// Ethernet II frames that carry a UDP datagram to `port`: [`Predicate::udp`], then
    ///
    /// - the IPv4 version and header length byte (offset 14) is exactly 0x45: the header has
    ///   no options, so the UDP header is at offset 34 and its destination port at offset 36.
    ///   A packet with IPv4 options (IHL above 5) does not match, even to `port`: the
    ///   predicates read fields at fixed offsets, and such packets are rare enough to be left
    ///   to whoever handles unclaimed ones;
    /// - the fragment offset (the low 13 bits of the 16-bit word at offset 20) is 0: a later
    ///   fragment has no UDP header, and its bytes at offset 36 are payload;
    /// - the destination port (offset 36) is `port`.
    pub fn udp_destination_port(port: u16) -> Self {
        Self::udp()
            .field(
                IPV4_VERSION_IHL_OFFSET,
                Width::U8,
                0xff,
                IPV4_VERSION_IHL_NO_OPTIONS,
            )
            .field(
                IPV4_FLAGS_FRAGMENT_OFFSET,
                Width::U16,
                IPV4_FRAGMENT_OFFSET_MASK,
                0,
            )
            .field(
                UDP_DESTINATION_PORT_OFFSET,
                Width::U16,
                0xffff,
                u32::from(port),
            )
    }
}
