//! The virtio-blk disk over PCI (virtio 1.2, section 5.2): finding and starting the device, and
//! moving whole frames between RAM and the disk by DMA. The driver drives its one virtqueue
//! itself, through the `virtio-drivers` crate's `VirtQueue` and PCI transport.
//!
//! **Requests.** The unit is a frame-sized block of [`SECTORS_PER_BLOCK`] sectors. A transfer
//! is split into one request per run of consecutive blocks, up to [`MAX_BLOCKS_PER_REQUEST`]
//! (`exo_core::block_requests`): a request is one descriptor chain holding its header, one data
//! descriptor per block, pointing at the block's own frame wherever it lies (zero copy: the
//! frame is handed to the crate as a slice of the physical-memory map, which
//! `dma::KernelHal::share` turns back into the frame's address), and its status byte. With
//! indirect descriptors (which QEMU offers) a chain takes one slot of the ring. Up to
//! [`MAX_IN_FLIGHT`] requests are in the queue at once, and the device completes them in the
//! order it likes. Only the 16-byte header and status byte of each request live in the
//! driver's own DMA page.
//!
//! **Completion by interrupt.** The device signals a completed request with an MSI-X message
//! to the local APIC at `apic::DISK_VECTOR` (`msix`), and the driver halts the CPU until it
//! comes (`device_wait`): the emulator's I/O thread gets the host CPU a spinning vCPU would
//! take. A device that completes nothing within [`WAIT_LIMIT_MICROSECONDS`], or that reports
//! a request the driver never made, is reset (which stops its DMA), and every later request
//! fails with [`DeviceError::Stopped`]. A request the device fails (an error status) fails the
//! transfer with the blocks it named; the device goes on.

use super::device_wait;
use super::dma::{self, KernelHal};
use super::virtio_pci::{self, ProbeError};
use super::{apic, msix};
use crate::memory::{frame_to_virtual, physical_to_virtual};
use alloc::vec::Vec;
use exo_core::PAGE_SIZE;
use exo_core::block_requests::{self, RequestQueue, Token, TransferError};
use exo_core::frame_table::{FrameNumber, FrameTable};
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::DeviceFunction;
use virtio_drivers::transport::{DeviceStatus, DeviceType, Transport};

/// Bytes in a sector, the unit of a request's start.
const SECTOR_BYTES: u64 = 512;
/// Sectors in one frame-sized block.
pub const SECTORS_PER_BLOCK: u64 = PAGE_SIZE / SECTOR_BYTES;
/// Most requests of one transfer in the device's queue at once.
pub const MAX_IN_FLIGHT: usize = 8;
/// Most blocks in one request (256 KiB): as many as one block call names.
pub const MAX_BLOCKS_PER_REQUEST: usize = exo_abi::BLOCK_TRANSFERS_MAX as usize;
/// How long a silent device is waited for before it is declared dead (a request normally
/// completes within microseconds of host time; this leaves room for a host under load).
pub const WAIT_LIMIT_MICROSECONDS: u64 = 20_000_000;
/// Descriptors (and ring slots) in the virtqueue: with indirect descriptors every request
/// takes one; without, a request of [`MAX_BLOCKS_PER_REQUEST`] blocks fits with its header and
/// status.
const QUEUE_SIZE: usize = 128;
const QUEUE_INDEX: u16 = 0;

/// Feature bits (virtio 1.2, 5.2.3 and 6).
const FEATURE_SEG_MAX: u64 = 1 << 2;
const FEATURE_READ_ONLY: u64 = 1 << 5;
const FEATURE_FLUSH: u64 = 1 << 9;
const FEATURE_INDIRECT_DESCRIPTORS: u64 = 1 << 28;
const FEATURE_EVENT_INDEX: u64 = 1 << 29;
const FEATURE_VERSION_1: u64 = 1 << 32;
const SUPPORTED_FEATURES: u64 = FEATURE_SEG_MAX
    | FEATURE_READ_ONLY
    | FEATURE_FLUSH
    | FEATURE_INDIRECT_DESCRIPTORS
    | FEATURE_EVENT_INDEX
    | FEATURE_VERSION_1;
/// Offsets in the device's configuration space.
const CONFIG_CAPACITY: usize = 0;
const CONFIG_SEG_MAX: usize = 12;

