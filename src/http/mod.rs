//! The HTTP/1.1 server: an embedded web site with a live dashboard of the kernel, and a JSON
//! API of its figures. Chapter: docs/10-http.md.
//!
//! The protocol logic is pure and host-tested:
//!
//! | file | what |
//! |---|---|
//! | [`request`], [`target`], [`limits`] | parsing a request head (httparse), the target and its decoded path, the bounds |
//! | [`router`], [`response`], [`site`], [`api`], [`json`], [`stats`] | from a request to a response: files, the JSON API, the counters |
//! | [`conditional`], [`range`], [`http_date`] | 304 Not Modified, byte ranges, HTTP dates |
//! | [`connection`], [`input`], [`output`], [`deadlines`], [`stream`] | one connection as a state machine that never waits, and its clocks |
//! | [`parked`], [`clients`] | the table of connections the poller watches, the count per client address |
//!
//! The kernel part runs it on threads: `server` (the acceptor and the workers) and `poller`
//! (the thread that watches every parked connection, woken by src/net/readiness.rs).

pub mod api;
pub mod clients;
pub mod conditional;
pub mod connection;
pub mod deadlines;
pub mod http_date;
pub mod input;
pub mod json;
pub mod limits;
pub mod output;
pub mod parked;
pub mod range;
pub mod request;
pub mod response;
pub mod router;
pub mod site;
pub mod stats;
pub mod status;
pub mod stream;
pub mod target;

#[cfg(target_os = "none")]
mod poller;
#[cfg(target_os = "none")]
pub mod server;

#[cfg(target_os = "none")]
pub use server::{COUNTERS, HTTP_PORT, start};
