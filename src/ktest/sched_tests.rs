//! Self-tests of threads, the scheduler and the blocking primitives.

use super::{KernelTest, registers};
use crate::ktest_assert;
use crate::memory::heap;
use crate::sched::{self, ThreadState};
use crate::sync::{Mutex, WaitQueue};
use crate::time;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

pub const TESTS: &[KernelTest] = &[
    KernelTest {
        name: "sched::spawn_and_join_returns_the_result",
        run: spawn_and_join_returns_the_result,
    },
    KernelTest {
        name: "sched::cpu_bound_threads_are_preempted",
        run: cpu_bound_threads_are_preempted,
    },
    KernelTest {
        name: "sched::preemption_preserves_registers",
        run: preemption_preserves_registers,
    },
    KernelTest {
        name: "sched::sleep_50ms_wakes_on_time",
        run: sleep_50ms_wakes_on_time,
    },
    KernelTest {
        name: "sched::threads_lists_states",
        run: threads_lists_states,
    },
    KernelTest {
        name: "sync::mutex_counter_is_exact",
        run: mutex_counter_is_exact,
    },
    KernelTest {
        name: "sync::producer_consumer_loses_nothing",
        run: producer_consumer_loses_nothing,
    },
    KernelTest {
        name: "sync::wait_timeout_expires_and_wakes",
        run: wait_timeout_expires_and_wakes,
    },
    KernelTest {
        name: "sync::interrupt_handler_wakes_a_thread",
        run: interrupt_handler_wakes_a_thread,
    },
    KernelTest {
        name: "sched::spawn_join_1000_frees_everything",
        run: spawn_join_1000_frees_everything,
    },
    KernelTest {
        name: "sched::every_yield_switches_to_the_other_thread",
        run: every_yield_switches_to_the_other_thread,
    },
];

fn spawn_and_join_returns_the_result() -> Result<(), String> {
    let handle = sched::spawn("adder", || (1..=10u64).sum::<u64>());
    let result = handle.join();
    ktest_assert!(result == 55, "joined {result}, expected 55");
    Ok(())
}

