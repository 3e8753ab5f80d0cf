//! Parsing one request head with httparse, and deciding what the connection does next.
//!
//! [`parse`] looks at the bytes received so far and says one of three things: a complete
//! request (and how many bytes its head took, so that its body and the pipelined requests
//! that follow can be told apart), not enough bytes yet, or a request the server refuses,
//! with the status to answer. The checks, in order (RFC 9112 unless said otherwise):
//!
//! | what arrives | answer |
//! |---|---|
//! | a head over [`MAX_HEAD_BYTES`], or over [`MAX_HEADERS`] fields | 431 (414 if the request line alone is too long) |
//! | bytes httparse rejects | 400 |
//! | a version token that is not `HTTP/` + digits (`http/1.1`: versions are case-sensitive, section 2.3) | 400 |
//! | another version than 1.0 and 1.1 (`HTTP/2.0`) | 505 |
//! | a method token that is not a known method | 501 |
//! | a target longer than [`MAX_URI_BYTES`] | 414 |
//! | a target that is malformed or climbs out (src/http/target.rs) | 400 |
//! | HTTP/1.1 without `Host`, or two `Host` fields, or a bad one (section 3.2) | 400 |
//! | a bad or repeated Content-Length, or both Content-Length and Transfer-Encoding (section 6.3) | 400 |
//! | a Transfer-Encoding other than `chunked` (section 6.1) | 501 |
//! | `chunked` not last in Transfer-Encoding | 400 |
//! | a chunked body | 411 Length Required (see below) |
//! | a Content-Length over [`MAX_DISCARDED_BODY_BYTES`] | 413 |
//!
//! **Bodies.** No resource here takes a body, but a client may send one anyway (a POST
//! answered 405, a GET with `Content-Length: 5`). A body with a Content-Length up to
//! [`MAX_DISCARDED_BODY_BYTES`] is read and thrown away, so the connection can go on to the
//! next request. A chunked body would need a chunked decoder only to find where the body
//! ends, for bytes nobody wants: the server asks for a length instead (411) and closes.

use super::conditional::Preconditions;
use super::limits::{MAX_DISCARDED_BODY_BYTES, MAX_HEAD_BYTES, MAX_HEADERS, MAX_URI_BYTES};
use super::status::Status;
use super::target::{self, Target};

/// The request methods of RFC 9110 (section 9) plus PATCH (RFC 5789). Any other token is
/// answered 501 Not Implemented; these are answered 405 unless they are GET, HEAD or OPTIONS.
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

    /// The method's name as the request line spells it.
    pub fn token(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
        }
    }

    /// GET and HEAD read; the others but OPTIONS would change something, which a server of
    /// embedded files cannot do.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// A request head the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: Method,
    /// What the target names: a decoded path, or the server itself (`*`).
    pub target: Target<'a>,
    /// HTTP/1.0 (`false`) or HTTP/1.1 (`true`).
    pub is_http11: bool,
    /// Whether the client wants the connection kept open after the response:
    /// HTTP/1.1 unless it sent `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
    /// The length of the body after the head (its Content-Length, 0 if none). The server
    /// reads it and throws it away.
    pub body_len: u64,
    /// `Expect: 100-continue`: the client may hold its body back until told to send it.
    /// The server never says so; it answers, and closes after the response.
    pub expects_continue: bool,
    /// If-None-Match, If-Modified-Since, If-Range (src/http/conditional.rs).
    pub preconditions: Preconditions<'a>,
    /// The `Range` header, if any (src/http/range.rs).
    pub range: Option<&'a str>,
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
    /// `head` says the request was a HEAD, whose answer has no body whatever its status.
    Rejected { status: Status, head: bool },
}

