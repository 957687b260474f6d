//! Kernel events delivered as upcalls. They arrive like exceptions, through the handler
//! registered with [`Syscall::SetExceptionHandler`](crate::Syscall::SetExceptionHandler), as an
//! [`ExceptionFrame`](crate::ExceptionFrame) whose `vector` is one of the event numbers below
//! (all above the CPU's 32 exception vectors). For an event, `error_code` and `fault_address`
//! carry the event's two arguments and `registers` the context it interrupted, which the
//! handler resumes as after an exception.
//!
//! An environment receives only the events it enabled with
//! [`Syscall::SetUpcalls`](crate::Syscall::SetUpcalls). An event is delivered when the
//! environment next gets the CPU outside its handler stack; until then it is pending. Events of
//! one kind do not queue: a second one before the first is delivered replaces it.

/// The environment's slot has ended: save what is needed and yield within
/// [`EPILOGUE_GRACE_MICROSECONDS`](crate::slice::EPILOGUE_GRACE_MICROSECONDS) (visible
/// revocation of the CPU). Arguments: the slot's position, 0.
pub const SLICE_EPILOGUE: u64 = 32;

/// A slot of the environment begins. Arguments: the slot's position, 0.
pub const SLICE_PROLOGUE: u64 = 33;

/// The kernel asks for resources back by a deadline. Arguments: the kind
/// ([`ResourceKind`](crate::repossession::ResourceKind) code), how many. The environment chooses which ones and
/// frees them; whatever is still owed at the deadline is repossessed (the abort protocol).
pub const REVOCATION_REQUEST: u64 = 34;

/// The kernel repossessed resources; the records are in the repossession vector registered with
/// [`Syscall::SetRepossessionVector`](crate::Syscall::SetRepossessionVector). Arguments: how
/// many records were added, 0.
pub const REPOSSESSED: u64 = 35;

/// A filter of the environment was unloaded after
/// [`STRIKES_MAX`](crate::filter::STRIKES_MAX) strikes. Arguments: the filter's id, 0.
pub const FILTER_UNLOADED: u64 = 36;

bitflags::bitflags! {
    /// The events [`Syscall::SetUpcalls`](crate::Syscall::SetUpcalls) enables, one bit per
    /// event (bit `n` for event number `32 + n`); on the wire, the [`bits`](Upcalls::bits) of
    /// this set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Upcalls: u64 {
        /// [`SLICE_EPILOGUE`](super::SLICE_EPILOGUE).
        const SLICE_EPILOGUE = 1 << 0;
        /// [`SLICE_PROLOGUE`](super::SLICE_PROLOGUE).
        const SLICE_PROLOGUE = 1 << 1;
        /// [`REVOCATION_REQUEST`](super::REVOCATION_REQUEST).
        const REVOCATION_REQUEST = 1 << 2;
        /// [`REPOSSESSED`](super::REPOSSESSED).
        const REPOSSESSED = 1 << 3;
        /// [`FILTER_UNLOADED`](super::FILTER_UNLOADED).
        const FILTER_UNLOADED = 1 << 4;
    }
}

impl Upcalls {
    /// The bit that enables event number `event`; empty for a number that is no event.
    pub fn of_event(event: u64) -> Upcalls {
        let bit = event
            .checked_sub(SLICE_EPILOGUE)
            .and_then(|index| 1u64.checked_shl(u32::try_from(index).ok()?))
            .unwrap_or(0);
        Upcalls::from_bits_truncate(bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upcall_bits_keep_their_wire_values() {
        assert_eq!(Upcalls::SLICE_EPILOGUE.bits(), 1 << 0);
        assert_eq!(Upcalls::SLICE_PROLOGUE.bits(), 1 << 1);
        assert_eq!(Upcalls::REVOCATION_REQUEST.bits(), 1 << 2);
        assert_eq!(Upcalls::REPOSSESSED.bits(), 1 << 3);
        assert_eq!(Upcalls::FILTER_UNLOADED.bits(), 1 << 4);
        assert_eq!(Upcalls::all().bits(), 0b1_1111);
        assert_eq!(Upcalls::from_bits(1 << 5), None);
    }

    #[test]
    fn each_event_has_its_own_bit() {
        assert_eq!(Upcalls::of_event(SLICE_EPILOGUE), Upcalls::SLICE_EPILOGUE);
        assert_eq!(Upcalls::of_event(SLICE_PROLOGUE), Upcalls::SLICE_PROLOGUE);
        assert_eq!(
            Upcalls::of_event(REVOCATION_REQUEST),
            Upcalls::REVOCATION_REQUEST
        );
        assert_eq!(Upcalls::of_event(REPOSSESSED), Upcalls::REPOSSESSED);
        assert_eq!(Upcalls::of_event(FILTER_UNLOADED), Upcalls::FILTER_UNLOADED);
        for not_an_event in [0, 14, 31, 37, 95, 96, u64::MAX] {
            assert_eq!(Upcalls::of_event(not_an_event), Upcalls::empty());
        }
    }
}
