//! A fixed-size text buffer that never allocates and never fails: each log line is formatted
//! into one on the stack before it is queued whole (src/console/output.rs). Text that does
//! not fit is cut, on a character boundary, and the cut is remembered.

use core::fmt;

/// Up to `N` bytes of text.
pub struct LineBuffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
    cut: bool,
}

impl<const N: usize> LineBuffer<N> {
    pub const fn new() -> Self {
        LineBuffer {
            bytes: [0; N],
            len: 0,
            cut: false,
        }
    }

    /// The text held so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Whether some text did not fit.
    pub fn was_cut(&self) -> bool {
        self.cut
    }

    /// Makes the text end with a newline, even if it was cut: the last characters give way.
    pub fn end_line(&mut self) {
        if self.as_bytes().last() == Some(&b'\n') {
            return;
        }
        if self.len == N {
            self.len -= 1;
            // Drop the rest of a multi-byte character whose last byte just went.
            while self.len > 0 && self.bytes[self.len] & 0xc0 == 0x80 {
                self.len -= 1;
            }
        }
        self.bytes[self.len] = b'\n';
        self.len += 1;
    }
}

impl<const N: usize> Default for LineBuffer<N> {
    fn default() -> Self {
        LineBuffer::new()
    }
}

/// Formatting into the buffer cuts the text at the end of the buffer (on a character
/// boundary, so the bytes stay valid UTF-8).
impl<const N: usize> fmt::Write for LineBuffer<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = N - self.len;
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        self.cut |= take < text.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn holds_what_fits() {
        let mut buffer = LineBuffer::<16>::new();
        let _ = write!(buffer, "first {}", 1);
        assert_eq!(buffer.as_bytes(), b"first 1");
        assert!(!buffer.was_cut());
    }

    #[test]
    fn formatting_cuts_at_a_character_boundary() {
        let mut buffer = LineBuffer::<8>::new();
        let tail = "é€";
        let _ = write!(buffer, "abcdef{tail}");
        assert_eq!(buffer.as_bytes(), "abcdefé".as_bytes());
        assert!(core::str::from_utf8(buffer.as_bytes()).is_ok());
        assert!(buffer.was_cut());
    }

    #[test]
    fn a_cut_line_still_ends_with_a_newline() {
        let mut buffer = LineBuffer::<8>::new();
        let _ = write!(buffer, "abcdefé€");
        buffer.end_line();
        assert_eq!(buffer.as_bytes(), b"abcdef\n");
        let mut short = LineBuffer::<8>::new();
        let _ = write!(short, "ab");
        short.end_line();
        short.end_line();
        assert_eq!(short.as_bytes(), b"ab\n");
    }
}
