//! A response: status, a few headers, and a body that is either in memory or generated on
//! the fly. Content-Length is always computed from the body, so it cannot be wrong.

use super::status::Status;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// Fills `out` with the bytes of a generated body starting at byte `offset`.
pub type BodyGenerator = fn(offset: usize, out: &mut [u8]);

/// What follows the head.
pub enum Body {
    /// An embedded file: part of the kernel image.
    Static(&'static [u8]),
    /// Made for this request (JSON, error pages).
    Owned(Vec<u8>),
    /// `len` bytes made chunk by chunk while sending, never stored whole.
    Generated { len: usize, fill: BodyGenerator },
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

/// A response before it is written.
pub struct Response {
    pub status: Status,
    pub content_type: &'static str,
    pub body: Body,
    /// The `Allow` header of a 405 answer: the methods the resource supports.
    pub allow: Option<&'static str>,
    /// `Cache-Control: no-store`, for live data the browser must fetch again each time.
    pub no_store: bool,
}

impl Response {
    /// A 200 answer with this body.
    pub fn ok(content_type: &'static str, body: Body) -> Response {
        Response {
            status: Status::Ok,
            content_type,
            body,
            allow: None,
            no_store: false,
        }
    }

    /// An error answer whose body is its status line, as plain text.
    pub fn error(status: Status) -> Response {
        let mut text = String::new();
        let _ = writeln!(text, "{} {}", status.code(), status.reason());
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Body::Owned(text.into_bytes()),
            allow: None,
            no_store: false,
        }
    }

    /// The status line and headers, ending with the blank line. A HEAD answer sends exactly
    /// this head (with the Content-Length of the body it would have sent) and no body.
    pub fn head(&self, keep_alive: bool) -> String {
        let mut head = String::with_capacity(192);
        // Writing to a String cannot fail.
        let _ = write!(
            head,
            "HTTP/1.1 {} {}\r\nServer: micro-kernel\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            self.status.code(),
            self.status.reason(),
            self.content_type,
            self.body.len(),
            if keep_alive { "keep-alive" } else { "close" },
        );
        if let Some(methods) = self.allow {
            let _ = write!(head, "Allow: {methods}\r\n");
        }
        if self.no_store {
            head.push_str("Cache-Control: no-store\r\n");
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
        assert!(head.ends_with("\r\n\r\n"));
    }

    #[test]
    fn error_answers_explain_themselves() {
        let mut response = Response::error(Status::MethodNotAllowed);
        response.allow = Some("GET, HEAD");
        let head = response.head(false);
        assert!(head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(head.contains("\r\nAllow: GET, HEAD\r\n"));
        assert!(head.contains("\r\nConnection: close\r\n"));
        assert!(matches!(&response.body, Body::Owned(b) if b == b"405 Method Not Allowed\n"));
    }

    #[test]
    fn generated_bodies_have_a_declared_length() {
        let body = Body::Generated {
            len: 1 << 20,
            fill: |_, out| out.fill(0),
        };
        assert_eq!(body.len(), 1 << 20);
        assert!(Body::Static(b"").is_empty());
    }
}
