//! A response: status, the headers this server sends, and a body that is in memory or
//! generated on the fly. Content-Length is always computed from the body, so it cannot be
//! wrong, and the head is written by one function, [`Response::head`], so that GET and HEAD
//! (which sends the same head and no body) cannot disagree.

use super::conditional::Validators;
use super::http_date::HttpDate;
use super::status::Status;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// Fills `out` with the bytes of a generated resource starting at byte `offset`.
pub type BodyGenerator = fn(offset: usize, out: &mut [u8]);

/// What follows the head.
pub enum Body {
    /// An embedded file (or a range of one): part of the kernel image.
    Static(&'static [u8]),
    /// Made for this request (JSON, error pages).
    Owned(Vec<u8>),
    /// Bytes `start..start + len` of a generated resource, made while sending, never stored whole.
    Generated {
        start: usize,
        len: usize,
        fill: BodyGenerator,
    },
}

impl Body {
    pub fn len(&self) -> usize {
        match self {
            Body::Static(bytes) => bytes.len(),
            Body::Owned(bytes) => bytes.len(),
            Body::Generated { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How caches may keep a response (RFC 9111, section 5.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// No Cache-Control: error answers.
    Unspecified,
    /// `no-store`: live data (the JSON API), never kept.
    NoStore,
    /// `no-cache`: kept, but checked with the server (a 304 when unchanged) before each use.
    /// Right for files that change whenever the kernel is rebuilt.
    Revalidate,
}

/// Which bytes of the resource a 206 or 416 answer is about (RFC 9110, section 14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes first-last/total`.
    Part { first: u64, last: u64, total: u64 },
    /// `bytes */total`: none of the asked bytes exist.
    Unsatisfied { total: u64 },
}

/// The policy for HTML pages (the dashboard): scripts, styles, images and fetches from this
/// server only (plus `data:` images, for the page's empty favicon); no plugins, no frames
/// around it, no base URL or form target elsewhere. The page has no inline script or style,
/// so nothing needs 'unsafe-inline'.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A response before it is written.
pub struct Response {
    pub status: Status,
    /// `None` for answers without content (OPTIONS, 304).
    pub content_type: Option<&'static str>,
    pub body: Body,
    /// The `Allow` header (405 and OPTIONS answers): the methods the resource supports.
    pub allow: Option<&'static str>,
    pub caching: Caching,
    /// ETag and Last-Modified of a resource that has them.
    pub validators: Option<Validators>,
    /// `Accept-Ranges: bytes`: the resource can be asked for in parts.
    pub accept_ranges: bool,
    pub content_range: Option<ContentRange>,
    /// `Retry-After`, in seconds (503 answers).
    pub retry_after: Option<u64>,
}

impl Response {
    /// A 200 answer with this body.
    pub fn ok(content_type: &'static str, body: Body) -> Response {
        Response {
            status: Status::Ok,
            content_type: Some(content_type),
            body,
            allow: None,
            caching: Caching::Unspecified,
            validators: None,
            accept_ranges: false,
            content_range: None,
            retry_after: None,
        }
    }

    /// An answer without content (OPTIONS, 304): `Content-Length: 0` unless the status
    /// itself says there is no content.
    pub fn empty(status: Status) -> Response {
        Response {
            status,
            content_type: None,
            ..Response::ok("", Body::Static(b""))
        }
    }

    /// An error answer whose body is its status line, as plain text.
    pub fn error(status: Status) -> Response {
        let mut text = String::new();
        let _ = writeln!(text, "{} {}", status.code(), status.reason());
        Response {
            status,
            ..Response::ok("text/plain; charset=utf-8", Body::Owned(text.into_bytes()))
        }
    }

    /// Whether bytes follow the head: never for a HEAD request or a 304, whatever the body.
    pub fn sends_body(&self, head_request: bool) -> bool {
        !head_request && !self.status.has_no_content()
    }

    /// The status line and headers, ending with the blank line. A HEAD answer sends exactly
    /// this head (with the Content-Length of the body it would have sent) and no body.
    pub fn head(&self, keep_alive: bool) -> String {
        let mut head = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(
            head,
            "HTTP/1.1 {} {}\r\nServer: micro-kernel\r\n",
            self.status.code(),
            self.status.reason()
        );
        if let Some(content_type) = self.content_type {
            let _ = write!(head, "Content-Type: {content_type}\r\n");
        }
        if !self.status.has_no_content() {
            let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
        }
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let _ = write!(head, "Connection: {connection}\r\n");
        if let Some(methods) = self.allow {
            let _ = write!(head, "Allow: {methods}\r\n");
        }
        match self.caching {
            Caching::Unspecified => {}
            Caching::NoStore => head.push_str("Cache-Control: no-store\r\n"),
            Caching::Revalidate => head.push_str("Cache-Control: no-cache\r\n"),
        }
        if let Some(validators) = self.validators {
            let _ = write!(head, "ETag: {}\r\n", validators.etag);
            // A 304 with an ETag needs nothing more to update a cache (RFC 9110, 15.4.5).
            if let Some(modified) = validators.last_modified
                && self.status != Status::NotModified
            {
                let _ = write!(head, "Last-Modified: {}\r\n", HttpDate(modified));
            }
        }
        if self.accept_ranges {
            head.push_str("Accept-Ranges: bytes\r\n");
        }
        match self.content_range {
            Some(ContentRange::Part { first, last, total }) => {
                let _ = write!(head, "Content-Range: bytes {first}-{last}/{total}\r\n");
            }
            Some(ContentRange::Unsatisfied { total }) => {
                let _ = write!(head, "Content-Range: bytes */{total}\r\n");
            }
            None => {}
        }
        if let Some(seconds) = self.retry_after {
            let _ = write!(head, "Retry-After: {seconds}\r\n");
        }
        // No browser may guess another type than the one we say (a text file run as script).
        head.push_str("X-Content-Type-Options: nosniff\r\n");
        if self
            .content_type
            .is_some_and(|t| t.starts_with("text/html"))
        {
            let _ = write!(
                head,
                "Content-Security-Policy: {CONTENT_SECURITY_POLICY}\r\n"
            );
        }
        head.push_str("\r\n");
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_carries_the_body_length() {
        let response = Response::ok("text/html", Body::Static(b"<p>hi</p>"));
        let head = response.head(true);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains("\r\nContent-Length: 9\r\n"));
        assert!(head.contains("\r\nConnection: keep-alive\r\n"));
        assert!(head.contains("\r\nX-Content-Type-Options: nosniff\r\n"));
        assert!(
            head.contains("\r\nContent-Security-Policy: default-src 'none'; script-src 'self';")
        );
        assert!(head.ends_with("\r\n\r\n"));
        let css = Response::ok("text/css", Body::Static(b"p{}")).head(true);
        assert!(!css.contains("Content-Security-Policy"));
    }

    #[test]
    fn error_answers_explain_themselves() {
        let mut response = Response::error(Status::MethodNotAllowed);
        response.allow = Some("GET, HEAD, OPTIONS");
        let head = response.head(false);
        assert!(head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(head.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"));
        assert!(head.contains("\r\nConnection: close\r\n"));
        assert!(matches!(&response.body, Body::Owned(b) if b == b"405 Method Not Allowed\n"));
    }

    #[test]
    fn not_modified_has_validators_and_no_content() {
        let mut response = Response::empty(Status::NotModified);
        response.caching = Caching::Revalidate;
        response.validators = Some(Validators {
            etag: "\"1-2\"",
            last_modified: Some(0),
        });
        let head = response.head(true);
        assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"));
        assert!(head.contains("\r\nETag: \"1-2\"\r\n"));
        assert!(head.contains("\r\nCache-Control: no-cache\r\n"));
        assert!(!head.contains("Content-Length") && !head.contains("\r\nContent-Type:"));
        assert!(!head.contains("Last-Modified"));
        assert!(!response.sends_body(false));
    }

    #[test]
    fn ranges_and_retries() {
        let mut response = Response::ok("application/octet-stream", Body::Static(b"abc"));
        response.status = Status::PartialContent;
        response.accept_ranges = true;
        response.content_range = Some(ContentRange::Part {
            first: 1,
            last: 3,
            total: 10,
        });
        let head = response.head(true);
        assert!(head.contains("\r\nContent-Range: bytes 1-3/10\r\n"));
        assert!(head.contains("\r\nAccept-Ranges: bytes\r\n"));
        let mut busy = Response::error(Status::ServiceUnavailable);
        busy.retry_after = Some(1);
        assert!(busy.head(false).contains("\r\nRetry-After: 1\r\n"));
    }

    #[test]
    fn options_answers_have_a_zero_length() {
        let mut response = Response::empty(Status::Ok);
        response.allow = Some("GET, HEAD, OPTIONS");
        let head = response.head(true);
        assert!(head.contains("\r\nContent-Length: 0\r\n"));
        assert!(!head.contains("\r\nContent-Type:"));
    }

    #[test]
    fn generated_bodies_have_a_declared_length() {
        let body = Body::Generated {
            start: 0,
            len: 1 << 20,
            fill: |_, out| out.fill(0),
        };
        assert_eq!(body.len(), 1 << 20);
        assert!(Body::Static(b"").is_empty());
    }
}
