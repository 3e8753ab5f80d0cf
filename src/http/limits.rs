//! Every bound the server enforces, in one place. A server on the network must bound what a
//! client can make it hold or wait for; each number here is the answer to "how much?".
//! The clocks that apply the times are in src/http/deadlines.rs.

/// The most bytes a request head (request line plus headers plus the blank line) may take.
/// A longer head is answered 431 Request Header Fields Too Large (RFC 6585, section 5).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The longest request target (path plus query) accepted. Longer is answered
/// 414 URI Too Long (RFC 9110, section 15.5.15), which recommends supporting at least 8000
/// octets for general-purpose servers; this server's paths are all short, so 2 KiB is plenty.
pub const MAX_URI_BYTES: usize = 2 * 1024;

/// The most header fields in one request; more is answered 431.
pub const MAX_HEADERS: usize = 32;

/// The longest request body the server reads (and throws away: no resource takes one) to
/// keep the connection for the next request. A longer Content-Length is answered 413
/// Content Too Large without reading it, and the connection closes.
pub const MAX_DISCARDED_BODY_BYTES: u64 = 64 * 1024;

/// How long a kept-alive connection may sit idle, counted from the moment its last response
/// was acknowledged (the send queue ran empty), or from the accept for a new connection.
/// An idle connection costs no thread, only its socket, so it may wait a while.
pub const IDLE_TIMEOUT_MS: u64 = 15_000;

/// The same when connections are scarce (see [`PRESSURE_FREE_SHARE`]): idle ones go first.
pub const IDLE_TIMEOUT_UNDER_PRESSURE_MS: u64 = 1_000;

/// How long a client may take to send one whole request head, counted from its first byte
/// (not per read: a client that sends a byte now and then gets no more time). A head still
/// incomplete then is answered 408 Request Timeout.
pub const HEAD_TIMEOUT_MS: u64 = 10_000;

/// The same when connections are scarce: slow heads are what an attack holds them with.
pub const HEAD_TIMEOUT_UNDER_PRESSURE_MS: u64 = 2_000;

/// Connections are scarce when fewer than 1/`PRESSURE_FREE_SHARE` of them are free.
pub const PRESSURE_FREE_SHARE: usize = 8;

/// A response must progress: over every window of this length, the client must acknowledge
/// [`MIN_SEND_RATE_BYTES_PER_S`] × the window (or everything that was waiting), or it is
/// aborted with a reset. This is what frees a client that stopped reading: its window closed,
/// it acknowledges smoltcp's window probes and would hold its socket for ever. The window is
/// as long as TCP's own patience (smoltcp gives up on a peer silent for 30 s,
/// `TCP_TIMEOUT_MS`): on a lossy link a lost segment's retransmission timeouts double (RFC
/// 6298, 1, 2, 4, 8 s...) with nothing acknowledged meanwhile, and a client behind such a link
/// is slow, not hostile (tests/lossylink.py downloads through one; a 15 s window reset one
/// download in seven there).
pub const SEND_WINDOW_MS: u64 = 30_000;

/// The slowest average a response may be taken at, over each [`SEND_WINDOW_MS`]: 15 KiB a
/// window, more than a client's receive buffer holds if it stops reading.
pub const MIN_SEND_RATE_BYTES_PER_S: u64 = 512;

/// A response's whole time: [`RESPONSE_BASE_MS`] plus its size at
/// [`RESPONSE_DEADLINE_RATE_BYTES_PER_S`]. It bounds a client that reads just fast enough to
/// pass every window, for ever. Longer than a window, so that a small answer is judged by
/// the window first.
pub const RESPONSE_BASE_MS: u64 = 40_000;

/// See [`RESPONSE_BASE_MS`]: 1 MiB may take 40 s + 256 s.
pub const RESPONSE_DEADLINE_RATE_BYTES_PER_S: u64 = 4 * 1024;

/// A lingering close (after an error answer, a timeout, or `Connection: close`): the server
/// shuts its sending side and reads and throws away what the client still sends, so that the
/// client reads the answer instead of a reset. It ends once the answer is acknowledged and
/// the client has closed too, or after this long with the answer acknowledged and nothing
/// more from the client, or after [`LINGER_DISCARD_BYTES`]. While the answer is in flight the
/// send rules above apply instead.
pub const LINGER_MS: u64 = 2_000;

/// The most bytes thrown away during a lingering close.
pub const LINGER_DISCARD_BYTES: usize = 1024 * 1024;

/// The most connections one client address may hold at once; more are answered 503 and
/// closed. Browsers open 6 per host; 64 leaves room for tools, and through QEMU's user network
/// every client of the host shares one address (10.0.2.2).
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 64;

/// Sockets kept for refusals: when only this many of the connection budget are left, new
/// connections are answered 503 (the answer itself needs a socket).
pub const REFUSAL_RESERVE: usize = 16;

/// What a 503 tells the client to wait before trying again (Retry-After, RFC 9110 10.2.3).
pub const RETRY_AFTER_S: u64 = 1;

/// Worker threads answering requests. A worker holds a connection only while it builds the
/// response: waiting for heads and sending bodies are the poller's work.
pub const WORKERS: usize = 8;

/// The size of the generated `/big.bin`: 1 MiB.
pub const BIG_FILE_BYTES: usize = 1024 * 1024;
