//! The virtio-blk disk over PCI (virtio 1.2, section 5.2), driven by the `virtio-drivers` crate:
//! finding and starting the device, and moving whole frames between RAM and the disk by DMA.
//!
//! The unit is a frame-sized block of [`SECTORS_PER_BLOCK`] sectors. Data goes straight between
//! the device and the physical frame the caller names (the frame is handed to the crate as a
//! slice of the physical-memory map, which `dma::KernelHal::share` turns back into the frame's
//! address); only the 17-byte request header and status of each request live in the driver's
//! own DMA page.
//!
//! Completion is polled: the device is asked not to interrupt (INTx disabled in its PCI command
//! register, MSI-X never enabled, and the used-buffer notification suppressed), and the driver
//! spins on the used ring. A transfer of several blocks keeps up to [`MAX_IN_FLIGHT`] requests
//! in the queue at once, so the device works on them together and may complete them in any
//! order. A device that completes nothing within [`POLL_LIMIT`] polls, or that reports a
//! request the driver never made, is reset (which stops its DMA), and every later request
//! fails with [`DeviceError::Stopped`]. `flush` waits inside the crate, which polls without a
//! bound.

use super::dma::{self, KernelHal};
use super::virtio_pci::{self, ProbeError};
use crate::memory::{frame_to_virtual, physical_to_virtual};
use exo_core::PAGE_SIZE;
use exo_core::frame_table::{FrameNumber, FrameTable};
use virtio_drivers::device::blk::{BlkReq, BlkResp, SECTOR_SIZE, VirtIOBlk};
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::PciTransport;

/// Sectors in one frame-sized block.
pub const SECTORS_PER_BLOCK: u64 = PAGE_SIZE / SECTOR_SIZE as u64;
/// Most requests of one transfer in the device's queue at once.
pub const MAX_IN_FLIGHT: usize = 8;
/// Polls of the used ring after which a silent device is declared dead (tens of seconds under
/// QEMU's emulation; a request normally completes within microseconds of host time).
pub const POLL_LIMIT: u64 = 1 << 28;

/// Which way a transfer moves data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the disk into frames.
    Read,
    /// From frames onto the disk.
    Write,
}

/// Why the device failed a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The device reported an I/O error (or left the request's status unset).
    Io,
    /// The device does not support the request.
    Unsupported,
    /// The device completed nothing within [`POLL_LIMIT`] polls; it has been reset.
    TimedOut,
    /// The device broke the virtio protocol: it reported a request the driver never made (it
    /// has then been reset), or its queue refused a request while empty.
    Misbehaved,
    /// The device was reset after an earlier failure and takes no more requests.
    Stopped,
}

/// The header and status of one request, in DMA memory.
#[repr(C)]
struct RequestSlot {
    request: BlkReq,
    response: BlkResp,
}

const _: () = assert!(MAX_IN_FLIGHT * size_of::<RequestSlot>() <= PAGE_SIZE as usize);

/// A request in the device's queue: the crate's token and the (block, frame) it moves.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    token: u16,
    transfer: (u64, FrameNumber),
}

/// A started virtio-blk device.
pub struct VirtioBlk {
    /// `None` once the device has been reset after a failure.
    device: Option<VirtIOBlk<KernelHal, PciTransport>>,
    /// The pool page holding [`MAX_IN_FLIGHT`] request slots.
    slots_physical: u64,
    capacity_sectors: u64,
    is_read_only: bool,
}

/// Finds the first virtio-blk function on PCI bus 0 and starts it; `Ok(None)` when there is
/// none. Takes the DMA pool and the registers' page tables from `frames`. Call at boot, before
/// the first environment is created (see `mmio`).
pub fn probe(frames: &mut FrameTable) -> Result<Option<VirtioBlk>, ProbeError> {
    virtio_pci::probe(DeviceType::Block, frames, start)
}

/// Runs the virtio initialisation and prepares the request slots.
fn start(transport: PciTransport) -> Result<VirtioBlk, ProbeError> {
    let mut device = VirtIOBlk::<KernelHal, _>::new(transport).map_err(ProbeError::Device)?;
    device.disable_interrupts();
    let (slots_physical, _) =
        dma::allocate_pages(1).ok_or(ProbeError::Device(virtio_drivers::Error::DmaError))?;
    for slot in 0..MAX_IN_FLIGHT {
        let slot_address = physical_to_virtual(slots_physical) as *mut RequestSlot;
        // SAFETY: the page was just carved from the pool for the slots, and slot `slot` lies
        // inside it (checked by the assertion after `RequestSlot`).
        unsafe {
            slot_address.add(slot).write(RequestSlot {
                request: BlkReq::default(),
                response: BlkResp::default(),
            })
        };
    }
    Ok(VirtioBlk {
        capacity_sectors: device.capacity(),
        is_read_only: device.readonly(),
        device: Some(device),
        slots_physical,
    })
}

impl VirtioBlk {
    /// Whole frame-sized blocks on the disk (a trailing partial block is not used).
    pub fn capacity_blocks(&self) -> u64 {
        self.capacity_sectors / SECTORS_PER_BLOCK
    }

    /// Whether the device refuses writes.
    pub fn is_read_only(&self) -> bool {
        self.is_read_only
    }

