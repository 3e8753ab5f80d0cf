//! `IrqSafeSpinLock`: a spin lock taken with interrupts disabled, for the short critical
//! sections that interrupt handlers share with threads (the scheduler's tables, a driver's
//! ring indices).
//!
//! Why interrupts must be off: if a thread held an ordinary spin lock and the timer or the
//! NIC interrupted it, a handler that wanted the same lock would spin forever, since the
//! holder cannot run again until the handler returns. With interrupts off, no handler can
//! start while the lock is held, and no preemption can happen either.
//!
//! This kernel runs on one CPU, so while interrupts are off nothing else can even try to
//! take the lock: finding it taken means the holder is the code now running (a handler that
//! takes a lock the interrupted code did not expect to share, or a recursive call). That is
//! a bug, and `lock` panics to say so instead of spinning forever.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use spin::{Mutex, MutexGuard};
use x86_64::instructions::interrupts;

pub struct IrqSafeSpinLock<T> {
    inner: Mutex<T>,
}

/// Restores the interrupt flag as it was before the lock was taken.
struct InterruptsRestore {
    were_enabled: bool,
    /// The flag belongs to the thread that took the lock: a guard moved to another thread
    /// would switch that thread's interrupts on or off when dropped. The raw pointer makes
    /// the guard neither `Send` nor `Sync`.
    _this_thread_only: PhantomData<*const ()>,
}

impl Drop for InterruptsRestore {
    fn drop(&mut self) {
        if self.were_enabled {
            interrupts::enable();
        }
    }
}

/// Access to the data; dropping it releases the lock, then restores the interrupt flag.
pub struct IrqSafeGuard<'a, T> {
    // Field order matters: fields drop in declaration order, so the lock is released before
    // interrupts come back on.
    guard: MutexGuard<'a, T>,
    _restore: InterruptsRestore,
}

impl<T> IrqSafeSpinLock<T> {
    pub const fn new(value: T) -> Self {
        IrqSafeSpinLock {
            inner: Mutex::new(value),
        }
    }

    /// Disables interrupts and takes the lock.
    pub fn lock(&self) -> IrqSafeGuard<'_, T> {
        let restore = InterruptsRestore {
            were_enabled: interrupts::are_enabled(),
            _this_thread_only: PhantomData,
        };
        interrupts::disable();
        let guard = self
            .inner
            .try_lock()
            .expect("IrqSafeSpinLock taken twice on one CPU (re-entered from a handler?)");
        IrqSafeGuard {
            guard,
            _restore: restore,
        }
    }

    /// Takes the lock if it is free. For the fatal report, which must not panic again.
    pub fn try_lock(&self) -> Option<IrqSafeGuard<'_, T>> {
        let restore = InterruptsRestore {
            were_enabled: interrupts::are_enabled(),
            _this_thread_only: PhantomData,
        };
        interrupts::disable();
        let guard = self.inner.try_lock()?;
        Some(IrqSafeGuard {
            guard,
            _restore: restore,
        })
    }
}

impl<T> Deref for IrqSafeGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for IrqSafeGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}
