//! A bounded queue of whole lines, in one fixed byte array: what the loggers leave for the
//! console writer (src/console/output.rs). Pushing never allocates and never waits; when a
//! line does not fit it is dropped whole, and the count of dropped lines travels with the
//! next line that does fit, so the writer can say where lines went missing.
//!
//! Each record is a 5-byte header (text length, style, lines dropped just before it) and the
//! text, stored circularly: a record may wrap from the end of the array to its start.
//!
//! ```text
//!   bytes: | ...free... | len lo | len hi | style | dropped lo | dropped hi | text... | ...free |
//!                       ^ head (oldest record)                                        ^ head + used
//! ```

/// Bytes of header in front of each record's text.
const HEADER: usize = 5;

/// One line taken off the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Popped {
    /// Bytes of text copied out.
    pub len: usize,
    /// The style the line was pushed with (the console's colour for it).
    pub style: u8,
    /// Lines dropped, for lack of room, just before this one.
    pub dropped_before: u16,
}

pub struct LineRing<const N: usize> {
    bytes: [u8; N],
    head: usize,
    used: usize,
    /// Lines dropped since the last successful push.
    dropped: u16,
    /// Lines dropped since the queue was made, for the statistics.
    dropped_total: u64,
}

impl<const N: usize> LineRing<N> {
    /// The longest text a record may hold.
    pub const MAX_TEXT: usize = N - HEADER;

    pub const fn new() -> Self {
        LineRing {
            bytes: [0; N],
            head: 0,
            used: 0,
            dropped: 0,
            dropped_total: 0,
        }
    }

    /// No line is waiting, and no drop is waiting to be reported.
    pub fn is_empty(&self) -> bool {
        self.used == 0 && self.dropped == 0
    }

