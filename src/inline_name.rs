//! A short name stored inline, in a fixed buffer: naming a thread or a stack never allocates,
//! and the fault report can read names while the heap may be broken. Pure data, unit-tested
//! on the host; the memory manager and the scheduler both use it.

use core::fmt;

/// A name of at most `CAPACITY` bytes; a longer one is cut at a character boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InlineName<const CAPACITY: usize> {
    bytes: [u8; CAPACITY],
    len: u8,
}

impl<const CAPACITY: usize> InlineName<CAPACITY> {
    /// The longest name kept, in bytes (must fit the one-byte length).
    pub const CAPACITY: usize = {
        assert!(CAPACITY <= u8::MAX as usize);
        CAPACITY
    };

    /// `name`, cut at a character boundary if longer than [`Self::CAPACITY`] bytes.
    pub fn new(name: &str) -> Self {
        let mut len = name.len().min(Self::CAPACITY);
        while !name.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0; CAPACITY];
        bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
        InlineName {
            bytes,
            len: len as u8,
        }
    }

    pub fn as_str(&self) -> &str {
        // The bytes are a prefix of a &str cut at a character boundary.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl<const CAPACITY: usize> fmt::Display for InlineName<CAPACITY> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl<const CAPACITY: usize> fmt::Debug for InlineName<CAPACITY> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_and_cut_at_characters() {
        assert_eq!(InlineName::<8>::new("net-rx").as_str(), "net-rx");
        assert_eq!(InlineName::<8>::new("").as_str(), "");
        assert_eq!(InlineName::<8>::new("http-worker-3").as_str(), "http-wor");
        // 'é' is two bytes: cutting at 8 would split it, so the name keeps 7 bytes.
        assert_eq!(InlineName::<8>::new("abcdefgé").as_str(), "abcdefg");
        assert_eq!(
            format!("[{:>8}]", InlineName::<8>::new("idle")),
            "[    idle]"
        );
        assert_eq!(format!("{:?}", InlineName::<8>::new("boot")), "\"boot\"");
    }
}
