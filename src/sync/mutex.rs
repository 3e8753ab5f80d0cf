//! `Mutex<T>`: mutual exclusion between threads, where a thread that finds the lock taken
//! sleeps on a [`WaitQueue`] instead of spinning, so the holder gets the CPU and finishes.
//!
//! Threads only: an interrupt handler must not lock it (it could not sleep). The holder may
//! block or be preempted while holding it; that is what distinguishes it from a spin lock.

use super::WaitQueue;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

pub struct Mutex<T: ?Sized> {
    locked: AtomicBool,
    waiters: WaitQueue,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time, so sharing the
// Mutex between threads only ever moves a `T` between threads: T: Send suffices.
// (`Send` needs no impl: the compiler derives it from the fields when T: Send.)
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Access to the value; unlocks when dropped.
///
/// The guard hands out `&T` through `&MutexGuard`, so sharing the guard between threads
/// shares the `T`: the guard may be `Sync` only when `T` is. Left to itself the compiler
/// would derive `Sync` from `&Mutex<T>` (which needs only `T: Send`) and let two threads
/// use a `Cell` inside the lock at once; the `PhantomData<&mut T>` adds the `T: Sync` bound,
/// as std's MutexGuard does.
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    _shares_t: PhantomData<&'a mut T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex {
            locked: AtomicBool::new(false),
            waiters: WaitQueue::new(),
            value: UnsafeCell::new(value),
        }
    }

    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock, sleeping while another thread holds it. Panics if interrupts are
    /// off (an interrupt handler, or an `IrqSafeSpinLock` held): such a caller could not
    /// sleep if the lock were taken, and checking only then would let the bug hide until the
    /// day of contention.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        assert!(
            x86_64::instructions::interrupts::are_enabled(),
            "Mutex::lock with interrupts disabled (interrupt handler or spin lock held?)"
        );
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            self.waiters
                .wait_until(|| !self.locked.load(Ordering::Relaxed));
        }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard {
                mutex: self,
                _shares_t: PhantomData,
            })
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while `locked` is true and was set by this guard's
        // creator, so no other reference to the value exists.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access through the guard.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    /// Unlocks, then wakes a waiter: the store and the load of the store-buffering pattern
    /// that src/sync/wait_queue.rs explains; `wake_one`'s SeqCst fence sits between them, so a
    /// thread that found the lock taken is either seen waiting here or sees it free.
    fn drop(&mut self) {
        self.mutex.locked.store(false, Ordering::Release);
        self.mutex.waiters.wake_one();
    }
}