/// Request types (virtio 1.2, 5.2.6).
const REQUEST_IN: u32 = 0;
const REQUEST_OUT: u32 = 1;
const REQUEST_FLUSH: u32 = 4;
/// Status values the device writes.
const STATUS_OK: u8 = 0;
const STATUS_UNSUPPORTED: u8 = 2;
/// The status byte's value until the device writes one.
const STATUS_UNSET: u8 = 0xFF;

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
    /// The device completed nothing within [`WAIT_LIMIT_MICROSECONDS`]; it has been reset.
    TimedOut,
    /// The device broke the virtio protocol: it reported a request the driver never made, or
    /// its queue refused a request while empty. It has been reset.
    Misbehaved,
    /// The device was reset after an earlier failure and takes no more requests.
    Stopped,
}

/// Why a transfer failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferFailure {
    /// The device failed the request of these blocks (the device goes on).
    Request {
        error: DeviceError,
        first_block: u64,
        block_count: u64,
    },
    /// The device is stopped, or has just been reset.
    Device(DeviceError),
}

/// The header (virtio 1.2, 5.2.6: type, reserved, sector) and status of one request, in DMA
/// memory.
#[repr(C)]
struct RequestSlot {
    kind: u32,
    reserved: u32,
    sector: u64,
    status: u8,
}

/// Bytes of a request header: the slot up to its status.
const HEADER_BYTES: usize = 16;

const _: () = assert!(core::mem::offset_of!(RequestSlot, status) == HEADER_BYTES);
const _: () = assert!((MAX_IN_FLIGHT + 1) * size_of::<RequestSlot>() <= PAGE_SIZE as usize);

/// The started device: its transport (declared first, so that dropping the device resets it
/// before its queue's memory is given back) and its queue.
struct Device {
    transport: PciTransport,
    queue: VirtQueue<KernelHal, QUEUE_SIZE>,
}

/// A started virtio-blk device.
pub struct VirtioBlk {
    /// `None` once the device has been reset after a failure.
    device: Option<Device>,
    /// The pool page holding the request slots: [`MAX_IN_FLIGHT`] for transfers, then one for
    /// flushes.
    slots_physical: u64,
    /// Most blocks in one request: [`MAX_BLOCKS_PER_REQUEST`], or fewer if the device takes
    /// fewer segments.
    max_run: usize,
    capacity_sectors: u64,
    is_read_only: bool,
    has_flush: bool,
}

/// Finds the first virtio-blk function on PCI bus 0 and starts it; `Ok(None)` when there is
/// none. Takes the DMA pool and the registers' page tables from `frames`. Call at boot, before
/// the first environment is created (see `mmio`).
pub fn probe(frames: &mut FrameTable) -> Result<Option<VirtioBlk>, ProbeError> {
    virtio_pci::probe(DeviceType::Block, frames, start)
}

