//! The virtio-net network device over PCI (virtio 1.2, section 5.1), driven by the
//! `virtio-drivers` crate's `VirtIONetRaw`: finding and starting the device, queueing Ethernet
//! frames to send, and taking the frames that have arrived, a batch at a time.
//!
//! **Buffers.** Every buffer the device reaches lives in pages of the DMA pool that this driver
//! carves once, at start ([`BUFFER_PAGES`]): [`RECEIVE_BUFFERS`] receive buffers and
//! [`TRANSMIT_BUFFERS`] transmit buffers of [`BUFFER_BYTES`], two to a page. Receive buffers are
//! always queued on the receive queue except while a frame is taken out of one; a transmit
//! buffer holds a frame from its send until the device has taken it. Each buffer is a single
//! descriptor inside one page, so `dma::KernelHal::share` hands the device its address
//! directly: no heap memory, indirect descriptor list or bounce page is involved. Each buffer
//! starts with the virtio-net header (`virtio_net_hdr`, 12 bytes); the frame follows it. No
//! offload is negotiated, so received frames carry complete checksums and the header of a sent
//! frame is all zeros.
//!
//! **Sending without waiting.** [`VirtioNet::send`] copies the frame into a free transmit
//! buffer, queues it and returns: the device takes it while the CPU goes on. Each send first
//! takes back the buffers the device has finished with; only when all [`TRANSMIT_BUFFERS`] are
//! still the device's does it spin on the transmit queue's used ring, for at most
//! [`POLL_LIMIT`] polls. [`VirtioNet::finish_sending`] waits for every queued frame (before the
//! machine powers off).
//!
//! **Receive by interrupt.** The receive queue signals a used buffer with an MSI-X message to
//! the local APIC at `apic::NET_VECTOR` (`msix`); the transmit queue has no vector. The device
//! signals only when the driver has caught up: with the event index (which QEMU offers) it
//! interrupts for the used buffer right after the last one the driver took, and without it
//! the driver turns notifications off while it takes frames. So frames that arrive while
//! earlier ones wait or are being taken raise nothing, however fast they come:
//! [`VirtioNet::receive`] takes at most [`RECEIVE_BATCH`] frames a call, and only a call that
//! empties the used ring turns the interrupt back on (and then looks once more, so that a frame
//! arriving meanwhile is not left without one). Until then the caller calls again when it may.
//!
//! **A misbehaving device.** Lengths the device reports are checked against the buffer before a
//! frame is handed on (a frame that does not fit is dropped). A device that completes a request
//! the driver never made, takes no more buffers, or holds every transmit buffer for
//! [`POLL_LIMIT`] polls is reset, which stops its DMA, and its pool pages go back to the pool;
//! from then on `send` fails with [`NetError::Stopped`] and `receive` finds nothing.

use super::dma::{self, KernelHal};
use super::virtio_pci::{self, ProbeError};
use super::{apic, msix};
use crate::memory::physical_to_virtual;
use core::sync::atomic::{Ordering, fence};
use exo_core::PAGE_SIZE;
use exo_core::frame_table::FrameTable;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::DeviceType;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::DeviceFunction;

/// Descriptors in each of the two virtqueues (receive and transmit).
pub const QUEUE_SIZE: usize = 16;
/// Receive buffers, all queued on the receive queue: one per descriptor.
pub const RECEIVE_BUFFERS: usize = QUEUE_SIZE;
/// Most frames one call of [`VirtioNet::receive`] takes: as many as the device can hold, so
/// that a call made after an interrupt takes everything that was there, while a storm of
/// frames, which refills the buffers as fast as they are taken, costs one call a bounded time.
pub const RECEIVE_BATCH: usize = RECEIVE_BUFFERS;
/// Transmit buffers: how many frames may be queued to send at once (a whole transmit queue,
/// so that a server answering a full receive ring's worth of requests never waits).
pub const TRANSMIT_BUFFERS: usize = 16;
/// Bytes in one buffer: the virtio-net header and the largest frame fit (the device needs at
/// least 1526 to receive one), and two buffers share a page.
pub const BUFFER_BYTES: usize = 2048;
/// Pool pages the driver carves at start: the receive buffers, then the transmit buffers.
pub const BUFFER_PAGES: usize = (RECEIVE_BUFFERS + TRANSMIT_BUFFERS) / BUFFERS_PER_PAGE;
/// Bytes in an Ethernet header (destination, source, type): the shortest frame [`VirtioNet::send`]
/// takes.
pub const FRAME_BYTES_MIN: usize = 14;
/// The longest frame [`VirtioNet::send`] takes: a 1500-byte payload and the Ethernet header (no
/// frame check sequence: the device adds it).
pub const FRAME_BYTES_MAX: usize = 1514;
/// Polls of the transmit queue after which a device that has taken none of the queued frames is
/// declared dead (tens of seconds under QEMU's emulation; QEMU normally takes a frame within
/// microseconds).
pub const POLL_LIMIT: u64 = 1 << 28;

