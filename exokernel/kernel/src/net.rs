//! The network device as the rest of the kernel sees it: Ethernet frames queued to send and
//! taken in batches after the device's receive interrupt (see `arch::virtio_net`).
//!
//! There is at most one network device: the first virtio-net device on PCI bus 0, started at
//! boot by [`init`] and reached through [`with`]. Without one the kernel prints one line and goes
//! on, and [`with`] finds nothing. Deciding who may send what, and who gets which received
//! frame, is the caller's business.
//!
//! Lock order: the kernel state lock, then the net lock, then the DMA pool lock. The network
//! device never takes the kernel state lock, so a system call may use it while holding that
//! lock; nor does it take the disk lock, and the disk never takes the net lock.

use crate::arch::virtio_net::{self, VirtioNet};
use crate::kprintln;
use exo_core::frame_table::FrameTable;

pub use crate::arch::virtio_net::NetError;

/// The network device.
pub struct Net {
    device: VirtioNet,
}

impl Net {
    /// The device's Ethernet address.
    pub fn mac_address(&self) -> [u8; 6] {
        self.device.mac_address()
    }

    /// Sends Ethernet frame `frame` ([`virtio_net::FRAME_BYTES_MIN`] to
    /// [`virtio_net::FRAME_BYTES_MAX`] bytes, without frame check sequence): a copy is queued
    /// for the device, which takes it while the CPU goes on.
    pub fn send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        self.device.send(frame)
    }

    /// Waits until the device has taken every frame queued to send.
    pub fn finish_sending(&mut self) -> Result<(), NetError> {
        self.device.finish_sending()
    }

    /// Hands the frames that have arrived, up to [`virtio_net::RECEIVE_BATCH`], to `deliver`,
    /// one call per frame (its bytes are valid only during the call); returns whether none is
    /// left, in which case the next frame raises `apic::NET_VECTOR`; otherwise none does until
    /// a call has taken them all. Never waits.
    pub fn receive(&mut self, deliver: impl FnMut(&[u8])) -> bool {
        self.device.receive(deliver)
    }
}

static NET: spin::Mutex<Option<Net>> = spin::Mutex::new(None);

/// Looks for the network device and starts it, taking its DMA memory from `frames` (or sharing
/// the disk's pool); prints one line saying what was found. Call once at boot, before the first
/// environment is created.
pub fn init(frames: &mut FrameTable) {
    match virtio_net::probe(frames) {
        Ok(Some(device)) => {
            let net = Net { device };
            kprintln!(
                "exokernel: net: virtio-net, mac {}",
                MacAddress(net.mac_address())
            );
            *NET.lock() = Some(net);
        }
        Ok(None) => kprintln!("exokernel: net: none"),
        Err(error) => kprintln!("exokernel: net: none (the virtio-net device failed: {error:?})"),
    }
}

/// Runs `action` on the network device; `None` when there is none.
pub fn with<T>(action: impl FnOnce(&mut Net) -> T) -> Option<T> {
    NET.lock().as_mut().map(action)
}

/// Lets the device take every frame queued to send, unless the device is in use (the machine
/// then powers off from inside a network call, which queued nothing yet).
pub fn finish_sending() {
    if let Some(mut net) = NET.try_lock()
        && let Some(net) = net.as_mut()
        && let Err(error) = net.finish_sending()
    {
        log::warn!("net: frames queued to send were lost: {error:?}");
    }
}

/// Whether the machine has a network device.
pub fn is_present() -> bool {
    NET.lock().is_some()
}

/// An Ethernet address, displayed as six colon-separated pairs of lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacAddress(pub [u8; 6]);

impl core::fmt::Display for MacAddress {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d, e, f] = self.0;
        write!(formatter, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
    }
}
