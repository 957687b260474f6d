//! Checks on user-supplied address ranges, done before the kernel touches any user memory.

use crate::PAGE_SIZE;
use exo_abi::{Error, USER_END};

/// A byte range known to lie wholly inside the user half without wrapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserRange {
    start: u64,
    len: u64,
}

impl UserRange {
    /// Checks `len` bytes at `start`: the range must not wrap and must end at or below
    /// [`USER_END`]. An empty range is valid anywhere in the user half.
    pub fn new(start: u64, len: u64) -> Result<UserRange, Error> {
        let end = start.checked_add(len).ok_or(Error::BadAddress)?;
        if end > USER_END {
            return Err(Error::BadAddress);
        }
        Ok(UserRange { start, len })
    }

    /// Like [`UserRange::new`], but first refuses lengths over `max_len` with
    /// [`Error::TooLong`].
    pub fn with_limit(start: u64, len: u64, max_len: u64) -> Result<UserRange, Error> {
        if len > max_len {
            return Err(Error::TooLong);
        }
        UserRange::new(start, len)
    }

    /// First address of the range.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of every page the range touches, in order.
    pub fn pages(&self) -> impl Iterator<Item = u64> {
        let first = self.start & !(PAGE_SIZE - 1);
        let count = if self.len == 0 {
            0
        } else {
            (self.start + self.len - 1) / PAGE_SIZE - first / PAGE_SIZE + 1
        };
        (0..count).map(move |index| first + index * PAGE_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ranges_in_the_user_half() {
        assert!(UserRange::new(0x1000, 10).is_ok());
        assert!(UserRange::new(USER_END - 1, 1).is_ok());
        assert!(UserRange::new(USER_END, 0).is_ok());
    }

    #[test]
    fn refuses_kernel_half_and_wrapping() {
        assert_eq!(UserRange::new(USER_END, 1), Err(Error::BadAddress));
        assert_eq!(
            UserRange::new(0xffff_8000_0000_0000, 8),
            Err(Error::BadAddress)
        );
        assert_eq!(UserRange::new(u64::MAX, 2), Err(Error::BadAddress));
        assert_eq!(UserRange::new(1, u64::MAX), Err(Error::BadAddress));
        assert_eq!(
            UserRange::with_limit(0x1000, 5000, 4096),
            Err(Error::TooLong)
        );
    }

    #[test]
    fn lists_touched_pages() {
        let pages: Vec<u64> = UserRange::new(0x1ffe, 4).unwrap().pages().collect();
        assert_eq!(pages, [0x1000, 0x2000]);
        assert_eq!(UserRange::new(0x5000, 0).unwrap().pages().count(), 0);
        assert_eq!(UserRange::new(0x5000, 4096).unwrap().pages().count(), 1);
    }

    proptest! {
        #[test]
        fn accepted_ranges_stay_in_the_user_half(start in any::<u64>(), len in any::<u64>()) {
            if let Ok(range) = UserRange::new(start, len) {
                prop_assert!(range.start().checked_add(range.len()).unwrap() <= USER_END);
                if let Some(last) = range.pages().last() {
                    prop_assert!(last < USER_END);
                }
            }
        }
    }
}
