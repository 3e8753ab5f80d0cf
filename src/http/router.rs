//! From a request to a response: which resource the path names, whether the method applies
//! to it, and the answer.
//!
//! | path | resource |
//! |---|---|
//! | `/`, `/index.html`, `/style.css`, ... | embedded files of www/ |
//! | `/docs/NN-name.md` | the book's chapters, as plain text |
//! | `/api/stats`, `/api/threads`, `/api/pci` | live JSON ([`super::api`]) |
//! | `/big.bin` | 1 MiB generated while sending, for throughput tests |

use super::api::{self, StatsDocument};
use super::limits::BIG_FILE_BYTES;
use super::request::{Method, Request};
use super::response::{Body, Response};
use super::site::{self, SiteFile};
use super::stats::{HttpCounters, KernelProbe};
use super::status::Status;

/// The methods every resource here supports: the `Allow` header of a 405 answer.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    File(SiteFile),
    Stats,
    Threads,
    Pci,
    BigFile,
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
        let resource = match resolve(request.path) {
            Ok(Some(resource)) => resource,
            Ok(None) => return Response::error(Status::NotFound),
            Err(status) => return Response::error(status),
        };
        if !request.method.is_read() {
            let mut response = Response::error(Status::MethodNotAllowed);
            response.allow = Some(ALLOWED_METHODS);
            return response;
        }
        debug_assert!(matches!(request.method, Method::Get | Method::Head));
        match resource {
            Resource::File(file) => Response::ok(file.content_type, Body::Static(file.bytes)),
            Resource::BigFile => Response::ok(
                "application/octet-stream",
                Body::Generated {
                    len: BIG_FILE_BYTES,
                    fill: big_file_bytes,
                },
            ),
            Resource::Stats => self.json({
                let scheduler = self.probe.scheduler();
                let http = self.counters.snapshot(self.workers);
                api::stats_json(&StatsDocument {
                    uptime_ms: self.probe.uptime_ms(),
                    scheduler: &scheduler,
                    memory: &self.probe.memory(),
                    nic: &self.probe.nic(),
                    http: &http,
                })
            }),
            Resource::Threads => self.json(api::threads_json(&self.probe.scheduler())),
            Resource::Pci => self.json(api::pci_json(&self.probe.pci_devices())),
        }
    }

    fn json(&self, document: alloc::string::String) -> Response {
        let mut response = Response::ok("application/json", Body::Owned(document.into_bytes()));
        response.no_store = true;
        response
    }
}

/// The resource at `path`; `Err(400)` for paths that try to step outside the site: `..`
/// segments, percent-encoding (this server never decodes, so `%2e%2e` stays harmless, but
/// it is refused outright so no later change can start decoding by accident), NULs,
/// backslashes, or a path that does not start with `/`.
fn resolve(path: &str) -> Result<Option<Resource>, Status> {
    let suspicious = !path.starts_with('/')
        || path.contains("..")
        || path.contains("//")
        || path.bytes().any(|b| matches!(b, b'%' | b'\\' | 0));
    if suspicious {
        return Err(Status::BadRequest);
    }
    Ok(match path {
        "/api/stats" => Some(Resource::Stats),
        "/api/threads" => Some(Resource::Threads),
        "/api/pci" => Some(Resource::Pci),
        "/big.bin" => Some(Resource::BigFile),
        _ => site::lookup(path).map(Resource::File),
    })
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
    use crate::http::stats::{MemoryInfo, NicInfo, PciDeviceInfo, SchedulerInfo, ThreadInfo};
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

    fn request(method: Method, path: &str) -> Request<'_> {
        Request {
            method,
            path,
            is_http11: true,
            keep_alive: true,
            has_body: false,
        }
    }

    #[test]
    fn files_api_and_big_file() {
        let router = router();
        let home = router.respond(&request(Method::Get, "/"));
        assert_eq!(home.status, Status::Ok);
        assert!(home.content_type.starts_with("text/html"));

        let stats = router.respond(&request(Method::Get, "/api/stats"));
        assert_eq!(stats.content_type, "application/json");
        assert!(stats.no_store);
        assert!(matches!(&stats.body, Body::Owned(b) if b.starts_with(b"{\"uptime_ms\":1234,")));

        let big = router.respond(&request(Method::Head, "/big.bin"));
        assert_eq!(big.body.len(), BIG_FILE_BYTES);
    }

    #[test]
    fn wrong_method_and_missing_path() {
        let router = router();
        let post = router.respond(&request(Method::Post, "/index.html"));
        assert_eq!(post.status, Status::MethodNotAllowed);
        assert_eq!(post.allow, Some("GET, HEAD"));
        let missing = router.respond(&request(Method::Get, "/missing"));
        assert_eq!(missing.status, Status::NotFound);
        let delete_missing = router.respond(&request(Method::Delete, "/missing"));
        assert_eq!(delete_missing.status, Status::NotFound);
    }

    #[test]
    fn escapes_are_refused() {
        for path in [
            "/../etc/passwd",
            "/docs/../Cargo.toml",
            "/%2e%2e/x",
            "/a\0b",
            "/a\\b",
            "//index.html",
            "index.html",
            "*",
        ] {
            assert_eq!(resolve(path), Err(Status::BadRequest), "{path:?}");
        }
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