const BUFFERS_PER_PAGE: usize = PAGE_SIZE as usize / BUFFER_BYTES;
/// The receive queue's index (virtio 1.2, 5.1.2).
const RECEIVE_QUEUE: u16 = 0;

const _: () = assert!(RECEIVE_BUFFERS.is_multiple_of(BUFFERS_PER_PAGE));
const _: () = assert!(TRANSMIT_BUFFERS.is_multiple_of(BUFFERS_PER_PAGE));
const _: () = assert!(TRANSMIT_BUFFERS <= QUEUE_SIZE);
const _: () = assert!(BUFFER_BYTES >= 1526);

/// Why a frame could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The frame is shorter than [`FRAME_BYTES_MIN`] or longer than [`FRAME_BYTES_MAX`] bytes;
    /// nothing was sent.
    BadLength(usize),
    /// The device held every transmit buffer for [`POLL_LIMIT`] polls; it has been reset.
    TimedOut,
    /// The device broke the virtio protocol (it completed a request the driver never made, or
    /// refused a buffer while its queue was empty); it has been reset.
    Misbehaved,
    /// The device was reset after an earlier failure and sends nothing more.
    Stopped,
}

/// Pages carved from the DMA pool, given back when dropped.
struct PoolPages {
    physical: u64,
    count: usize,
}

impl Drop for PoolPages {
    fn drop(&mut self) {
        dma::free_pages(self.physical, self.count);
    }
}

/// A running device and the buffers lent to it.
struct Started {
    /// Declared before `pages`, so that dropping a `Started` resets the device (the crate's
    /// transport resets it when dropped) before its buffers go back to the pool.
    device: VirtIONetRaw<KernelHal, PciTransport, QUEUE_SIZE>,
    /// [`BUFFER_PAGES`] consecutive pool pages: receive buffers, then transmit buffers.
    pages: PoolPages,
    /// The crate's token of the request holding each receive buffer; `None` while the buffer is
    /// not queued.
    receive_tokens: [Option<u16>; RECEIVE_BUFFERS],
    /// The crate's token of the request holding each transmit buffer and the bytes queued from
    /// it; `None` while the buffer is free.
    transmit_requests: [Option<(u16, usize)>; TRANSMIT_BUFFERS],
}

/// A virtio-net device.
pub struct VirtioNet {
    mac: [u8; 6],
    /// `None` once the device has been reset after a failure.
    started: Option<Started>,
}

/// Finds the first virtio-net function on PCI bus 0 and starts it, with every receive buffer
/// queued and its receive interrupt routed to `apic::NET_VECTOR`; `Ok(None)` when there is
/// none. Takes the registers' page tables from `frames`, and the DMA pool too unless another
/// device set it up already. Call at boot, before the first environment is created (see
/// `mmio`), with interrupts off.
pub fn probe(frames: &mut FrameTable) -> Result<Option<VirtioNet>, ProbeError> {
    virtio_pci::probe(DeviceType::Network, frames, start)
}

/// Runs the virtio initialisation, routes the receive queue's interrupt, carves the buffers
/// and queues every receive buffer. On failure everything is released: the device is reset and
/// its pages go back to the pool.
fn start(transport: PciTransport, function: DeviceFunction) -> Result<VirtioNet, ProbeError> {
    let device =
        VirtIONetRaw::<KernelHal, _, QUEUE_SIZE>::new(transport).map_err(ProbeError::Device)?;
    // The crate's initialisation resets the device, which forgets queue vectors: route after
    // it, before any buffer can be used.
    msix::route_queue(function, RECEIVE_QUEUE, apic::local_id(), apic::NET_VECTOR)
        .map_err(ProbeError::Interrupt)?;
    let (physical, _) = dma::allocate_pages(BUFFER_PAGES)
        .ok_or(ProbeError::Device(virtio_drivers::Error::DmaError))?;
    let mut started = Started {
        device,
        pages: PoolPages {
            physical,
            count: BUFFER_PAGES,
        },
        receive_tokens: [None; RECEIVE_BUFFERS],
        transmit_requests: [None; TRANSMIT_BUFFERS],
    };
    for index in 0..RECEIVE_BUFFERS {
        started.queue_receive(index).map_err(ProbeError::Device)?;
    }
    Ok(VirtioNet {
        mac: started.device.mac_address(),
        started: Some(started),
    })
}

