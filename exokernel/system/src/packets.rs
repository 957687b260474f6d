//! Packets: binding a filter and a receive ring (`PacketBind`), sending (`PacketSend`), and
//! delivering received frames to the environment whose filter claims them. The ring's format is
//! `exo_abi::packet`'s; the rule that picks the claimer is `exo_filter::table`'s.
//!
//! The ring is a secure binding like a page mapping: its frames are checked at bind time, and
//! at every delivery the kernel checks again that the two frames it writes (the header and the
//! slot) still belong to the ring's environment; if not, the binding is dropped and the frame
//! with it, so that a freed or granted ring frame is never written.

use crate::kernel::Kernel;
use crate::pages::own_binding;
use crate::platform::Platform;
use crate::user_memory::copy_from_user;
use alloc::vec::Vec;
use exo_abi::packet::{
    CONSUMED, DROPPED, FRAME_BYTES_MAX, FRAME_BYTES_MIN, PRODUCED, RING_SLOTS_MAX, SLOT_DATA_OFFSET,
};
use exo_abi::{Error, PageRights};
use exo_core::PAGE_SIZE;
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner};
use exo_core::user_range::UserRange;

/// The frames of a bound receive ring.
#[derive(Debug)]
pub struct Ring {
    header: FrameNumber,
    slots: Vec<FrameNumber>,
}

/// What happened to received frames, printed at power-off.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketCounters {
    pub received: u64,
    pub delivered: u64,
    pub unclaimed: u64,
    pub ring_full: u64,
    pub ring_broken: u64,
    /// Receive interrupts taken while an environment ran.
    pub interrupts: u64,
}

/// [`exo_abi::Syscall::PacketBind`].
pub fn packet_bind<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    filter: u64,
    ring_address: u64,
    slot_count: u64,
) -> Result<u64, Error> {
    if slot_count == 0 || slot_count > RING_SLOTS_MAX {
        return Err(Error::InvalidArgument);
    }
    let ring_frame = |page: u64| -> Result<FrameNumber, Error> {
        let address = ring_address
            .checked_add(page * PAGE_SIZE)
            .ok_or(Error::BadAddress)?;
        let binding = match own_binding(kernel, caller, address) {
            Err(Error::NotFound) => Err(Error::BadAddress),
            other => other,
        }?;
        if binding.rights.contains(PageRights::WRITABLE) {
            Ok(binding.frame)
        } else {
            Err(Error::PermissionDenied)
        }
    };
    let header = ring_frame(0)?;
    let slots = (1..=slot_count)
        .map(ring_frame)
        .collect::<Result<Vec<_>, _>>()?;
    kernel
        .filters
        .bind(caller, filter, Ring { header, slots })?;
    Ok(0)
}

/// Runs `use_frame` on the caller's Ethernet frame of `len` bytes at `address`, copied into
/// the kernel's frame buffer: one buffer for every call, so that a frame costs no allocation.
fn with_frame_in<P: Platform, T>(
    kernel: &mut Kernel<P>,
    address: u64,
    len: u64,
    use_frame: impl FnOnce(&mut Kernel<P>, &[u8]) -> T,
) -> Result<T, Error> {
    if len < FRAME_BYTES_MIN {
        return Err(Error::InvalidArgument);
    }
    let range = UserRange::with_limit(address, len, FRAME_BYTES_MAX)?;
    // Taken out for the call, which needs the whole kernel, and always put back.
    let mut buffer = core::mem::take(&mut kernel.frame_buffer);
    let result = match buffer.get_mut(..range.len() as usize) {
        Some(frame) => copy_from_user::<P>(kernel.current_address_space(), range, frame)
            .map(|()| use_frame(kernel, frame)),
        None => Err(Error::TooLong),
    };
    kernel.frame_buffer = buffer;
    result
}

/// [`exo_abi::Syscall::PacketSend`].
pub fn packet_send<P: Platform>(
    kernel: &mut Kernel<P>,
    address: u64,
    len: u64,
) -> Result<u64, Error> {
    match with_frame_in(kernel, address, len, |_, frame| P::net_send(frame))? {
        Some(true) => Ok(0),
        Some(false) | None => Err(Error::Unavailable),
    }
}

/// [`exo_abi::Syscall::PacketInject`].
pub fn packet_inject<P: Platform>(
    kernel: &mut Kernel<P>,
    caller: EnvId,
    address: u64,
    len: u64,
) -> Result<u64, Error> {
    // Init's frames go to every filter; another's only to its own, so that it can drive its
    // own receive path (a server's benchmark) and make up nothing for anybody else.
    let only = (!kernel.is_init(caller)).then_some(caller);
    let is_claimed = with_frame_in(kernel, address, len, |kernel, frame| {
        kernel.demultiplex(frame, only)
    })?;
    Ok(u64::from(is_claimed))
}

