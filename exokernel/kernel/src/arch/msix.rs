//! Message-signalled interrupts for a virtio device (MSI-X: PCI Local Bus Specification 3.0,
//! section 6.8.2; virtio 1.2, section 4.1.4.3): entry 0 of the function's MSI-X table aimed at
//! this CPU's local APIC, and one virtqueue told to signal through it.
//!
//! MSI-X needs nothing from the firmware but the BARs it assigned (which the driver maps
//! anyway), so it works the same under BIOS and UEFI, where the legacy INTx route depends on
//! the interrupt routing each firmware programs. The message is edge-triggered and goes
//! straight to the local APIC: the legacy PICs stay masked.

use super::mmio;
use super::pci::PortConfigurationAccess;
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};

const CAPABILITY_MSIX: u8 = 0x11;
const CAPABILITY_VENDOR: u8 = 0x09;
/// In the capability's first word, bits 31 and 30: the message control's enable and
/// function-mask bits.
const MSIX_ENABLE: u32 = 1 << 31;
const MSIX_FUNCTION_MASK: u32 = 1 << 30;
const TABLE_ENTRY_BYTES: usize = 16;
/// The local APIC's message address (Intel SDM vol. 3A, 11.11.1); the destination APIC ID
/// goes in bits 19..12.
const APIC_MESSAGE_ADDRESS: u32 = 0xFEE0_0000;
const FIRST_BAR_REGISTER: u8 = 0x10;
/// The virtio capability type of the common configuration structure.
const VIRTIO_COMMON_CONFIG: u8 = 1;
/// Offsets in the virtio common configuration structure.
const COMMON_MSIX_CONFIG: usize = 0x10;
const COMMON_QUEUE_SELECT: usize = 0x16;
const COMMON_QUEUE_MSIX_VECTOR: usize = 0x1A;
const COMMON_CONFIG_BYTES: usize = 0x38;
/// The virtio "no vector" value: configuration changes signal nothing.
const VIRTIO_NO_VECTOR: u16 = 0xFFFF;

/// Why a device's interrupt could not be routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The function has no MSI-X capability, or no virtio common configuration.
    NoCapability,
    /// The MSI-X table or the common configuration lies outside the mapped BARs.
    Unmapped,
    /// The device did not accept the vector for its queue.
    Refused,
}

/// Aims entry 0 of `function`'s MSI-X table at vector `vector` of the local APIC `apic_id`,
/// enables MSI-X, and asks the device to signal completions on queue `queue` through that
/// entry (and configuration changes through none). Call before the device is started.
pub fn route_queue(
    function: DeviceFunction,
    queue: u16,
    apic_id: u8,
    vector: u8,
) -> Result<(), RouteError> {
    let msix = find_capability(function, CAPABILITY_MSIX, |_| true)?;
    let table_word = read(function, msix + 4);
    let table_physical =
        bar_address(function, table_word as u8 & 0x7)? + u64::from(table_word & !0x7);
    let table = mmio::virtual_address(table_physical, TABLE_ENTRY_BYTES)
        .ok_or(RouteError::Unmapped)?
        .cast::<u32>();
    let entry = [
        APIC_MESSAGE_ADDRESS | u32::from(apic_id) << 12,
        0,
        u32::from(vector),
        0,
    ];
    for (index, word) in entry.into_iter().enumerate() {
        // SAFETY: `table` maps entry 0 of the function's MSI-X table (16 bytes, checked mapped
        // above): message address low and high, data, and vector control (0: unmasked).
        unsafe { table.add(index).write_volatile(word) };
    }
    let control = read(function, msix);
    write(
        function,
        msix,
        (control | MSIX_ENABLE) & !MSIX_FUNCTION_MASK,
    );

    let common = find_capability(function, CAPABILITY_VENDOR, |offset| {
        (read(function, offset) >> 24) as u8 == VIRTIO_COMMON_CONFIG
    })?;
    let common_bar = read(function, common + 4) as u8;
    let common_physical =
        bar_address(function, common_bar)? + u64::from(read(function, common + 8));
    let common =
        mmio::virtual_address(common_physical, COMMON_CONFIG_BYTES).ok_or(RouteError::Unmapped)?;
    let register = |offset: usize| common.as_ptr().wrapping_add(offset).cast::<u16>();
    // SAFETY: the three registers are 16-bit fields inside the device's common configuration
    // structure (checked mapped above); the driver's transport does not run meanwhile (one
    // CPU, called from the driver's start).
    let accepted = unsafe {
        register(COMMON_MSIX_CONFIG).write_volatile(VIRTIO_NO_VECTOR);
        register(COMMON_QUEUE_SELECT).write_volatile(queue);
        register(COMMON_QUEUE_MSIX_VECTOR).write_volatile(0);
        register(COMMON_QUEUE_MSIX_VECTOR).read_volatile()
    };
    if accepted == 0 {
        Ok(())
    } else {
        Err(RouteError::Refused)
    }
}

/// The configuration-space offset of the first capability `id` of `function` for which
/// `is_wanted` holds (given its offset).
fn find_capability(
    function: DeviceFunction,
    id: u8,
    is_wanted: impl Fn(u8) -> bool,
) -> Result<u8, RouteError> {
    super::pci::root()
        .capabilities(function)
        .find(|capability| capability.id == id && is_wanted(capability.offset))
        .map(|capability| capability.offset)
        .ok_or(RouteError::NoCapability)
}

/// The physical address memory BAR `index` of `function` was given by the firmware.
fn bar_address(function: DeviceFunction, index: u8) -> Result<u64, RouteError> {
    if index > 5 {
        return Err(RouteError::NoCapability);
    }
    let register = FIRST_BAR_REGISTER + 4 * index;
    let low = read(function, register);
    let is_64_bit = (low >> 1) & 0b11 == 0b10;
    let high = if is_64_bit && index < 5 {
        read(function, register + 4)
    } else {
        0
    };
    Ok(u64::from(high) << 32 | u64::from(low & !0xF))
}

fn read(function: DeviceFunction, offset: u8) -> u32 {
    PortConfigurationAccess.read_word(function, offset)
}

fn write(function: DeviceFunction, offset: u8, value: u32) {
    PortConfigurationAccess.write_word(function, offset, value);
}
