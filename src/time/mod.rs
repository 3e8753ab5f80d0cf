//! Time: the PIT ticks at [`TICK_HZ`]; each tick advances the uptime clock by one
//! millisecond. Log lines, sleeps and the TCP timers all read this clock.

#[cfg(target_os = "none")]
mod pit;
#[cfg(target_os = "none")]
pub use pit::{init, ticks, uptime_ms};

/// Timer interrupts per second.
pub const TICK_HZ: u32 = 1000;

/// The PIT's input clock: 1.193182 MHz (Intel 8254 datasheet; OSDev wiki "PIT").
pub const PIT_INPUT_HZ: u32 = 1_193_182;

/// The reload value for channel 0 that comes closest to `hz` interrupts per second.
pub const fn pit_divisor(hz: u32) -> u16 {
    let divisor = (PIT_INPUT_HZ + hz / 2) / hz;
    if divisor > 65535 { 0 } else { divisor as u16 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_kilohertz_divisor() {
        assert_eq!(pit_divisor(1000), 1193);
        // 1193182 / 1193 = 1000.15 Hz: the uptime clock gains 0.15 ms per second.
        assert!((PIT_INPUT_HZ as f64 / 1193.0 - 1000.0).abs() < 0.2);
    }

    #[test]
    fn slowest_rate_uses_the_full_range() {
        // A divisor of 0 means 65536 to the 8254: the slowest rate, about 18.2 Hz.
        assert_eq!(pit_divisor(18), 0);
        assert_eq!(pit_divisor(19), 62799);
    }
}
