//! Values in memory that processes share (the world's terminal, pipes, process table and file
//! system), each read and written only under its [`SharedLock`]. All zeros is a valid cell of
//! either kind, and a free lock, when it is a valid value (an empty [`SharedSlot`] always is).

use crate::lock::SharedLock;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

/// A value processes share, used only under its lock.
#[repr(C)]
#[derive(Debug)]
pub struct Locked<T> {
    lock: SharedLock,
    value: UnsafeCell<T>,
}

impl<T> Locked<T> {
    /// The lock a killer takes so that its victim is not using the value.
    pub fn lock(&self) -> &SharedLock {
        &self.lock
    }

    /// Runs `action` on the value under the lock.
    pub fn with<R>(&self, action: impl FnOnce(&mut T) -> R) -> R {
        let _guard = self.lock.lock();
        // SAFETY: with the lock held, no other process is inside `with` on this value, nor is
        // this one (the holder taking the lock again panics before reaching here); a holder
        // that ended without letting go took its reference with it.
        action(unsafe { &mut *self.value.get() })
    }
}

/// A value processes share that starts out absent and, once put there, stays; used only under
/// its lock.
#[repr(C)]
pub struct SharedSlot<T> {
    lock: SharedLock,
    is_filled: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> SharedSlot<T> {
    /// The lock a killer takes so that its victim is not using the value.
    pub fn lock(&self) -> &SharedLock {
        &self.lock
    }

    /// Whether the value is there.
    pub fn is_filled(&self) -> bool {
        self.is_filled.load(Ordering::Acquire)
    }

    /// Under the lock, puts what `make` returns into the slot, unless a value is there already
    /// (then `make` is not called).
    pub fn fill_with<E>(&self, make: impl FnOnce() -> Result<T, E>) -> Result<(), E> {
        let _guard = self.lock.lock();
        if self.is_filled() {
            return Ok(());
        }
        let value = make()?;
        // SAFETY: the lock is held, as in `Locked::with`, and the slot is empty, so nothing
        // refers to its contents.
        unsafe { (*self.value.get()).write(value) };
        self.is_filled.store(true, Ordering::Release);
        Ok(())
    }

    /// Runs `action` on the value under the lock; `None` while there is none.
    #[inline]
    pub fn with<R>(&self, action: impl FnOnce(&mut T) -> R) -> Option<R> {
        let _guard = self.lock.lock();
        if !self.is_filled() {
            return None;
        }
        // SAFETY: the value is there (checked under the lock; a slot is never emptied) and the
        // lock is held, as in `Locked::with`.
        Some(action(unsafe { (*self.value.get()).assume_init_mut() }))
    }
}
