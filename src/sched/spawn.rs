//! Starting threads and waiting for them to finish.

use super::lifecycle;
use super::scheduler::{DEFAULT_STACK_SIZE, SpawnError};
use super::thread::ThreadId;
use crate::sync::WaitQueue;
use alloc::boxed::Box;
use alloc::sync::Arc;
use spin::Mutex;

/// Every exiting thread wakes the threads waiting here; each `join` checks whether the
/// thread it waits for is the one that exited.
static JOINERS: WaitQueue = WaitQueue::new();

pub(super) fn join_queue_address() -> usize {
    &JOINERS as *const WaitQueue as usize
}

/// Owns the right to wait for a thread and take its result. Dropping it detaches the
/// thread: it runs on, and its stack is freed by the reaper once it exits.
pub struct JoinHandle<T> {
    id: ThreadId,
    serial: u64,
    result: Arc<Mutex<Option<T>>>,
    /// Set by `join` once it has freed the thread, so that `drop` leaves it alone.
    reaped: bool,
}

impl<T> JoinHandle<T> {
    /// Blocks until the thread has exited, frees its stack, and returns what it returned.
    pub fn join(mut self) -> T {
        let (id, serial) = (self.id, self.serial);
        JOINERS.wait_until(|| lifecycle::has_exited(id, serial));
        lifecycle::reap(id, serial);
        self.reaped = true;
        let result = self.result.lock().take();
        result.expect("the thread exited without a result")
    }

    /// The thread's unique number (as in [`ThreadInfo::id`](super::ThreadInfo::id)).
    pub fn id(&self) -> u64 {
        self.serial
    }

    pub fn is_finished(&self) -> bool {
        lifecycle::has_exited(self.id, self.serial)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if !self.reaped {
            lifecycle::detach(self.id, self.serial);
        }
    }
}

/// Starts a thread called `name` running `body`, with a stack of `stack_size` bytes.
pub fn try_spawn<T, F>(name: &str, stack_size: usize, body: F) -> Result<JoinHandle<T>, SpawnError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let result = Arc::new(Mutex::new(None));
    let slot = result.clone();
    let entry = Box::new(move || {
        let value = body();
        *slot.lock() = Some(value);
    });
    let (id, serial) = lifecycle::create(name, stack_size, entry)?;
    Ok(JoinHandle {
        id,
        serial,
        result,
        reaped: false,
    })
}

/// Starts a thread with a stack of `stack_size` bytes; panics if it cannot.
pub fn spawn_with_stack<T, F>(name: &str, stack_size: usize, body: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    try_spawn(name, stack_size, body)
        .unwrap_or_else(|error| panic!("cannot spawn thread '{name}': {error:?}"))
}

/// Starts a thread with the default stack ([`DEFAULT_STACK_SIZE`]); panics if it cannot.
pub fn spawn<T, F>(name: &str, body: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_with_stack(name, DEFAULT_STACK_SIZE, body)
}
