//! The request target (RFC 9112, section 3.2): which resource a request names, as a decoded
//! path the router can look up.
//!
//! A target comes in one of four forms; an origin server meets three of them:
//!
//! | form | example | here |
//! |---|---|---|
//! | origin-form | `/docs/10-http.md?x=1` | the usual one |
//! | absolute-form | `http://10.0.2.15/docs/10-http.md` | what a client talking to a proxy sends; servers must accept it too (section 3.2.2) |
//! | asterisk-form | `*` | only in `OPTIONS *`: the server itself |
//! | authority-form | `example.com:443` | only in CONNECT, for proxies: refused |
//!
//! The path is then percent-decoded (RFC 3986, section 2.1: `%2e` is `.`), and only the
//! decoded path is checked for `.` and `..` segments, backslashes and NULs: checking the raw
//! path and decoding afterwards is the classic way to let `%2e%2e/` through. A path with an
//! empty segment (`//index.html`) is not an attack, only a name nothing has: 404, not 400.

use super::status::Status;
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// What a request target names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// A resource, by its decoded path (query removed): always starts with `/`.
    Path(Cow<'a, str>),
    /// `*`: the server as a whole (OPTIONS only).
    Server,
}

/// Parses a request target into the decoded path it names. `Err(400)` for targets that are
/// malformed or that try to step outside the site.
pub fn parse(target: &str) -> Result<Target<'_>, Status> {
    if target == "*" {
        return Ok(Target::Server);
    }
    let path = if target.starts_with('/') {
        target
    } else {
        path_of_absolute_form(target).ok_or(Status::BadRequest)?
    };
    let path = path.split_once('?').map_or(path, |(path, _query)| path);
    let path = percent_decode(path)?;
    check_decoded(&path)?;
    Ok(Target::Path(path))
}

/// The path of `http://authority/path` (`/` when there is none); `None` if `target` is not
/// an http or https URI.
fn path_of_absolute_form(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    if path_start == 0 {
        return None; // no authority
    }
    match &rest[path_start..] {
        "" => Some("/"),
        path if path.starts_with('?') => Some("/"),
        path => Some(path),
    }
}

/// Replaces each `%XX` by the byte it stands for. `Err(400)` for a `%` not followed by two
/// hex digits, a decoded NUL, or bytes that are not UTF-8 (every name on this site is).
pub fn percent_decode(path: &str) -> Result<Cow<'_, str>, Status> {
    if !path.contains('%') {
        return Ok(Cow::Borrowed(path));
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let high = bytes.get(i + 1).and_then(|&b| hex_value(b));
            let low = bytes.get(i + 2).and_then(|&b| hex_value(b));
            let (Some(high), Some(low)) = (high, low) else {
                return Err(Status::BadRequest);
            };
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return Err(Status::BadRequest);
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| Status::BadRequest)
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// The traversal checks, on the decoded path: no `.` or `..` segment, no backslash (a path
/// separator elsewhere), no NUL.
fn check_decoded(path: &str) -> Result<(), Status> {
    let escapes = path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
        || path.bytes().any(|b| matches!(b, b'\\' | 0));
    if escapes || !path.starts_with('/') {
        Err(Status::BadRequest)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(target: &str) -> Result<String, Status> {
        match parse(target)? {
            Target::Path(path) => Ok(path.into_owned()),
            Target::Server => Ok("*".into()),
        }
    }

    #[test]
    fn origin_form_loses_its_query() {
        assert_eq!(path("/index.html?x=1&y=2").unwrap(), "/index.html");
        assert_eq!(path("/").unwrap(), "/");
    }

    #[test]
    fn absolute_form_names_its_path() {
        assert_eq!(path("http://10.0.2.15/style.css").unwrap(), "/style.css");
        assert_eq!(path("HTTP://host:8080/a?b").unwrap(), "/a");
        assert_eq!(path("http://host").unwrap(), "/");
        assert_eq!(path("https://host?q").unwrap(), "/");
        assert_eq!(path("ftp://host/x"), Err(Status::BadRequest));
        assert_eq!(path("http:///x"), Err(Status::BadRequest));
        assert_eq!(path("example.com:443"), Err(Status::BadRequest));
    }

    #[test]
    fn asterisk_form() {
        assert_eq!(parse("*").unwrap(), Target::Server);
        assert_eq!(path("**"), Err(Status::BadRequest));
    }

    #[test]
    fn percent_decoding_happens_before_the_checks() {
        assert_eq!(path("/docs%2F10-http.md").unwrap(), "/docs/10-http.md");
        assert_eq!(path("/%69ndex.html").unwrap(), "/index.html");
        assert_eq!(path("/caf%C3%A9").unwrap(), "/café");
        for bad in [
            "/%2e%2e/Cargo.toml",
            "/docs/%2E%2E%2Fbuild.rs",
            "/a/%2e/b",
            "/../etc/passwd",
            "/docs/../Cargo.toml",
            "/a%5cb",
            "/a\\b",
            "/a%00b",
            "/%zz",
            "/%4",
            "/%ff",
            "index.html",
        ] {
            assert_eq!(path(bad), Err(Status::BadRequest), "{bad:?}");
        }
    }

    #[test]
    fn empty_segments_are_names_not_attacks() {
        assert_eq!(path("//index.html").unwrap(), "//index.html");
        assert_eq!(path("/a//b").unwrap(), "/a//b");
        assert_eq!(path("/..a/b..").unwrap(), "/..a/b..");
    }

    proptest::proptest! {
        /// Whatever the target, a path that comes out has no `.` or `..` segment and starts with `/`.
        #[test]
        fn decoded_paths_never_climb(target in "[/%.a-f0-9A-F\\\\?]{0,40}") {
            if let Ok(Target::Path(path)) = parse(&target) {
                proptest::prop_assert!(path.starts_with('/'));
                proptest::prop_assert!(!path.split('/').any(|s| s == ".." || s == "."));
                proptest::prop_assert!(!path.contains('\\'));
            }
        }

        /// Encoding every byte of a clean path and decoding it gives the path back.
        #[test]
        fn encoding_round_trips(path in "/[a-z0-9._-]{1,30}") {
            proptest::prop_assume!(!path.split('/').any(|s| s == ".." || s == "."));
            let encoded: String = path.bytes().map(|b| alloc::format!("%{b:02X}")).collect();
            let decoded = percent_decode(&encoded).unwrap();
            proptest::prop_assert_eq!(decoded.as_ref(), path.as_str());
        }
    }
}
