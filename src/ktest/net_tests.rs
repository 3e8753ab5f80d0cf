//! Self-tests of the network stack on the emulated network card: DHCP from QEMU's user network,
//! the listener rules, the socket budget, and a network thread that sleeps when idle.
//! They run after the driver's own tests, which need the card to themselves: the first
//! test here starts the stack.

use super::KernelTest;
use crate::drivers::nic;
use crate::ktest_assert;
use crate::net::{self, AddressConfig, NetError, TcpListener};
use crate::{sched, time};
use alloc::string::{String, ToString};
use spin::Once;

pub const TESTS: &[KernelTest] = &[
    KernelTest {
        name: "net::dhcp_gives_the_slirp_address",
        run: dhcp_gives_the_slirp_address,
    },
    KernelTest {
        name: "net::listener_rules",
        run: listener_rules,
    },
    KernelTest {
        name: "net::socket_budget_is_enforced",
        run: socket_budget_is_enforced,
    },
    KernelTest {
        name: "net::network_thread_sleeps_when_idle",
        run: network_thread_sleeps_when_idle,
    },
];

static STARTED: Once<bool> = Once::new();

/// Runs `test` with the stack started (once, for all the tests here); passes without
/// running it when the machine has no network card (`-nic none`).
fn with_stack(test: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    if !nic::is_present() {
        log::info!("ktest: no network card, no network stack to test");
        return Ok(());
    }
    let started = *STARTED.call_once(|| net::init(AddressConfig::Dhcp));
    ktest_assert!(started, "net::init did not start over the running card");
    test()
}

fn dhcp_gives_the_slirp_address() -> Result<(), String> {
    with_stack(|| {
        let address = net::wait_for_address(5_000);
        ktest_assert!(
            address.map(|a| a.to_string()).as_deref() == Some("10.0.2.15/24"),
            "DHCP gave {address:?}, QEMU's user network hands out 10.0.2.15/24"
        );
        Ok(())
    })
}

fn listener_rules() -> Result<(), String> {
    with_stack(|| {
        ktest_assert!(
            matches!(TcpListener::bind(0), Err(NetError::InvalidPort)),
            "port 0 was accepted"
        );
        let first = TcpListener::bind(8080).map_err(|e| alloc::format!("bind 8080: {e:?}"))?;
        ktest_assert!(
            matches!(TcpListener::bind(8080), Err(NetError::PortInUse)),
            "a second listener on 8080 was accepted"
        );
        drop(first);
        let again = TcpListener::bind(8080);
        ktest_assert!(
            again.is_ok(),
            "8080 still taken after its listener was dropped: {again:?}"
        );
        Ok(())
    })
}

fn socket_budget_is_enforced() -> Result<(), String> {
    with_stack(|| {
        let before = net::stats().tcp_sockets_used;
        let budget = net::stats().tcp_sockets_max;
        let greedy = TcpListener::bind_with_backlog(8081, 10 * budget)
            .map_err(|e| alloc::format!("bind 8081: {e:?}"))?;
        let used = net::stats().tcp_sockets_used;
        ktest_assert!(
            used == budget,
            "{used} sockets in use, the budget is {budget}"
        );
        ktest_assert!(
            matches!(TcpListener::bind(8082), Err(NetError::NoSocketsLeft)),
            "a listener was created beyond the budget"
        );
        drop(greedy);
        // The network thread frees the aborted sockets at its next poll.
        let deadline = time::uptime_ms() + 1_000;
        while net::stats().tcp_sockets_used != before && time::uptime_ms() < deadline {
            sched::sleep_ms(10);
        }
        let after = net::stats().tcp_sockets_used;
        ktest_assert!(
            after == before,
            "{after} sockets in use after the drop, {before} before"
        );
        Ok(())
    })
}

fn network_thread_sleeps_when_idle() -> Result<(), String> {
    with_stack(|| {
        let net_ticks = || {
            sched::threads()
                .iter()
                .find(|t| t.name.as_str() == "net")
                .map(|t| t.cpu_ticks)
        };
        let before = net_ticks().ok_or("no thread called net")?;
        sched::sleep_ms(500);
        let after = net_ticks().ok_or("the net thread is gone")?;
        ktest_assert!(
            after - before < 25,
            "the idle network thread ran {} ms out of 500: it polls instead of sleeping",
            after - before
        );
        Ok(())
    })
}
