//! A thread's life from creation to being freed: `create` gives it a stack and a first frame
//! and queues it, `thread_start` runs its closure, `exit_current` ends it, and `reap` (for
//! `join`), `detach` and `reap_detached` (for dropped handles) free its slot and stack. Each
//! step is a change to the thread table of src/sched/scheduler.rs, under its lock; stacks
//! are allocated before that lock is taken and freed after it is released. src/sched/spawn.rs
//! builds `spawn` and `JoinHandle` on these functions.

use super::scheduler::{
    BOOT_THREAD, IDLE_THREAD, MAX_THREADS, SCHEDULER, Scheduler, SpawnError, Thread, ThreadEntry,
    perform,
};
use super::thread::{ThreadId, ThreadState};
use crate::cpu::context::{SWITCH_FRAME_WORDS, initial_frame};
use crate::memory::stack::KernelStack;
use crate::time;
use x86_64::instructions::interrupts;

impl Scheduler {
    fn free_slot(&self) -> Option<ThreadId> {
        (IDLE_THREAD.0 + 1..MAX_THREADS)
            .find(|&slot| self.threads[slot].is_none())
            .map(ThreadId)
    }
}

/// A thread, ready to be put in the table: its stack allocated, its first frame written.
pub(super) fn prepare(
    name: &str,
    stack_size: usize,
    entry: ThreadEntry,
) -> Result<Thread, SpawnError> {
    let stack = KernelStack::allocate(name, stack_size).map_err(|_| SpawnError::OutOfMemory)?;
    let frame = initial_frame(thread_start as *const () as u64);
    let saved_rsp = stack.top() - (frame.len() * 8) as u64;
    // SAFETY: the 64 bytes below the stack's top lie inside the stack we just allocated
    // (stacks are at least a page), which nothing else uses yet; `top` is 16-byte aligned.
    unsafe { core::ptr::write(saved_rsp as *mut [u64; SWITCH_FRAME_WORDS + 1], frame) };
    let mut thread = Thread::new(0, name, ThreadState::Ready, Some(stack));
    thread.saved_rsp = saved_rsp;
    thread.entry = Some(entry);
    Ok(thread)
}

/// Creates a thread that runs `entry`, and queues it. Returns its slot and serial number.
pub fn create(
    name: &str,
    stack_size: usize,
    entry: ThreadEntry,
) -> Result<(ThreadId, u64), SpawnError> {
    reap_detached();
    let thread = prepare(name, stack_size, entry)?;
    let mut scheduler = SCHEDULER.lock();
    let Some(id) = scheduler.free_slot() else {
        drop(scheduler);
        // The stack and the closure are freed here, with the lock released.
        drop(thread);
        return Err(SpawnError::TooManyThreads);
    };
    let serial = scheduler.take_serial();
    scheduler.threads[id.0] = Some(Thread { serial, ..thread });
    scheduler.run_queue.push_back(id);
    scheduler.stats.spawned += 1;
    Ok((id, serial))
}

/// Where every new thread starts: `switch_stacks` returns here the first time the thread is
/// chosen, with interrupts off (they were off in whichever thread switched to it).
extern "C" fn thread_start() -> ! {
    let entry = {
        let mut scheduler = SCHEDULER.lock();
        let current = scheduler.current;
        scheduler.thread_mut(current).entry.take()
    };
    interrupts::enable();
    if let Some(entry) = entry {
        entry();
    }
    exit_current()
}

/// Ends the running thread. Its stack is freed later, by `join` or by the reaper: never
/// while the CPU still runs on it.
pub fn exit_current() -> ! {
    interrupts::disable();
    let switch = {
        let mut scheduler = SCHEDULER.lock();
        let current = scheduler.current;
        assert!(current != BOOT_THREAD, "the boot thread cannot exit");
        scheduler.thread_mut(current).state = ThreadState::Exited;
        scheduler.wake(super::join_queue_address(), true);
        let now = time::ticks();
        scheduler.switch_from_current(now)
    };
    perform(switch);
    unreachable!("an exited thread was switched back to");
}

/// Frees every exited thread whose JoinHandle was dropped.
pub fn reap_detached() {
    loop {
        let reaped = {
            let mut scheduler = SCHEDULER.lock();
            let slot = scheduler.threads.iter().position(|thread| {
                thread
                    .as_ref()
                    .is_some_and(|t| t.detached && t.state == ThreadState::Exited)
            });
            slot.and_then(|slot| scheduler.threads[slot].take())
        };
        match reaped {
            // Dropped here, outside the lock: this frees the stack.
            Some(thread) => drop(thread),
            None => return,
        }
    }
}

/// Whether the thread (slot and serial) has exited. A slot holding another serial means the
/// thread was already reaped.
pub fn has_exited(id: ThreadId, serial: u64) -> bool {
    let scheduler = SCHEDULER.lock();
    scheduler.threads[id.0]
        .as_ref()
        .is_none_or(|t| t.serial != serial || t.state == ThreadState::Exited)
}

/// Frees an exited thread (called by `join`). Panics if it has not exited.
pub fn reap(id: ThreadId, serial: u64) {
    let thread = {
        let mut scheduler = SCHEDULER.lock();
        let slot = &mut scheduler.threads[id.0];
        match slot {
            Some(t) if t.serial == serial => {
                assert!(t.state == ThreadState::Exited, "reaping a live thread");
                slot.take()
            }
            _ => None,
        }
    };
    drop(thread);
}

/// Nobody will join the thread: free it now if it has exited, else when it does.
pub fn detach(id: ThreadId, serial: u64) {
    let exited = {
        let mut scheduler = SCHEDULER.lock();
        match scheduler.threads[id.0].as_mut() {
            Some(t) if t.serial == serial => {
                t.detached = true;
                t.state == ThreadState::Exited
            }
            _ => false,
        }
    };
    if exited {
        reap(id, serial);
    }
}
