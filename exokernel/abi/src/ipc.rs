//! Protected control transfer: synchronous calls from one environment into another through an
//! endpoint ([`Syscall::EndpointCreate`], [`Syscall::EndpointCall`],
//! [`Syscall::EndpointReplyAndWait`]).
//!
//! A server creates an endpoint and waits on it; a client holding a capability with
//! [`CALL`](crate::capability::Rights::CALL) over the endpoint calls it with a [`Message`] of
//! [`MESSAGE_WORDS`] words in `rsi`, `rdx`, `r10` and `r8`. When the server waits, the kernel
//! switches straight to it on the caller's time: the caller donates the rest of its slot. The
//! server receives the message in the same registers, the caller's environment id in `rax`, and
//! the one-shot right to reply; its [`Syscall::EndpointReplyAndWait`] with
//! [`ReplyAndWaitFlags::REPLY`] puts the reply words in the caller's `rsi`, `rdx`, `r10` and
//! `r8`, switches straight back to it and leaves the server waiting for the next call. Callers
//! that find the server busy wait in arrival order.
//!
//! # Lent pages
//!
//! Bulk data does not travel in registers. A caller may lend one of its pages with a call
//! (`a5` of [`Syscall::EndpointCall`]: the page's address, with [`LendFlags::WRITABLE`] to let
//! the server write it); a server names where lent pages land when it waits (`a5` of
//! [`Syscall::EndpointReplyAndWait`]: a free page address of its own beside the flag bits). The
//! kernel binds the lent page there, derived from the caller's binding, when it delivers the
//! call, and tells the server so ([`LENT`] in the caller id word); the binding goes when the
//! server replies, unless the caller lent it with [`LendFlags::KEEP`], which leaves it bound (a
//! buffer shared for good, set up by one call) until the caller unmaps it or either side ends.
//! A lent page is an offer: when the server named no window, or something is bound there, the
//! call is delivered without it.
//!
//! # Granted bytes
//!
//! Data that is not a whole page (a file read into any buffer) moves with one copy, by the
//! kernel, between the server's memory and bytes its caller granted: the caller names a range
//! of its memory with [`Syscall::EndpointGrant`] (writable with [`GrantFlags::WRITABLE`])
//! before it calls, and the server, while it holds that call, copies into or out of it with
//! [`Syscall::EndpointCopy`] ([`CopyFlags::TO_GRANT`] for into). The grant serves that one
//! call and goes when it returns: no other server, and no later call, ever reaches it. The
//! kernel checks every page on both sides before it copies, and the copy is whole or nothing.
//!
//! # Deferred replies and ended children
//!
//! A server that cannot answer a call yet (a process server asked to wait for a child that
//! still runs) waits for the next call with [`ReplyAndWaitFlags::DEFER`] instead of
//! [`ReplyAndWaitFlags::REPLY`]: the caller stays blocked, and the server keeps the right to
//! reply to it once, later, with [`Syscall::EndpointReply`]. A server that waits with
//! [`ReplyAndWaitFlags::CHILD_ENDS`] also stops waiting when one of the environments it created
//! ends, and learns so from [`CHILD_ENDED`] in place of a caller's id: it never sleeps through
//! the end of a child it has to report.
//!
//! # Failures
//!
//! A call to an endpoint whose server has ended fails at once with
//! [`NoSuchEnvironment`](crate::Error::NoSuchEnvironment); when a server ends, every caller
//! queued on its endpoints and the one it serves wake with that error. When a caller ends, it
//! leaves the queue, or the server's reply right becomes void (its reply goes nowhere). A caller
//! blocked on a server that never replies is ended by whoever holds
//! [`CONTROL`](crate::capability::Rights::CONTROL) over it
//! ([`Syscall::EnvironmentKill`](crate::Syscall::EnvironmentKill)). A deferred caller wakes
//! with that error too when its server ends.
//!
//! [`Syscall::EndpointCreate`]: crate::Syscall::EndpointCreate
//! [`Syscall::EndpointCall`]: crate::Syscall::EndpointCall
//! [`Syscall::EndpointReplyAndWait`]: crate::Syscall::EndpointReplyAndWait
//! [`Syscall::EndpointReply`]: crate::Syscall::EndpointReply
//! [`Syscall::EndpointGrant`]: crate::Syscall::EndpointGrant
//! [`Syscall::EndpointCopy`]: crate::Syscall::EndpointCopy

/// Words in a message, each way.
pub const MESSAGE_WORDS: usize = 4;

