//! Every bound the server enforces, in one place. A server on the network must bound what a
//! client can make it hold or wait for; each number here is the answer to "how much?".

/// The most bytes a request head (request line plus headers plus the blank line) may take.
/// A longer head is answered 431 Request Header Fields Too Large (RFC 6585, section 5).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The longest request target (path plus query) accepted. Longer is answered
/// 414 URI Too Long (RFC 9110, section 15.5.15), which recommends supporting at least 8000
/// octets for general-purpose servers; this server's paths are all short, so 2 KiB is plenty.
pub const MAX_URI_BYTES: usize = 2 * 1024;

/// The most header fields in one request; more is answered 431.
pub const MAX_HEADERS: usize = 32;

/// How long a kept-alive connection may sit idle between requests before it is closed.
pub const IDLE_TIMEOUT_MS: u64 = 5_000;

/// How long an idle connection is kept when other connections are queued for a worker: the
/// idle one gives its worker up almost at once.
pub const IDLE_TIMEOUT_UNDER_PRESSURE_MS: u64 = 100;

/// How long a new connection may wait for its first byte when other connections are queued.
/// Longer than [`IDLE_TIMEOUT_UNDER_PRESSURE_MS`]: a client has just connected and is about to
/// send, and closing under it makes its request arrive at a closed socket (a reset). Seen
/// under `make soak`: with 100 ms, about one fresh connection in a thousand was reset.
pub const FIRST_REQUEST_TIMEOUT_UNDER_PRESSURE_MS: u64 = 1_000;

/// How long a client may take to send one whole request head, counted from its first byte.
/// A client that dribbles its request is answered 408 Request Timeout when this runs out.
pub const HEAD_TIMEOUT_MS: u64 = 10_000;

/// How long one write may wait for the client to make room (read what we sent).
pub const WRITE_TIMEOUT_MS: u64 = 10_000;

/// Bytes written per chunk when a body is streamed (generated bodies are made one chunk at a time).
pub const WRITE_CHUNK_BYTES: usize = 16 * 1024;

/// Worker threads serving connections.
pub const WORKERS: usize = 8;

/// Accepted connections waiting for a worker. When this queue is full, a new connection is
/// answered 503 Service Unavailable at once.
pub const QUEUED_CONNECTIONS: usize = 16;

/// The size of the generated `/big.bin`: 1 MiB.
pub const BIG_FILE_BYTES: usize = 1024 * 1024;