impl VirtioNet {
    /// The device's Ethernet address (still known after the device has been reset).
    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// Takes the frames that have arrived, up to [`RECEIVE_BATCH`], hands each one's bytes (the
    /// Ethernet frame, without the virtio-net header) to `deliver`, and queues its buffer again;
    /// returns whether none is left, in which case the device interrupts for the next frame.
    /// When frames are left, no interrupt comes for them: the caller calls again when it may.
    /// Never waits. A frame whose length the device reports wrongly is dropped; a device that
    /// breaks the protocol is reset (and then nothing is left).
    pub fn receive(&mut self, mut deliver: impl FnMut(&[u8])) -> bool {
        let Some(started) = self.started.as_mut() else {
            return true;
        };
        started.device.disable_interrupts();
        for _ in 0..RECEIVE_BATCH {
            match started.take_received(&mut deliver) {
                Ok(true) => {}
                Ok(false) => return started.rearm_interrupt(),
                Err(reason) => {
                    self.stop(reason);
                    return true;
                }
            }
        }
        started.rearm_interrupt()
    }

    /// Queues `frame` (an Ethernet frame of [`FRAME_BYTES_MIN`] to [`FRAME_BYTES_MAX`] bytes,
    /// without frame check sequence) to send, copied; returns without waiting for the device
    /// unless every transmit buffer is still queued, and then for at most [`POLL_LIMIT`] polls.
    pub fn send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        if !(FRAME_BYTES_MIN..=FRAME_BYTES_MAX).contains(&frame.len()) {
            return Err(NetError::BadLength(frame.len()));
        }
        let started = self.started.as_mut().ok_or(NetError::Stopped)?;
        match started.transmit(frame) {
            Ok(()) => Ok(()),
            Err(reason) => Err(self.stop(reason)),
        }
    }

    /// Waits, for at most [`POLL_LIMIT`] polls, until the device has taken every frame queued
    /// to send.
    pub fn finish_sending(&mut self) -> Result<(), NetError> {
        let Some(started) = self.started.as_mut() else {
            return Ok(());
        };
        match started.wait_for_sent(|requests| requests.iter().all(Option::is_none).then_some(())) {
            Ok(_) => Ok(()),
            Err(reason) => Err(self.stop(reason)),
        }
    }

    /// Resets the device, which stops its DMA, and gives its pages back to the pool; returns
    /// `reason`.
    fn stop(&mut self, reason: NetError) -> NetError {
        log::warn!("virtio-net: {reason:?}; the device is reset and sends or receives no more");
        self.started = None;
        reason
    }
}

impl Started {
    /// Turns the receive interrupt back on when the used ring is empty; returns whether it is.
    fn rearm_interrupt(&mut self) -> bool {
        self.device.enable_interrupts();
        // The device must see the notification turned on (the flag, or the event index the
        // last frame taken moved) before the ring is read again: otherwise a frame it adds in
        // between raises nothing and is not seen either (a store then a load, which x86 may
        // reorder without a full fence).
        fence(Ordering::SeqCst);
        let is_empty = self.device.poll_receive().is_none();
        if !is_empty {
            self.device.disable_interrupts();
        }
        is_empty
    }

    /// Lends receive buffer `index` to the device.
    fn queue_receive(&mut self, index: usize) -> Result<(), virtio_drivers::Error> {
        let buffer = receive_buffer(&self.pages, index);
        // SAFETY: the buffer is this driver's pool memory, and is neither read nor written by the
        // kernel until `take_received` has passed the same buffer back to the crate under the
        // token recorded here.
        let token = unsafe { self.device.receive_begin(buffer)? };
        self.receive_tokens[index] = Some(token);
        Ok(())
    }

    /// Takes the next received frame from the device, if any, hands it to `deliver` (unless
    /// its length is impossible: then it is dropped) and queues its buffer again; returns
    /// whether there was one.
    fn take_received(&mut self, deliver: &mut impl FnMut(&[u8])) -> Result<bool, NetError> {
        let Some(token) = self.device.poll_receive() else {
            return Ok(false);
        };
        let index = self
            .receive_tokens
            .iter()
            .position(|&queued| queued == Some(token))
            .ok_or(NetError::Misbehaved)?;
        self.receive_tokens[index] = None;
        let buffer = receive_buffer(&self.pages, index);
        // SAFETY: this is the buffer `queue_receive` lent under `token`.
        let received = unsafe { self.device.receive_complete(token, buffer) };
        // The crate has taken the buffer back, unless it refused the token it just reported
        // (then the buffer may still be the device's, and is not queued again).
        let frame = match received {
            Ok((header, length)) => header
                .checked_add(length)
                .and_then(|end| buffer.get(header..end)),
            // A used length shorter than the virtio-net header.
            Err(virtio_drivers::Error::IoError) => None,
            Err(_) => return Err(NetError::Misbehaved),
        };
        match frame {
            Some(frame) => deliver(frame),
            None => log::debug!("virtio-net: dropped a frame of impossible length ({received:?})"),
        }
        self.queue_receive(index)
            .map_err(|_| NetError::Misbehaved)?;
        Ok(true)
    }