/// Runs the virtio initialisation (virtio 1.2, 3.1.1), with the queue's completions routed to
/// `apic::DISK_VECTOR`, and prepares the request slots.
fn start(mut transport: PciTransport, function: DeviceFunction) -> Result<VirtioBlk, ProbeError> {
    transport.set_status(DeviceStatus::empty());
    transport.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
    let features = transport.read_device_features() & SUPPORTED_FEATURES;
    transport.write_driver_features(features);
    let negotiated = DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER | DeviceStatus::FEATURES_OK;
    transport.set_status(negotiated);
    if !transport.get_status().contains(DeviceStatus::FEATURES_OK) {
        return Err(ProbeError::Device(virtio_drivers::Error::Unsupported));
    }
    let capacity_sectors = transport.read_consistent(|| {
        let low: u32 = transport.read_config_space(CONFIG_CAPACITY)?;
        let high: u32 = transport.read_config_space(CONFIG_CAPACITY + 4)?;
        Ok(u64::from(high) << 32 | u64::from(low))
    });
    let capacity_sectors = capacity_sectors.map_err(ProbeError::Device)?;
    // A request's segments: its blocks, the header and the status.
    let max_run = if features & FEATURE_SEG_MAX != 0 {
        let segments: u32 = transport
            .read_config_space(CONFIG_SEG_MAX)
            .map_err(ProbeError::Device)?;
        (segments as usize).saturating_sub(2)
    } else {
        MAX_BLOCKS_PER_REQUEST
    };
    let queue = VirtQueue::new(
        &mut transport,
        QUEUE_INDEX,
        features & FEATURE_INDIRECT_DESCRIPTORS != 0,
        features & FEATURE_EVENT_INDEX != 0,
    )
    .map_err(ProbeError::Device)?;
    msix::route_queue(function, QUEUE_INDEX, apic::local_id(), apic::DISK_VECTOR)
        .map_err(ProbeError::Interrupt)?;
    transport.finish_init();
    let (slots_physical, _) =
        dma::allocate_pages(1).ok_or(ProbeError::Device(virtio_drivers::Error::DmaError))?;
    Ok(VirtioBlk {
        device: Some(Device { transport, queue }),
        slots_physical,
        max_run: max_run.clamp(1, MAX_BLOCKS_PER_REQUEST.min(QUEUE_SIZE - 2)),
        capacity_sectors,
        is_read_only: features & FEATURE_READ_ONLY != 0,
        has_flush: features & FEATURE_FLUSH != 0,
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
    /// its frame ([`Direction::Read`]), one request per run of consecutive blocks, up to
    /// [`MAX_IN_FLIGHT`] in the queue at once; the order in which they complete is the
    /// device's. The caller has checked that every block is below
    /// [`capacity_blocks`](Self::capacity_blocks) and that every frame is usable RAM its
    /// requester may use. After a failed request no further request is queued, and those
    /// queued are completed before the failure is returned (unless the device is reset).
    pub fn transfer(
        &mut self,
        direction: Direction,
        transfers: &[(u64, FrameNumber)],
    ) -> Result<(), TransferFailure> {
        let device = self
            .device
            .as_mut()
            .ok_or(TransferFailure::Device(DeviceError::Stopped))?;
        let mut requests = Requests {
            device,
            slots_physical: self.slots_physical,
            kind: match direction {
                Direction::Read => REQUEST_IN,
                Direction::Write => REQUEST_OUT,
            },
        };
        let moved =
            block_requests::transfer::<_, MAX_IN_FLIGHT>(&mut requests, transfers, self.max_run);
        match moved {
            Ok(()) => Ok(()),
            Err(TransferError::Failed { error, blocks }) => {
                log::warn!("virtio-blk: {error:?} on blocks {blocks:?}");
                Err(TransferFailure::Request {
                    error,
                    first_block: blocks.start,
                    block_count: blocks.end - blocks.start,
                })
            }
            Err(TransferError::Wait(error)) => Err(TransferFailure::Device(self.stop(error))),
            Err(TransferError::Misbehaved) => {
                Err(TransferFailure::Device(self.stop(DeviceError::Misbehaved)))
            }
        }
    }

    /// Asks the device to make every completed write durable.
    pub fn flush(&mut self) -> Result<(), DeviceError> {
        if !self.has_flush {
            return Ok(());
        }
        let device = self.device.as_mut().ok_or(DeviceError::Stopped)?;
        let mut requests = Requests {
            device,
            slots_physical: self.slots_physical,
            kind: REQUEST_FLUSH,
        };
        let slot = MAX_IN_FLIGHT;
        match requests.submit(slot, &[]) {
            Ok(Some(token)) => match requests.wait_for_completion() {
                Ok(completed) if completed == token => requests.complete(slot, token, &[]),
                Ok(_) => Err(self.stop(DeviceError::Misbehaved)),
                Err(error) => Err(self.stop(error)),
            },
            Ok(None) => Err(self.stop(DeviceError::Misbehaved)),
            Err(error) => Err(error),
        }
    }

    /// Resets the device, which stops its DMA, and refuses every later request; returns
    /// `reason`. Pool pages still lent to abandoned requests stay allocated.
    fn stop(&mut self, reason: DeviceError) -> DeviceError {
        log::warn!("virtio-blk: {reason:?}; the device is reset and takes no more requests");
        self.device = None;
        reason
    }
}

/// The device's queue as `exo_core::block_requests` drives it, for requests of type `kind`.
struct Requests<'a> {
    device: &'a mut Device,
    slots_physical: u64,
    kind: u32,
}

impl RequestQueue for Requests<'_> {
    type Error = DeviceError;

    fn submit(
        &mut self,
        slot: usize,
        run: &[(u64, FrameNumber)],
    ) -> Result<Option<Token>, DeviceError> {
        let sector = run
            .first()
            .map_or(0, |&(block, _)| block.saturating_mul(SECTORS_PER_BLOCK));
        // SAFETY: the slot serves no other queued request (the caller's promise).
        let slot = unsafe { &mut *slot_pointer(self.slots_physical, slot) };
        *slot = RequestSlot {
            kind: self.kind,
            reserved: 0,
            sector,
            status: STATUS_UNSET,
        };
        let (header, status) = slot_parts(slot);
        let (inputs, mut outputs) = buffers(self.kind, header, status, run);
        // SAFETY: the header, the status and the frames stay untouched by the kernel until
        // `complete` passes the same buffers back: the slot is marked in flight, and the
        // caller of `transfer` guarantees the frames are not otherwise used during the transfer
        // (one CPU, interrupts off).
        let added = unsafe { self.device.queue.add(&inputs, &mut outputs) };
        match added {
            Ok(token) => {
                if self.device.queue.should_notify() {
                    self.device.transport.notify(QUEUE_INDEX);
                }
                Ok(Some(token))
            }
            Err(virtio_drivers::Error::QueueFull) => Ok(None),
            Err(_) => Err(DeviceError::Misbehaved),
        }
    }

    fn wait_for_completion(&mut self) -> Result<Token, DeviceError> {
        let queue = &self.device.queue;
        if device_wait::halt_until(WAIT_LIMIT_MICROSECONDS, || queue.can_pop()) {
            queue.peek_used().ok_or(DeviceError::Misbehaved)
        } else {
            Err(DeviceError::TimedOut)
        }
    }

    fn complete(
        &mut self,
        slot: usize,
        token: Token,
        run: &[(u64, FrameNumber)],
    ) -> Result<(), DeviceError> {
        // SAFETY: the slot is the one `submit` queued under `token`, which the device has
        // completed: nothing else refers to it.
        let slot = unsafe { &mut *slot_pointer(self.slots_physical, slot) };
        let (header, status) = slot_parts(slot);
        let (inputs, mut outputs) = buffers(self.kind, header, status, run);
        // SAFETY: these are the buffers `submit` queued under `token`: the same slot and the
        // same frames, in the same order.
        unsafe { self.device.queue.pop_used(token, &inputs, &mut outputs) }
            .map_err(|_| DeviceError::Misbehaved)?;
        match slot.status {
            STATUS_OK => Ok(()),
            STATUS_UNSUPPORTED => Err(DeviceError::Unsupported),
            _ => Err(DeviceError::Io),
        }
    }
}

