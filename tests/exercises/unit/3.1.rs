//! Exercise 3.1: `time::ticks_to_ms` converts timer ticks to milliseconds at the rate the PIT
//! really runs, PIT_INPUT_HZ / pit_divisor(TICK_HZ) ticks a second, not TICK_HZ.

use crate::time::{PIT_INPUT_HZ, TICK_HZ, pit_divisor, ticks_to_ms};

/// The exact milliseconds in `ticks`, as a float.
fn exact_ms(ticks: u64) -> f64 {
    ticks as f64 * f64::from(pit_divisor(TICK_HZ)) * 1000.0 / f64::from(PIT_INPUT_HZ)
}

#[test]
fn ticks_become_milliseconds_at_the_real_rate() {
    let hour = 3_600_549; // ticks in about an hour at 1000.15 Hz
    let century = 100 * 365 * 24 * hour;
    for ticks in [0, 1, 999, 1000, 1001, 65_536, hour, 1_193_182, 86_413_176, century] {
        let ms = ticks_to_ms(ticks);
        assert!(
            (ms as f64 - exact_ms(ticks)).abs() <= 1.0,
            "{ticks} ticks are {:.1} ms, not {ms}",
            exact_ms(ticks)
        );
    }
}

#[test]
fn the_clock_never_runs_backwards() {
    let mut last = 0;
    for ticks in 0..5000 {
        let ms = ticks_to_ms(ticks);
        assert!(ms >= last, "{ticks} ticks give {ms} ms, {} the tick before", last);
        last = ms;
    }
}
