//! PCI configuration space through the legacy I/O ports `0xCF8`/`0xCFC` (configuration
//! mechanism #1, PCI Local Bus Specification 3.0, section 3.2.2.3.2), offered to the
//! `virtio-drivers` crate as its `ConfigurationAccess`, and the search for a device function.
//!
//! Only bus 0 is searched: QEMU's `pc` and `q35` machines put every device given with `-device`
//! there unless it names another bus.

use super::mmio;
use exo_core::frame_table::FrameTable;
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::bus::{
    BarInfo, Command, ConfigurationAccess, DeviceFunction, DeviceFunctionInfo, PciError, PciRoot,
};
use virtio_drivers::transport::pci::virtio_device_type;
use x86_64::instructions::port::Port;

const CONFIG_ADDRESS_PORT: u16 = 0xCF8;
const CONFIG_DATA_PORT: u16 = 0xCFC;
/// Bit 31 of `CONFIG_ADDRESS`: the next access to `CONFIG_DATA` is a configuration cycle.
const CONFIG_ENABLE: u32 = 1 << 31;

/// Configuration-space access through the two I/O ports. The kernel runs on one CPU with
/// interrupts off, so the address write and the data access of one call are never interleaved
/// with another's.
#[derive(Debug)]
pub struct PortConfigurationAccess;

/// The `CONFIG_ADDRESS` value selecting the 32-bit register at `register_offset` (rounded down
/// to a multiple of 4) of `function`.
fn config_address(function: DeviceFunction, register_offset: u8) -> u32 {
    CONFIG_ENABLE
        | u32::from(function.bus) << 16
        | u32::from(function.device & 0x1F) << 11
        | u32::from(function.function & 0x7) << 8
        | u32::from(register_offset & 0xFC)
}

impl ConfigurationAccess for PortConfigurationAccess {
    fn read_word(&self, function: DeviceFunction, register_offset: u8) -> u32 {
        let mut address = Port::<u32>::new(CONFIG_ADDRESS_PORT);
        let mut data = Port::<u32>::new(CONFIG_DATA_PORT);
        // SAFETY: the configuration ports select and read a register of a PCI function; they
        // touch no memory, and an absent function reads as all ones.
        unsafe {
            address.write(config_address(function, register_offset));
            data.read()
        }
    }

    fn write_word(&mut self, function: DeviceFunction, register_offset: u8, value: u32) {
        let mut address = Port::<u32>::new(CONFIG_ADDRESS_PORT);
        let mut data = Port::<u32>::new(CONFIG_DATA_PORT);
        // SAFETY: as in `read_word`; the callers (this kernel's driver and the `virtio-drivers`
        // crate) write only the command register, BARs while sizing them, and virtio registers.
        unsafe {
            address.write(config_address(function, register_offset));
            data.write(value);
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortConfigurationAccess
    }
}

/// The root of the machine's PCI hierarchy, reached through the configuration ports.
pub fn root() -> PciRoot<PortConfigurationAccess> {
    PciRoot::new(PortConfigurationAccess)
}

/// The first function on bus 0 for which `is_wanted` holds.
pub fn find_function(
    root: &PciRoot<PortConfigurationAccess>,
    is_wanted: impl Fn(&DeviceFunctionInfo) -> bool,
) -> Option<DeviceFunction> {
    root.enumerate_bus(0)
        .find(|(_, info)| is_wanted(info))
        .map(|(function, _)| function)
}

/// Why a device function could not be made reachable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Its BARs could not be read.
    Bars(PciError),
    /// Its registers could not be mapped.
    Mmio(mmio::MapError),
}

/// Finds the first virtio function of `device_type` on bus 0 and makes it reachable: memory
/// space and bus mastering on, INTx off (the network driver polls; the disk signals by MSI-X,
/// which INTx off does not stop), every memory BAR mapped with page
/// tables taken from `frames`. `Ok(None)` when there is no such function.
pub fn open_virtio_function(
    device_type: DeviceType,
    frames: &mut FrameTable,
) -> Result<Option<(PciRoot<PortConfigurationAccess>, DeviceFunction)>, OpenError> {
    let mut root = root();
    let Some(function) = find_function(&root, |info| virtio_device_type(info) == Some(device_type))
    else {
        return Ok(None);
    };
    let (_, command) = root.get_status_command(function);
    root.set_command(
        function,
        command | Command::MEMORY_SPACE | Command::BUS_MASTER | Command::INTERRUPT_DISABLE,
    );
    let bars = root.bars(function).map_err(OpenError::Bars)?;
    for bar in bars.into_iter().flatten() {
        if let BarInfo::Memory { address, size, .. } = bar
            && address != 0
        {
            mmio::map(address, size, frames).map_err(OpenError::Mmio)?;
        }
    }
    Ok(Some((root, function)))
}