/// The descriptor chain of a request of type `kind`: what the device reads (the header, and
/// for a write the frames), then what it writes (for a read the frames, and the status).
fn buffers<'a>(
    kind: u32,
    header: &'a [u8],
    status: &'a mut [u8],
    run: &[(u64, FrameNumber)],
) -> (Vec<&'a [u8]>, Vec<&'a mut [u8]>) {
    let mut inputs = Vec::with_capacity(1 + run.len());
    let mut outputs = Vec::with_capacity(1 + run.len());
    inputs.push(header);
    for &(_, frame) in run {
        if kind == REQUEST_OUT {
            inputs.push(&*frame_bytes(frame));
        } else {
            outputs.push(frame_bytes(frame));
        }
    }
    outputs.push(status);
    (inputs, outputs)
}

/// Request slot `slot` of the slots page.
fn slot_pointer(slots_physical: u64, slot: usize) -> *mut RequestSlot {
    let slots = physical_to_virtual(slots_physical).cast::<RequestSlot>();
    // `slot` is at most MAX_IN_FLIGHT, inside the page (the assertion after `RequestSlot`).
    slots.wrapping_add(slot)
}

/// The header bytes and the status byte of `slot`, as the device sees them.
fn slot_parts(slot: &mut RequestSlot) -> (&[u8], &mut [u8]) {
    let start = (slot as *mut RequestSlot).cast::<u8>();
    // SAFETY: a `RequestSlot` is `repr(C)`: its first HEADER_BYTES bytes are the header (kind,
    // reserved, sector, no padding) and the status byte follows; the two slices do not
    // overlap, and both borrow from `slot` for their lifetime.
    unsafe {
        (
            core::slice::from_raw_parts(start, HEADER_BYTES),
            core::slice::from_raw_parts_mut(start.add(HEADER_BYTES), 1),
        )
    }
}

/// The bytes of `frame`, through the physical-memory map.
fn frame_bytes<'a>(frame: FrameNumber) -> &'a mut [u8] {
    // SAFETY: the caller of `transfer` guarantees `frame` is usable RAM, which the physical-memory
    // map covers; a frame appears at most once in a request (`block_requests::runs`), no other
    // Rust reference to a frame's contents lives across a kernel call, and no user code runs
    // while the kernel does (one CPU), so nothing else touches it meanwhile.
    unsafe { core::slice::from_raw_parts_mut(frame_to_virtual(frame), PAGE_SIZE as usize) }
}
