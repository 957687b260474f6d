//! A registered user exception handler: its entry point and handler stack, with the checks made
//! at registration and the decisions made at each delivery.

use exo_abi::{Error, ExceptionFrame, USER_END};

/// Size of the frame the kernel writes on the handler stack.
pub const FRAME_BYTES: u64 = core::mem::size_of::<ExceptionFrame>() as u64;

/// Where an environment wants its exceptions delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionHandler {
    entry: u64,
    stack_start: u64,
    stack_end: u64,
}

impl ExceptionHandler {
    /// Checks a registration: the entry and the whole stack in the user half, no wrap, room for
    /// one aligned frame.
    pub fn new(entry: u64, stack_start: u64, stack_len: u64) -> Result<ExceptionHandler, Error> {
        let stack_end = stack_start
            .checked_add(stack_len)
            .ok_or(Error::BadAddress)?;
        if entry >= USER_END || stack_end > USER_END {
            return Err(Error::BadAddress);
        }
        let has_room = stack_end
            .checked_sub(FRAME_BYTES)
            .is_some_and(|top| top & !0xF >= stack_start);
        if !has_room {
            return Err(Error::InvalidArgument);
        }
        Ok(ExceptionHandler {
            entry,
            stack_start,
            stack_end,
        })
    }

    /// The handler's entry point.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Where the frame goes: at the top of the handler stack, 16-byte aligned (registration
    /// checked that it fits).
    pub fn frame_address(&self) -> u64 {
        (self.stack_end - FRAME_BYTES) & !0xF
    }

    /// Whether a fault with this stack pointer happened inside the handler (then the handler
    /// cannot be entered again).
    pub fn is_on_handler_stack(&self, stack_pointer: u64) -> bool {
        (self.stack_start..=self.stack_end).contains(&stack_pointer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_an_aligned_frame_at_the_stack_top() {
        let handler = ExceptionHandler::new(0x40_1000, 0x50_0000, 0x4000).unwrap();
        let frame = handler.frame_address();
        assert_eq!(frame % 16, 0);
        assert!(frame >= 0x50_0000 && frame + FRAME_BYTES <= 0x50_4000);
        assert_eq!(handler.entry(), 0x40_1000);
    }

    #[test]
    fn refuses_bad_registrations() {
        assert_eq!(
            ExceptionHandler::new(USER_END, 0x5000, 0x1000),
            Err(Error::BadAddress)
        );
        assert_eq!(
            ExceptionHandler::new(0x1000, USER_END - 8, 0x1000),
            Err(Error::BadAddress)
        );
        assert_eq!(
            ExceptionHandler::new(0x1000, u64::MAX, 2),
            Err(Error::BadAddress)
        );
        assert_eq!(
            ExceptionHandler::new(0x1000, 0x5000, 16),
            Err(Error::InvalidArgument)
        );
        assert_eq!(
            ExceptionHandler::new(0x1000, 0, 16),
            Err(Error::InvalidArgument)
        );
    }

    #[test]
    fn knows_its_own_stack() {
        let handler = ExceptionHandler::new(0x1000, 0x5000, 0x1000).unwrap();
        assert!(handler.is_on_handler_stack(0x5800));
        assert!(handler.is_on_handler_stack(0x6000));
        assert!(!handler.is_on_handler_stack(0x4ff8));
        assert!(!handler.is_on_handler_stack(0x7fff_0000));
    }
}
