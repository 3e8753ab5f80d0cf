//! The clocks of a connection: how long it may take for each thing a client does, and when
//! the server stops waiting. Pure functions of times in milliseconds, so the tests run them on
//! a virtual clock. The numbers are in src/http/limits.rs.
//!
//! ```text
//!  accept ─┬─ idle ─────────────┬─ first byte ── head ──────────┬─ complete ─> worker
//!          │ IDLE_TIMEOUT_MS    │                HEAD_TIMEOUT_MS │
//!          │ (1 s if scarce)    │ (whole head, not per read;     │ else 408
//!          │ else close         │  2 s if scarce)                │
//!  response queued ── acknowledged at MIN_SEND_RATE per SEND_WINDOW_MS, and within
//!                     RESPONSE_BASE_MS + size / RESPONSE_DEADLINE_RATE, else reset
//!  last byte acknowledged ── the idle clock starts (not when the bytes were queued)
//!  close: shut our side ── answer acknowledged, then LINGER_MS since the last progress,
//!                          then release
//! ```
//!
//! "Scarce" (pressure) means fewer than 1/`PRESSURE_FREE_SHARE` of the connections are free:
//! then the connections that do nothing useful (idle, or dribbling a head) go first.

use super::limits::{
    HEAD_TIMEOUT_MS, HEAD_TIMEOUT_UNDER_PRESSURE_MS, IDLE_TIMEOUT_MS,
    IDLE_TIMEOUT_UNDER_PRESSURE_MS, LINGER_MS, MIN_SEND_RATE_BYTES_PER_S, RESPONSE_BASE_MS,
    RESPONSE_DEADLINE_RATE_BYTES_PER_S, SEND_WINDOW_MS,
};

/// When an idle connection (no byte of a next request) is closed.
pub fn idle_deadline(idle_since_ms: u64, pressure: bool) -> u64 {
    idle_since_ms
        + if pressure {
            IDLE_TIMEOUT_UNDER_PRESSURE_MS
        } else {
            IDLE_TIMEOUT_MS
        }
}

/// When a head whose first byte came at `started_ms` must be complete.
pub fn head_deadline(started_ms: u64, pressure: bool) -> u64 {
    started_ms
        + if pressure {
            HEAD_TIMEOUT_UNDER_PRESSURE_MS
        } else {
            HEAD_TIMEOUT_MS
        }
}

/// When a lingering close whose last progress was at `progress_ms` ends.
pub fn linger_deadline(progress_ms: u64) -> u64 {
    progress_ms + LINGER_MS
}

/// How long a response of `bytes` may take, all of it.
pub fn response_time_ms(bytes: u64) -> u64 {
    RESPONSE_BASE_MS + bytes * 1000 / RESPONSE_DEADLINE_RATE_BYTES_PER_S
}

/// The client stopped taking what we send fast enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSlow;

/// Watches the acknowledgements while a connection has bytes in flight: at the end of each
/// window the client must have acknowledged [`MIN_SEND_RATE_BYTES_PER_S`] × the window, or
/// all that was waiting at its start if that was less; and everything must be acknowledged
/// by the responses' total deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendClock {
    window_start_ms: u64,
    acked_at_window_start: u64,
    waiting_at_window_start: u64,
    deadline_ms: u64,
}

impl SendClock {
    /// Starts watching at `now_ms`, when `acked` bytes have been acknowledged so far and
    /// `waiting` are queued or still to queue, for a response of `bytes`.
    pub fn start(now_ms: u64, acked: u64, waiting: u64, bytes: u64) -> SendClock {
        SendClock {
            window_start_ms: now_ms,
            acked_at_window_start: acked,
            waiting_at_window_start: waiting,
            deadline_ms: now_ms + response_time_ms(bytes),
        }
    }

    /// Another response follows (pipelining) while bytes are in flight: its time is added.
    pub fn add_response(&mut self, bytes: u64) {
        self.deadline_ms += response_time_ms(bytes);
    }

    /// Checks the client at `now_ms`, given the bytes acknowledged so far and those waiting.
    pub fn check(&mut self, now_ms: u64, acked: u64, waiting: u64) -> Result<(), TooSlow> {
        if now_ms >= self.deadline_ms {
            return Err(TooSlow);
        }
        if now_ms >= self.window_start_ms + SEND_WINDOW_MS {
            let required = (MIN_SEND_RATE_BYTES_PER_S * SEND_WINDOW_MS / 1000)
                .min(self.waiting_at_window_start);
            if acked - self.acked_at_window_start < required {
                return Err(TooSlow);
            }
            self.window_start_ms = now_ms;
            self.acked_at_window_start = acked;
            self.waiting_at_window_start = waiting;
        }
        Ok(())
    }

