//! The console thread: once the scheduler runs, it alone writes queued lines to the devices
//! (src/console/output.rs explains why), with interrupts on, at the UART's pace.
//!
//! This is the one part of the console that uses the layers above it (threads and wait
//! queues): it starts after them, from kmain.

use super::output;
use super::screen::Style;
use crate::sync::WaitQueue;

/// Threads wait here for the console thread to make room in a full queue.
static ROOM: WaitQueue = WaitQueue::new();
/// The console thread waits here for lines.
static LINES: WaitQueue = WaitQueue::new();

/// Lines queued with interrupts off cannot wake the thread (the scheduler's lock may be the
/// one held): it looks at the queue at least this often.
const POLL_MS: u64 = 50;

/// Starts the console thread and hands the writing over to it.
pub fn start_writer_thread() {
    crate::sched::spawn("console", writer_loop);
    output::switch_to_thread();
    log::info!("console: lines are written by the console thread from now on");
}

fn writer_loop() {
    loop {
        LINES.wait_until_timeout(|| !output::queue_is_empty(), POLL_MS);
        output::with_consoles(|consoles| {
            output::write_queued(consoles, || {
                ROOM.wake_all();
            })
        });
    }
}

/// Wakes the console thread (a thread with interrupts on just queued a line).
pub fn wake() {
    LINES.wake_one();
}

/// Waits until `text` fits in the queue and queues it: a thread that logs faster than the
/// UART writes is slowed to its pace rather than losing lines.
pub fn push_when_room(style: Style, text: &[u8]) {
    wake();
    ROOM.wait_until(|| output::try_push(style, text));
}

/// Waits until the queue is empty and the console thread has finished the line it took last.
pub fn wait_until_written() {
    wake();
    ROOM.wait_until(output::queue_is_empty);
    output::with_consoles(|_| ());
}
