//! The network manager: a UDP key-value server answering straight from the packet receive
//! ring. A downloaded filter ([`crate::filter::Predicate::udp_destination_port`]) claims the
//! server's port; each request is parsed where the kernel delivered it ([`frame::parse`],
//! checked against hostile frames); replies are built into a batch of frames and sent
//! together once the ring is drained, or the batch is full.
//!
//! What an app swaps is the [`ReplyPolicy`]: how one received request frame becomes its reply
//! frame. [`InPlaceReplies`] reads the request in the ring, writes the reply's payload
//! straight into its frame and the headers from a [`template::ReplyTemplate`] (checksums
//! updated incrementally); [`CopyOutReplies`] does what a socket layer does (the payload
//! copied out of the frame, the reply built in a buffer of its own, then copied behind headers
//! written field by field with full checksums). Both give the same bytes, so a server can
//! change policy without a client noticing. The [`UdpKvServer`] owns the rest: the store
//! ([`kv::KvStore`], whose request format [`kv`] documents), the batch, the counters.
//!
//! ```
//! use libos_custom::network::frame::{Endpoint, HEADERS_BYTES};
//! use libos_custom::network::kv::{self, KvStore};
//! use libos_custom::network::{InPlaceReplies, UdpKvServer};
//!
//! let server = Endpoint { mac: [2, 0, 0, 0, 0, 1], ip: [10, 0, 2, 15], port: 7000 };
//! let client = Endpoint { mac: [2, 0, 0, 0, 0, 2], ip: [10, 0, 2, 2], port: 40000 };
//! let mut kv_server = UdpKvServer::new(InPlaceReplies::new(&server), KvStore::new(16), 8);
//! let mut frame = [0u8; 128];
//! let len = kv::write_request(&mut frame[HEADERS_BYTES..], 1, kv::SET, b"k", b"value");
//! libos_custom::network::frame::write_headers(&mut frame, &client, &server, len);
//! assert!(kv_server.handle(&frame[..HEADERS_BYTES + len]));
//! let mut replies = Vec::new();
//! kv_server.flush(|reply| -> Result<(), ()> { replies.push(reply.to_vec()); Ok(()) }).unwrap();
//! assert_eq!(replies[0][HEADERS_BYTES + 4], kv::STORED);
//! ```

pub mod arp;
pub mod checksum;
pub mod frame;
pub mod kv;
pub mod template;

#[cfg(test)]
mod tests;

use alloc::vec;
use alloc::vec::Vec;
use exo_abi::packet::FRAME_BYTES_MAX;
use frame::{Endpoint, HEADERS_BYTES};
use kv::KvStore;
use template::ReplyTemplate;

/// Most bytes of a frame, as a length.
pub const FRAME_BYTES: usize = FRAME_BYTES_MAX as usize;
/// Most bytes of a UDP payload in one frame (IPv4 without options).
pub const PAYLOAD_BYTES_MAX: usize = FRAME_BYTES - HEADERS_BYTES;

/// How a server turns one received request frame into its reply frame: the part of the
/// network manager an app chooses.
///
/// The contract: `answer` is given a frame as received (any bytes at all: it must not panic
/// on a hostile one), the store, and a reply buffer of [`FRAME_BYTES`] bytes whose contents
/// are left from earlier replies. It either drops the frame (`None`: not a UDP datagram this
/// side accepts) or executes its request once against the store and writes a complete reply
/// frame (Ethernet, IPv4, UDP, correct checksums) to the request's sender into the start of
/// the buffer, returning its length. A request that is a datagram but not a well-formed
/// request still gets an error reply ([`kv::KvStore::execute`] decides what it says).
pub trait ReplyPolicy {
    /// Answers `request` against `store` into `reply`; see the trait's contract.
    fn answer(&mut self, request: &[u8], store: &mut KvStore, reply: &mut [u8]) -> Option<usize>;
}

/// Ring-direct replies: the request is parsed and executed where it lies, the reply payload
/// is written straight into the reply frame, and the headers come from a template with the
/// checksums updated incrementally. No byte is copied but the value and 42 header bytes.
#[derive(Debug, Clone)]
pub struct InPlaceReplies {
    template: ReplyTemplate,
}

impl InPlaceReplies {
    /// Replies from `server`.
    pub fn new(server: &Endpoint) -> InPlaceReplies {
        InPlaceReplies {
            template: ReplyTemplate::new(server),
        }
    }
}

impl ReplyPolicy for InPlaceReplies {
    fn answer(&mut self, request: &[u8], store: &mut KvStore, reply: &mut [u8]) -> Option<usize> {
        let datagram = frame::parse(request).ok()?;
        let payload_bytes = store.execute(datagram.payload, &mut reply[HEADERS_BYTES..]);
        self.template.write(reply, &datagram.source, payload_bytes);
        Some(HEADERS_BYTES + payload_bytes)
    }
}