    /// When [`check`](Self::check) must run next: the end of the window, or the deadline.
    pub fn next_check_ms(&self) -> u64 {
        (self.window_start_ms + SEND_WINDOW_MS).min(self.deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PER_WINDOW: u64 = MIN_SEND_RATE_BYTES_PER_S * SEND_WINDOW_MS / 1000;

    #[test]
    fn idle_and_head_clocks_shorten_under_pressure() {
        assert_eq!(idle_deadline(100, false), 100 + IDLE_TIMEOUT_MS);
        assert_eq!(
            idle_deadline(100, true),
            100 + IDLE_TIMEOUT_UNDER_PRESSURE_MS
        );
        assert_eq!(head_deadline(5, false), 5 + HEAD_TIMEOUT_MS);
        assert_eq!(head_deadline(5, true), 5 + HEAD_TIMEOUT_UNDER_PRESSURE_MS);
        const { assert!(HEAD_TIMEOUT_UNDER_PRESSURE_MS < HEAD_TIMEOUT_MS) };
        const { assert!(IDLE_TIMEOUT_UNDER_PRESSURE_MS < IDLE_TIMEOUT_MS) };
    }

    #[test]
    fn the_response_deadline_grows_with_the_size() {
        assert_eq!(response_time_ms(0), RESPONSE_BASE_MS);
        assert_eq!(
            response_time_ms(1 << 20),
            RESPONSE_BASE_MS + (1 << 20) * 1000 / RESPONSE_DEADLINE_RATE_BYTES_PER_S
        );
        let mut clock = SendClock::start(0, 0, 100, 100);
        let deadline = clock.next_check_ms().max(RESPONSE_BASE_MS);
        clock.add_response(1 << 20);
        assert!(clock.deadline_ms > deadline);
    }

    #[test]
    fn a_reader_that_keeps_up_is_never_cut() {
        let mut clock = SendClock::start(0, 0, 1 << 20, 1 << 20);
        let mut acked = 0;
        let mut now = 0;
        while acked < 1 << 20 {
            now += 1000;
            acked += 16 * 1024; // 16 KiB/s: slow, but above the minimum rate
            assert_eq!(clock.check(now, acked, (1 << 20) - acked), Ok(()));
        }
    }

    #[test]
    fn a_reader_that_stops_is_cut_at_the_end_of_the_window() {
        let mut clock = SendClock::start(0, 0, 1 << 20, 1 << 20);
        // The client takes 4 KiB (its receive buffer), then reads nothing more.
        assert_eq!(clock.check(1000, 4096, (1 << 20) - 4096), Ok(()));
        assert_eq!(clock.next_check_ms(), SEND_WINDOW_MS);
        assert_eq!(clock.check(SEND_WINDOW_MS - 1, 4096, 0), Ok(()));
        const { assert!(4096 < PER_WINDOW) };
        assert_eq!(
            clock.check(SEND_WINDOW_MS, 4096, (1 << 20) - 4096),
            Err(TooSlow)
        );
    }

    #[test]
    fn a_small_response_needs_only_its_own_bytes_per_window() {
        // 300 bytes waiting: acknowledging them all in the window is enough.
        let mut clock = SendClock::start(0, 0, 300, 300);
        assert_eq!(clock.check(SEND_WINDOW_MS, 300, 0), Ok(()));
        let mut stuck = SendClock::start(0, 0, 300, 300);
        assert_eq!(stuck.check(SEND_WINDOW_MS, 299, 1), Err(TooSlow));
    }

    #[test]
    fn a_reader_just_above_the_rate_meets_the_whole_deadline() {
        let bytes = 1u64 << 20;
        let mut clock = SendClock::start(0, 0, bytes, bytes);
        let mut now = 0;
        let mut acked = 0;
        let result = loop {
            now += SEND_WINDOW_MS;
            acked = (acked + PER_WINDOW).min(bytes);
            if let Err(slow) = clock.check(now, acked, bytes - acked) {
                break Err(slow);
            }
            if acked == bytes {
                break Ok(());
            }
        };
        assert_eq!(result, Err(TooSlow));
        assert!(now >= response_time_ms(bytes) && now < response_time_ms(bytes) + SEND_WINDOW_MS);
    }

    #[test]
    fn lingering_counts_from_progress() {
        assert_eq!(linger_deadline(7), 7 + LINGER_MS);
    }
}
