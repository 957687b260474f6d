//! Starting a virtio device over PCI, the part both drivers share: the first function of the
//! device type on bus 0 made reachable (`pci`), the DMA pool set up (`dma`), the virtio
//! transport made; each driver's own start (`virtio_blk`, `virtio_net`) does the rest.

use super::dma::{self, KernelHal};
use super::{msix, pci};
use exo_core::frame_table::FrameTable;
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::bus::DeviceFunction;
use virtio_drivers::transport::pci::{PciTransport, VirtioPciError};

/// Why a virtio device that is present could not be started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeError {
    /// Its function could not be made reachable.
    Open(pci::OpenError),
    /// No DMA memory.
    Pool(dma::PoolError),
    /// Its virtio PCI capabilities are missing or wrong.
    Transport(VirtioPciError),
    /// The virtio initialisation failed, or the device refused what its driver queued at start
    /// (virtio-net's receive buffers).
    Device(virtio_drivers::Error),
    /// Its interrupt could not be routed (MSI-X).
    Interrupt(msix::RouteError),
}

/// Finds the first virtio function of `device_type` on PCI bus 0 and starts it with `start`,
/// given its transport and its function; `Ok(None)` when there is none. Takes the registers' page tables from
/// `frames`, and the DMA pool too unless another device set it up already; the pool is torn down
/// again when the device cannot be started. Call at boot, before the first environment is
/// created (see `mmio`).
pub fn probe<Device>(
    device_type: DeviceType,
    frames: &mut FrameTable,
    start: impl FnOnce(PciTransport, DeviceFunction) -> Result<Device, ProbeError>,
) -> Result<Option<Device>, ProbeError> {
    let Some((mut root, function)) =
        pci::open_virtio_function(device_type, frames).map_err(ProbeError::Open)?
    else {
        return Ok(None);
    };
    dma::set_up_pool(frames).map_err(ProbeError::Pool)?;
    let started = PciTransport::new::<KernelHal, _>(&mut root, function)
        .map_err(ProbeError::Transport)
        .and_then(|transport| start(transport, function));
    if started.is_err() {
        dma::tear_down_pool(frames);
    }
    started.map(Some)
}
