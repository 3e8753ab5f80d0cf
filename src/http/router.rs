//! From a request to a response: which resource the path names, whether the method applies
//! to it, the preconditions and ranges, and the answer.
//!
//! | path | resource |
//! |---|---|
//! | `/`, `/index.html`, `/style.css`, ... | embedded files of www/ |
//! | `/docs/`, `/docs/NN-name.html` | the book: its contents and its chapters as HTML pages |
//! | `/docs/NN-name.md`, `/docs/SUMMARY.md` | the book's Markdown, as plain text |
//! | `/api/stats`, `/api/threads`, `/api/pci` | live JSON ([`super::api`]) |
//! | `/big.bin` | 1 MiB generated while sending, for throughput tests |
//!
//! Files and `/big.bin` have validators (an ETag, and for files a Last-Modified) and can be
//! asked for in byte ranges; the JSON is live, never cached (`no-store`) and always whole.

use super::api::{self, StatsDocument};
use super::conditional::{Preconditions, Validators};
use super::limits::BIG_FILE_BYTES;
use super::range::{self, RangeAnswer};
use super::request::{Method, Request};
use super::response::{Body, BodyGenerator, Caching, ContentRange, Response};
use super::site::{self, SiteFile};
use super::stats::{HttpCounters, KernelProbe};
use super::status::Status;
use super::target::Target;
use crate::trace::{self, Step};

/// The methods every resource here supports: the `Allow` header of 405 and OPTIONS answers.
pub const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";

/// `/big.bin`'s strong ETag. Its bytes depend only on the pattern and the size, both in the
/// tag: change either and the tag changes.
const BIG_FILE_ETAG: &str = "\"i-mod-251-1048576\"";

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    File(SiteFile),
    Stats,
    Threads,
    Pci,
    BigFile,
}

/// The bytes of a resource that can be cached and asked for in ranges.
enum Content {
    Static(&'static [u8]),
    Generated { len: usize, fill: BodyGenerator },
}

impl Content {
    fn len(&self) -> u64 {
        match self {
            Content::Static(bytes) => bytes.len() as u64,
            Content::Generated { len, .. } => *len as u64,
        }
    }

    /// Bytes `first..=last` as a body.
    fn part(&self, first: u64, last: u64) -> Body {
        let (first, end) = (first as usize, last as usize + 1);
        match *self {
            Content::Static(bytes) => Body::Static(&bytes[first..end]),
            Content::Generated { fill, .. } => Body::Generated {
                start: first,
                len: end - first,
                fill,
            },
        }
    }

    fn whole(&self) -> Body {
        match *self {
            Content::Static(bytes) => Body::Static(bytes),
            Content::Generated { len, fill } => Body::Generated {
                start: 0,
                len,
                fill,
            },
        }
    }
}

/// Answers requests from the embedded site and the kernel's figures.
pub struct Router<'a> {
    pub probe: &'a dyn KernelProbe,
    pub counters: &'a HttpCounters,
    /// The size of the worker pool, reported by `/api/stats`.
    pub workers: u64,
}

impl Router<'_> {
    /// The full response to `request`, body included even for HEAD (the connection sends
    /// the head only, so both carry the same headers).
    pub fn respond(&self, request: &Request<'_>) -> Response {
        let response = self.choose(request);
        if trace::expects(Step::Router) {
            trace::step(
                Step::Router,
                "src/http/router.rs Router::respond",
                format_args!(
                    "{} {} -> {} {}, {} bytes of body",
                    request.method.token(),
                    match &request.target {
                        Target::Path(path) => path,
                        Target::Server => "*",
                    },
                    response.status.code(),
                    response.status.reason(),
                    response.body.len()
                ),
            );
        }
        response
    }

    /// What [`respond`](Self::respond) answers.
    fn choose(&self, request: &Request<'_>) -> Response {
        let path = match &request.target {
            Target::Path(path) => path,
            Target::Server => return options_answer(), // only OPTIONS reaches here with `*`
        };
        let resource = match resolve(path) {
            Some(resource) => resource,
            None => return Response::error(Status::NotFound),
        };
        match request.method {
            Method::Get | Method::Head => {}
            Method::Options => return options_answer(),
            _ => {
                let mut response = Response::error(Status::MethodNotAllowed);
                response.allow = Some(ALLOWED_METHODS);
                return response;
            }
        }
        let (content_type, content, validators, security_policy) = match resource {
            Resource::File(file) => (
                file.content_type,
                Content::Static(file.bytes),
                file.validators,
                file.security_policy,
            ),
            Resource::BigFile => (
                "application/octet-stream",
                Content::Generated {
                    len: BIG_FILE_BYTES,
                    fill: big_file_bytes,
                },
                Validators {
                    etag: BIG_FILE_ETAG,
                    last_modified: None,
                },
                None,
            ),
            Resource::Stats => {
                let scheduler = self.probe.scheduler();
                let http = self.counters.snapshot(self.workers);
                return json(api::stats_json(&StatsDocument {
                    uptime_ms: self.probe.uptime_ms(),
                    scheduler: &scheduler,
                    memory: &self.probe.memory(),
                    nic: &self.probe.nic(),
                    http: &http,
                }));
            }
            Resource::Threads => return json(api::threads_json(&self.probe.scheduler())),
            Resource::Pci => return json(api::pci_json(&self.probe.pci_devices())),
        };
        let range = if request.method == Method::Get {
            request.range
        } else {
            None // Range applies to GET only (RFC 9110, section 14.2)
        };
        let mut response = cacheable(
            content_type,
            content,
            validators,
            &request.preconditions,
            range,
        );
        // The page's policy goes with the page (200, 206), not with a 304 or a 416.
        if response.content_type == Some(content_type) {
            response.security_policy = security_policy;
        }
        response
    }
}

