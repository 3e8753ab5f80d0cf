//! A fixed-size text buffer that never allocates and never fails: what does not fit is cut
//! off and counted. The logger keeps the lines that interrupt handlers log while the consoles
//! are busy in one of these, until the thread that holds the consoles writes them out.

use core::fmt;

/// Up to `N` bytes of text, appended line by line.
pub struct LineBuffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
    /// Lines that did not fit and were dropped (or cut short) since the last `take`.
    dropped_lines: usize,
}

impl<const N: usize> LineBuffer<N> {
    pub const fn new() -> Self {
        LineBuffer {
            bytes: [0; N],
            len: 0,
            dropped_lines: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.dropped_lines == 0
    }

    /// The text held so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Appends `line` whole, or not at all (a half line would run into the next one).
    pub fn push_line(&mut self, line: &[u8]) {
        if line.len() > N - self.len {
            self.dropped_lines += 1;
            return;
        }
        self.bytes[self.len..self.len + line.len()].copy_from_slice(line);
        self.len += line.len();
    }

    /// Moves the text into `into` (emptied first) and returns how many lines were dropped.
    pub fn take(&mut self, into: &mut LineBuffer<N>) -> usize {
        into.bytes[..self.len].copy_from_slice(&self.bytes[..self.len]);
        into.len = self.len;
        into.dropped_lines = 0;
        let dropped = self.dropped_lines;
        self.len = 0;
        self.dropped_lines = 0;
        dropped
    }
}

impl<const N: usize> Default for LineBuffer<N> {
    fn default() -> Self {
        LineBuffer::new()
    }
}

/// Formatting into the buffer cuts the text at the end of the buffer (on a character
/// boundary, so the bytes stay valid UTF-8) and counts the line as cut.
impl<const N: usize> fmt::Write for LineBuffer<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = N - self.len;
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        if take < text.len() && self.dropped_lines == 0 {
            self.dropped_lines = 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn whole_lines_or_nothing() {
        let mut buffer = LineBuffer::<16>::new();
        assert!(buffer.is_empty());
        buffer.push_line(b"first line\n");
        buffer.push_line(b"second line\n");
        assert_eq!(buffer.as_bytes(), b"first line\n");
        let mut out = LineBuffer::new();
        assert_eq!(buffer.take(&mut out), 1);
        assert_eq!(out.as_bytes(), b"first line\n");
        assert!(buffer.is_empty());
    }

    #[test]
    fn formatting_cuts_at_a_character_boundary() {
        let mut buffer = LineBuffer::<8>::new();
        let tail = "é€";
        let _ = write!(buffer, "abcdef{tail}");
        assert_eq!(buffer.as_bytes(), "abcdefé".as_bytes());
        assert!(core::str::from_utf8(buffer.as_bytes()).is_ok());
        let mut out = LineBuffer::new();
        assert_eq!(buffer.take(&mut out), 1);
    }
}