/// Copy-out replies, as a socket layer makes them: the request payload is copied out of the
/// frame into a buffer of the server's, the reply payload is built in another, then copied
/// into the frame behind headers written field by field with full checksums.
#[derive(Debug, Clone)]
pub struct CopyOutReplies {
    server: Endpoint,
    received: Vec<u8>,
    reply_payload: Vec<u8>,
}

impl CopyOutReplies {
    /// Replies from `server`.
    pub fn new(server: &Endpoint) -> CopyOutReplies {
        CopyOutReplies {
            server: *server,
            received: vec![0; PAYLOAD_BYTES_MAX],
            reply_payload: vec![0; kv::REPLY_BYTES_MAX],
        }
    }
}

impl ReplyPolicy for CopyOutReplies {
    fn answer(&mut self, request: &[u8], store: &mut KvStore, reply: &mut [u8]) -> Option<usize> {
        let datagram = frame::parse(request).ok()?;
        let received = &mut self.received[..datagram.payload.len()];
        received.copy_from_slice(datagram.payload);
        let payload_bytes = store.execute(received, &mut self.reply_payload);
        reply[HEADERS_BYTES..HEADERS_BYTES + payload_bytes]
            .copy_from_slice(&self.reply_payload[..payload_bytes]);
        frame::write_headers(reply, &self.server, &datagram.source, payload_bytes);
        Some(HEADERS_BYTES + payload_bytes)
    }
}

/// Reply frames waiting to be sent together.
#[derive(Debug)]
pub struct ReplyBatch {
    /// `frames_max` buffers of [`FRAME_BYTES`] each.
    buffers: Vec<u8>,
    /// The length of each reply in the batch, in order.
    lens: Vec<usize>,
}

impl ReplyBatch {
    /// An empty batch of at most `frames_max` (at least 1) replies.
    pub fn new(frames_max: usize) -> ReplyBatch {
        let frames_max = frames_max.max(1);
        ReplyBatch {
            buffers: vec![0; frames_max * FRAME_BYTES],
            lens: Vec::with_capacity(frames_max),
        }
    }

    /// Whether it holds as many replies as it can.
    pub fn is_full(&self) -> bool {
        self.lens.len() * FRAME_BYTES == self.buffers.len()
    }

    /// How many replies it holds.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// Whether it holds no reply.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// The replies, in the order they were made.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        self.buffers
            .as_chunks::<FRAME_BYTES>()
            .0
            .iter()
            .zip(&self.lens)
            .map(|(buffer, &len)| &buffer[..len])
    }

    /// The buffer of the next reply, if there is room.
    fn next_buffer(&mut self) -> Option<&mut [u8]> {
        let start = self.lens.len() * FRAME_BYTES;
        self.buffers.get_mut(start..start + FRAME_BYTES)
    }
}

/// A UDP key-value server: its store, its reply policy and its batch of replies to send.
#[derive(Debug)]
pub struct UdpKvServer<P: ReplyPolicy> {
    policy: P,
    store: KvStore,
    batch: ReplyBatch,
    dropped: u64,
}

impl<P: ReplyPolicy> UdpKvServer<P> {
    /// A server answering through `policy` from `store`, sending replies in batches of up to
    /// `batch_frames`.
    pub fn new(policy: P, store: KvStore, batch_frames: usize) -> UdpKvServer<P> {
        UdpKvServer {
            policy,
            store,
            batch: ReplyBatch::new(batch_frames),
            dropped: 0,
        }
    }

    /// Answers the received frame `request`, its reply joining the batch; returns whether it
    /// was answered. A frame the policy drops, or one that comes while the batch is full
    /// ([`UdpKvServer::is_batch_full`]: flush first), is counted and not answered.
    pub fn handle(&mut self, request: &[u8]) -> bool {
        let answered = match self.batch.next_buffer() {
            Some(buffer) => self.policy.answer(request, &mut self.store, buffer),
            None => None,
        };
        match answered {
            Some(len) => self.batch.lens.push(len),
            None => self.dropped += 1,
        }
        answered.is_some()
    }

    /// Whether the batch has no room for another reply.
    pub fn is_batch_full(&self) -> bool {
        self.batch.is_full()
    }

    /// The replies not sent yet.
    pub fn batch(&self) -> &ReplyBatch {
        &self.batch
    }

    /// Sends the batch through `send`, one frame a call, in order, and empties it; returns
    /// how many were sent. On the first error the rest of the batch is dropped with it (UDP
    /// promises no delivery; the client asks again).
    pub fn flush<E>(&mut self, mut send: impl FnMut(&[u8]) -> Result<(), E>) -> Result<usize, E> {
        let sent = self
            .batch
            .frames()
            .try_for_each(&mut send)
            .map(|()| self.batch.len());
        self.batch.lens.clear();
        sent
    }

    /// The store.
    pub fn store(&self) -> &KvStore {
        &self.store
    }

    /// Frames not answered: not datagrams, or come while the batch was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
