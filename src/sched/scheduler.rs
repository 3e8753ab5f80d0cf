//! The thread table, under one [`IrqSafeSpinLock`], and the switch from one thread to the next.
//!
//! This file holds the table itself (`Scheduler`, behind the lock `SCHEDULER`), the choice of
//! the next thread (`switch_from_current`) and the switch (`perform`). The changes made with
//! them live beside it, one concept a file: a thread's creation and end in lifecycle.rs,
//! blocking and waking in blocking.rs, the end-of-interrupt hook and the idle thread in
//! preempt.rs, and the read-only views of the table in report.rs.
//!
//! Locking rules (see also docs/04-threads.md):
//! - `SCHEDULER` is only ever locked with interrupts disabled (the lock does that itself), so
//!   the timer interrupt and the wake-ups of interrupt handlers can use it too.
//! - Nothing in these files allocates or frees memory while the lock is held. The heap takes its own
//!   lock with interrupts off (src/memory/heap.rs), so this is not about deadlock: it keeps
//!   the interrupts-off window short (growing the heap searches the frame bitmap and logs a
//!   line) and means that a wake-up or a switch cannot fail for lack of memory. Stacks are
//!   allocated before the lock is taken and dropped after it is released; the queues are
//!   fixed arrays.
//! - A switch happens with interrupts disabled but with the lock already *released*: on one
//!   CPU, with interrupts off, nothing else can run, so the raw pointers handed to
//!   `switch_stacks` stay valid until it has used them.

use super::lifecycle::prepare;
use super::preempt::{idle_loop, on_interrupt_exit};
use super::report::describe_current;
use super::run_queue::RunQueue;
use super::sleep_queue::SleepQueue;
use super::thread::{SchedStats, ThreadId, ThreadName, ThreadState};
use crate::cpu::context::switch_stacks;
use crate::memory::stack::KernelStack;
use crate::sync::IrqSafeSpinLock;
use crate::time;
use alloc::boxed::Box;
use x86_64::instructions::interrupts;

/// Size of the thread table: at most this many threads exist at once (exited threads count
/// until they are joined or reaped).
pub const MAX_THREADS: usize = 256;

/// The time slice: a thread that does not block runs at most this many timer ticks
/// (milliseconds at 1 kHz) before the next ready thread gets the CPU.
pub const TIME_SLICE_TICKS: u64 = 10;

/// A new thread's kernel stack, unless it asks for another size.
pub const DEFAULT_STACK_SIZE: usize = 32 * 1024;

/// The idle thread's stack: it only halts and reaps.
const IDLE_STACK_SIZE: usize = 16 * 1024;

/// kmain's thread, which runs on the boot stack (arch/x86_64/boot32.S).
pub(super) const BOOT_THREAD: ThreadId = ThreadId(0);
/// Runs when nothing else is ready. Never in the run queue.
pub(super) const IDLE_THREAD: ThreadId = ThreadId(1);

/// The body of a thread, boxed when it is spawned and taken by `thread_start`.
pub type ThreadEntry = Box<dyn FnOnce() + Send + 'static>;

/// Why a thread could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// All [`MAX_THREADS`] slots are in use.
    TooManyThreads,
    /// No memory for the kernel stack.
    OutOfMemory,
}

/// The queue a blocked thread waits on (the address of its `WaitQueue`) and its ticket:
/// `wake_one` wakes the smallest ticket, so waiters are served in arrival order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Waiting {
    pub(super) queue: usize,
    pub(super) ticket: u64,
}

pub(super) struct Thread {
    pub(super) serial: u64,
    pub(super) name: ThreadName,
    pub(super) state: ThreadState,
    /// RSP as `switch_stacks` left it, while the thread is off the CPU.
    pub(super) saved_rsp: u64,
    /// None only for the boot thread.
    pub(super) stack: Option<KernelStack>,
    pub(super) entry: Option<ThreadEntry>,
    pub(super) cpu_ticks: u64,
    pub(super) waiting: Option<Waiting>,
    /// Nobody will join it: the reaper frees it once it has exited.
    pub(super) detached: bool,
}

impl Thread {
    pub(super) fn new(
        serial: u64,
        name: &str,
        state: ThreadState,
        stack: Option<KernelStack>,
    ) -> Self {
        Thread {
            serial,
            name: ThreadName::new(name),
            state,
            saved_rsp: 0,
            stack,
            entry: None,
            cpu_ticks: 0,
            waiting: None,
            detached: false,
        }
    }
}

/// A switch decided under the lock and carried out after it is released.
pub(super) struct Switch {
    save: *mut u64,
    load: u64,
}

