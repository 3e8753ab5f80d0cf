//! Connections per client address: one client may not take every connection the server has.
//!
//! The count goes up when a connection is accepted and down when it is released; a client
//! at [`MAX_CONNECTIONS_PER_CLIENT`](super::limits::MAX_CONNECTIONS_PER_CLIENT) gets 503 for
//! the next one (src/http/poller.rs). One entry per address with connections, so the table is
//! bounded by the connections themselves.

use alloc::collections::BTreeMap;

pub type Address = [u8; 4];

#[derive(Debug)]
pub struct Clients {
    counts: BTreeMap<Address, usize>,
    cap: usize,
}

impl Clients {
    /// No address may hold more than `cap` connections.
    pub fn new(cap: usize) -> Clients {
        Clients {
            counts: BTreeMap::new(),
            cap,
        }
    }

    /// Counts a new connection from `address`, unless it already holds `cap`: false then,
    /// and nothing is counted.
    pub fn try_add(&mut self, address: Address) -> bool {
        let count = self.counts.entry(address).or_insert(0);
        if *count >= self.cap {
            return false;
        }
        *count += 1;
        true
    }

    /// Forgets one connection from `address`.
    pub fn remove(&mut self, address: Address) {
        if let Some(count) = self.counts.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&address);
            }
        }
    }

    #[cfg(test)]
    pub fn count(&self, address: Address) -> usize {
        self.counts.get(&address).copied().unwrap_or(0)
    }

    /// Addresses with at least one connection.
    #[cfg(test)]
    pub fn addresses(&self) -> usize {
        self.counts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_cap() {
        let mut clients = Clients::new(2);
        let (a, b) = ([10, 0, 2, 2], [10, 0, 2, 3]);
        assert!(clients.try_add(a) && clients.try_add(a));
        assert!(!clients.try_add(a), "the third from one address is refused");
        assert_eq!(clients.count(a), 2);
        assert!(clients.try_add(b), "another address is not affected");
        clients.remove(a);
        assert!(clients.try_add(a), "a closed connection frees its place");
    }

    #[test]
    fn empty_entries_are_dropped() {
        let mut clients = Clients::new(4);
        clients.try_add([1, 2, 3, 4]);
        clients.remove([1, 2, 3, 4]);
        clients.remove([1, 2, 3, 4]); // more removes than adds: ignored
        assert_eq!(clients.addresses(), 0);
    }
}
