//! PCI: finding the devices on the motherboard's buses, and turning on the ones we drive.
//!
//! Every PCI function has a 256-byte configuration header that says who made it (vendor and
//! device IDs), what it is (class code), where its registers are (the BARs) and which
//! interrupt line it raises. [`init`] reads the header of every function through
//! configuration mechanism #1 ([`config_space`]), decodes it with the pci_types crate
//! ([`scan`]), logs one `lspci`-like line per function with its BARs below it, and keeps the
//! list for [`devices`].
//! Chapter: docs/05-pci.md.

mod bar;
pub mod config_space;
mod function;
mod names;
mod scan;

pub use bar::Bar;
pub use function::{PciFunctionInfo, write_listing};
pub use names::{class_name, device_name, vendor_name};
pub use pci_types::PciAddress;
pub use scan::scan;

#[cfg(target_os = "none")]
pub use kernel_side::{devices, enable_bus_master, find, init};

#[cfg(target_os = "none")]
mod kernel_side {
    use super::config_space::ConfigMechanism1;
    use super::{PciFunctionInfo, scan, write_listing};
    use alloc::string::String;
    use alloc::vec::Vec;
    use pci_types::{CommandRegister, PciAddress, PciHeader};
    use spin::Once;

    static CONFIG: ConfigMechanism1 = ConfigMechanism1::new();
    static FUNCTIONS: Once<Vec<PciFunctionInfo>> = Once::new();

    /// Scans every bus and logs what it found: one line per function, and an indented line
    /// per BAR below it ([`write_listing`]).
    pub fn init() {
        let functions = FUNCTIONS.call_once(|| scan(&CONFIG));
        let mut listing = String::new();
        // Writing into a String cannot fail.
        let _ = write_listing(functions, &mut listing);
        for line in listing.lines() {
            log::info!("pci: {line}");
        }
        log::info!("pci: {} functions found", functions.len());
    }

    /// Every function found by [`init`] (empty before it).
    pub fn devices() -> &'static [PciFunctionInfo] {
        FUNCTIONS.get().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first function with these vendor and device IDs.
    pub fn find(vendor_id: u16, device_id: u16) -> Option<&'static PciFunctionInfo> {
        devices()
            .iter()
            .find(|f| f.vendor_id == vendor_id && f.device_id == device_id)
    }

    /// Turns on I/O and memory decoding and bus mastering in the command register (offset
    /// 0x04, PCI 3.0 section 6.2.2). The firmware may leave bus mastering off; without it the
    /// device's DMA reads and writes of RAM never happen.
    pub fn enable_bus_master(address: PciAddress) {
        PciHeader::new(address).update_command(&CONFIG, |command| {
            command
                | CommandRegister::IO_ENABLE
                | CommandRegister::MEMORY_ENABLE
                | CommandRegister::BUS_MASTER_ENABLE
        });
    }
}