/// The words a call or a reply carries.
pub type Message = [u64; MESSAGE_WORDS];

bitflags::bitflags! {
    /// The flags of [`Syscall::EndpointReplyAndWait`](crate::Syscall::EndpointReplyAndWait); on
    /// the wire, the [`bits`](ReplyAndWaitFlags::bits) of this set in the low bits of `a5`,
    /// beside the page address of the window.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ReplyAndWaitFlags: u64 {
        /// Reply to the call being served before waiting for the next one.
        const REPLY = 1 << 0;
        /// Leave the caller being served blocked and keep the right to reply to it, once, with
        /// [`Syscall::EndpointReply`](crate::Syscall::EndpointReply); then wait for the next
        /// call. Not with [`REPLY`](ReplyAndWaitFlags::REPLY). A page lent for the call goes
        /// back to the caller now.
        const DEFER = 1 << 1;
        /// Stop waiting, returning [`CHILD_ENDED`], when an environment the server created
        /// ends, or at once when no call is queued and one has ended since the server last
        /// learnt of it this way.
        const CHILD_ENDS = 1 << 2;
    }
}

/// Returned by [`Syscall::EndpointReplyAndWait`](crate::Syscall::EndpointReplyAndWait) with
/// [`ReplyAndWaitFlags::CHILD_ENDS`], in place of a caller's id, when it stopped waiting
/// because a child ended; no call is being served then and the message registers hold nothing.
/// A whole result word, compared for equality, not a flag: it stays a constant.
pub const CHILD_ENDED: u64 = 1 << 33;

bitflags::bitflags! {
    /// The flags of a page lent with [`Syscall::EndpointCall`](crate::Syscall::EndpointCall);
    /// on the wire, the [`bits`](LendFlags::bits) of this set in the low bits of `a5`, beside
    /// the lent page's address.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct LendFlags: u64 {
        /// The server may write the page (it may always read it).
        const WRITABLE = 1 << 0;
        /// The binding stays after the reply.
        const KEEP = 1 << 1;
    }
}

bitflags::bitflags! {
    /// The flags of [`Syscall::EndpointGrant`](crate::Syscall::EndpointGrant); on the wire,
    /// the [`bits`](GrantFlags::bits) of this set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct GrantFlags: u64 {
        /// Servers may copy into the granted bytes, not only out of them.
        const WRITABLE = 1 << 0;
    }
}

bitflags::bitflags! {
    /// The flags of [`Syscall::EndpointCopy`](crate::Syscall::EndpointCopy); on the wire, the
    /// [`bits`](CopyFlags::bits) of this set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CopyFlags: u64 {
        /// Copy from the server's memory into the caller's granted bytes (without it, out of
        /// them).
        const TO_GRANT = 1 << 0;
    }
}

/// Most bytes one [`Syscall::EndpointCopy`](crate::Syscall::EndpointCopy) moves, so that no
/// copy keeps the kernel (which runs with interrupts off) from the others for long.
pub const COPY_BYTES_MAX: u64 = 1 << 20;

/// Set in the word a server receives (beside the caller's environment id, in the low 32 bits)
/// when the call lent a page, now bound at the server's window. A bit of a result word beside
/// an id, not an argument flag: it stays a constant.
pub const LENT: u64 = 1 << 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_their_wire_values() {
        assert_eq!(ReplyAndWaitFlags::REPLY.bits(), 1 << 0);
        assert_eq!(ReplyAndWaitFlags::DEFER.bits(), 1 << 1);
        assert_eq!(ReplyAndWaitFlags::CHILD_ENDS.bits(), 1 << 2);
        assert_eq!(ReplyAndWaitFlags::all().bits(), 0b111);
        assert_eq!(LendFlags::WRITABLE.bits(), 1 << 0);
        assert_eq!(LendFlags::KEEP.bits(), 1 << 1);
        assert_eq!(LendFlags::all().bits(), 0b11);
        assert_eq!(GrantFlags::WRITABLE.bits(), 1 << 0);
        assert_eq!(GrantFlags::all().bits(), 1 << 0);
        assert_eq!(CopyFlags::TO_GRANT.bits(), 1 << 0);
        assert_eq!(CopyFlags::all().bits(), 1 << 0);
    }

    #[test]
    fn flags_fit_below_a_page_address() {
        assert!(ReplyAndWaitFlags::all().bits() < 4096);
        assert!(LendFlags::all().bits() < 4096);
    }
}
