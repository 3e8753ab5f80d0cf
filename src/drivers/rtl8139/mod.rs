//! The Realtek RTL8139 Fast Ethernet controller, QEMU's `-device rtl8139`.
//!
//! The chip receives into one ring buffer in RAM ([`rx_ring`]) and transmits from four
//! buffers served in turn ([`tx_slots`]); it signals both through one PCI interrupt. The
//! interrupt handler acknowledges the chip, frees finished transmit slots, empties the ring
//! into a queue ([`rx_queue`]) and calls the hook set with [`set_interrupt_callback`], which
//! the network stack uses to wake its thread. The stack then talks to the driver through
//! smoltcp's `phy::Device` ([`Rtl8139Device`]). Chapter: docs/06-rtl8139.md.
//!
//! Locking rule: the driver state sits behind one spin lock. The interrupt handler takes it
//! with interrupts disabled (as every handler runs); every other caller takes it through
//! `without_interrupts`, so the handler can never find it held.

pub mod registers;
pub mod rx_queue;
pub mod rx_ring;
pub mod stats;
pub mod tx_slots;

#[cfg(target_os = "none")]
mod chip;
#[cfg(target_os = "none")]
mod phy;

pub use stats::NicStats;

/// Realtek's PCI vendor ID.
pub const VENDOR_REALTEK: u16 = 0x10ec;
/// The RTL8139's PCI device ID.
pub const DEVICE_RTL8139: u16 = 0x8139;

#[cfg(target_os = "none")]
pub use chip::{InitError, MAX_TX_FRAME_LEN, TxError};
#[cfg(target_os = "none")]
pub use kernel_side::*;
#[cfg(target_os = "none")]
pub use phy::Rtl8139Device;

#[cfg(target_os = "none")]
mod kernel_side {
    use super::chip::{RX_RING_LEN, Rtl8139, TxError};
    use super::{DEVICE_RTL8139, MacAddress, NicStats, VENDOR_REALTEK};
    use crate::{interrupts, pci};
    use core::sync::atomic::{AtomicUsize, Ordering};
    use spin::{Mutex, Once};
    use x86_64::instructions::interrupts::without_interrupts;

    static NIC: Once<Mutex<Rtl8139>> = Once::new();
    /// The network stack's hook, stored as an address (0 = none) so the handler needs no lock.
    static INTERRUPT_CALLBACK: AtomicUsize = AtomicUsize::new(0);

    /// Finds the first RTL8139 on the PCI bus, brings it up and installs its interrupt
    /// handler. Returns whether a NIC is now running.
    pub fn init() -> bool {
        let Some(function) = pci::find(VENDOR_REALTEK, DEVICE_RTL8139) else {
            log::warn!("rtl8139: no RTL8139 on the PCI bus, networking disabled");
            return false;
        };
        let nic = match Rtl8139::new(function) {
            Ok(nic) => nic,
            Err(error) => {
                log::error!("rtl8139: {} failed to start: {error:?}", function.address);
                return false;
            }
        };
        let (irq, io_base, ring) = (nic.irq, nic.io_base, nic.rx_ring_address());
        let mac = MacAddress(nic.mac);
        NIC.call_once(|| Mutex::new(nic));
        interrupts::register_irq(irq, on_interrupt);
        with_nic(|nic| nic.enable_interrupts());
        let link = if stats().link_up { "up" } else { "down" };
        log::info!(
            "rtl8139: {} I/O {io_base:#x} IRQ {irq}, MAC {mac}, link {link}, \
             {} KiB receive ring at {ring:#x}",
            function.address,
            RX_RING_LEN / 1024
        );
        true
    }

    /// Runs `body` on the driver state with interrupts off; `None` if there is no NIC.
    fn with_nic<R>(body: impl FnOnce(&mut Rtl8139) -> R) -> Option<R> {
        let nic = NIC.get()?;
        Some(without_interrupts(|| body(&mut nic.lock())))
    }

    /// The IRQ handler: the dispatcher sends the EOI after it returns.
    fn on_interrupt() {
        let Some(nic) = NIC.get() else { return };
        if nic.lock().service_interrupt() {
            let hook = INTERRUPT_CALLBACK.load(Ordering::Acquire);
            if hook != 0 {
                // SAFETY: only set_interrupt_callback stores here, always a `fn()`.
                let hook: fn() = unsafe { core::mem::transmute::<usize, fn()>(hook) };
                hook();
            }
        }
    }

    /// Sets the function called, in interrupt context, after the driver handled an
    /// interrupt (frames queued, transmit slots freed). It must not block: waking a thread
    /// is the intended use.
    pub fn set_interrupt_callback(callback: fn()) {
        INTERRUPT_CALLBACK.store(callback as *const () as usize, Ordering::Release);
    }

    /// Whether [`init`] found and started a NIC.
    pub fn is_present() -> bool {
        NIC.get().is_some()
    }

    /// The station address read from the chip.
    pub fn mac_address() -> Option<[u8; 6]> {
        with_nic(|nic| nic.mac)
    }

    /// A snapshot of the counters (all zero without a NIC).
    pub fn stats() -> NicStats {
        with_nic(|nic| nic.stats()).unwrap_or_default()
    }

    /// Queues an Ethernet frame (without CRC) for transmission.
    pub fn transmit(frame: &[u8]) -> Result<(), TxError> {
        with_nic(|nic| nic.transmit(frame)).unwrap_or(Err(TxError::NoDevice))
    }

    /// Whether a transmit slot is free.
    pub fn can_transmit() -> bool {
        with_nic(|nic| nic.can_transmit()).unwrap_or(false)
    }

    /// Takes the oldest received frame and hands it to `consume`.
    pub fn receive<R>(consume: impl FnOnce(&[u8]) -> R) -> Option<R> {
        with_nic(|nic| nic.receive(consume)).flatten()
    }

    /// For the self-tests: damages the header of the next unread packet in the ring (see
    /// `Rtl8139::damage_next_header`). Returns false if there is none or no NIC.
    pub fn damage_next_header() -> bool {
        with_nic(|nic| nic.damage_next_header()).unwrap_or(false)
    }

    /// Drops every received frame not yet taken (for tests that want a clean start).
    pub fn discard_received() {
        with_nic(|nic| nic.discard_received());
    }
}

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
