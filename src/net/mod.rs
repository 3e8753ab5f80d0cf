//! The network stack: smoltcp over the network card, driven by one network thread, with blocking
//! TCP sockets shaped like `std::net` on top. Chapter: docs/09-network.md.
//!
//! | file | what |
//! |---|---|
//! | [`stack`] | smoltcp's interface and sockets, the socket budget, listeners with a backlog (pure, host-tested) |
//! | `poll_loop` | the shared stack, the network thread, sleeping until the NIC or a timer |
//! | `socket` | `TcpListener` and `TcpStream`: blocking calls with timeouts, and non-blocking ones for the HTTP poller |
//! | [`budget`] | how many TCP sockets there may be, from the RAM (pure, host-tested) |
//! | [`readiness`] | the ready list that smoltcp's wakers fill, for the HTTP poller (the list is pure, host-tested) |

pub mod budget;
pub mod readiness;
pub mod stack;

#[cfg(target_os = "none")]
mod poll_loop;
#[cfg(target_os = "none")]
mod socket;

pub use stack::{AddressConfig, NetError};

#[cfg(target_os = "none")]
pub use socket::{DEFAULT_BACKLOG, TcpListener, TcpStream};

use crate::boot::KernelArgs;
use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

impl AddressConfig {
    /// A static address if the command line gives `ip=A.B.C.D/N` (and maybe `gw=`), DHCP otherwise.
    pub fn from_args(args: &KernelArgs<'_>) -> AddressConfig {
        match args.ip {
            Some(ip) => AddressConfig::Static {
                address: Ipv4Cidr::new(Ipv4Address::from(ip.address), ip.prefix_len),
                gateway: args.gateway.map(Ipv4Address::from),
            },
            None => AddressConfig::Dhcp,
        }
    }
}

/// The network's figures for the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    pub address: Option<Ipv4Cidr>,
    pub tcp_sockets_used: usize,
    /// The socket budget (src/net/budget.rs).
    pub tcp_sockets_max: usize,
    /// Sockets given back and still finishing their close.
    pub tcp_sockets_closing: usize,
    /// Half-open connections (SYN received, never ACKed) given up since boot.
    pub half_open_expired: u64,
}

#[cfg(target_os = "none")]
pub use kernel_side::{init, stats, wait_for_address};

#[cfg(target_os = "none")]
mod kernel_side {
    use super::stack::{AddressConfig, Stack, TransmitRoom};
    use super::{NetStats, poll_loop};
    use crate::drivers::nic::{self, MacAddress, NicDevice};
    use crate::{sched, time};
    use smoltcp::wire::Ipv4Cidr;

    /// The stack asks before each round of sending whether the card has room (src/net/stack.rs).
    impl TransmitRoom for NicDevice {
        fn has_room(&mut self) -> bool {
            NicDevice::has_room(self)
        }
    }

    /// Builds the stack over the network card with the given address source, and starts the
    /// network thread. ARP and ICMP echo (ping) are answered by smoltcp from then on.
    /// Returns false, networking off, if the driver found no card.
    pub fn init(address: AddressConfig) -> bool {
        let (Some(nic), Some(mac)) = (NicDevice::new(), nic::mac_address()) else {
            log::warn!("net: no network card, networking off");
            return false;
        };
        // TCP's initial sequence numbers: RDSEED, RDRAND or TSC jitter (docs/09-network.md).
        let seed = crate::cpu::random::seed().0;
        let free_ram = crate::memory::stats().free_frames * crate::memory::FRAME_SIZE;
        let budget = super::budget::tcp_sockets_for(free_ram);
        log::info!(
            "net: {budget} TCP sockets ({} KiB each, a quarter of the {} MiB free)",
            super::budget::SOCKET_COST_BYTES / 1024,
            free_ram >> 20
        );
        let stack = Stack::new(nic, mac, address, time::uptime_ms(), seed, budget);
        match address {
            AddressConfig::Dhcp => log::info!(
                "net: smoltcp on MAC {}, asking DHCP for an address",
                MacAddress(mac)
            ),
            AddressConfig::Static {
                address,
                gateway: Some(gateway),
            } => log::info!(
                "net: smoltcp on MAC {}, static address {address}, gateway {gateway}",
                MacAddress(mac)
            ),
            AddressConfig::Static {
                address,
                gateway: None,
            } => log::info!(
                "net: smoltcp on MAC {}, static address {address}, no gateway",
                MacAddress(mac)
            ),
        }
        poll_loop::start(stack);
        true
    }

    /// Waits up to `timeout_ms` for the interface to have an address (DHCP's answer).
    pub fn wait_for_address(timeout_ms: u64) -> Option<Ipv4Cidr> {
        let deadline = time::uptime_ms() + timeout_ms;
        loop {
            let address = poll_loop::inspect(|stack| stack.ipv4_cidr()).flatten();
            if address.is_some() || time::uptime_ms() >= deadline {
                return address;
            }
            sched::sleep_ms(20);
        }
    }

    /// The address and the sockets in use.
    pub fn stats() -> NetStats {
        poll_loop::inspect(|stack| NetStats {
            address: stack.ipv4_cidr(),
            tcp_sockets_used: stack.tcp_sockets_in_use(),
            tcp_sockets_max: stack.tcp_socket_budget(),
            tcp_sockets_closing: stack.tcp_sockets_closing(),
            half_open_expired: stack.half_open_expired(),
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::cmdline::Ipv4Cidr as ArgCidr;

    #[test]
    fn address_from_the_command_line() {
        assert_eq!(
            AddressConfig::from_args(&KernelArgs::default()),
            AddressConfig::Dhcp
        );
        let args = KernelArgs {
            ip: Some(ArgCidr {
                address: [10, 0, 2, 15],
                prefix_len: 24,
            }),
            gateway: Some([10, 0, 2, 2]),
            ..KernelArgs::default()
        };
        assert_eq!(
            AddressConfig::from_args(&args),
            AddressConfig::Static {
                address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
                gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
            }
        );
    }
}