    /// Copies `frame` after a virtio-net header into a free transmit buffer and queues it.
    fn transmit(&mut self, frame: &[u8]) -> Result<(), NetError> {
        self.take_back_sent()?;
        let index = match free_transmit_buffer(&self.transmit_requests) {
            Some(index) => index,
            None => self.wait_for_sent(free_transmit_buffer)?,
        };
        let buffer = transmit_buffer(&self.pages, index);
        let header = self
            .device
            .fill_buffer_header(buffer)
            .map_err(|_| NetError::Misbehaved)?;
        let length = header + frame.len();
        buffer[header..length].copy_from_slice(frame);
        // SAFETY: the buffer is this driver's pool memory, free (no request holds it), and is
        // not touched until `take_back_sent` has passed the same bytes back under the token
        // recorded here.
        let token = unsafe { self.device.transmit_begin(&buffer[..length]) }
            .map_err(|_| NetError::Misbehaved)?;
        self.transmit_requests[index] = Some((token, length));
        Ok(())
    }

    /// Takes back every transmit buffer the device has finished with.
    fn take_back_sent(&mut self) -> Result<(), NetError> {
        while let Some(token) = self.device.poll_transmit() {
            let (index, length) = self
                .transmit_requests
                .iter()
                .enumerate()
                .find_map(|(index, request)| match request {
                    Some((queued, length)) if *queued == token => Some((index, *length)),
                    _ => None,
                })
                .ok_or(NetError::Misbehaved)?;
            self.transmit_requests[index] = None;
            let buffer = &transmit_buffer(&self.pages, index)[..length];
            // SAFETY: these are the bytes `transmit` queued under `token`.
            unsafe { self.device.transmit_complete(token, buffer) }
                .map_err(|_| NetError::Misbehaved)?;
        }
        Ok(())
    }

    /// Takes back sent buffers for at most [`POLL_LIMIT`] polls, until `found` finds what it
    /// looks for in the transmit requests.
    fn wait_for_sent<T>(
        &mut self,
        found: impl Fn(&[Option<(u16, usize)>; TRANSMIT_BUFFERS]) -> Option<T>,
    ) -> Result<T, NetError> {
        for _ in 0..POLL_LIMIT {
            self.take_back_sent()?;
            if let Some(result) = found(&self.transmit_requests) {
                return Ok(result);
            }
            core::hint::spin_loop();
        }
        Err(NetError::TimedOut)
    }
}

/// The index of a free transmit buffer in `requests`, if any.
fn free_transmit_buffer(requests: &[Option<(u16, usize)>; TRANSMIT_BUFFERS]) -> Option<usize> {
    requests.iter().position(Option::is_none)
}

/// Receive buffer `index` (below [`RECEIVE_BUFFERS`]) of the driver's `pages`.
fn receive_buffer<'a>(pages: &PoolPages, index: usize) -> &'a mut [u8] {
    buffer(pages, index)
}

/// Transmit buffer `index` (below [`TRANSMIT_BUFFERS`]) of the driver's `pages`.
fn transmit_buffer<'a>(pages: &PoolPages, index: usize) -> &'a mut [u8] {
    buffer(pages, RECEIVE_BUFFERS + index)
}

/// Buffer `index` (below `RECEIVE_BUFFERS + TRANSMIT_BUFFERS`) of the driver's `pages`.
fn buffer<'a>(pages: &PoolPages, index: usize) -> &'a mut [u8] {
    assert!(index < RECEIVE_BUFFERS + TRANSMIT_BUFFERS);
    let physical = pages.physical + (index * BUFFER_BYTES) as u64;
    // SAFETY: the buffers fill the driver's pool pages (kernel frames covered by the
    // physical-memory map), and buffer `index` lies inside them; each buffer is either lent to
    // the device or reached through one such reference, which lives for one call into the crate
    // or one send (one CPU, interrupts off).
    unsafe { core::slice::from_raw_parts_mut(physical_to_virtual(physical), BUFFER_BYTES) }
}