    /// Moves each frame of `transfers` onto its block ([`Direction::Write`]) or each block into
    /// its frame ([`Direction::Read`]), keeping up to [`MAX_IN_FLIGHT`] requests in flight; the
    /// order in which they complete is the device's. The caller has checked that every block
    /// is below [`capacity_blocks`](Self::capacity_blocks) and that every frame is usable RAM
    /// its requester may use. After a failure, no further request is submitted; those in
    /// flight are completed before the first error is returned (unless the device is reset).
    pub fn transfer(
        &mut self,
        direction: Direction,
        transfers: &[(u64, FrameNumber)],
    ) -> Result<(), DeviceError> {
        if self.device.is_none() {
            return Err(DeviceError::Stopped);
        }
        let mut in_flight: [Option<InFlight>; MAX_IN_FLIGHT] = [None; MAX_IN_FLIGHT];
        let mut next = 0;
        let mut first_error = None;
        loop {
            while first_error.is_none() && next < transfers.len() {
                let Some(slot) = in_flight.iter().position(Option::is_none) else {
                    break;
                };
                match self.submit(slot, direction, transfers[next]) {
                    Ok(token) => {
                        in_flight[slot] = Some(InFlight {
                            token,
                            transfer: transfers[next],
                        });
                        next += 1;
                    }
                    Err(virtio_drivers::Error::QueueFull)
                        if in_flight.iter().any(Option::is_some) =>
                    {
                        break;
                    }
                    Err(error) => first_error = Some(device_error(error)),
                }
            }
            if in_flight.iter().all(Option::is_none) {
                break;
            }
            let token = self.wait_for_completion()?;
            let completed = in_flight.iter_mut().enumerate().find_map(|(slot, entry)| {
                let request = entry.take_if(|request| request.token == token)?;
                Some((slot, request))
            });
            let Some((slot, request)) = completed else {
                return Err(self.stop(DeviceError::Misbehaved));
            };
            if let Err(error) = self.complete(slot, direction, request) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Asks the device to make every completed write durable.
    pub fn flush(&mut self) -> Result<(), DeviceError> {
        let device = self.device.as_mut().ok_or(DeviceError::Stopped)?;
        device.flush().map_err(device_error)
    }

    /// Queues the request moving `frame` to or from `block` in slot `slot`; returns its token.
    fn submit(
        &mut self,
        slot: usize,
        direction: Direction,
        (block, frame): (u64, FrameNumber),
    ) -> Result<u16, virtio_drivers::Error> {
        let device = self
            .device
            .as_mut()
            .ok_or(virtio_drivers::Error::NotReady)?;
        let (request, response) = slot_parts(self.slots_physical, slot);
        let sector = block.saturating_mul(SECTORS_PER_BLOCK) as usize;
        let data = frame_bytes(frame);
        // SAFETY: the slot and the frame stay untouched by the kernel until `complete` passes
        // the same buffers back: the slot is marked in flight, and the caller guarantees the
        // frame is not otherwise used during the transfer (one CPU, interrupts off).
        unsafe {
            match direction {
                Direction::Read => device.read_blocks_nb(sector, request, data, response),
                Direction::Write => device.write_blocks_nb(sector, request, data, response),
            }
        }
    }

    /// Takes the completed request in slot `slot` back from the device.
    fn complete(
        &mut self,
        slot: usize,
        direction: Direction,
        request: InFlight,
    ) -> Result<(), DeviceError> {
        let device = self.device.as_mut().ok_or(DeviceError::Stopped)?;
        let (block_request, response) = slot_parts(self.slots_physical, slot);
        let data = frame_bytes(request.transfer.1);
        // SAFETY: these are the buffers `submit` queued under `request.token`: the same slot
        // and the same frame.
        let completed = unsafe {
            match direction {
                Direction::Read => {
                    device.complete_read_blocks(request.token, block_request, data, response)
                }
                Direction::Write => {
                    device.complete_write_blocks(request.token, block_request, data, response)
                }
            }
        };
        completed.map_err(device_error)
    }

    /// Spins until the device has completed a request; returns its token.
    fn wait_for_completion(&mut self) -> Result<u16, DeviceError> {
        let device = self.device.as_mut().ok_or(DeviceError::Stopped)?;
        for _ in 0..POLL_LIMIT {
            if let Some(token) = device.peek_used() {
                return Ok(token);
            }
            core::hint::spin_loop();
        }
        Err(self.stop(DeviceError::TimedOut))
    }

    /// Resets the device, which stops its DMA, and refuses every later request; returns
    /// `reason`. Pool pages still lent to abandoned requests stay allocated.
    fn stop(&mut self, reason: DeviceError) -> DeviceError {
        log::warn!("virtio-blk: {reason:?}; the device is reset and takes no more requests");
        self.device = None;
        reason
    }
}

/// The request header and status of slot `slot`.
fn slot_parts<'a>(slots_physical: u64, slot: usize) -> (&'a mut BlkReq, &'a mut BlkResp) {
    let slots = physical_to_virtual(slots_physical) as *mut RequestSlot;
    // SAFETY: the slots page is this driver's pool page, initialised by `start`; `slot` is below
    // MAX_IN_FLIGHT, so it lies inside the page; each slot serves one request at a time, and
    // these references live for one call into the crate.
    unsafe {
        let slot = &mut *slots.add(slot);
        (&mut slot.request, &mut slot.response)
    }
}

/// The bytes of `frame`, through the physical-memory map.
fn frame_bytes<'a>(frame: FrameNumber) -> &'a mut [u8] {
    // SAFETY: the caller of `transfer` guarantees `frame` is usable RAM, which the physical-memory
    // map covers; no other Rust reference to a frame's contents lives across a kernel call, and
    // no user code runs while the kernel does (one CPU), so nothing else touches it meanwhile.
    unsafe { core::slice::from_raw_parts_mut(frame_to_virtual(frame), PAGE_SIZE as usize) }
}

/// The failure a crate error stands for.
fn device_error(error: virtio_drivers::Error) -> DeviceError {
    match error {
        virtio_drivers::Error::IoError | virtio_drivers::Error::NotReady => DeviceError::Io,
        virtio_drivers::Error::Unsupported => DeviceError::Unsupported,
        _ => DeviceError::Misbehaved,
    }
}
