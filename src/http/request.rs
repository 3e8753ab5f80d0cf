//! Parsing one request head with httparse, and deciding what the connection does next.
//!
//! [`parse`] looks at the bytes received so far and says one of three things: a complete
//! request (and how many bytes its head took, so pipelined requests that follow can be
//! parsed next), not enough bytes yet, or a request the server refuses, with the status to
//! answer. The checks, in order: the head fits in [`MAX_HEAD_BYTES`], httparse accepts the
//! syntax, the method is one we know, the target fits in [`MAX_URI_BYTES`], and GET or HEAD
//! carry no body.

use super::limits::{MAX_HEAD_BYTES, MAX_HEADERS, MAX_URI_BYTES};
use super::status::Status;

/// The request methods of RFC 9110 (section 9) plus PATCH (RFC 5789). Any other token is
/// answered 501 Not Implemented; these are answered 405 unless they are GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
}

impl Method {
    fn from_token(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            _ => return None,
        })
    }

    /// GET and HEAD read; the others would change something, which a server of embedded
    /// files cannot do.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// A request head the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: Method,
    /// The path part of the target: everything before `?`.
    pub path: &'a str,
    /// HTTP/1.0 (`false`) or HTTP/1.1 (`true`).
    pub is_http11: bool,
    /// Whether the client wants the connection kept open after the response:
    /// HTTP/1.1 unless it sent `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
    /// Whether a body follows the head (Content-Length > 0 or any Transfer-Encoding). The
    /// server never reads bodies, so such a connection is closed after the response.
    pub has_body: bool,
}

/// What [`parse`] made of the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole head; `head_len` bytes of the buffer belong to it.
    Complete {
        request: Request<'a>,
        head_len: usize,
    },
    /// The head is not complete yet: read more.
    Incomplete,
    /// The server refuses this request with this status, then closes the connection.
    Rejected(Status),
}

/// Parses the request head at the start of `received`.
pub fn parse(received: &[u8]) -> Parsed<'_> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(received) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if received.len() >= MAX_HEAD_BYTES => {
            return Parsed::Rejected(too_large_status(received));
        }
        Ok(httparse::Status::Partial) => return Parsed::Incomplete,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Rejected(Status::HeaderFieldsTooLarge);
        }
        Err(httparse::Error::Version) => return Parsed::Rejected(Status::VersionNotSupported),
        Err(_) => return Parsed::Rejected(Status::BadRequest),
    };
    if head_len > MAX_HEAD_BYTES {
        return Parsed::Rejected(too_large_status(received));
    }
    // httparse fills every field of a complete request.
    let (Some(token), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Parsed::Rejected(Status::BadRequest);
    };
    let Some(method) = Method::from_token(token) else {
        return Parsed::Rejected(Status::NotImplemented);
    };
    if target.len() > MAX_URI_BYTES {
        return Parsed::Rejected(Status::UriTooLong);
    }
    let Ok(framing) = BodyFraming::from_headers(request.headers) else {
        return Parsed::Rejected(Status::BadRequest);
    };
    if method.is_read() && framing.has_body() {
        return Parsed::Rejected(Status::ContentTooLarge);
    }
    let is_http11 = version == 1;
    let keep_alive = match connection_option(request.headers) {
        ConnectionOption::Close => false,
        ConnectionOption::KeepAlive => true,
        ConnectionOption::Unspecified => is_http11,
    };
    let path = target.split_once('?').map_or(target, |(path, _query)| path);
    Parsed::Complete {
        request: Request {
            method,
            path,
            is_http11,
            keep_alive,
            has_body: framing.has_body(),
        },
        head_len,
    }
}

/// A head that filled the whole buffer: 414 if its request line alone is over the URI
/// limit (the target is what is too long), 431 otherwise.
fn too_large_status(received: &[u8]) -> Status {
    let request_line = received.split(|&b| b == b'\n').next().unwrap_or(received);
    if request_line.len() > MAX_URI_BYTES {
        Status::UriTooLong
    } else {
        Status::HeaderFieldsTooLarge
    }
}

/// How the request says its body is delimited (RFC 9112, section 6).
#[derive(Debug, Default)]
struct BodyFraming {
    content_length: Option<u64>,
    transfer_encoding: bool,
}

impl BodyFraming {
    /// Reads Content-Length and Transfer-Encoding. Several Content-Length fields that disagree,
    /// or one that is not a number, make the request malformed (RFC 9112, section 6.3).
    fn from_headers(headers: &[httparse::Header<'_>]) -> Result<BodyFraming, ()> {
        let mut framing = BodyFraming::default();
        for header in headers {
            if header.name.eq_ignore_ascii_case("content-length") {
                let value = core::str::from_utf8(header.value).map_err(|_| ())?.trim();
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(());
                }
                let length: u64 = value.parse().map_err(|_| ())?;
                if framing.content_length.is_some_and(|seen| seen != length) {
                    return Err(());
                }
                framing.content_length = Some(length);
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                framing.transfer_encoding = true;
            }
        }
        Ok(framing)
    }

    fn has_body(&self) -> bool {
        self.transfer_encoding || self.content_length.is_some_and(|length| length > 0)
    }
}