/// Parses the request head at the start of `received`.
pub fn parse(received: &[u8]) -> Parsed<'_> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let parsed = request.parse(received);
    let head = request.method == Some("HEAD") || received.starts_with(b"HEAD ");
    let reject = |status| Parsed::Rejected { status, head };
    let head_len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if received.len() >= MAX_HEAD_BYTES => {
            return reject(too_large_status(received));
        }
        Ok(httparse::Status::Partial) => return Parsed::Incomplete,
        Err(httparse::Error::TooManyHeaders) => return reject(Status::HeaderFieldsTooLarge),
        Err(httparse::Error::Version) => return reject(version_status(received)),
        Err(_) => return reject(Status::BadRequest),
    };
    if head_len > MAX_HEAD_BYTES {
        return reject(too_large_status(received));
    }
    // httparse fills every field of a complete request.
    let (Some(token), Some(raw_target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return reject(Status::BadRequest);
    };
    let Some(method) = Method::from_token(token) else {
        return reject(Status::NotImplemented);
    };
    if raw_target.len() > MAX_URI_BYTES {
        return reject(Status::UriTooLong);
    }
    let target = match target::parse(raw_target) {
        Ok(Target::Server) if method != Method::Options => return reject(Status::BadRequest),
        Ok(target) => target,
        Err(status) => return reject(status),
    };
    let is_http11 = version == 1;
    let fields = Fields::read(request.headers);
    if fields.hosts > 1 || (is_http11 && fields.hosts == 0) || fields.bad_host {
        return reject(Status::BadRequest);
    }
    let body_len = match fields.body() {
        Ok(length) => length,
        Err(status) => return reject(status),
    };
    let keep_alive = match fields.connection {
        ConnectionOption::Close => false,
        ConnectionOption::KeepAlive => true,
        ConnectionOption::Unspecified => is_http11,
    };
    Parsed::Complete {
        request: Request {
            method,
            target,
            is_http11,
            keep_alive,
            body_len,
            expects_continue: fields.expects_continue,
            preconditions: fields.preconditions,
            range: fields.range,
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

/// httparse refuses any version but `HTTP/1.0` and `HTTP/1.1`. A well-formed version we do
/// not speak (`HTTP/2.0`) is 505; anything else in its place (`http/1.1`, `HTTP/x`) is not a
/// version at all, so the request is malformed: 400.
fn version_status(received: &[u8]) -> Status {
    let line = received
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(received);
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or(b"");
    let well_formed = version.strip_prefix(b"HTTP/").is_some_and(|number| {
        matches!(number, [major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit())
            || matches!(number, [major] if major.is_ascii_digit())
    });
    if well_formed {
        Status::VersionNotSupported
    } else {
        Status::BadRequest
    }
}

enum ConnectionOption {
    Close,
    KeepAlive,
    Unspecified,
}

/// The header fields the server acts on, read in one pass.
struct Fields<'a> {
    hosts: usize,
    bad_host: bool,
    content_length: Option<Result<u64, ()>>,
    /// The codings of Transfer-Encoding, in order (several fields are one list).
    transfer_codings: TransferCodings,
    connection: ConnectionOption,
    expects_continue: bool,
    preconditions: Preconditions<'a>,
    range: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn read(headers: &[httparse::Header<'a>]) -> Fields<'a> {
        let mut fields = Fields {
            hosts: 0,
            bad_host: false,
            content_length: None,
            transfer_codings: TransferCodings::default(),
            connection: ConnectionOption::Unspecified,
            expects_continue: false,
            preconditions: Preconditions::default(),
            range: None,
        };
        for header in headers {
            let name = header.name;
            let text = core::str::from_utf8(header.value).ok().map(str::trim);
            if name.eq_ignore_ascii_case("host") {
                fields.hosts += 1;
                fields.bad_host |= !text.is_some_and(valid_host);
            } else if name.eq_ignore_ascii_case("content-length") {
                fields.content_length = Some(match (fields.content_length, text.map(length)) {
                    (_, None | Some(None)) => Err(()),
                    (Some(Ok(seen)), Some(Some(length))) if seen != length => Err(()),
                    (Some(Err(())), _) => Err(()),
                    (_, Some(Some(length))) => Ok(length),
                });
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                fields.transfer_codings.add_list(text.unwrap_or("?"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in header.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        fields.connection = ConnectionOption::Close;
                    } else if token.eq_ignore_ascii_case(b"keep-alive")
                        && !matches!(fields.connection, ConnectionOption::Close)
                    {
                        fields.connection = ConnectionOption::KeepAlive;
                    }
                }
            } else if name.eq_ignore_ascii_case("expect") {
                fields.expects_continue |=
                    text.is_some_and(|t| t.eq_ignore_ascii_case("100-continue"));
            } else if name.eq_ignore_ascii_case("if-none-match") {
                fields.preconditions.if_none_match = text;
            } else if name.eq_ignore_ascii_case("if-modified-since") {
                fields.preconditions.if_modified_since = text;
            } else if name.eq_ignore_ascii_case("if-range") {
                fields.preconditions.if_range = text;
            } else if name.eq_ignore_ascii_case("range") {
                fields.range = text;
            }
        }
        fields
    }

    /// How long the body is (RFC 9112, section 6.3), or the refusal.
    fn body(&self) -> Result<u64, Status> {
        if !self.transfer_codings.is_empty() {
            if self.content_length.is_some() {
                // Both: a sign of request smuggling; the message is malformed.
                return Err(Status::BadRequest);
            }
            return Err(self.transfer_codings.refusal());
        }
        match self.content_length {
            None => Ok(0),
            Some(Err(())) => Err(Status::BadRequest),
            Some(Ok(length)) if length > MAX_DISCARDED_BODY_BYTES => Err(Status::ContentTooLarge),
            Some(Ok(length)) => Ok(length),
        }
    }
}

/// A Content-Length value: digits only (no sign, no spaces inside), within u64.
fn length(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A Host value: `uri-host [":" port]` (RFC 9110, section 7.2), possibly empty. Checked
/// loosely: visible ASCII without the characters that would end or change a URI authority.
fn valid_host(host: &str) -> bool {
    host.bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'\\' | b'?' | b'#' | b'@'))
}

/// The Transfer-Encoding list, reduced to what decides the answer: whether it is exactly
/// `chunked`, names another coding, or has chunked anywhere but last (no heap needed).
#[derive(Debug, Default)]
struct TransferCodings {
    count: usize,
    chunked: usize,
    other: bool,
    chunked_last: bool,
}

impl TransferCodings {
    /// Adds the codings of one field value (`gzip, chunked`).
    fn add_list(&mut self, list: &str) {
        let mut codings = list
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .peekable();
        if codings.peek().is_none() {
            // An empty Transfer-Encoding names no coding we know.
            self.count += 1;
            self.other = true;
            self.chunked_last = false;
        }
        for coding in codings {
            // Parameters (`;q=...`) do not apply to chunked: with one it is "something else".
            let is_chunked = coding.eq_ignore_ascii_case("chunked");
            self.count += 1;
            self.chunked += usize::from(is_chunked);
            self.other |= !is_chunked;
            self.chunked_last = is_chunked;
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The refusal for a request with these codings (it has a body we will not decode).
    fn refusal(&self) -> Status {
        if self.chunked > 0 && !self.chunked_last {
            Status::BadRequest // the body's end cannot be found (RFC 9112, section 6.3)
        } else if self.other {
            Status::NotImplemented // a coding we do not know (section 6.1)
        } else if self.chunked > 1 {
            Status::BadRequest // chunked twice
        } else {
            Status::LengthRequired // a chunked body: we ask for a Content-Length instead
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::borrow::Cow;

    fn complete(text: &[u8]) -> (Request<'_>, usize) {
        match parse(text) {
            Parsed::Complete { request, head_len } => (request, head_len),
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    fn rejected(text: &[u8]) -> u16 {
        match parse(text) {
            Parsed::Rejected { status, .. } => status.code(),
            other => panic!("expected a refusal of {text:?}, got {other:?}"),
        }
    }

    fn path_of<'a>(request: &'a Request<'_>) -> &'a str {
        match &request.target {
            Target::Path(path) => path,
            Target::Server => "*",
        }
    }

    #[test]
    fn simple_get() {
        let text = b"GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
        let (request, head_len) = complete(text);
        assert_eq!(head_len, text.len());
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.target, Target::Path(Cow::Borrowed("/index.html")));
        assert!(request.is_http11 && request.keep_alive && request.body_len == 0);
    }

    #[test]
    fn keep_alive_rules() {
        let keep = |text: &[u8]| complete(text).0.keep_alive;
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        ));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n"
        ));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n"
        ));
        assert!(!keep(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(keep(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert_eq!(parse(b""), Parsed::Incomplete);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: a\r\n"), Parsed::Incomplete);
        assert_eq!(parse(b"GE"), Parsed::Incomplete);
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time() {
        let text = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\n";
        let (first, len) = complete(text);
        assert_eq!(path_of(&first), "/a");
        let (second, _) = complete(&text[len..]);
        assert_eq!((second.method, path_of(&second)), (Method::Head, "/b"));
    }

    #[test]
    fn host_rules() {
        assert_eq!(rejected(b"GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            rejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            400
        );
        assert_eq!(
            rejected(b"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n"),
            400
        );
        assert_eq!(rejected(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
        assert_eq!(rejected(b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"), 400);
        // HTTP/1.0 may leave it out; an empty one is allowed; so is a port.
        complete(b"GET / HTTP/1.0\r\n\r\n");
        complete(b"GET / HTTP/1.1\r\nHost:\r\n\r\n");
        complete(b"GET / HTTP/1.1\r\nHost: 10.0.2.15:80\r\n\r\n");
        complete(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    }

    #[test]
    fn target_forms() {
        let (request, _) = complete(b"GET http://10.0.2.15/style.css HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(path_of(&request), "/style.css");
        let (request, _) = complete(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(request.target, Target::Server);
        assert_eq!(rejected(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(
            rejected(b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n"),
            400
        );
        let (request, _) = complete(b"GET /%69ndex.html HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(path_of(&request), "/index.html");
        assert_eq!(
            rejected(b"GET /%2e%2e/Cargo.toml HTTP/1.1\r\nHost: x\r\n\r\n"),
            400
        );
        let (request, _) = complete(b"GET //index.html HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(path_of(&request), "//index.html");
    }

    #[test]
    fn versions() {
        assert_eq!(rejected(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(rejected(b"GET / HTTP/3\r\n\r\n"), 505);
        assert_eq!(rejected(b"GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(rejected(b"GET / HTTP/one\r\n\r\n"), 400);
        assert_eq!(rejected(b"GET / FOO\r\n\r\n"), 400);
    }

    #[test]
    fn bodies() {
        let text = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
        let (request, head_len) = complete(text);
        assert_eq!((request.body_len, head_len), (5, text.len() - 5));
        let (request, _) = complete(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(request.body_len, 0);
        let limit = MAX_DISCARDED_BODY_BYTES;
        let at_limit =
            alloc::format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {limit}\r\n\r\n");
        assert_eq!(complete(at_limit.as_bytes()).0.body_len, limit);
        let over = alloc::format!(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            limit + 1
        );
        assert_eq!(rejected(over.as_bytes()), 413);
        assert_eq!(
            rejected(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"),
            400
        );
        assert_eq!(
            rejected(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
            400
        );
        assert_eq!(
            rejected(
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
            ),
            400
        );
        let (same_twice, _) = complete(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
        );
        assert_eq!(same_twice.body_len, 2);
        let (expect, _) = complete(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        );
        assert!(expect.expects_continue);
    }

    #[test]
    fn transfer_encodings() {
        let te = |value: &str| {
            rejected(
                alloc::format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {value}\r\n\r\n")
                    .as_bytes(),
            )
        };
        assert_eq!(te("chunked"), 411);
        assert_eq!(te("gzip"), 501);
        assert_eq!(te("gzip, chunked"), 501);
        assert_eq!(te("chunked, gzip"), 400);
        assert_eq!(te("chunked, chunked"), 400);
        assert_eq!(te(""), 501);
        assert_eq!(
            rejected(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
        assert_eq!(
            rejected(b"HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
            501
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(rejected(b"\x00\x01garbage\r\n\r\n"), 400);
        assert_eq!(rejected(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"), 400);
        assert_eq!(rejected(b"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
        // A refused HEAD is still a HEAD: its answer has no body.
        assert_eq!(
            parse(b"HEAD / HTTP/1.1\r\n\r\n"),
            Parsed::Rejected {
                status: Status::BadRequest,
                head: true
            }
        );
    }

    #[test]
    fn preconditions_and_ranges_are_kept() {
        let (request, _) = complete(
            b"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nRange: bytes=0-9\r\nIf-Range: \"x\"\r\n\r\n",
        );
        assert_eq!(request.preconditions.if_none_match, Some("\"x\""));
        assert_eq!(
            request.preconditions.if_modified_since,
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert_eq!(request.preconditions.if_range, Some("\"x\""));
        assert_eq!(request.range, Some("bytes=0-9"));
    }

    #[test]
    fn limits() {
        let long_target = format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "a".repeat(MAX_URI_BYTES)
        );
        assert_eq!(rejected(long_target.as_bytes()), 414);
        let huge_target = format!("GET /{}", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(rejected(huge_target.as_bytes()), 414);
        let big_header = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(rejected(big_header.as_bytes()), 431);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X{i}: y\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(rejected(many.as_bytes()), 431);
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic, and a refusal is always an error status.
        #[test]
        fn arbitrary_bytes_parse_without_panicking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
        ) {
            match parse(&bytes) {
                Parsed::Complete { head_len, .. } => proptest::prop_assert!(head_len <= bytes.len()),
                Parsed::Rejected { status, .. } => proptest::prop_assert!(status.code() >= 400),
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
            proptest::prop_assume!(!path.split('/').any(|s| s == "." || s == ".."));
            let mut head = alloc::format!("GET {path} HTTP/1.1\r\nHost: k\r\n");
            for (name, value) in &headers {
                let lower = name.to_ascii_lowercase();
                if ["connection", "content-length", "transfer-encoding", "host"].contains(&lower.as_str()) {
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
            proptest::prop_assert_eq!(path_of(&request), path.as_str());
            proptest::prop_assert_eq!(request.keep_alive, !close);
            proptest::prop_assert_eq!(request.body_len, 0);
        }
    }
}
