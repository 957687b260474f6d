//! Protected control transfer: synchronous calls from one environment into another through an
//! endpoint ([`Syscall::EndpointCreate`], [`Syscall::EndpointCall`],
//! [`Syscall::EndpointReplyAndWait`]).
//!
//! A server creates an endpoint and waits on it; a client holding a capability with
//! [`CALL`](crate::capability::Rights::CALL) over the endpoint calls it with a [`Message`] of
//! [`MESSAGE_WORDS`] words in `rsi`, `rdx`, `r10` and `r8`. When the server waits, the kernel
//! switches straight to it on the caller's time: the caller donates the rest of its slot. The
//! server receives the message in the same registers, the caller's environment id in `rax`, and
//! the one-shot right to reply; its [`Syscall::EndpointReplyAndWait`] with [`REPLY`] puts the
//! reply words in the caller's `rsi`, `rdx`, `r10` and `r8`, switches straight back to it and
//! leaves the server waiting for the next call. Callers that find the server busy wait in
//! arrival order.
//!
//! # Lent pages
//!
//! Bulk data does not travel in registers. A caller may lend one of its pages with a call
//! (`a5` of [`Syscall::EndpointCall`]: the page's address, with [`LEND_WRITABLE`] to let the
//! server write it); a server names where lent pages land when it waits (`a5` of
//! [`Syscall::EndpointReplyAndWait`]: a free page address of its own beside the flag bits). The
//! kernel binds the lent page there, derived from the caller's binding, when it delivers the
//! call, and tells the server so ([`LENT`] in the caller id word); the binding goes when the
//! server replies, unless the caller lent it with [`LEND_KEEP`], which leaves it bound (a buffer
//! shared for good, set up by one call) until the caller unmaps it or either side ends. A lent
//! page is an offer: when the server named no window, or something is bound there, the call is
//! delivered without it.
//!
//! # Granted bytes
//!
//! Data that is not a whole page (a file read into any buffer) moves with one copy, by the
//! kernel, between the server's memory and bytes its caller granted: the caller names a range
//! of its memory with [`Syscall::EndpointGrant`] (writable with [`GRANT_WRITABLE`]) before it
//! calls, and the server, while it holds that call, copies into or out of it with
//! [`Syscall::EndpointCopy`] ([`COPY_TO_GRANT`] for into). The grant serves that one call and
//! goes when it returns: no other server, and no later call, ever reaches it. The kernel
//! checks every page on both sides before it copies, and the copy is whole or nothing.
//!
//! # Deferred replies and ended children
//!
//! A server that cannot answer a call yet (a process server asked to wait for a child that
//! still runs) waits for the next call with [`DEFER`] instead of [`REPLY`]: the caller stays
//! blocked, and the server keeps the right to reply to it once, later, with
//! [`Syscall::EndpointReply`]. A server that waits with [`CHILD_ENDS`] also stops waiting when
//! one of the environments it created ends, and learns so from [`CHILD_ENDED`] in place of a
//! caller's id: it never sleeps through the end of a child it has to report.
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

/// Flag of [`Syscall::EndpointReplyAndWait`](crate::Syscall::EndpointReplyAndWait): reply to
/// the call being served before waiting for the next one.
pub const REPLY: u64 = 1 << 0;

/// Flag of [`Syscall::EndpointReplyAndWait`](crate::Syscall::EndpointReplyAndWait): leave
/// the caller being served blocked and keep the right to reply to it, once, with
/// [`Syscall::EndpointReply`](crate::Syscall::EndpointReply); then wait for the next call. Not
/// with [`REPLY`]. A page lent for the call goes back to the caller now.
pub const DEFER: u64 = 1 << 1;

/// Flag of [`Syscall::EndpointReplyAndWait`](crate::Syscall::EndpointReplyAndWait): stop
/// waiting, returning [`CHILD_ENDED`], when an environment the server created ends, or at once
/// when no call is queued and one has ended since the server last learnt of it this way.
pub const CHILD_ENDS: u64 = 1 << 2;

/// Every flag of [`Syscall::EndpointReplyAndWait`](crate::Syscall::EndpointReplyAndWait)
/// (beside the window's page address).
pub const WAIT_FLAGS: u64 = REPLY | DEFER | CHILD_ENDS;

/// Returned by [`Syscall::EndpointReplyAndWait`](crate::Syscall::EndpointReplyAndWait) with
/// [`CHILD_ENDS`], in place of a caller's id, when it stopped waiting because a child ended;
/// no call is being served then and the message registers hold nothing.
pub const CHILD_ENDED: u64 = 1 << 33;

/// Flag of a page lent with [`Syscall::EndpointCall`](crate::Syscall::EndpointCall): the
/// server may write it (it may always read it).
pub const LEND_WRITABLE: u64 = 1 << 0;

/// Flag of a page lent with [`Syscall::EndpointCall`](crate::Syscall::EndpointCall): the
/// binding stays after the reply.
pub const LEND_KEEP: u64 = 1 << 1;

/// Every flag a lent page's address may carry.
pub const LEND_FLAGS: u64 = LEND_WRITABLE | LEND_KEEP;

/// Flag of [`Syscall::EndpointGrant`](crate::Syscall::EndpointGrant): servers may copy into
/// the granted bytes, not only out of them.
pub const GRANT_WRITABLE: u64 = 1 << 0;

/// Flag of [`Syscall::EndpointCopy`](crate::Syscall::EndpointCopy): copy from the server's
/// memory into the caller's granted bytes (without it, out of them).
pub const COPY_TO_GRANT: u64 = 1 << 0;

/// Most bytes one [`Syscall::EndpointCopy`](crate::Syscall::EndpointCopy) moves, so that no
/// copy keeps the kernel (which runs with interrupts off) from the others for long.
pub const COPY_BYTES_MAX: u64 = 1 << 20;

/// Set in the word a server receives (beside the caller's environment id, in the low 32 bits)
/// when the call lent a page, now bound at the server's window.
pub const LENT: u64 = 1 << 32;
