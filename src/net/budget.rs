//! How many TCP sockets the kernel allows, sized from the RAM it has at boot.
//!
//! Every socket costs heap: its receive and send buffers ([`TCP_RX_BUFFER_BYTES`] +
//! [`TCP_TX_BUFFER_BYTES`]), smoltcp's socket structure, and the server's record of the
//! connection. A fixed count would be wrong at both ends: 64 sockets waste a 4 GiB machine
//! and a client holding 64 idle connections takes the whole server; 4,000 sockets on a 16 MiB
//! machine would run the heap dry. So the budget is a share of the free RAM at boot divided
//! by what one socket costs, within bounds.

use super::stack::{TCP_RX_BUFFER_BYTES, TCP_TX_BUFFER_BYTES};

/// Heap one socket takes besides its two buffers: smoltcp's socket (in the socket table)
/// and the HTTP server's record of the connection. An upper bound, checked against the
/// types by host tests (`src/net/stack/tests.rs`, `src/http/parked.rs`).
pub const SOCKET_OVERHEAD_BYTES: usize = 4 * 1024;

/// What one TCP socket costs, all included.
pub const SOCKET_COST_BYTES: usize =
    TCP_RX_BUFFER_BYTES + TCP_TX_BUFFER_BYTES + SOCKET_OVERHEAD_BYTES;

/// Sockets may take up to 1/`RAM_SHARE_DIVISOR` of the free RAM at boot; the rest stays for
/// the heap's other users, the threads' stacks and DMA buffers.
pub const RAM_SHARE_DIVISOR: u64 = 4;

/// Never fewer sockets than this, however small the machine: the listener's backlog
/// (src/net/socket.rs: `DEFAULT_BACKLOG`, 32) plus room for 32 connections.
pub const MIN_TCP_SOCKETS: usize = 64;

/// Never more: every poll of the stack walks the socket table, so its length costs time
/// whether or not the sockets are busy.
pub const MAX_TCP_SOCKETS: usize = 4096;

/// The socket budget for a machine with `free_ram_bytes` of free RAM at boot.
pub fn tcp_sockets_for(free_ram_bytes: u64) -> usize {
    let share = free_ram_bytes / RAM_SHARE_DIVISOR;
    let sockets = (share / SOCKET_COST_BYTES as u64) as usize;
    sockets.clamp(MIN_TCP_SOCKETS, MAX_TCP_SOCKETS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_quarter_of_the_ram_in_sockets() {
        // 256 MiB of RAM leaves about 253 MiB free at boot (`make run`'s default).
        // 64 KiB of send buffer (what a bulk download needs in flight, issue 15), 4 KiB of
        // receive buffer, 4 KiB of overhead.
        assert_eq!(SOCKET_COST_BYTES, 72 * 1024);
        assert_eq!(tcp_sockets_for(253 * MIB), 899);
        assert_eq!(tcp_sockets_for(64 * MIB), 227);
    }

    #[test]
    fn bounded_at_both_ends() {
        assert_eq!(tcp_sockets_for(0), MIN_TCP_SOCKETS);
        assert_eq!(tcp_sockets_for(8 * MIB), MIN_TCP_SOCKETS);
        assert_eq!(tcp_sockets_for(64 * 1024 * MIB), MAX_TCP_SOCKETS);
    }
}
