//! The thread table and every state change of a thread, under one [`IrqSafeSpinLock`].
//!
//! Locking rules (see also docs/04-threads.md):
//! - `SCHEDULER` is only ever locked with interrupts disabled (the lock does that itself), so
//!   the timer interrupt and the wake-ups of interrupt handlers can use it too.
//! - Nothing here allocates or frees memory while the lock is held. The heap takes its own
//!   lock with interrupts off (src/memory/heap.rs), so this is not about deadlock: it keeps
//!   the interrupts-off window short (growing the heap searches the frame bitmap and logs a
//!   line) and means that a wake-up or a switch cannot fail for lack of memory. Stacks are
//!   allocated before the lock is taken and dropped after it is released; the queues are
//!   fixed arrays.
//! - A switch happens with interrupts disabled but with the lock already *released*: on one
//!   CPU, with interrupts off, nothing else can run, so the raw pointers handed to
//!   `switch_stacks` stay valid until it has used them.

use super::run_queue::RunQueue;
use super::sleep_queue::SleepQueue;
use super::thread::{SchedStats, ThreadId, ThreadInfo, ThreadName, ThreadState};
use crate::cpu::context::{SWITCH_FRAME_WORDS, initial_frame, switch_stacks};
use crate::memory::stack::KernelStack;
use crate::sync::IrqSafeSpinLock;
use crate::time;
use alloc::boxed::Box;
use alloc::vec::Vec;
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
const BOOT_THREAD: ThreadId = ThreadId(0);
/// Runs when nothing else is ready. Never in the run queue.
const IDLE_THREAD: ThreadId = ThreadId(1);

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
struct Waiting {
    queue: usize,
    ticket: u64,
}

struct Thread {
    serial: u64,
    name: ThreadName,
    state: ThreadState,
    /// RSP as `switch_stacks` left it, while the thread is off the CPU.
    saved_rsp: u64,
    /// None only for the boot thread.
    stack: Option<KernelStack>,
    entry: Option<ThreadEntry>,
    cpu_ticks: u64,
    waiting: Option<Waiting>,
    /// Nobody will join it: the reaper frees it once it has exited.
    detached: bool,
}

