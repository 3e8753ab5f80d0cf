//! What the scan learned about one PCI function, and its `lspci`-style line.

use super::bar::Bar;
use super::names::{class_name, device_name, vendor_name};
use core::fmt;
use pci_types::{HeaderType, MAX_BARS, PciAddress};

/// One function of one device on one bus: the fields of its configuration header that the
/// kernel and its status page use (PCI Local Bus Specification 3.0, section 6.1).
#[derive(Debug, Clone)]
pub struct PciFunctionInfo {
    pub address: PciAddress,
    pub vendor_id: u16,
    pub device_id: u16,
    pub revision: u8,
    pub class: u8,
    pub subclass: u8,
    pub interface: u8,
    pub header_type: HeaderType,
    /// Which INTx# pin the function uses: 0 none, 1 INTA# ... 4 INTD# (offset 0x3D).
    pub interrupt_pin: u8,
    /// The PIC line the firmware routed that pin to (offset 0x3C; 0xFF: not connected).
    pub interrupt_line: u8,
    /// The decoded Base Address Registers of a type 0 (endpoint) header, indexed by slot;
    /// `None` where a BAR is unimplemented, or is the upper half of a 64-bit BAR.
    pub bars: [Option<Bar>; MAX_BARS],
}

impl PciFunctionInfo {
    /// The first I/O-space BAR's port base, where a device like the RTL8139 keeps its
    /// registers.
    pub fn io_base(&self) -> Option<u16> {
        self.bars.iter().find_map(|bar| match bar {
            Some(Bar::Io { port, .. }) => u16::try_from(*port).ok(),
            _ => None,
        })
    }

    /// The first memory BAR's physical address and size in bytes, where a device like the
    /// Intel 8254x keeps its registers (memory-mapped I/O).
    pub fn memory_bar(&self) -> Option<(u64, u64)> {
        self.bars.iter().find_map(|bar| match bar {
            Some(Bar::Memory { address, size, .. }) => Some((*address, *size)),
            _ => None,
        })
    }

    /// Whether the function raises interrupts on a line the PIC can deliver.
    pub fn irq(&self) -> Option<u8> {
        (self.interrupt_pin != 0 && self.interrupt_line < 16).then_some(self.interrupt_line)
    }
}

/// One line in the style of `lspci -nn`:
/// `00:03.0 Ethernet controller [0200]: Realtek RTL-8100/8101L/8139 ... [10ec:8139] (rev 20), IRQ 11`.
impl fmt::Display for PciFunctionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.address;
        write!(
            f,
            "{:02x}:{:02x}.{} {} [{:02x}{:02x}]: ",
            a.bus(),
            a.device(),
            a.function(),
            class_name(self.class, self.subclass),
            self.class,
            self.subclass
        )?;
        match vendor_name(self.vendor_id) {
            Some(vendor) => write!(f, "{vendor} ")?,
            None => write!(f, "Vendor {:04x} ", self.vendor_id)?,
        }
        match device_name(self.vendor_id, self.device_id) {
            Some(device) => write!(f, "{device} ")?,
            None => write!(f, "Device {:04x} ", self.device_id)?,
        }
        write!(
            f,
            "[{:04x}:{:04x}] (rev {:02x})",
            self.vendor_id, self.device_id, self.revision
        )?;
        if let Some(irq) = self.irq() {
            write!(f, ", IRQ {irq}")?;
        }
        Ok(())
    }
}

/// The whole bus as text, one function per line, then each BAR indented below its function:
/// what `pci::init` logs at boot.
pub fn write_listing(functions: &[PciFunctionInfo], out: &mut impl fmt::Write) -> fmt::Result {
    for function in functions {
        writeln!(out, "{function}")?;
        for (slot, bar) in function.bars.iter().enumerate() {
            if let Some(bar) = bar {
                writeln!(out, "    BAR{slot}: {bar}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtl8139() -> PciFunctionInfo {
        let mut bars = [None; MAX_BARS];
        bars[0] = Some(Bar::Io {
            port: 0xc000,
            size: 256,
        });
        bars[1] = Some(Bar::Memory {
            address: 0xfebf1000,
            size: 256,
            is_64_bit: false,
            prefetchable: false,
        });
        PciFunctionInfo {
            address: PciAddress::new(0, 0, 3, 0),
            vendor_id: 0x10ec,
            device_id: 0x8139,
            revision: 0x20,
            class: 0x02,
            subclass: 0x00,
            interface: 0,
            header_type: HeaderType::Endpoint,
            interrupt_pin: 1,
            interrupt_line: 11,
            bars,
        }
    }

    #[test]
    fn prints_an_lspci_line() {
        assert_eq!(
            rtl8139().to_string(),
            "00:03.0 Ethernet controller [0200]: Realtek \
             RTL-8100/8101L/8139 PCI Fast Ethernet Adapter [10ec:8139] (rev 20), IRQ 11"
        );
    }

    #[test]
    fn finds_the_bars_and_the_irq() {
        let nic = rtl8139();
        assert_eq!(nic.io_base(), Some(0xc000));
        assert_eq!(nic.memory_bar(), Some((0xfebf1000, 256)));
        assert_eq!(nic.irq(), Some(11));
        let no_pin = PciFunctionInfo {
            interrupt_pin: 0,
            ..nic
        };
        assert_eq!(no_pin.irq(), None);
        let no_bars = PciFunctionInfo {
            bars: [None; MAX_BARS],
            ..rtl8139()
        };
        assert_eq!(no_bars.io_base(), None);
        assert_eq!(no_bars.memory_bar(), None);
    }

    #[test]
    fn lists_bars_under_their_function() {
        let mut text = String::new();
        write_listing(&[rtl8139()], &mut text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], "    BAR0: I/O ports at 0xc000 [size=256]");
        assert_eq!(
            lines[2],
            "    BAR1: memory at 0xfebf1000 (32-bit, non-prefetchable) [size=256]"
        );
    }

    #[test]
    fn unknown_ids_print_as_numbers() {
        let odd = PciFunctionInfo {
            vendor_id: 0xabcd,
            device_id: 0x1234,
            ..rtl8139()
        };
        assert!(
            odd.to_string()
                .contains("Vendor abcd Device 1234 [abcd:1234]")
        );
    }
}