/// Two threads spin without ever yielding or blocking; the boot thread sleeps. Only the
/// timer can take the CPU from a spinner, so both counting means preemption works.
fn cpu_bound_threads_are_preempted() -> Result<(), String> {
    static STOP: AtomicBool = AtomicBool::new(false);
    static COUNTS: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];
    STOP.store(false, Ordering::SeqCst);
    let spinners: Vec<_> = (0..2)
        .map(|i| {
            sched::spawn("spinner", move || {
                while !STOP.load(Ordering::Relaxed) {
                    COUNTS[i].fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let preemptions_before = sched::stats().preemptions;
    sched::sleep_ms(100);
    let counts = [
        COUNTS[0].load(Ordering::Relaxed),
        COUNTS[1].load(Ordering::Relaxed),
    ];
    let spinner_ticks: Vec<u64> = sched::threads()
        .iter()
        .filter(|t| t.name.as_str() == "spinner")
        .map(|t| t.cpu_ticks)
        .collect();
    STOP.store(true, Ordering::SeqCst);
    for spinner in spinners {
        spinner.join();
    }
    let preemptions = sched::stats().preemptions - preemptions_before;
    log::info!(
        "sched: two spinners in 100 ms: counts {counts:?}, CPU ticks {spinner_ticks:?}, {preemptions} preemptions"
    );
    ktest_assert!(
        counts[0] > 0 && counts[1] > 0,
        "a spinner never ran: {counts:?}"
    );
    ktest_assert!(
        spinner_ticks.len() == 2 && spinner_ticks.iter().all(|&t| t >= 30),
        "CPU time not shared: {spinner_ticks:?} ticks"
    );
    ktest_assert!(preemptions >= 5, "only {preemptions} preemptions");
    Ok(())
}

/// A countdown loop in assembly holds a pattern in every register while a spinning thread
/// competes for the CPU, so the timer preempts the loop, switches to the spinner and later
/// back. Repeated until the loop has been preempted (a switch counted while it ran) three
/// times; every round must end with the pattern intact.
fn preemption_preserves_registers() -> Result<(), String> {
    const COUNTDOWN: u64 = 200_000;
    /// Guest ticks before giving up: three preemptions need about 30, one slice each.
    const GIVE_UP_TICKS: u64 = 2000;
    static STOP: AtomicBool = AtomicBool::new(false);
    STOP.store(false, Ordering::SeqCst);
    let spinner = sched::spawn("register-rival", || {
        while !STOP.load(Ordering::Relaxed) {
            core::hint::spin_loop();
        }
    });
    let mut expected = registers::PATTERN;
    expected[1] = 0;
    let start = time::ticks();
    let (mut rounds, mut preempted_inside) = (0u64, 0u64);
    let mut outcome = Ok(());
    while preempted_inside < 3 && time::ticks() - start < GIVE_UP_TICKS {
        let before = sched::stats().preemptions;
        let after_loop = registers::around_countdown(COUNTDOWN);
        if sched::stats().preemptions != before {
            preempted_inside += 1;
        }
        rounds += 1;
        outcome = registers::compare(&after_loop, &expected)
            .map_err(|e| alloc::format!("round {rounds}: {e}"));
        if outcome.is_err() {
            break;
        }
    }
    STOP.store(true, Ordering::SeqCst);
    spinner.join();
    outcome?;
    ktest_assert!(
        preempted_inside >= 3,
        "the loop was preempted {preempted_inside} times in {rounds} rounds"
    );
    Ok(())
}

/// How many ticks late a wake-up may be seen. The scheduler wakes a sleeper in the tick its
/// deadline falls in, so on an idle guest the lateness is 0 or 1. But QEMU re-delivers PIT
/// ticks it could not deliver while the host did not run the guest (its "lost tick" policy), in
/// a burst: under a busy host the woken thread can find a few more ticks counted before its
/// first instruction. Early is always wrong; a little late is the host's doing.
const TICKS_LATE_ALLOWED: u64 = 10;

fn sleep_50ms_wakes_on_time() -> Result<(), String> {
    for _ in 0..3 {
        let start = time::ticks();
        sched::sleep_ms(50);
        let slept = time::ticks() - start;
        ktest_assert!(
            (50..=50 + TICKS_LATE_ALLOWED).contains(&slept),
            "slept {slept} ticks for 50 ms"
        );
    }
    Ok(())
}

fn threads_lists_states() -> Result<(), String> {
    let sleeper = sched::spawn("lister-sleeper", || sched::sleep_ms(30));
    sched::yield_now();
    let list = sched::threads();
    let find = |name: &str| list.iter().find(|t| t.name.as_str() == name).copied();
    let me = find("kmain").ok_or("kmain not listed")?;
    ktest_assert!(me.state == ThreadState::Running, "kmain is {}", me.state);
    let idle = find("idle").ok_or("idle not listed")?;
    ktest_assert!(idle.id == 1, "idle is thread {}", idle.id);
    let other = find("lister-sleeper").ok_or("spawned thread not listed")?;
    ktest_assert!(
        other.state == ThreadState::Sleeping,
        "sleeper is {}",
        other.state
    );
    ktest_assert!(
        other.stack_size == sched::DEFAULT_STACK_SIZE,
        "stack {}",
        other.stack_size
    );
    ktest_assert!(
        sched::current_thread_name().as_str() == "kmain",
        "current thread is {}",
        sched::current_thread_name()
    );
    sleeper.join();
    Ok(())
}

/// Eight threads add 1 to a shared counter 500 times each, yielding *inside* the critical
/// section now and then so that the others find the Mutex taken and must sleep on it.
fn mutex_counter_is_exact() -> Result<(), String> {
    const THREADS: u64 = 8;
    const ROUNDS: u64 = 500;
    let counter = Arc::new(Mutex::new(0u64));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = counter.clone();
            sched::spawn("counter", move || {
                for round in 0..ROUNDS {
                    let mut value = counter.lock();
                    let seen = *value;
                    if round % 50 == 0 {
                        sched::yield_now();
                    }
                    *value = seen + 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join();
    }
    let total = *counter.lock();
    ktest_assert!(
        total == THREADS * ROUNDS,
        "counter {total}, expected {}",
        THREADS * ROUNDS
    );
    Ok(())
}

/// A bounded buffer of 4 items between one producer and one consumer; both block on
/// WaitQueues when it is full or empty. Every one of 5000 items arrives, in order.
fn producer_consumer_loses_nothing() -> Result<(), String> {
    const ITEMS: u64 = 5000;
    const CAPACITY: usize = 4;
    struct Channel {
        buffer: Mutex<VecDeque<u64>>,
        len: AtomicUsize,
        not_empty: WaitQueue,
        not_full: WaitQueue,
    }
    let channel = Arc::new(Channel {
        buffer: Mutex::new(VecDeque::with_capacity(CAPACITY)),
        len: AtomicUsize::new(0),
        not_empty: WaitQueue::new(),
        not_full: WaitQueue::new(),
    });
    let producer = {
        let channel = channel.clone();
        sched::spawn("producer", move || {
            for item in 0..ITEMS {
                channel
                    .not_full
                    .wait_until(|| channel.len.load(Ordering::Acquire) < CAPACITY);
                channel.buffer.lock().push_back(item);
                channel.len.fetch_add(1, Ordering::Release);
                channel.not_empty.wake_one();
            }
        })
    };
    let consumer = {
        let channel = channel.clone();
        sched::spawn("consumer", move || {
            let mut received = 0;
            let mut out_of_order = 0;
            for expected in 0..ITEMS {
                channel
                    .not_empty
                    .wait_until(|| channel.len.load(Ordering::Acquire) > 0);
                let item = channel.buffer.lock().pop_front();
                channel.len.fetch_sub(1, Ordering::Release);
                channel.not_full.wake_one();
                received += 1;
                if item != Some(expected) {
                    out_of_order += 1;
                }
            }
            (received, out_of_order)
        })
    };
    producer.join();
    let (received, out_of_order) = consumer.join();
    ktest_assert!(received == ITEMS, "received {received} of {ITEMS}");
    ktest_assert!(
        out_of_order == 0,
        "{out_of_order} items lost or out of order"
    );
    Ok(())
}

fn wait_timeout_expires_and_wakes() -> Result<(), String> {
    static QUEUE: WaitQueue = WaitQueue::new();
    static FLAG: AtomicBool = AtomicBool::new(false);
    let start = time::ticks();
    let held = QUEUE.wait_until_timeout(|| false, 20);
    let waited = time::ticks() - start;
    ktest_assert!(!held, "a false condition was reported true");
    ktest_assert!(
        (20..=20 + TICKS_LATE_ALLOWED).contains(&waited),
        "timed out after {waited} ticks"
    );

    FLAG.store(false, Ordering::SeqCst);
    let setter = sched::spawn("setter", || {
        sched::sleep_ms(5);
        FLAG.store(true, Ordering::SeqCst);
        QUEUE.wake_all()
    });
    let start = time::ticks();
    let held = QUEUE.wait_until_timeout(|| FLAG.load(Ordering::SeqCst), 1000);
    let waited = time::ticks() - start;
    let woken = setter.join();
    ktest_assert!(held, "the wake-up was lost");
    ktest_assert!(waited < 20, "woken after {waited} ticks instead of about 5");
    ktest_assert!(woken == 1, "wake_all woke {woken} threads");
    Ok(())
}

/// IRQ 5 has no device on QEMU's PC; `int` on its vector runs the registered handler
/// through the real interrupt path (trap_dispatch, EOI, the scheduler's exit hook), as the
/// NIC's interrupt will: the handler sets a flag and wakes the waiting thread, and the exit
/// hook switches to that thread before the interrupted one (kmain) runs again.
///
/// The promptness is checked by order of events, not by the clock: on a busy host a timer
/// tick may land anywhere, but the waiter must have run before `int` returns to kmain.
fn interrupt_handler_wakes_a_thread() -> Result<(), String> {
    const UNUSED_IRQ: u8 = 5;
    static QUEUE: WaitQueue = WaitQueue::new();
    static EVENT: AtomicBool = AtomicBool::new(false);
    static WOKEN: AtomicBool = AtomicBool::new(false);
    static WAITER_RAN: AtomicBool = AtomicBool::new(false);
    fn handler() -> bool {
        EVENT.store(true, Ordering::SeqCst);
        WOKEN.store(QUEUE.wake_one(), Ordering::SeqCst);
        true
    }
    EVENT.store(false, Ordering::SeqCst);
    WAITER_RAN.store(false, Ordering::SeqCst);
    let waiter = sched::spawn("irq-waiter", || {
        QUEUE.wait_until(|| EVENT.load(Ordering::SeqCst));
        WAITER_RAN.store(true, Ordering::SeqCst);
    });
    while !sched::threads()
        .iter()
        .any(|t| t.name.as_str() == "irq-waiter" && t.state == ThreadState::Blocked)
    {
        sched::yield_now();
    }
    crate::interrupts::register_irq(UNUSED_IRQ, handler);
    // SAFETY: vector 37 is IRQ 5's entry stub, which handles a software `int` like the
    // hardware interrupt (no error code); its handler only touches atomics and wakes.
    unsafe { core::arch::asm!("int {}", const crate::cpu::trap::FIRST_IRQ_VECTOR + UNUSED_IRQ) };
    let ran_before_kmain = WAITER_RAN.load(Ordering::SeqCst);
    crate::cpu::pic::mask(UNUSED_IRQ);
    waiter.join();
    ktest_assert!(
        WOKEN.load(Ordering::SeqCst),
        "wake_one in the handler found no waiter"
    );
    ktest_assert!(
        ran_before_kmain,
        "the woken thread did not run before the interrupted one resumed"
    );
    Ok(())
}

/// 1000 threads, in batches of 50 (the thread table holds 256), plus 20 detached ones:
/// afterwards the heap and the thread table are as they were.
fn spawn_join_1000_frees_everything() -> Result<(), String> {
    const BATCH: u64 = 50;
    let mut handles = Vec::with_capacity(BATCH as usize);
    let threads_before = sched::stats().threads;
    let heap_before = heap::used_bytes();
    let mut sum = 0;
    for batch in 0..1000 / BATCH {
        for i in 0..BATCH {
            handles.push(sched::spawn("short-lived", move || batch * BATCH + i));
        }
        sum += handles.drain(..).map(|h| h.join()).sum::<u64>();
    }
    for _ in 0..20 {
        drop(sched::spawn("detached", sched::yield_now));
    }
    while sched::threads()
        .iter()
        .any(|t| t.name.as_str() == "detached")
    {
        sched::sleep_ms(1);
        sched::reap_detached();
    }
    let heap_after = heap::used_bytes();
    let threads_after = sched::stats().threads;
    ktest_assert!(sum == 999 * 1000 / 2, "results sum to {sum}");
    ktest_assert!(
        threads_after == threads_before,
        "{threads_before} threads before, {threads_after} after"
    );
    ktest_assert!(
        heap_after == heap_before,
        "heap used {heap_before} bytes before, {heap_after} after"
    );
    Ok(())
}

/// Two threads yield to each other for 200 ms: with nothing else ready, every yield is a
/// context switch to the other thread, so the switches counted by the scheduler are the two
/// threads' yields added up, and the two take turns. The rate is logged as a figure, not asserted: under TCG on a
/// loaded host it says more about the host than about the scheduler.
fn every_yield_switches_to_the_other_thread() -> Result<(), String> {
    static STOP: AtomicBool = AtomicBool::new(false);
    STOP.store(false, Ordering::SeqCst);
    let partner = sched::spawn("yielder", || {
        let mut yields = 0u64;
        while !STOP.load(Ordering::Relaxed) {
            sched::yield_now();
            yields += 1;
        }
        yields
    });
    let switches_before = sched::stats().context_switches;
    let start = time::ticks();
    let mut my_yields = 0u64;
    while time::ticks() - start < 200 {
        sched::yield_now();
        my_yields += 1;
    }
    let elapsed = time::ticks() - start;
    let switches = sched::stats().context_switches - switches_before;
    STOP.store(true, Ordering::SeqCst);
    let partner_yields = partner.join();
    let per_second = switches * 1000 / elapsed;
    log::info!(
        "sched: yield loop: {switches} context switches in {elapsed} ms = {per_second} per second ({} ns each)",
        1_000_000_000 / per_second.max(1)
    );
    ktest_assert!(my_yields > 0, "the loop never yielded");
    // Slack of 5%, plus two for the edges of the window: a thread that other boots start
    // (a driver's, woken by its interrupt) may take a turn now and then.
    let yields = my_yields + partner_yields;
    ktest_assert!(
        switches.abs_diff(yields) <= yields / 20 + 2,
        "{switches} switches for {my_yields} + {partner_yields} yields"
    );
    ktest_assert!(
        my_yields.abs_diff(partner_yields) <= my_yields / 20 + 1,
        "the threads did not alternate: {my_yields} and {partner_yields} yields"
    );
    Ok(())
}
