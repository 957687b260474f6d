//! Answering ARP for the guest's address, as any socket stack does: without it the host side
//! cannot send the guest a datagram. Every network path of this library OS holds an
//! [`ArpAnswerer`] while it serves: each [`crate::udp::UdpSocket`], and servers straight on a
//! receive ring of their own (`udpkv custom`, `udp-echo`), which call
//! [`ArpAnswerer::answer_pending`] wherever they wait for frames. The protocol (the filter, the
//! checks, the frames) is `libos_custom::network::arp`'s.
//!
//! **One answerer a program.** The first holder loads a filter claiming the ARP requests for
//! the guest's address ([`libos_custom::network::arp::requests_for`]), binds it to a receive
//! ring of [`RING_SLOTS`] slots at [`RING_ADDRESS`] and announces the address once; later
//! holders share it; the last one to go unloads the filter (the ring's pages stay bound, for
//! the next first holder to bind again).
//!
//! **Several programs.** The kernel gives a frame to the first bound filter that claims it, so
//! with several servers running the one that started first answers every request, and the
//! others' filters claim nothing; answering twice would do no harm either, as every answer
//! says the same. When the answering program ends, the kernel unloads its filters and the
//! next server's claims the requests from then on. Each announces the address when it starts,
//! so the host side knows it even before it asks.
//!
//! **A flood.** Requests beyond the ring's slots are dropped by the kernel (the requester
//! asks again), so each [`ArpAnswerer::answer_pending`] sends at most [`RING_SLOTS`] replies.
//! What is not a request for the guest's address is passed over, whatever its bytes.

use crate::net::ReceiveRing;
use crate::syscall;
use crate::udp::{LOCAL_IP, LOCAL_MAC};
use exo_abi::Error;
use libos_custom::network::arp::{self, Interface};
use spin::Mutex;

/// Where the ARP requests' receive ring is bound.
pub const RING_ADDRESS: u64 = 0x6400_0000_0000;
/// Slots of the ARP requests' ring: requests come one at a time, and a few slots bound what
/// a flood of them costs.
pub const RING_SLOTS: u64 = 4;
/// The guest's addresses, the ones answered for.
pub const GUEST: Interface = Interface {
    mac: LOCAL_MAC,
    ip: LOCAL_IP.octets(),
};

/// The program's answering: the ring once bound, the filter while anybody holds it.
struct Answering {
    ring: Option<ReceiveRing>,
    filter: Option<u64>,
    holders: usize,
}

static ANSWERING: Mutex<Answering> = Mutex::new(Answering {
    ring: None,
    filter: None,
    holders: 0,
});

/// A hold on the program's ARP answering: while one exists, ARP requests for the guest's
/// address are claimed and answered in [`ArpAnswerer::answer_pending`].
#[derive(Debug)]
pub struct ArpAnswerer {
    /// Only [`ArpAnswerer::start`] makes one.
    _held: (),
}

impl ArpAnswerer {
    /// Holds the program's ARP answering, starting it (loading the filter, binding the ring,
    /// announcing the guest's address) if nobody holds it yet. The announcement is not
    /// waited for and may fail (no network device): the requests are answered all the same.
    ///
    /// Errors: those of `FilterLoad` and `PacketBind`, and of binding the ring's pages.
    pub fn start() -> Result<ArpAnswerer, Error> {
        let mut answering = ANSWERING.lock();
        if answering.holders == 0 {
            let filter = syscall::filter_load(&arp::requests_for(GUEST.ip).to_wasm())?;
            let bound = match &answering.ring {
                Some(ring) => ring.bind_filter(filter),
                None => ReceiveRing::bind(filter, RING_ADDRESS, RING_SLOTS)
                    .map(|ring| answering.ring = Some(ring)),
            };
            if let Err(error) = bound {
                let _ = syscall::filter_unload(filter);
                return Err(error);
            }
            answering.filter = Some(filter);
            // Best effort: a lost announcement costs the host side one request.
            let _ = syscall::packet_send(&arp::announcement(&GUEST));
        }
        answering.holders += 1;
        Ok(ArpAnswerer { _held: () })
    }

    /// Answers the ARP requests waiting in the ring, at most [`RING_SLOTS`]; returns how many
    /// replies went out. A reply the device refuses is dropped (the requester asks again).
    /// Returns 0 at once if another thread of the program is answering.
    pub fn answer_pending(&self) -> u64 {
        let Some(mut answering) = ANSWERING.try_lock() else {
            return 0;
        };
        let Some(ring) = answering.ring.as_mut() else {
            return 0;
        };
        let mut taken = 0;
        let mut answered = 0;
        // Read where they lie: the ring holds at most RING_SLOTS.
        for request in ring.pending() {
            taken += 1;
            if let Some(reply) = arp::reply_to(request, &GUEST)
                && syscall::packet_send(&reply).is_ok()
            {
                answered += 1;
            }
        }
        if taken != 0 {
            ring.release(taken);
        }
        answered
    }
}

impl Drop for ArpAnswerer {
    /// Lets go of the answering; the last holder unloads the filter, so that a program that no
    /// longer serves claims no request it would leave unanswered.
    fn drop(&mut self) {
        let mut answering = ANSWERING.lock();
        answering.holders -= 1;
        if answering.holders == 0
            && let Some(filter) = answering.filter.take()
        {
            let _ = syscall::filter_unload(filter);
        }
    }
}
