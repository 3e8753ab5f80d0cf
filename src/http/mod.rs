//! The HTTP/1.1 server: an embedded web site with a live dashboard of the kernel, and a JSON
//! API of its figures.
//!
//! The protocol logic is pure and host-tested: [`request`] parses heads (httparse) and
//! enforces [`limits`], [`router`] maps paths to responses, [`connection`] runs one
//! connection (keep-alive, pipelining, timeouts) over any [`stream::Stream`]. The kernel
//! part, [`server`], runs an acceptor and a pool of worker threads over the kernel's TCP
//! sockets.

pub mod api;
pub mod connection;
pub mod json;
pub mod limits;
pub mod request;
pub mod response;
pub mod router;
pub mod site;
pub mod stats;
pub mod status;
pub mod stream;

#[cfg(target_os = "none")]
pub mod server;

#[cfg(target_os = "none")]
pub use server::{COUNTERS, HTTP_PORT, start};
