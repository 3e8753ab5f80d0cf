//! The 8254 Programmable Interval Timer, channel 0, wired to IRQ 0.
//! Command byte 0x34 = channel 0, access lobyte/hibyte, mode 2 (rate generator), binary
//! (8254 datasheet, control word format; OSDev wiki "Programmable Interval Timer").

use super::{TICK_HZ, pit_divisor};
use crate::interrupts;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

const PIT_CHANNEL0_DATA: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;
const PIT_CHANNEL0_RATE_GENERATOR: u8 = 0x34;
const TIMER_IRQ: u8 = 0;

static TICKS: AtomicU64 = AtomicU64::new(0);

/// Programs the PIT, installs the tick handler, and enables interrupts.
pub fn init() {
    let divisor = pit_divisor(TICK_HZ);
    let mut command = Port::<u8>::new(PIT_COMMAND);
    let mut data = Port::<u8>::new(PIT_CHANNEL0_DATA);
    // SAFETY: the PIT's ports belong to it on every PC; this is its only programmer.
    unsafe {
        command.write(PIT_CHANNEL0_RATE_GENERATOR);
        data.write(divisor as u8);
        data.write((divisor >> 8) as u8);
    }
    interrupts::register_irq(TIMER_IRQ, on_tick);
    crate::console::set_clock(uptime_ms);
    x86_64::instructions::interrupts::enable();
    log::info!("time: PIT channel 0 at {TICK_HZ} Hz (divisor {divisor}), interrupts on");
}

/// The timer's interrupt: the PIT owns IRQ 0 alone, so every interrupt there is its own.
fn on_tick() -> bool {
    TICKS.fetch_add(1, Ordering::Relaxed);
    true
}

/// Timer ticks since [`init`].
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Milliseconds since [`init`] (one tick is one millisecond).
pub fn uptime_ms() -> u64 {
    ticks() * 1000 / u64::from(TICK_HZ)
}