    /// Whether a line of `len` bytes would fit now.
    pub fn has_room_for(&self, len: usize) -> bool {
        len <= Self::MAX_TEXT && HEADER + len <= N - self.used
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    /// Queues `text` with `style`; false (and the line counted as dropped) if it does not fit.
    pub fn push(&mut self, style: u8, text: &[u8]) -> bool {
        if self.try_push(style, text) {
            return true;
        }
        self.dropped = self.dropped.saturating_add(1);
        self.dropped_total += 1;
        false
    }

    /// Queues `text` if it fits; if not, returns false and counts nothing (the caller waits
    /// for room and tries again).
    pub fn try_push(&mut self, style: u8, text: &[u8]) -> bool {
        if !self.has_room_for(text.len()) {
            return false;
        }
        let len = text.len() as u16;
        let [len_lo, len_hi] = len.to_le_bytes();
        let [dropped_lo, dropped_hi] = self.dropped.to_le_bytes();
        let tail = (self.head + self.used) % N;
        self.copy_in(tail, &[len_lo, len_hi, style, dropped_lo, dropped_hi]);
        self.copy_in((tail + HEADER) % N, text);
        self.used += HEADER + text.len();
        self.dropped = 0;
        true
    }

    /// Takes the oldest line, copying its text into `into` (cut to `into`'s length). With no
    /// line left but drops not yet reported, returns an empty line that carries them.
    pub fn pop(&mut self, into: &mut [u8]) -> Option<Popped> {
        if self.used == 0 {
            if self.dropped == 0 {
                return None;
            }
            let dropped_before = core::mem::take(&mut self.dropped);
            return Some(Popped {
                len: 0,
                style: 0,
                dropped_before,
            });
        }
        let mut header = [0u8; HEADER];
        self.copy_out(self.head, &mut header);
        let len = usize::from(u16::from_le_bytes([header[0], header[1]]));
        let copied = len.min(into.len());
        self.copy_out((self.head + HEADER) % N, &mut into[..copied]);
        self.head = (self.head + HEADER + len) % N;
        self.used -= HEADER + len;
        Some(Popped {
            len: copied,
            style: header[2],
            dropped_before: u16::from_le_bytes([header[3], header[4]]),
        })
    }

    fn copy_in(&mut self, at: usize, data: &[u8]) {
        let first = data.len().min(N - at);
        self.bytes[at..at + first].copy_from_slice(&data[..first]);
        self.bytes[..data.len() - first].copy_from_slice(&data[first..]);
    }

    fn copy_out(&self, at: usize, into: &mut [u8]) {
        let first = into.len().min(N - at);
        into[..first].copy_from_slice(&self.bytes[at..at + first]);
        let rest = into.len() - first;
        into[first..].copy_from_slice(&self.bytes[..rest]);
    }
}

impl<const N: usize> Default for LineRing<N> {
    fn default() -> Self {
        LineRing::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn pop_text<const N: usize>(ring: &mut LineRing<N>) -> Option<(Vec<u8>, Popped)> {
        let mut buffer = [0u8; 256];
        ring.pop(&mut buffer)
            .map(|popped| (buffer[..popped.len].to_vec(), popped))
    }

    #[test]
    fn lines_come_out_whole_and_in_order() {
        let mut ring = LineRing::<64>::new();
        assert!(ring.is_empty());
        assert!(ring.push(1, b"first\n"));
        assert!(ring.push(2, b"second\n"));
        let (text, popped) = pop_text(&mut ring).unwrap();
        assert_eq!((text.as_slice(), popped.style), (&b"first\n"[..], 1));
        let (text, popped) = pop_text(&mut ring).unwrap();
        assert_eq!((text.as_slice(), popped.style), (&b"second\n"[..], 2));
        assert!(pop_text(&mut ring).is_none());
    }

    #[test]
    fn a_full_queue_drops_whole_lines_and_says_where() {
        let mut ring = LineRing::<32>::new();
        assert!(ring.push(0, b"0123456789abcdef")); // 21 bytes used
        assert!(!ring.push(0, b"0123456789")); // 15 more do not fit
        assert!(!ring.push(0, b"xxxxxxxx")); // 13 bytes: still too many
        assert!(ring.push(0, b"ok")); // 7 bytes: fits
        assert_eq!(ring.dropped_total(), 2);
        assert_eq!(pop_text(&mut ring).unwrap().1.dropped_before, 0);
        let (text, popped) = pop_text(&mut ring).unwrap();
        assert_eq!((text.as_slice(), popped.dropped_before), (&b"ok"[..], 2));
    }

    #[test]
    fn drops_after_the_last_line_are_reported_on_their_own() {
        let mut ring = LineRing::<16>::new();
        assert!(!ring.push(0, &[b'x'; 20]));
        assert!(!ring.is_empty());
        let (text, popped) = pop_text(&mut ring).unwrap();
        assert_eq!((text.len(), popped.dropped_before), (0, 1));
        assert!(ring.is_empty() && pop_text(&mut ring).is_none());
    }

    #[test]
    fn records_wrap_around_the_end_of_the_array() {
        let mut ring = LineRing::<24>::new();
        for round in 0..20u8 {
            let line = [round; 9];
            assert!(ring.push(round, &line), "round {round}");
            let (text, popped) = pop_text(&mut ring).unwrap();
            assert_eq!((text, popped.style), (line.to_vec(), round));
        }
    }

    proptest::proptest! {
        /// Against a model: whatever is pushed and popped, lines come out whole, in order,
        /// with their style, and every line refused is reported before the next one out.
        #[test]
        fn behaves_like_a_queue_of_lines(
            operations in proptest::collection::vec((proptest::bool::ANY, 0usize..40), 1..200)
        ) {
            let mut ring = LineRing::<64>::new();
            let mut model: VecDeque<(Vec<u8>, u8, u16)> = VecDeque::new();
            let mut pending_drops = 0u16;
            let mut model_used = 0;
            for (index, (push, len)) in operations.into_iter().enumerate() {
                if push {
                    let text = vec![index as u8; len];
                    let fits = model_used + 5 + len <= 64;
                    proptest::prop_assert_eq!(ring.push(index as u8, &text), fits);
                    if fits {
                        model.push_back((text, index as u8, pending_drops));
                        model_used += 5 + len;
                        pending_drops = 0;
                    } else {
                        pending_drops += 1;
                    }
                } else {
                    let got = pop_text(&mut ring);
                    match model.pop_front() {
                        Some((text, style, dropped)) => {
                            model_used -= 5 + text.len();
                            let (got_text, popped) = got.expect("a line was queued");
                            proptest::prop_assert_eq!(got_text, text);
                            proptest::prop_assert_eq!(popped.style, style);
                            proptest::prop_assert_eq!(popped.dropped_before, dropped);
                        }
                        None if pending_drops > 0 => {
                            let (_, popped) = got.expect("drops to report");
                            proptest::prop_assert_eq!(popped.dropped_before, pending_drops);
                            pending_drops = 0;
                        }
                        None => proptest::prop_assert!(got.is_none()),
                    }
                }
            }
        }
    }
}
