//! Preemption: the hook that runs at the end of every hardware interrupt charges CPU time,
//! wakes the sleepers that are due, checks the stack, and takes the CPU from a thread whose
//! time slice is over (or as soon as a woken thread is waiting). Also the idle thread, which
//! runs when nothing is ready and which this hook switches away from. `init` in
//! src/sched/scheduler.rs installs the hook (`crate::interrupts::set_irq_exit_hook`).

use super::blocking::yield_now;
use super::lifecycle::reap_detached;
use super::scheduler::{IDLE_THREAD, SCHEDULER, Scheduler, TIME_SLICE_TICKS, perform};
use super::thread::ThreadName;
use crate::time;
use x86_64::instructions::interrupts;

impl Scheduler {
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
}

/// The end-of-interrupt hook (interrupts::set_irq_exit_hook): accounting, sleepers, and
/// preemption. Runs in interrupt context, on the interrupted thread's stack, with the whole
/// interrupted state saved in its trap frame: switching away here and back later resumes
/// the thread exactly where the interrupt hit it.
pub(super) fn on_interrupt_exit() {
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
pub(super) fn idle_loop() {
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
