//! What each call may answer, from its documentation in `exo_abi::Syscall`: whether it may
//! fail at all, and with which errors. The fuzzer checks every answer against this.

use exo_abi::{Error, Syscall};

/// A set of errors, one bit per error code.
#[derive(Clone, Copy)]
pub struct Errors(u32);

impl Errors {
    const fn of(errors: &[Error]) -> Errors {
        let mut bits = 0;
        let mut index = 0;
        while index < errors.len() {
            bits |= 1 << (errors[index] as u32);
            index += 1;
        }
        Errors(bits)
    }

    const fn with(self, other: Errors) -> Errors {
        Errors(self.0 | other.0)
    }

    pub fn contains(self, error: Error) -> bool {
        (error as u64) < 32 && self.0 & (1 << (error as u32)) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

use Error::{
    BadAddress, BadCapability, BadExecutable, InvalidArgument, NoMemory, NoSuchCall,
    NoSuchEnvironment, NotFound, Occupied, PermissionDenied, TooLong, Unavailable,
};

const NONE: Errors = Errors::of(&[]);
const PAGE_MAP: Errors = Errors::of(&[
    BadAddress,
    InvalidArgument,
    PermissionDenied,
    Occupied,
    NoMemory,
]);
const PAGE_UNMAP: Errors = Errors::of(&[BadAddress, NotFound]);
const REVOKE: Errors = Errors::of(&[
    BadCapability,
    NoSuchEnvironment,
    PermissionDenied,
    InvalidArgument,
    Occupied,
]);
const BLOCK_TRANSFER: Errors = Errors::of(&[
    TooLong,
    BadAddress,
    PermissionDenied,
    InvalidArgument,
    Unavailable,
]);
const PACKET_SEND: Errors = Errors::of(&[InvalidArgument, TooLong, BadAddress, Unavailable]);

/// The errors `call` documents; empty for a call that never fails.
pub fn documented_errors(call: Syscall) -> Errors {
    match call {
        Syscall::Null
        | Syscall::Exit
        | Syscall::Yield
        | Syscall::EnvironmentId
        | Syscall::FreeFrames
        | Syscall::Sleep => NONE,
        Syscall::DebugWrite => Errors::of(&[TooLong, BadAddress]),
        Syscall::PowerOff => Errors::of(&[PermissionDenied, InvalidArgument]),
        Syscall::Spawn => Errors::of(&[
            TooLong,
            BadAddress,
            InvalidArgument,
            NotFound,
            BadExecutable,
            NoMemory,
        ]),
        Syscall::Wait => Errors::of(&[
            InvalidArgument,
            BadCapability,
            PermissionDenied,
            NoSuchEnvironment,
            Unavailable,
        ]),
        Syscall::SetExceptionHandler => Errors::of(&[BadAddress, InvalidArgument]),
        Syscall::FrameAllocate => Errors::of(&[Unavailable, NoMemory]),
        Syscall::FrameFree => Errors::of(&[PermissionDenied]),
        Syscall::PageMap => PAGE_MAP,
        Syscall::PageUnmap | Syscall::PageQuery | Syscall::PageFlush => PAGE_UNMAP,
        Syscall::PageProtect => PAGE_UNMAP.with(Errors::of(&[InvalidArgument, PermissionDenied])),
        Syscall::PageShare => {
            PAGE_MAP.with(Errors::of(&[BadCapability, NoSuchEnvironment, NotFound]))
        }
        Syscall::FrameGrant => Errors::of(&[PermissionDenied, BadCapability, NoSuchEnvironment]),
        Syscall::SliceAllocate => Errors::of(&[InvalidArgument, Occupied, Unavailable]),
        Syscall::SliceFree => Errors::of(&[InvalidArgument, PermissionDenied]),
        Syscall::SetUpcalls => Errors::of(&[InvalidArgument]),
        Syscall::YieldTo => Errors::of(&[InvalidArgument, Unavailable]),
        Syscall::SetRepossessionVector => Errors::of(&[BadAddress, NotFound, PermissionDenied]),
        Syscall::Revoke => REVOKE,
        Syscall::RevocationQuery => REVOKE.with(Errors::of(&[NotFound])),
        Syscall::BlockCredential => {
            Errors::of(&[BadAddress, InvalidArgument, NoMemory, Unavailable])
        }
        Syscall::BlockAllocate => Errors::of(&[
            PermissionDenied,
            InvalidArgument,
            Occupied,
            NoMemory,
            Unavailable,
        ]),
        Syscall::BlockFree => Errors::of(&[PermissionDenied, InvalidArgument, Unavailable]),
        Syscall::BlockRead | Syscall::BlockWrite => BLOCK_TRANSFER,
        Syscall::BlockFlush => Errors::of(&[Unavailable]),
        Syscall::PageMapBatch => PAGE_MAP.with(Errors::of(&[TooLong])),
        Syscall::PageUnmapBatch => Errors::of(&[TooLong, BadAddress, NotFound]),
        Syscall::FrameList | Syscall::PageList => Errors::of(&[BadAddress]),
        Syscall::CapabilityCopy => Errors::of(&[
            BadCapability,
            InvalidArgument,
            PermissionDenied,
            NoSuchEnvironment,
            NoMemory,
        ]),
        Syscall::CapabilityDrop | Syscall::CapabilityInspect => Errors::of(&[BadCapability]),
        Syscall::KernelMemory => Errors::of(&[BadCapability, NoSuchEnvironment]),
        Syscall::FilterLoad => Errors::of(&[TooLong, BadAddress, InvalidArgument, NoMemory]),
        Syscall::FilterUnload => Errors::of(&[NotFound]),
        Syscall::PacketBind => Errors::of(&[
            NotFound,
            Occupied,
            InvalidArgument,
            BadAddress,
            PermissionDenied,
        ]),
        Syscall::PacketSend => PACKET_SEND,
        Syscall::SleepUntil => Errors::of(&[NotFound, TooLong, BadAddress]),
        Syscall::PacketInject => PACKET_SEND.with(Errors::of(&[PermissionDenied])),
        Syscall::EnvironmentCreate => Errors::of(&[TooLong, BadAddress, InvalidArgument, NoMemory]),
        Syscall::EnvironmentStart => Errors::of(&[
            BadCapability,
            PermissionDenied,
            NoSuchEnvironment,
            InvalidArgument,
            BadAddress,
        ]),
        Syscall::EnvironmentKill => {
            Errors::of(&[BadCapability, PermissionDenied, NoSuchEnvironment])
        }
        Syscall::PageMapInto => PAGE_MAP.with(Errors::of(&[BadCapability, NoSuchEnvironment])),
        Syscall::ConsoleRead => Errors::of(&[InvalidArgument, TooLong, BadAddress]),
    }
}

/// What an unknown call number may answer.
pub const UNKNOWN_CALL: Errors = Errors::of(&[NoSuchCall]);