impl Thread {
    fn new(serial: u64, name: &str, state: ThreadState, stack: Option<KernelStack>) -> Self {
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
struct Switch {
    save: *mut u64,
    load: u64,
}

struct Scheduler {
    threads: [Option<Thread>; MAX_THREADS],
    current: ThreadId,
    run_queue: RunQueue<MAX_THREADS>,
    sleep_queue: SleepQueue<MAX_THREADS>,
    /// Tick at which the current thread got the CPU.
    slice_start: u64,
    /// Tick of the last accounting, to charge CPU time.
    last_tick: u64,
    /// A thread became ready since the last switch: the next interrupt exit switches at once.
    woken_since_switch: bool,
    next_serial: u64,
    next_ticket: u64,
    stats: SchedStats,
}

static SCHEDULER: IrqSafeSpinLock<Scheduler> = IrqSafeSpinLock::new(Scheduler {
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
    fn thread(&self, id: ThreadId) -> &Thread {
        self.threads[id.0].as_ref().expect("no thread in this slot")
    }

    fn thread_mut(&mut self, id: ThreadId) -> &mut Thread {
        self.threads[id.0].as_mut().expect("no thread in this slot")
    }

    fn take_serial(&mut self) -> u64 {
        let serial = self.next_serial;
        self.next_serial += 1;
        serial
    }

    /// Puts `id` in the run queue (it was blocked, sleeping or just created).
    fn make_ready(&mut self, id: ThreadId) {
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
    fn switch_from_current(&mut self, now: u64) -> Option<Switch> {
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

    /// Runs at the end of every hardware interrupt, the timer's or a device's: charges the
    /// ticks since the last call to the current thread and wakes the sleepers whose time has
    /// come. Returns whether the current thread should give up the CPU.
    fn after_interrupt(&mut self, now: u64) -> bool {
        let elapsed = now - self.last_tick;
        self.last_tick = now;
        let current = self.current;
        self.thread_mut(current).cpu_ticks += elapsed;
        if current == IDLE_THREAD {
            self.stats.idle_ticks += elapsed;
        }
        while let Some(id) = self.sleep_queue.pop_due(now) {
            self.make_ready(id);
        }
        let slice_over = now - self.slice_start >= TIME_SLICE_TICKS;
        !self.run_queue.is_empty()
            && (current == IDLE_THREAD || slice_over || self.woken_since_switch)
    }

    /// Wakes the threads blocked on `queue`: the longest-waiting one, or all of them.
    fn wake(&mut self, queue: usize, all: bool) -> usize {
        let mut woken = 0;
        loop {
            let first = self
                .threads
                .iter()
                .enumerate()
                .filter_map(|(slot, thread)| {
                    let waiting = thread.as_ref()?.waiting?;
                    (waiting.queue == queue).then_some((waiting.ticket, ThreadId(slot)))
                })
                .min();
            let Some((_, id)) = first else {
                return woken;
            };
            self.make_ready(id);
            woken += 1;
            if !all {
                return woken;
            }
        }
    }

    fn free_slot(&self) -> Option<ThreadId> {
        (IDLE_THREAD.0 + 1..MAX_THREADS)
            .find(|&slot| self.threads[slot].is_none())
            .map(ThreadId)
    }

    fn info(&self, thread: &Thread) -> ThreadInfo {
        ThreadInfo {
            id: thread.serial,
            name: thread.name,
            state: thread.state,
            cpu_ticks: thread.cpu_ticks,
            stack_size: thread
                .stack
                .as_ref()
                .map_or(0, |stack| (stack.top() - stack.bottom()) as usize),
        }
    }
}

/// Carries out a switch decided under the lock. Interrupts must be disabled.
fn perform(switch: Option<Switch>) {
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

/// A thread, ready to be put in the table: its stack allocated, its first frame written.
fn prepare(name: &str, stack_size: usize, entry: ThreadEntry) -> Result<Thread, SpawnError> {
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

/// Gives the CPU to the next ready thread, if there is one; this thread stays ready.
///
/// Panics if called with interrupts disabled: the caller may hold an `IrqSafeSpinLock`, and
/// the threads (and the handlers their interrupts run) that get the CPU meanwhile would find
/// it taken. The same rule as for blocking (src/sync/mod.rs, rule 2).
pub fn yield_now() {
    assert!(
        interrupts::are_enabled(),
        "yield_now with interrupts disabled (an IrqSafeSpinLock held?)"
    );
    interrupts::without_interrupts(|| {
        let switch = SCHEDULER.lock().switch_from_current(time::ticks());
        perform(switch);
    });
}

/// Blocks the running thread until [`wake`] names `queue` (if `queue` is Some), or until
/// tick `deadline` (if Some). Must be called with interrupts disabled, and returns with
/// them still disabled, so that the caller's check of its condition and the blocking are
/// one atomic step with respect to interrupt handlers (no lost wake-up).
pub fn block_current(queue: Option<usize>, deadline: Option<u64>) {
    assert!(
        !interrupts::are_enabled(),
        "block_current needs interrupts off"
    );
    let switch = {
        let mut scheduler = SCHEDULER.lock();
        let current = scheduler.current;
        assert!(current != IDLE_THREAD, "the idle thread must never block");
        assert!(
            scheduler.threads[current.0].is_some(),
            "blocking before sched::init"
        );
        let ticket = scheduler.next_ticket;
        scheduler.next_ticket += 1;
        let thread = scheduler.thread_mut(current);
        thread.waiting = queue.map(|queue| Waiting { queue, ticket });
        thread.state = if queue.is_some() {
            ThreadState::Blocked
        } else {
            ThreadState::Sleeping
        };
        if let Some(deadline) = deadline {
            scheduler.sleep_queue.insert(deadline, current);
        }
        scheduler.switch_from_current(time::ticks())
    };
    perform(switch);
}

/// Makes the threads blocked on `queue` ready: the longest-waiting one, or all. Safe in
/// interrupt handlers. Returns how many were woken.
pub fn wake(queue: usize, all: bool) -> usize {
    SCHEDULER.lock().wake(queue, all)
}

/// The end-of-interrupt hook (interrupts::set_irq_exit_hook): accounting, sleepers, and
/// preemption. Runs in interrupt context, on the interrupted thread's stack, with the whole
/// interrupted state saved in its trap frame: switching away here and back later resumes
/// the thread exactly where the interrupt hit it.
fn on_interrupt_exit() {
    let now = time::ticks();
    let (switch, overflowed) = {
        let mut scheduler = SCHEDULER.lock();
        let overflowed = below_stack(&scheduler);
        let switch = if scheduler.after_interrupt(now) {
            scheduler.stats.preemptions += 1;
            scheduler.switch_from_current(now)
        } else {
            None
        };
        (switch, overflowed)
    };
    if let Some(name) = overflowed {
        panic!("kernel stack overflow in thread '{name}'");
    }
    perform(switch);
}

/// The current thread's name if RSP has gone below the bottom of its stack. An overflow that
/// runs into the guard below the stack faults there first (src/memory/stack_area.rs); this
/// catches, after the fact, an RSP that skipped the whole guard (a frame bigger than the
/// guard, in code without stack probes, or assembly that sets RSP itself) and now points
/// into some other stack's slot.
fn below_stack(scheduler: &Scheduler) -> Option<ThreadName> {
    let thread = scheduler.thread(scheduler.current);
    let bottom = thread.stack.as_ref()?.bottom();
    let rsp: u64;
    // SAFETY: reading RSP has no side effects.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack)) };
    (rsp < bottom).then_some(thread.name)
}

/// The idle thread: frees exited threads nobody will join, then halts until an interrupt.
/// The end-of-interrupt hook switches away from it as soon as another thread is ready.
fn idle_loop() {
    loop {
        reap_detached();
        interrupts::disable();
        let nothing_ready = SCHEDULER.lock().run_queue.is_empty();
        if nothing_ready {
            // `sti; hlt` is atomic: a wake-up between the check and the halt still ends it.
            crate::cpu::halt_until_interrupt();
        } else {
            interrupts::enable();
            yield_now();
        }
    }
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

/// The running thread's name ("kmain" before any switch).
pub fn current_thread_name() -> ThreadName {
    let scheduler = SCHEDULER.lock();
    scheduler.threads[scheduler.current.0]
        .as_ref()
        .map_or(ThreadName::new("kmain"), |thread| thread.name)
}

/// One row per thread, in table order.
pub fn threads() -> Vec<ThreadInfo> {
    // Allocated before the lock is taken, large enough for every slot.
    let mut list = Vec::with_capacity(MAX_THREADS);
    let scheduler = SCHEDULER.lock();
    for thread in scheduler.threads.iter().flatten() {
        list.push(scheduler.info(thread));
    }
    drop(scheduler);
    list
}

/// The scheduler's counters.
pub fn stats() -> SchedStats {
    let scheduler = SCHEDULER.lock();
    SchedStats {
        threads: scheduler.threads.iter().flatten().count(),
        ready: scheduler.run_queue.len(),
        ..scheduler.stats
    }
}

/// For fatal reports: names the running thread, without waiting for (or panicking on) the
/// scheduler lock, which the failing code may hold.
fn describe_current(out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    match SCHEDULER.try_lock() {
        Some(scheduler) => match scheduler.threads[scheduler.current.0].as_ref() {
            Some(thread) => write!(out, "{} (#{})", thread.name, thread.serial),
            None => out.write_str("kmain"),
        },
        None => out.write_str("unknown: the scheduler lock is held"),
    }
}