/// The ring header's words [`PRODUCED`], [`CONSUMED`] and [`DROPPED`], in that order.
fn header_words<P: Platform>(header: FrameNumber) -> [u64; 3] {
    const _: () = assert!(PRODUCED == 0 && CONSUMED == 1 && DROPPED == 2);
    let mut bytes = [0u8; 24];
    P::read_frame(header, 0, &mut bytes);
    let word = |index: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
        u64::from_le_bytes(word)
    };
    [word(PRODUCED), word(CONSUMED), word(DROPPED)]
}

fn set_header_word<P: Platform>(header: FrameNumber, word: usize, value: u64) {
    P::write_frame(header, word * 8, &value.to_le_bytes());
}

/// Where a delivery went.
enum Delivery {
    Delivered,
    RingFull,
    RingBroken,
}

/// Writes `frame` into `owner`'s `ring`, checking first that the ring's frames are still its.
fn write_into_ring<P: Platform>(
    frames_owner: impl Fn(FrameNumber) -> bool,
    ring: &Ring,
    frame: &[u8],
) -> Delivery {
    if !frames_owner(ring.header) {
        return Delivery::RingBroken;
    }
    // The header words are the environment's to write: any value is possible, so the counters
    // wrap and the slot index is taken modulo the ring's size, as the ABI says. They are read
    // in one copy.
    let [produced, consumed, dropped] = header_words::<P>(ring.header);
    let slot_count = ring.slots.len() as u64;
    if produced.wrapping_sub(consumed) >= slot_count {
        set_header_word::<P>(ring.header, DROPPED, dropped.wrapping_add(1));
        return Delivery::RingFull;
    }
    let slot = ring.slots[(produced % slot_count) as usize];
    if !frames_owner(slot) {
        return Delivery::RingBroken;
    }
    let len = frame.len().min(PAGE_SIZE as usize - SLOT_DATA_OFFSET);
    P::write_frame(slot, 0, &(len as u64).to_le_bytes());
    P::write_frame(slot, SLOT_DATA_OFFSET, &frame[..len]);
    set_header_word::<P>(ring.header, PRODUCED, produced.wrapping_add(1));
    Delivery::Delivered
}

impl<P: Platform> Kernel<P> {
    /// Takes a batch of the frames the network device has received and hands each to the
    /// filter that claims it; returns whether an environment woke. Notes whether frames are
    /// left ([`Kernel::has_frames_waiting`]).
    pub fn receive_packets(&mut self) -> bool {
        let mut has_woken = false;
        let is_drained = P::net_receive(&mut |frame| has_woken |= self.demultiplex(frame, None));
        self.has_frames_waiting = !is_drained;
        has_woken
    }

    /// The network device's receive interrupt, taken while the running environment ran: one
    /// batch of frames goes to the filters that claim them, and whoever they wake waits for
    /// the scheduler to choose it (the running environment keeps its slot). Frames beyond the
    /// batch wait for the next scheduling point, so that a storm of them costs each slot at
    /// most one batch of interrupt work.
    pub fn receive_packets_on_interrupt(&mut self) {
        self.packet_counters.interrupts += 1;
        self.receive_packets();
    }

    /// Delivers one received frame, offered to `only`'s filters or, without it, to all;
    /// returns whether a filter claimed it (its receiver then woke if it slept).
    pub fn demultiplex(&mut self, frame: &[u8], only: Option<EnvId>) -> bool {
        self.packet_counters.received += 1;
        let Kernel {
            filters,
            frames,
            packet_counters,
            ..
        } = self;
        let claim = filters.demultiplex(frame, only);
        let unloaded = claim.unloaded;
        let is_claimed = claim.claimed_by.is_some();
        let mut receiver = None;
        let mut broken = None;
        match claim.claimed_by {
            None => packet_counters.unclaimed += 1,
            Some((id, owner, ring)) => {
                let owns = |frame| frames.owner(frame) == Some(FrameOwner::Environment(owner));
                match write_into_ring::<P>(owns, ring, frame) {
                    Delivery::Delivered => {
                        packet_counters.delivered += 1;
                        receiver = Some(owner);
                    }
                    Delivery::RingFull => packet_counters.ring_full += 1,
                    Delivery::RingBroken => {
                        packet_counters.ring_broken += 1;
                        broken = Some((id, owner));
                    }
                }
            }
        }
        if let Some((id, owner)) = broken {
            log::warn!(
                "env {}: receive ring of filter {id} no longer its own; unbound",
                owner.0
            );
            self.filters.unbind(id);
        }
        for gone in unloaded {
            self.note_filter_unloaded(gone);
        }
        if let Some(owner) = receiver
            && !self.end_sleep(owner)
            && let Some(machine) = self.environments.machine_mut(owner)
        {
            machine.has_frame_since_sleep = true;
        }
        is_claimed
    }
}