enum ConnectionOption {
    Close,
    KeepAlive,
    Unspecified,
}

/// The `Connection` header's options (RFC 9110, section 7.6.1): a comma-separated list in
/// which `close` wins over `keep-alive`.
fn connection_option(headers: &[httparse::Header<'_>]) -> ConnectionOption {
    let mut option = ConnectionOption::Unspecified;
    let options = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| h.value.split(|&b| b == b','));
    for token in options {
        let token = token.trim_ascii();
        if token.eq_ignore_ascii_case(b"close") {
            return ConnectionOption::Close;
        }
        if token.eq_ignore_ascii_case(b"keep-alive") {
            option = ConnectionOption::KeepAlive;
        }
    }
    option
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(text: &[u8]) -> (Request<'_>, usize) {
        match parse(text) {
            Parsed::Complete { request, head_len } => (request, head_len),
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    #[test]
    fn simple_get() {
        let text = b"GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
        let (request, head_len) = complete(text);
        assert_eq!(head_len, text.len());
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.path, "/index.html");
        assert!(request.is_http11 && request.keep_alive && !request.has_body);
    }

    #[test]
    fn keep_alive_rules() {
        assert!(
            !complete(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(
            !complete(b"GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
        assert!(
            complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .0
                .keep_alive
        );
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert_eq!(parse(b""), Parsed::Incomplete);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: a\r\n"), Parsed::Incomplete);
        assert_eq!(parse(b"GE"), Parsed::Incomplete);
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time() {
        let text = b"GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n";
        let (first, len) = complete(text);
        assert_eq!(first.path, "/a");
        let (second, _) = complete(&text[len..]);
        assert_eq!((second.method, second.path), (Method::Head, "/b"));
    }

    #[test]
    fn refusals() {
        let rejected = |text: &[u8]| match parse(text) {
            Parsed::Rejected(status) => status.code(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(rejected(b"\x00\x01garbage\r\n\r\n"), 400);
        assert_eq!(rejected(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"), 400);
        assert_eq!(rejected(b"BREW /pot HTTP/1.1\r\n\r\n"), 501);
        assert_eq!(rejected(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(
            rejected(b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            413
        );
        assert_eq!(
            rejected(b"HEAD / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            413
        );
        assert_eq!(
            rejected(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            400
        );
        assert_eq!(
            rejected(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
    }

    #[test]
    fn get_with_empty_body_is_fine() {
        let (request, _) = complete(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert!(!request.has_body);
        let (request, _) = complete(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        assert!(request.has_body);
    }

    #[test]
    fn limits() {
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI_BYTES));
        assert_eq!(
            parse(long_target.as_bytes()),
            Parsed::Rejected(Status::UriTooLong)
        );

        let huge_target = format!("GET /{}", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(
            parse(huge_target.as_bytes()),
            Parsed::Rejected(Status::UriTooLong)
        );

        let big_header = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(
            parse(big_header.as_bytes()),
            Parsed::Rejected(Status::HeaderFieldsTooLarge)
        );

        let many: String = (0..=MAX_HEADERS).map(|i| format!("X{i}: y\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(
            parse(many.as_bytes()),
            Parsed::Rejected(Status::HeaderFieldsTooLarge)
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic, and a refusal is always an error status.
        #[test]
        fn arbitrary_bytes_parse_without_panicking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
        ) {
            match parse(&bytes) {
                Parsed::Complete { head_len, .. } => proptest::prop_assert!(head_len <= bytes.len()),
                Parsed::Rejected(status) => proptest::prop_assert!(status.code() >= 400),
                Parsed::Incomplete => proptest::prop_assert!(bytes.len() < MAX_HEAD_BYTES),
            }
        }

        /// Every strict prefix of a valid head asks for more bytes (a request split across
        /// TCP segments is never refused), and the whole head parses back to what was sent.
        #[test]
        fn valid_heads_round_trip_and_their_prefixes_are_incomplete(
            path in "/[a-z0-9/._-]{0,40}",
            headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,12}", "[!-~]{0,30}"), 0..6),
            close in proptest::prelude::any::<bool>(),
        ) {
            let mut head = alloc::format!("GET {path} HTTP/1.1\r\n");
            for (name, value) in &headers {
                let lower = name.to_ascii_lowercase();
                if ["connection", "content-length", "transfer-encoding"].contains(&lower.as_str()) {
                    continue;
                }
                head.push_str(&alloc::format!("{name}: {value}\r\n"));
            }
            if close {
                head.push_str("Connection: close\r\n");
            }
            head.push_str("\r\n");
            let bytes = head.as_bytes();
            for end in 0..bytes.len() {
                proptest::prop_assert_eq!(parse(&bytes[..end]), Parsed::Incomplete);
            }
            let (request, head_len) = complete(bytes);
            proptest::prop_assert_eq!(head_len, bytes.len());
            proptest::prop_assert_eq!(request.path, path.as_str());
            proptest::prop_assert_eq!(request.keep_alive, !close);
            proptest::prop_assert!(!request.has_body);
        }
    }
}
