//! Synchronisation: how threads wait for each other and for interrupt handlers.
//!
//! | primitive | waits by | use it for | from an interrupt handler |
//! |---|---|---|---|
//! | [`IrqSafeSpinLock`] | spinning, interrupts off | a few instructions of shared state | yes |
//! | [`WaitQueue`] | sleeping | "block until this condition holds" | `wake_one`/`wake_all` only |
//! | [`Mutex`] | sleeping | longer critical sections between threads | no |
//!
//! Locking rules (docs/04-threads.md explains them):
//! 1. Data an interrupt handler touches is protected by an `IrqSafeSpinLock` (or atomics).
//! 2. Never block (wait, sleep, lock a `Mutex`) or yield while holding an `IrqSafeSpinLock`
//!    or with interrupts disabled: the CPU would never get to the thread that wakes you, or
//!    the next thread would find your lock taken. Blocking calls and `yield_now` check this
//!    and panic.
//! 3. Do not allocate or free heap memory while holding an `IrqSafeSpinLock`, or in an
//!    interrupt handler. The heap takes its lock with interrupts off, so this would not
//!    deadlock, but an allocation may grow the heap (a bitmap search and a log line, all with
//!    interrupts off) or fail, and a handler must be short and has nobody to report to.
//! 4. An interrupt handler never waits; it may wake.
//! 5. A `Mutex` may be held across blocking calls; take several in one fixed order.

#[cfg(target_os = "none")]
mod irq_lock;
#[cfg(target_os = "none")]
mod mutex;
#[cfg(target_os = "none")]
mod wait_queue;

#[cfg(target_os = "none")]
pub use irq_lock::{IrqSafeGuard, IrqSafeSpinLock};
#[cfg(target_os = "none")]
pub use mutex::{Mutex, MutexGuard};
#[cfg(target_os = "none")]
pub use wait_queue::WaitQueue;
