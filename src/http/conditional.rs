//! Conditional requests (RFC 9110, section 13): a client that has a copy asks "only if it
//! changed", and the server answers 304 Not Modified with no body when it did not.
//!
//! Each embedded file has two validators, both fixed when the kernel is built (build.rs):
//! a strong ETag (a hash of its bytes: any change to the file changes it) and its
//! modification time (`Last-Modified`). The preconditions are evaluated in the order of
//! section 13.2.2:
//!
//! 1. `If-None-Match: "tag", ...` (what browsers and `curl --etag-compare` send): 304 if one
//!    of the tags matches ours, compared weakly (a `W/` prefix does not matter), or if it is `*`;
//! 2. only when there is no If-None-Match, `If-Modified-Since: DATE` (`curl -z`): 304 if the
//!    file was not modified after DATE.
//!
//! `If-Range` guards a Range request (section 13.1.5): the range is sent only if the copy the
//! client has is still current (a strong ETag match, or exactly our Last-Modified); otherwise
//! it gets the whole file, and nothing is spliced from two versions.

use super::http_date;

/// What identifies one version of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validators {
    /// The entity tag with its quotes, e.g. `"5f3a9c0d12e4b7a8"`.
    pub etag: &'static str,
    /// Seconds since the epoch; `None` for generated resources.
    pub last_modified: Option<u64>,
}

/// The precondition headers of a request, as sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preconditions<'a> {
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub if_range: Option<&'a str>,
}

impl Preconditions<'_> {
    /// Whether a GET or HEAD is answered 304 Not Modified.
    pub fn not_modified(&self, current: &Validators) -> bool {
        if let Some(tags) = self.if_none_match {
            return tags.trim() == "*"
                || entity_tags(tags).any(|tag| weak_match(tag, current.etag));
        }
        self.if_modified_since
            .and_then(http_date::parse)
            .zip(current.last_modified)
            .is_some_and(|(since, modified)| modified <= since)
    }

    /// Whether a Range may be honoured: no If-Range, or one naming the current version.
    pub fn range_applies(&self, current: &Validators) -> bool {
        let Some(condition) = self.if_range.map(str::trim) else {
            return true;
        };
        if condition.starts_with('"') || condition.starts_with("W/") {
            // A strong comparison: a weak tag never matches.
            condition == current.etag
        } else {
            current.last_modified.is_some() && http_date::parse(condition) == current.last_modified
        }
    }
}

/// The entity tags of a comma-separated list (`"a", W/"b"`), each with its `W/` and quotes.
/// A tag may itself contain commas, so the list is split at quotes, not at commas.
fn entity_tags(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            return None;
        }
        let start = rest;
        let after_weak = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(body) = after_weak.strip_prefix('"') else {
            rest = ""; // not a list of entity tags: stop
            return None;
        };
        let Some(close) = body.find('"') else {
            rest = "";
            return None;
        };
        let tag_len = start.len() - body.len() + close + 1;
        let tag = &start[..tag_len];
        rest = &start[tag_len..];
        Some(tag)
    })
}

/// Weak comparison (section 8.8.3.2): the opaque tags are equal, weakness aside.
fn weak_match(a: &str, b: &str) -> bool {
    a.strip_prefix("W/").unwrap_or(a) == b.strip_prefix("W/").unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const FILE: Validators = Validators {
        etag: "\"abc123\"",
        last_modified: Some(784_111_777), // Sun, 06 Nov 1994 08:49:37 GMT
    };

    fn if_none_match(tags: &str) -> Preconditions<'_> {
        Preconditions {
            if_none_match: Some(tags),
            ..Preconditions::default()
        }
    }

    #[test]
    fn entity_tag_lists() {
        let tags: Vec<_> = entity_tags(r#""a", W/"b" ,"c,d""#).collect();
        assert_eq!(tags, [r#""a""#, r#"W/"b""#, r#""c,d""#]);
        assert_eq!(entity_tags("garbage").count(), 0);
        assert_eq!(entity_tags(r#""unterminated"#).count(), 0);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(if_none_match(r#""abc123""#).not_modified(&FILE));
        assert!(if_none_match(r#"W/"abc123""#).not_modified(&FILE));
        assert!(if_none_match(r#""x", "abc123""#).not_modified(&FILE));
        assert!(if_none_match("*").not_modified(&FILE));
        assert!(!if_none_match(r#""abc1234""#).not_modified(&FILE));
        assert!(!if_none_match("abc123").not_modified(&FILE));
    }

    #[test]
    fn if_modified_since_only_without_if_none_match() {
        let since = |date| Preconditions {
            if_modified_since: Some(date),
            ..Preconditions::default()
        };
        assert!(since("Sun, 06 Nov 1994 08:49:37 GMT").not_modified(&FILE));
        assert!(since("Mon, 07 Nov 1994 00:00:00 GMT").not_modified(&FILE));
        assert!(!since("Sat, 05 Nov 1994 00:00:00 GMT").not_modified(&FILE));
        assert!(!since("not a date").not_modified(&FILE));
        let both = Preconditions {
            if_none_match: Some(r#""other""#),
            if_modified_since: Some("Mon, 07 Nov 1994 00:00:00 GMT"),
            if_range: None,
        };
        assert!(
            !both.not_modified(&FILE),
            "If-None-Match decides when present"
        );
    }

    #[test]
    fn if_range_needs_the_current_version() {
        let range_if = |condition| Preconditions {
            if_range: Some(condition),
            ..Preconditions::default()
        };
        assert!(Preconditions::default().range_applies(&FILE));
        assert!(range_if(r#""abc123""#).range_applies(&FILE));
        assert!(!range_if(r#"W/"abc123""#).range_applies(&FILE));
        assert!(!range_if(r#""old""#).range_applies(&FILE));
        assert!(range_if("Sun, 06 Nov 1994 08:49:37 GMT").range_applies(&FILE));
        assert!(!range_if("Sun, 06 Nov 1994 08:49:38 GMT").range_applies(&FILE));
    }
}