pub(super) struct Scheduler {
    pub(super) threads: [Option<Thread>; MAX_THREADS],
    pub(super) current: ThreadId,
    pub(super) run_queue: RunQueue<MAX_THREADS>,
    pub(super) sleep_queue: SleepQueue<MAX_THREADS>,
    /// Tick at which the current thread got the CPU.
    pub(super) slice_start: u64,
    /// Tick of the last accounting, to charge CPU time.
    pub(super) last_tick: u64,
    /// A thread became ready since the last switch: the next interrupt exit switches at once.
    pub(super) woken_since_switch: bool,
    pub(super) next_serial: u64,
    pub(super) next_ticket: u64,
    pub(super) stats: SchedStats,
}

pub(super) static SCHEDULER: IrqSafeSpinLock<Scheduler> = IrqSafeSpinLock::new(Scheduler {
    threads: [const { None }; MAX_THREADS],
    current: BOOT_THREAD,
    run_queue: RunQueue::new(),
    sleep_queue: SleepQueue::new(),
    slice_start: 0,
    last_tick: 0,
    woken_since_switch: false,
    next_serial: 0,
    next_ticket: 0,
    stats: SchedStats {
        context_switches: 0,
        preemptions: 0,
        threads: 0,
        ready: 0,
        spawned: 0,
        idle_ticks: 0,
        time_slice_ticks: TIME_SLICE_TICKS,
    },
});

impl Scheduler {
    pub(super) fn thread(&self, id: ThreadId) -> &Thread {
        self.threads[id.0].as_ref().expect("no thread in this slot")
    }

    pub(super) fn thread_mut(&mut self, id: ThreadId) -> &mut Thread {
        self.threads[id.0].as_mut().expect("no thread in this slot")
    }

    pub(super) fn take_serial(&mut self) -> u64 {
        let serial = self.next_serial;
        self.next_serial += 1;
        serial
    }

    /// Puts `id` in the run queue: it was blocked or sleeping, and has been woken. (A new
    /// thread is queued by `create`, src/sched/lifecycle.rs.)
    pub(super) fn make_ready(&mut self, id: ThreadId) {
        // Queued twice, a thread would run twice on one stack at once: fail here, not later.
        assert!(!self.run_queue.contains(id), "{id:?} made ready twice");
        let thread = self.thread_mut(id);
        thread.state = ThreadState::Ready;
        thread.waiting = None;
        self.sleep_queue.remove(id);
        self.run_queue.push_back(id);
        self.woken_since_switch = true;
    }

    /// Gives the CPU to the next ready thread (or the idle thread). The current thread's
    /// state must already be set, unless it stays `Ready`, in which case it goes to the back
    /// of the run queue. Returns None when the current thread keeps the CPU.
    pub(super) fn switch_from_current(&mut self, now: u64) -> Option<Switch> {
        let current = self.current;
        if self.thread(current).state == ThreadState::Running {
            self.thread_mut(current).state = ThreadState::Ready;
            if current != IDLE_THREAD {
                self.run_queue.push_back(current);
            }
        }
        let next = self.run_queue.pop_front().unwrap_or(IDLE_THREAD);
        self.thread_mut(next).state = ThreadState::Running;
        self.slice_start = now;
        self.woken_since_switch = false;
        if next == current {
            return None;
        }
        self.current = next;
        self.stats.context_switches += 1;
        let load = self.thread(next).saved_rsp;
        let save = &raw mut self.thread_mut(current).saved_rsp;
        Some(Switch { save, load })
    }
}

/// Carries out a switch decided under the lock. Interrupts must be disabled.
pub(super) fn perform(switch: Option<Switch>) {
    debug_assert!(!interrupts::are_enabled());
    if let Some(Switch { save, load }) = switch {
        // SAFETY: interrupts are off, so nothing runs between the decision and the switch:
        // `save` points into the static thread table at the slot of the running thread, and
        // `load` is the RSP that switch_stacks saved for the next thread (or its initial
        // frame), whose stack is alive because only exited threads' stacks are freed.
        unsafe { switch_stacks(save, load) };
    }
}

/// Makes the running code the boot thread, creates the idle thread, and hooks the scheduler
/// into the end of every interrupt and into fatal reports.
pub fn init() {
    {
        let mut scheduler = SCHEDULER.lock();
        assert!(
            scheduler.threads[BOOT_THREAD.0].is_none(),
            "sched::init twice"
        );
        let serial = scheduler.take_serial();
        scheduler.threads[BOOT_THREAD.0] =
            Some(Thread::new(serial, "kmain", ThreadState::Running, None));
        scheduler.last_tick = time::ticks();
        scheduler.slice_start = scheduler.last_tick;
    }
    let idle = prepare("idle", IDLE_STACK_SIZE, Box::new(idle_loop))
        .expect("no memory for the idle thread's stack");
    {
        let mut scheduler = SCHEDULER.lock();
        let serial = scheduler.take_serial();
        scheduler.threads[IDLE_THREAD.0] = Some(Thread { serial, ..idle });
    }
    crate::interrupts::set_irq_exit_hook(on_interrupt_exit);
    crate::fatal::set_thread_describer(describe_current);
}
