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

/// Enable bits for [`Syscall::SetUpcalls`](crate::Syscall::SetUpcalls), one per event.
pub mod enable {
    /// [`SLICE_EPILOGUE`](super::SLICE_EPILOGUE).
    pub const SLICE_EPILOGUE: u64 = 1 << 0;
    /// [`SLICE_PROLOGUE`](super::SLICE_PROLOGUE).
    pub const SLICE_PROLOGUE: u64 = 1 << 1;
    /// [`REVOCATION_REQUEST`](super::REVOCATION_REQUEST).
    pub const REVOCATION_REQUEST: u64 = 1 << 2;
    /// [`REPOSSESSED`](super::REPOSSESSED).
    pub const REPOSSESSED: u64 = 1 << 3;
    /// [`FILTER_UNLOADED`](super::FILTER_UNLOADED).
    pub const FILTER_UNLOADED: u64 = 1 << 4;
    /// Every defined bit.
    pub const ALL: u64 =
        SLICE_EPILOGUE | SLICE_PROLOGUE | REVOCATION_REQUEST | REPOSSESSED | FILTER_UNLOADED;
}
