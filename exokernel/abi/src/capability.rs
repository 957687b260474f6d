//! Capabilities: what one environment may do to another. A call that acts on another
//! environment names it by a *handle*, a number that means something only in the caller's own
//! capability table, which the kernel keeps. A number nobody issued to the caller names
//! nothing ([`Error::BadCapability`](crate::Error::BadCapability)), so capabilities cannot be
//! forged; they are passed on only through [`Syscall::CapabilityCopy`](crate::Syscall::CapabilityCopy),
//! with equal or fewer rights.
//!
//! [`Syscall::Spawn`](crate::Syscall::Spawn) and
//! [`Syscall::EnvironmentCreate`](crate::Syscall::EnvironmentCreate) give the parent a handle
//! with every right over the child, and the child a handle ([`PARENT`]) that names its parent
//! with no right. [`Rights::CONTROL`] starts an environment built by hand and kills it or any
//! of its living descendants, so a parent can pass the power over a whole subtree to another
//! environment (a library OS's process manager, say) by copying one capability.
//!
//! # Consent
//!
//! Nothing is pushed onto an environment without its consent. Frames
//! ([`Syscall::FrameGrant`](crate::Syscall::FrameGrant)), capabilities
//! ([`Syscall::CapabilityCopy`](crate::Syscall::CapabilityCopy)) and bindings
//! ([`Syscall::PageShare`](crate::Syscall::PageShare),
//! [`Syscall::PageMapInto`](crate::Syscall::PageMapInto)) reach an environment only through
//! [`Rights::GRANT`] or [`Rights::SHARE`] over it, and those rights come only from the
//! environment itself (a copy of [`SELF`]) or from whoever created it (who holds every right over
//! it, can kill it and gets back all it holds when it ends), and from those they passed them to.
//! So a child cannot fill its parent's
//! capability table or hand it frames it never frees: a parent that wants to receive from its
//! child copies [`SELF`] narrowed to [`Rights::GRANT`] into the child, and can drop what it
//! receives ([`Syscall::CapabilityDrop`](crate::Syscall::CapabilityDrop),
//! [`Syscall::FrameFree`](crate::Syscall::FrameFree)).
//!
//! A handle is `generation << 32 | slot`: the slot of the table it names, and how many times
//! that slot has been filled (from 1), so that a dropped capability's handle stays dead. An
//! environment given a capability by someone else finds it among its slots, in order, with
//! [`Syscall::CapabilityInspect`](crate::Syscall::CapabilityInspect).
//!
//! A capability outlives nothing: once its environment has ended, using it fails with
//! [`Error::NoSuchEnvironment`](crate::Error::NoSuchEnvironment).

/// The handle that names the caller itself, with every right but [`Rights::WAIT`] (so with
/// [`Rights::CONTROL`]: an environment may kill itself and its descendants); no capability is
/// needed to act on oneself.
pub const SELF: u64 = u64::MAX;

/// The handle every spawned environment holds from birth: its parent, with no right (see
/// [Consent](self#consent)); [`Syscall::CapabilityInspect`](crate::Syscall::CapabilityInspect)
/// tells the parent's id.
pub const PARENT: u64 = 1 << 32;

/// Most capabilities one environment holds at once.
pub const CAPABILITIES_MAX: usize = 256;

bitflags::bitflags! {
    /// Rights a capability carries: on the wire (the rights arguments of
    /// [`Syscall::CapabilityCopy`](crate::Syscall::CapabilityCopy), the high half of
    /// [`Syscall::CapabilityInspect`](crate::Syscall::CapabilityInspect)'s result) the
    /// [`bits`](Rights::bits) of this set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Rights: u64 {
        /// Share pages into its address space ([`Syscall::PageShare`](crate::Syscall::PageShare)) and
        /// bind its own frames there ([`Syscall::PageMapInto`](crate::Syscall::PageMapInto)).
        const SHARE = 1 << 0;
        /// Give it frames and capabilities ([`Syscall::FrameGrant`](crate::Syscall::FrameGrant),
        /// [`Syscall::CapabilityCopy`](crate::Syscall::CapabilityCopy)): the right to push
        /// resources onto it, which only it and its creator hand out (see [Consent](self#consent)).
        const GRANT = 1 << 1;
        /// Ask it for resources back ([`Syscall::Revoke`](crate::Syscall::Revoke),
        /// [`Syscall::RevocationQuery`](crate::Syscall::RevocationQuery)).
        const REVOKE = 1 << 2;
        /// Wait for it to end and reap it ([`Syscall::Wait`](crate::Syscall::Wait)). Only the
        /// handle [`Syscall::Spawn`](crate::Syscall::Spawn) or
        /// [`Syscall::EnvironmentCreate`](crate::Syscall::EnvironmentCreate) returns carries it; it
        /// is never copied.
        const WAIT = 1 << 3;
        /// Start it ([`Syscall::EnvironmentStart`](crate::Syscall::EnvironmentStart)) and kill it or
        /// any of its living descendants ([`Syscall::EnvironmentKill`](crate::Syscall::EnvironmentKill)).
        /// [`Syscall::CapabilityCopy`](crate::Syscall::CapabilityCopy) may pass it on.
        const CONTROL = 1 << 4;
        /// Every right over an environment (not the endpoint rights [`Rights::CALL`] and
        /// [`Rights::RECEIVE`]).
        const ALL = Self::SHARE.bits() | Self::GRANT.bits() | Self::REVOKE.bits() | Self::WAIT.bits() | Self::CONTROL.bits();
        /// Call an endpoint (protected control transfer); may be passed on.
        const CALL = 1 << 5;
        /// Receive the calls made to an endpoint and reply to them: held by its server only, never
        /// copied.
        const RECEIVE = 1 << 6;
    }
}

#[cfg(test)]
mod tests {
    use super::Rights;

    #[test]
    fn rights_keep_their_wire_values() {
        assert_eq!(Rights::SHARE.bits(), 1 << 0);
        assert_eq!(Rights::GRANT.bits(), 1 << 1);
        assert_eq!(Rights::REVOKE.bits(), 1 << 2);
        assert_eq!(Rights::WAIT.bits(), 1 << 3);
        assert_eq!(Rights::CONTROL.bits(), 1 << 4);
        assert_eq!(Rights::ALL.bits(), 0b1_1111);
        assert_eq!(Rights::CALL.bits(), 1 << 5);
        assert_eq!(Rights::RECEIVE.bits(), 1 << 6);
        assert_eq!(Rights::all().bits(), 0b111_1111);
        assert_eq!(Rights::from_bits(1 << 7), None);
    }
}
