//! Byte ranges (RFC 9110, section 14): `Range: bytes=0-99` asks for part of a resource, so a
//! download can resume or a player can seek. The answer is 206 Partial Content with
//! `Content-Range: bytes 0-99/1048576`, or 416 Range Not Satisfiable with
//! `Content-Range: bytes */1048576` when no byte of the range exists.
//!
//! | asked | means | for a 1000-byte resource |
//! |---|---|---|
//! | `bytes=100-199` | bytes 100 to 199 | 100-199 |
//! | `bytes=900-` | from 900 to the end | 900-999 |
//! | `bytes=-100` | the last 100 | 900-999 |
//! | `bytes=990-2000` | clipped to the end | 990-999 |
//! | `bytes=1000-` or `bytes=-0` | nothing | 416 |
//!
//! A server may ignore Range (section 14.2), and this one does when it cannot or need not
//! honour it: a unit other than bytes, bad syntax, several ranges at once (a multipart
//! answer is not worth its code here). The client then gets the whole resource, 200.

/// What to send for a resource of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable Range: the whole resource, 200.
    Whole,
    /// Bytes `first..=last`, 206.
    Part { first: u64, last: u64 },
    /// No byte of the range exists: 416.
    Unsatisfiable,
}

/// What a `Range` header value asks of a resource of `len` bytes.
pub fn resolve(header: &str, len: u64) -> RangeAnswer {
    let Some((unit, set)) = header.trim().split_once('=') else {
        return RangeAnswer::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    match (number(first), number(last)) {
        // "-n": the last n bytes.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part {
                    first: len.saturating_sub(suffix),
                    last: len - 1,
                }
            }
        }
        // "a-": from a to the end.
        (Some(first), None) if last.is_empty() => part(first, len.saturating_sub(1), len),
        // "a-b", with a <= b.
        (Some(first), Some(last)) if first <= last => {
            part(first, last.min(len.saturating_sub(1)), len)
        }
        _ => RangeAnswer::Whole,
    }
}

fn part(first: u64, last: u64, len: u64) -> RangeAnswer {
    if first >= len {
        RangeAnswer::Unsatisfiable
    } else {
        RangeAnswer::Part { first, last }
    }
}

/// A run of ASCII digits as a number; `None` for anything else, or one too big for u64.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeAnswer::*;

    #[test]
    fn the_three_forms() {
        assert_eq!(
            resolve("bytes=100-199", 1000),
            Part {
                first: 100,
                last: 199
            }
        );
        assert_eq!(
            resolve("bytes=900-", 1000),
            Part {
                first: 900,
                last: 999
            }
        );
        assert_eq!(
            resolve("bytes=-100", 1000),
            Part {
                first: 900,
                last: 999
            }
        );
        assert_eq!(resolve("Bytes = 0-0", 1000), Part { first: 0, last: 0 });
    }

    #[test]
    fn clipped_to_the_resource() {
        assert_eq!(
            resolve("bytes=990-2000", 1000),
            Part {
                first: 990,
                last: 999
            }
        );
        assert_eq!(
            resolve("bytes=-5000", 1000),
            Part {
                first: 0,
                last: 999
            }
        );
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(resolve("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(resolve("bytes=1000-1001", 1000), Unsatisfiable);
        assert_eq!(resolve("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(resolve("bytes=0-", 0), Unsatisfiable);
        assert_eq!(resolve("bytes=-1", 0), Unsatisfiable);
    }

    #[test]
    fn ignored() {
        for header in [
            "items=0-1",
            "bytes=5-1",
            "bytes=0-1,5-6",
            "bytes=a-b",
            "bytes=-",
            "bytes",
            "bytes=99999999999999999999999-",
            "",
        ] {
            assert_eq!(resolve(header, 1000), Whole, "{header:?}");
        }
    }

    proptest::proptest! {
        /// Any answer stays inside the resource.
        #[test]
        fn parts_stay_inside(header in "bytes=[0-9]{0,5}-[0-9]{0,5}", len in 0u64..100_000) {
            match resolve(&header, len) {
                Part { first, last } => proptest::prop_assert!(first <= last && last < len),
                Unsatisfiable | Whole => {}
            }
        }
    }
}