/// The answer for a file or `/big.bin`: 304 if the client's copy is current, else the
/// content, whole (200), in part (206), or 416 for a range with no bytes in it.
fn cacheable(
    content_type: &'static str,
    content: Content,
    validators: Validators,
    preconditions: &Preconditions<'_>,
    range: Option<&str>,
) -> Response {
    let total = content.len();
    let mut response = if preconditions.not_modified(&validators) {
        Response::empty(Status::NotModified)
    } else {
        let answer = match range {
            Some(range) if preconditions.range_applies(&validators) => range::resolve(range, total),
            _ => RangeAnswer::Whole,
        };
        match answer {
            RangeAnswer::Whole => Response::ok(content_type, content.whole()),
            RangeAnswer::Part { first, last } => {
                let mut part = Response::ok(content_type, content.part(first, last));
                part.status = Status::PartialContent;
                part.content_range = Some(ContentRange::Part { first, last, total });
                part
            }
            RangeAnswer::Unsatisfiable => {
                let mut none = Response::error(Status::RangeNotSatisfiable);
                none.content_range = Some(ContentRange::Unsatisfied { total });
                none
            }
        }
    };
    response.caching = Caching::Revalidate;
    response.validators = Some(validators);
    response.accept_ranges = true;
    response
}

/// 200 with `Allow` and no content: what OPTIONS gets, for `*` and for any resource.
fn options_answer() -> Response {
    let mut response = Response::empty(Status::Ok);
    response.allow = Some(ALLOWED_METHODS);
    response
}

fn json(document: alloc::string::String) -> Response {
    let mut response = Response::ok("application/json", Body::Owned(document.into_bytes()));
    response.caching = Caching::NoStore;
    response
}

/// The resource at a decoded path (src/http/target.rs has already refused the paths that
/// climb out): the API, `/big.bin`, or an embedded file.
fn resolve(path: &str) -> Option<Resource> {
    match path {
        "/api/stats" => Some(Resource::Stats),
        "/api/threads" => Some(Resource::Threads),
        "/api/pci" => Some(Resource::Pci),
        "/big.bin" => Some(Resource::BigFile),
        _ => site::lookup(path).map(Resource::File),
    }
}

/// The period of `/big.bin`'s pattern: a prime, so that no two 4 KiB pages are alike.
const BIG_FILE_PERIOD: usize = 251;

/// One period of the pattern, `0, 1, ..., 250`, made at compile time.
const BIG_FILE_PERIOD_BYTES: [u8; BIG_FILE_PERIOD] = {
    let mut period = [0u8; BIG_FILE_PERIOD];
    let mut i = 0;
    while i < BIG_FILE_PERIOD {
        period[i] = i as u8;
        i += 1;
    }
    period
};

