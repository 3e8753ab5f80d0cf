//! One interface to every network card: what the network stack (src/net/) needs from a NIC,
//! whichever chip is on the bus. Chapter: docs/06-rtl8139.md.
//!
//! | file | what |
//! |---|---|
//! | [`card`] | the [`NetworkCard`] trait that every driver implements |
//! | [`supported`] | the cards the kernel has drivers for, and which one to use (pure, host-tested) |
//! | [`stats`] | the counters every driver keeps |
//! | [`frame_queue`] | a bounded queue of frames in preallocated buffers, for drivers and the backlog |
//! | [`tx_backlog`] | frames kept while the card's transmit buffers are all busy (pure, host-tested) |
//! | `active` | the one card in use: chosen and started at boot, its interrupt, the calls on it |
//! | `device` | that card as smoltcp's `phy::Device` |
//!
//! Nothing above this module names a chip: the network stack asks `nic` for frames and the
//! dashboard asks it for the model and the counters.

pub mod card;
pub mod frame_queue;
pub mod stats;
pub mod supported;
pub mod tx_backlog;

#[cfg(target_os = "none")]
mod active;
#[cfg(target_os = "none")]
mod device;

pub use card::{NetworkCard, StartError, TxError};
pub use stats::NicStats;
pub use supported::{Driver, NicWanted};

#[cfg(target_os = "none")]
pub use active::*;
#[cfg(target_os = "none")]
pub use device::NicDevice;

/// Prints a MAC address as `52:54:00:12:34:56`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacAddress(pub [u8; 6]);

impl core::fmt::Display for MacAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_mac_address() {
        let mac = MacAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(mac.to_string(), "52:54:00:12:34:56");
    }
}
