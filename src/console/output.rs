//! How a line gets from a logger to the consoles without anybody waiting where they must not.
//!
//! Writing a line to a real 16550 UART at 115200 baud takes 5 to 9 ms. Code that runs with
//! interrupts off (an interrupt handler, the heap growing under its lock) must not spend that:
//! timer ticks would be lost. And a thread preempted while writing must not make every other
//! logger spin until it runs again. So every line is first formatted, then queued whole in
//! [`QUEUE`] (a [`LineRing`], locked only for the copy, with interrupts off), and written out
//! by whoever is the writer:
//!
//! | mode | who writes | when |
//! |---|---|---|
//! | `DIRECT` (boot, before the scheduler runs) | the logger itself, if the consoles are free | at once |
//! | `THREAD` (once `start_writer_thread` ran) | the console thread (src/console/writer_thread.rs) | woken by each line |
//! | `FATAL` (the panic and exception reports) | the reporter, bypassing the queue | at once |
//!
//! When the queue is full a thread with interrupts on waits for room; anything else drops its
//! line, and the writer reports how many were dropped, where they were.

use super::consoles::Consoles;
use super::line_ring::LineRing;
use super::screen::{ScreenInfo, Style};
use core::fmt::Write;
use core::sync::atomic::{AtomicU8, Ordering};
use spin::{Mutex, Once};
use x86_64::instructions::interrupts::{self, without_interrupts};

/// Bytes of queued lines: a few hundred log lines.
const QUEUE_BYTES: usize = 16 * 1024;

/// The longest line formatted; longer ones are cut.
pub const MAX_LINE: usize = 1024;

const DIRECT: u8 = 0;
const THREAD: u8 = 1;
const FATAL: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(DIRECT);
static QUEUE: Mutex<LineRing<QUEUE_BYTES>> = Mutex::new(LineRing::new());
static CONSOLES: Once<Mutex<Consoles>> = Once::new();
/// The memory of the screen in use, for the page tables.
static SCREEN_MEMORY: Once<Option<core::ops::Range<u64>>> = Once::new();

/// Sets up the devices and writes out whatever was queued before.
pub fn init(screen: ScreenInfo) -> &'static Mutex<Consoles> {
    SCREEN_MEMORY.call_once(|| screen.memory());
    let consoles = CONSOLES.call_once(|| Mutex::new(Consoles::new(screen)));
    write_if_free();
    consoles
}

/// The physical memory of the screen the console draws on, if any (memory::init maps it).
pub fn screen_memory() -> Option<core::ops::Range<u64>> {
    SCREEN_MEMORY.get().cloned().flatten()
}

/// Runs `body` on the devices (waiting for them): for the late set-up of the screen.
pub fn with_consoles<R>(body: impl FnOnce(&mut Consoles) -> R) -> Option<R> {
    let consoles = CONSOLES.get()?;
    Some(body(&mut consoles.lock()))
}

/// Queues one line (or piece of text) and sees that it gets written.
pub fn submit(style: Style, text: &[u8]) {
    match MODE.load(Ordering::Acquire) {
        FATAL => write_now(style, text),
        THREAD if interrupts::are_enabled() => {
            if !without_interrupts(|| QUEUE.lock().try_push(style as u8, text)) {
                super::writer_thread::push_when_room(style, text);
            }
            super::writer_thread::wake();
        }
        THREAD => {
            // Interrupts off: no waiting, and no waking (the scheduler's own lock may be the
            // one held); the console thread looks at the queue at least every few ms.
            without_interrupts(|| QUEUE.lock().push(style as u8, text));
        }
        _ => {
            without_interrupts(|| QUEUE.lock().push(style as u8, text));
            write_if_free();
        }
    }
}

/// Tries to push a line without counting a drop (the waiting thread tries again).
pub fn try_push(style: Style, text: &[u8]) -> bool {
    QUEUE.lock().try_push(style as u8, text)
}

pub fn queue_is_empty() -> bool {
    without_interrupts(|| QUEUE.lock().is_empty())
}

/// Returns once every line queued so far is written (the self-test runner calls it before
/// it leaves QEMU). With interrupts off, only what can be written without waiting is.
pub fn flush() {
    match MODE.load(Ordering::Acquire) {
        THREAD if interrupts::are_enabled() => super::writer_thread::wait_until_written(),
        FATAL => {}
        _ => write_if_free(),
    }
}

/// Hands the writing over to the console thread.
pub fn switch_to_thread() {
    MODE.store(THREAD, Ordering::Release);
}

/// Direct mode: writes the queue out unless the consoles are busy, in which case their
/// holder (the code this one interrupted) writes it before it lets go.
fn write_if_free() {
    let Some(consoles) = CONSOLES.get() else {
        return; // console::init writes out what was queued until then
    };
    loop {
        let Some(mut guard) = consoles.try_lock() else {
            return;
        };
        write_queued(&mut guard, || {});
        drop(guard);
        // A line queued by an interrupt between the last look and the unlock.
        if queue_is_empty() {
            return;
        }
    }
}

/// Writes every queued line to `consoles`; `after_each` runs after each line left the queue.
pub fn write_queued(consoles: &mut Consoles, mut after_each: impl FnMut()) {
    let mut line = [0u8; MAX_LINE];
    while let Some(popped) = without_interrupts(|| QUEUE.lock().pop(&mut line)) {
        after_each();
        if popped.dropped_before > 0 {
            let mut note = super::line_buffer::LineBuffer::<80>::new();
            let _ = writeln!(
                note,
                "[console: {} lines dropped here: the log queue was full]",
                popped.dropped_before
            );
            consoles.write(as_text(note.as_bytes()), Style::Warning);
        }
        consoles.write(as_text(&line[..popped.len]), Style::from_u8(popped.style));
    }
}

/// Lines are formatted text, cut on character boundaries, so always UTF-8.
fn as_text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("?\n")
}

/// The fatal report: writes straight to the devices.
fn write_now(style: Style, text: &[u8]) {
    if let Some(consoles) = CONSOLES.get() {
        consoles.lock().write(as_text(text), style);
    }
}

/// For the panic and exception reports: the CPU is about to stop, so whoever held the
/// console or queue lock will never release it. Break both, write out what was queued (it
/// happened before the crash), and switch the screen to white on red.
pub fn take_over_for_fatal() {
    MODE.store(FATAL, Ordering::Release);
    // A crash before console::init: serial at least.
    let consoles = CONSOLES.call_once(|| Mutex::new(Consoles::new(ScreenInfo::None)));
    // SAFETY: interrupts are off and the kernel never resumes after a fatal report, so the
    // holders of these locks (if any) will not touch them again. The queue's indices change
    // only after a record's bytes are copied, so it is whole even if its holder stopped
    // halfway.
    unsafe {
        consoles.force_unlock();
        QUEUE.force_unlock();
    }
    let mut guard = consoles.lock();
    write_queued(&mut guard, || {});
    guard.enter_fatal();
}