/// The contents of `/big.bin`: byte `i` is `i mod 251`. The prime period means no two 4 KiB
/// pages are alike, so a client can check that every byte arrived in its place.
///
/// Made by copying the period, one `memcpy` per 251 bytes, not by a division per byte: the
/// byte loop was 5 to 20% of the guest's busy time while /big.bin was served under QEMU
/// (bench/profile.py), more when the loop happened to straddle a 4 KiB page of code, which
/// TCG runs without chaining its translated blocks (docs/09-network.md).
fn big_file_bytes(offset: usize, out: &mut [u8]) {
    let mut phase = offset % BIG_FILE_PERIOD;
    for piece in out.chunks_mut(BIG_FILE_PERIOD) {
        // A piece may end mid-period: copy what is left of this period, then the rest from
        // its start.
        let first = piece.len().min(BIG_FILE_PERIOD - phase);
        let (head, tail) = piece.split_at_mut(first);
        head.copy_from_slice(&BIG_FILE_PERIOD_BYTES[phase..phase + first]);
        tail.copy_from_slice(&BIG_FILE_PERIOD_BYTES[..tail.len()]);
        phase = (phase + piece.len()) % BIG_FILE_PERIOD;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::http::http_date::HttpDate;
    use crate::http::stats::{MemoryInfo, NicInfo, PciDeviceInfo, SchedulerInfo, ThreadInfo};
    use alloc::string::String;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Fixed figures, for tests.
    pub(crate) struct FakeProbe;

    impl KernelProbe for FakeProbe {
        fn uptime_ms(&self) -> u64 {
            1234
        }
        fn scheduler(&self) -> SchedulerInfo {
            SchedulerInfo {
                context_switches: 99,
                threads: vec![ThreadInfo {
                    id: 0,
                    name: "idle".to_string(),
                    state: "ready",
                    ticks: 5,
                }],
            }
        }
        fn memory(&self) -> MemoryInfo {
            MemoryInfo::default()
        }
        fn nic(&self) -> NicInfo {
            NicInfo::default()
        }
        fn pci_devices(&self) -> Vec<PciDeviceInfo> {
            Vec::new()
        }
    }

    pub(crate) static FAKE_COUNTERS: HttpCounters = HttpCounters::new();

    pub(crate) fn router() -> Router<'static> {
        Router {
            probe: &FakeProbe,
            counters: &FAKE_COUNTERS,
            workers: 8,
        }
    }

    pub(crate) fn request(method: Method, path: &str) -> Request<'_> {
        Request {
            method,
            target: Target::Path(path.into()),
            is_http11: true,
            keep_alive: true,
            body_len: 0,
            expects_continue: false,
            preconditions: Preconditions::default(),
            range: None,
        }
    }

    fn header<'a>(response: &Response, head: &'a mut String, name: &str) -> Option<&'a str> {
        *head = response.head(true);
        head.split("\r\n")
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
    }

    #[test]
    fn files_api_and_big_file() {
        let router = router();
        let home = router.respond(&request(Method::Get, "/"));
        assert_eq!(home.status, Status::Ok);
        assert!(home.content_type.unwrap().starts_with("text/html"));
        assert_eq!(home.security_policy, Some(site::DASHBOARD_POLICY));
        let chapter = router.respond(&request(Method::Get, "/docs/10-http.html"));
        assert_eq!(chapter.security_policy, Some(site::BOOK_POLICY));
        let contents = router.respond(&request(Method::Get, "/docs/"));
        assert!(contents.content_type.unwrap().starts_with("text/html"));
        assert_eq!(home.caching, Caching::Revalidate);
        assert!(home.validators.is_some() && home.accept_ranges);

        let stats = router.respond(&request(Method::Get, "/api/stats"));
        assert_eq!(stats.content_type, Some("application/json"));
        assert_eq!(stats.caching, Caching::NoStore);
        assert!(stats.validators.is_none() && !stats.accept_ranges);
        assert!(matches!(&stats.body, Body::Owned(b) if b.starts_with(b"{\"uptime_ms\":1234,")));

        let big = router.respond(&request(Method::Head, "/big.bin"));
        assert_eq!(big.body.len(), BIG_FILE_BYTES);
        assert!(BIG_FILE_ETAG.contains(&alloc::format!("-{BIG_FILE_BYTES}\"")));
    }

    #[test]
    fn wrong_method_and_missing_path() {
        let router = router();
        let post = router.respond(&request(Method::Post, "/index.html"));
        assert_eq!(post.status, Status::MethodNotAllowed);
        assert_eq!(post.allow, Some("GET, HEAD, OPTIONS"));
        let missing = router.respond(&request(Method::Get, "/missing"));
        assert_eq!(missing.status, Status::NotFound);
        let delete_missing = router.respond(&request(Method::Delete, "/missing"));
        assert_eq!(delete_missing.status, Status::NotFound);
        let double_slash = router.respond(&request(Method::Get, "//index.html"));
        assert_eq!(double_slash.status, Status::NotFound);
    }

    #[test]
    fn options_lists_the_methods() {
        let router = router();
        let mut server = request(Method::Options, "*");
        server.target = Target::Server;
        for request in [server, request(Method::Options, "/style.css")] {
            let response = router.respond(&request);
            assert_eq!(response.status, Status::Ok);
            assert_eq!(response.allow, Some(ALLOWED_METHODS));
            assert!(response.body.is_empty() && response.content_type.is_none());
        }
        let missing = router.respond(&request(Method::Options, "/missing"));
        assert_eq!(missing.status, Status::NotFound);
    }

    #[test]
    fn matching_etag_or_date_is_not_modified() {
        let router = router();
        let first = router.respond(&request(Method::Get, "/style.css"));
        let validators = first.validators.unwrap();
        let mut again = request(Method::Get, "/style.css");
        again.preconditions.if_none_match = Some(validators.etag);
        let answer = router.respond(&again);
        assert_eq!(answer.status, Status::NotModified);
        assert!(!answer.sends_body(false));
        let mut head = String::new();
        assert_eq!(header(&answer, &mut head, "ETag"), Some(validators.etag));

        let date = HttpDate(validators.last_modified.unwrap()).to_string();
        let mut since = request(Method::Get, "/style.css");
        since.preconditions.if_modified_since = Some(&date);
        assert_eq!(router.respond(&since).status, Status::NotModified);

        let mut other = request(Method::Get, "/style.css");
        other.preconditions.if_none_match = Some("\"stale\"");
        assert_eq!(router.respond(&other).status, Status::Ok);
    }

    #[test]
    fn ranges_of_files_and_of_the_big_file() {
        let router = router();
        let mut part = request(Method::Get, "/big.bin");
        part.range = Some("bytes=251-260");
        let answer = router.respond(&part);
        assert_eq!(answer.status, Status::PartialContent);
        assert!(matches!(
            answer.body,
            Body::Generated {
                start: 251,
                len: 10,
                ..
            }
        ));
        let mut head = String::new();
        assert_eq!(
            header(&answer, &mut head, "Content-Range"),
            Some("bytes 251-260/1048576")
        );

        let home = site::lookup("/").unwrap();
        let mut tail = request(Method::Get, "/");
        tail.range = Some("bytes=-10");
        let answer = router.respond(&tail);
        assert!(
            matches!(answer.body, Body::Static(b) if b == &home.bytes[home.bytes.len() - 10..])
        );

        let mut beyond = request(Method::Get, "/");
        beyond.range = Some("bytes=999999-");
        let answer = router.respond(&beyond);
        assert_eq!(answer.status, Status::RangeNotSatisfiable);
        let total = alloc::format!("bytes */{}", home.bytes.len());
        assert_eq!(
            header(&answer, &mut head, "Content-Range"),
            Some(total.as_str())
        );

        // HEAD ignores Range; a stale If-Range gets the whole file.
        let mut head_request = request(Method::Head, "/");
        head_request.range = Some("bytes=0-1");
        assert_eq!(router.respond(&head_request).status, Status::Ok);
        let mut stale = request(Method::Get, "/");
        stale.range = Some("bytes=0-1");
        stale.preconditions.if_range = Some("\"old\"");
        assert_eq!(router.respond(&stale).status, Status::Ok);
    }

    #[test]
    fn big_file_pattern_is_position_dependent() {
        let mut chunk = [0u8; 8];
        big_file_bytes(249, &mut chunk);
        assert_eq!(chunk, [249, 250, 0, 1, 2, 3, 4, 5]);
    }

    /// Copied period by period, the bytes are still `i mod 251` at every offset and length,
    /// across period boundaries and for the server's 16 KiB chunks.
    #[test]
    fn big_file_chunks_match_the_formula_at_every_offset() {
        let mut lengths = vec![0, 1, 250, 251, 252, 502, 1000, 16 * 1024];
        lengths.extend(240..260);
        for offset in (0..600).chain([16 * 1024, 1 << 20, (1 << 20) - 7]) {
            for &len in &lengths {
                let mut chunk = vec![0xee; len];
                big_file_bytes(offset, &mut chunk);
                for (i, &byte) in chunk.iter().enumerate() {
                    assert_eq!(
                        byte,
                        ((offset + i) % 251) as u8,
                        "offset {offset} + {i} of {len}"
                    );
                }
            }
        }
    }
}
