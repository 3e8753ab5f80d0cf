//! Enumeration: which functions answer on which bus. Generic over pci_types'
//! [`ConfigRegionAccess`], so the same code runs on the port-based configuration mechanism
//! in the kernel and on a simulated configuration space in the host tests.
//!
//! We probe every (bus, device) pair, 256 × 32 of them, instead of following the bridges'
//! secondary bus numbers: it costs a few milliseconds once, and it finds every function
//! even where the firmware numbered the buses in a way a recursive walk would miss.

use super::bar::Bar;
use super::function::PciFunctionInfo;
use alloc::vec::Vec;
use pci_types::{
    CommandRegister, ConfigRegionAccess, EndpointHeader, MAX_BARS, PciAddress, PciHeader,
};

/// The vendor ID read from an empty slot: nobody drives the bus, it floats to all ones.
pub const NO_DEVICE: u16 = 0xffff;
const BUSES: u16 = 256;
const DEVICES_PER_BUS: u8 = 32;
const FUNCTIONS_PER_DEVICE: u8 = 8;
/// Offset of BAR0 in a type 0 header; the BARs follow at 4-byte steps.
const BAR0_OFFSET: u16 = 0x10;

/// Every function present, in bus/device/function order.
pub fn scan(access: &impl ConfigRegionAccess) -> Vec<PciFunctionInfo> {
    let mut found = Vec::new();
    for bus in 0..BUSES {
        for device in 0..DEVICES_PER_BUS {
            let first = PciHeader::new(PciAddress::new(0, bus as u8, device, 0));
            if first.id(access).0 == NO_DEVICE {
                continue;
            }
            // Only multi-function devices decode functions 1-7 (header type bit 7).
            let functions = if first.has_multiple_functions(access) {
                FUNCTIONS_PER_DEVICE
            } else {
                1
            };
            for function in 0..functions {
                let address = PciAddress::new(0, bus as u8, device, function);
                if let Some(info) = read_function(access, address) {
                    found.push(info);
                }
            }
        }
    }
    found
}

/// Reads one function's header, or `None` if no function answers at `address`.
fn read_function(access: &impl ConfigRegionAccess, address: PciAddress) -> Option<PciFunctionInfo> {
    let header = PciHeader::new(address);
    let (vendor_id, device_id) = header.id(access);
    if vendor_id == NO_DEVICE {
        return None;
    }
    let (revision, class, subclass, interface) = header.revision_and_class(access);
    let header_type = header.header_type(access);
    let (mut interrupt_pin, mut interrupt_line) = (0, 0xff);
    let mut bars = [None; MAX_BARS];
    if let Some(mut endpoint) = EndpointHeader::from_header(PciHeader::new(address), access) {
        (interrupt_pin, interrupt_line) = endpoint.interrupt(access);
        bars = read_bars(access, &mut endpoint);
    }
    Some(PciFunctionInfo {
        address,
        vendor_id,
        device_id,
        revision,
        class,
        subclass,
        interface,
        header_type,
        interrupt_pin,
        interrupt_line,
        bars,
    })
}

/// Decodes the six BARs of an endpoint. Sizing a BAR means writing all ones to it and
/// reading back which address bits stick (PCI 3.0, 6.2.5.1); while a BAR holds that probe
/// value the device would answer at a bogus address, so decoding is switched off in the
/// command register for the duration, as the specification recommends. pci_types sizes the
/// memory BARs; `io_bar_size` the I/O ones. Functions whose BARs all read zero (bridges to
/// ISA or LPC, which must keep decoding the legacy ports of the PIC, PIT and serial port)
/// are left alone.
fn read_bars(
    access: &impl ConfigRegionAccess,
    endpoint: &mut EndpointHeader,
) -> [Option<Bar>; MAX_BARS] {
    let mut bars = [None; MAX_BARS];
    if (0..MAX_BARS as u8).all(|slot| raw_bar(access, endpoint, slot) == 0) {
        return bars;
    }
    let original = endpoint.command(access);
    endpoint.update_command(access, |command| {
        command - CommandRegister::IO_ENABLE - CommandRegister::MEMORY_ENABLE
    });
    let mut slot = 0;
    while slot < MAX_BARS as u8 {
        let bar = if has_reserved_memory_type(raw_bar(access, endpoint, slot)) {
            None
        } else {
            endpoint.bar(slot, access).map(|decoded| {
                let io_size = match decoded {
                    pci_types::Bar::Io { .. } => io_bar_size(access, endpoint, slot),
                    _ => 0,
                };
                Bar::from_decoded(decoded, io_size)
            })
        };
        bars[usize::from(slot)] = bar;
        // A 64-bit memory BAR also uses the next slot for its upper half.
        slot += match bar {
            Some(Bar::Memory {
                is_64_bit: true, ..
            }) => 2,
            _ => 1,
        };
    }
    endpoint.update_command(access, |_| original);
    bars
}

/// The BAR in `slot` as stored, undecoded.
fn raw_bar(access: &impl ConfigRegionAccess, endpoint: &EndpointHeader, slot: u8) -> u32 {
    // SAFETY: reading a BAR of a function that answered the vendor ID probe has no side
    // effects.
    unsafe {
        access.read(
            endpoint.header().address(),
            BAR0_OFFSET + u16::from(slot) * 4,
        )
    }
}

/// The number of ports an I/O BAR decodes, which pci_types does not measure. The same
/// sizing as for memory (PCI 3.0, 6.2.5.1): write all ones, read back, restore. Bits 1:0 are
/// not address bits; of the rest, the lowest one that stuck at 1 is the size. A device that
/// decodes only the PC's 64 KiB of port space may read its upper 16 bits back as zeros,
/// which changes nothing here. The caller has turned I/O decoding off.
fn io_bar_size(access: &impl ConfigRegionAccess, endpoint: &EndpointHeader, slot: u8) -> u32 {
    let (address, offset) = (
        endpoint.header().address(),
        BAR0_OFFSET + u16::from(slot) * 4,
    );
    // SAFETY: the BAR's old value is written back at once, and decoding is off meanwhile,
    // so the device never answers at the probe address.
    let readback = unsafe {
        let original = access.read(address, offset);
        access.write(address, offset, 0xffff_ffff);
        let readback = access.read(address, offset);
        access.write(address, offset, original);
        readback
    };
    let address_bits = readback & !0b11;
    if address_bits == 0 {
        0
    } else {
        1 << address_bits.trailing_zeros()
    }
}

/// A memory BAR whose type field (bits 2:1) is 01 or 11 is reserved (pci_types panics on
/// it): treat such a BAR as absent rather than trust it.
fn has_reserved_memory_type(raw: u32) -> bool {
    let is_memory = raw & 1 == 0;
    let memory_type = (raw >> 1) & 0b11;
    is_memory && (memory_type == 0b01 || memory_type == 0b11)
}

#[cfg(test)]
pub(crate) mod fake {
    //! A configuration space in memory that behaves like hardware for the scan: empty
    //! slots read all ones, BARs keep only the address bits their size allows.

    use core::cell::RefCell;
    use pci_types::{ConfigRegionAccess, PciAddress};
    use std::collections::BTreeMap;

    /// One function: 64 dwords of header, and per BAR the mask of writable bits.
    #[derive(Clone)]
    pub struct FakeFunction {
        pub dwords: [u32; 64],
        pub bar_masks: [u32; 6],
    }

    impl FakeFunction {
        pub fn new(vendor: u16, device: u16, class: u8, subclass: u8, header_type: u8) -> Self {
            let mut dwords = [0; 64];
            dwords[0] = u32::from(vendor) | u32::from(device) << 16;
            dwords[1] = 0b111; // I/O, memory, bus master enabled by the "firmware"
            dwords[2] = u32::from(class) << 24 | u32::from(subclass) << 16 | 0x20;
            dwords[3] = u32::from(header_type) << 16;
            FakeFunction {
                dwords,
                bar_masks: [0; 6],
            }
        }

        pub fn with_io_bar(mut self, slot: usize, port: u32, size: u32) -> Self {
            self.dwords[4 + slot] = port | 1;
            self.bar_masks[slot] = !(size - 1) | 1;
            self
        }

        pub fn with_memory_bar(mut self, slot: usize, address: u32, size: u32) -> Self {
            self.dwords[4 + slot] = address;
            self.bar_masks[slot] = !(size - 1);
            self
        }

        /// A 64-bit memory BAR (type 10) in `slot` and `slot + 1`.
        pub fn with_memory64_bar(mut self, slot: usize, address: u64, size: u32) -> Self {
            self.dwords[4 + slot] = address as u32 | 0b100;
            self.dwords[5 + slot] = (address >> 32) as u32;
            self.bar_masks[slot] = !(size - 1);
            self.bar_masks[slot + 1] = 0xffff_ffff;
            self
        }

        pub fn with_interrupt(mut self, pin: u8, line: u8) -> Self {
            self.dwords[15] = u32::from(pin) << 8 | u32::from(line);
            self
        }
    }

    #[derive(Default)]
    pub struct FakeConfigSpace {
        pub functions: RefCell<BTreeMap<PciAddress, FakeFunction>>,
        /// Every command register value written, to check that decoding was restored.
        pub command_writes: RefCell<Vec<u16>>,
    }

    impl FakeConfigSpace {
        pub fn insert(&self, bus: u8, device: u8, function: u8, f: FakeFunction) {
            self.functions
                .borrow_mut()
                .insert(PciAddress::new(0, bus, device, function), f);
        }
    }

    impl ConfigRegionAccess for FakeConfigSpace {
        unsafe fn read(&self, address: PciAddress, offset: u16) -> u32 {
            match self.functions.borrow().get(&address) {
                Some(f) => f.dwords[usize::from(offset / 4)],
                None => 0xffff_ffff,
            }
        }

        unsafe fn write(&self, address: PciAddress, offset: u16, value: u32) {
            if let Some(f) = self.functions.borrow_mut().get_mut(&address) {
                let index = usize::from(offset / 4);
                if (4..10).contains(&index) {
                    let mask = f.bar_masks[index - 4];
                    let type_bits = if mask & 1 == 1 { 0x3 } else { 0xf };
                    f.dwords[index] = (value & mask & !type_bits) | (f.dwords[index] & type_bits);
                } else {
                    if index == 1 {
                        self.command_writes.borrow_mut().push(value as u16);
                    }
                    f.dwords[index] = value;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{FakeConfigSpace, FakeFunction};
    use super::*;
    use pci_types::HeaderType;

    /// QEMU's `pc` machine with an RTL8139, as `info pci` shows it.
    fn qemu_pc() -> FakeConfigSpace {
        let space = FakeConfigSpace::default();
        space.insert(0, 0, 0, FakeFunction::new(0x8086, 0x1237, 0x06, 0x00, 0x00));
        // The PIIX3 is multi-function: header type bit 7 on function 0.
        space.insert(0, 1, 0, FakeFunction::new(0x8086, 0x7000, 0x06, 0x01, 0x80));
        space.insert(
            0,
            1,
            1,
            FakeFunction::new(0x8086, 0x7010, 0x01, 0x01, 0x00).with_io_bar(4, 0xc040, 16),
        );
        space.insert(0, 1, 3, FakeFunction::new(0x8086, 0x7113, 0x06, 0x80, 0x00));
        space.insert(
            0,
            2,
            0,
            FakeFunction::new(0x1234, 0x1111, 0x03, 0x00, 0x00).with_memory_bar(
                0,
                0xfd00_0000,
                16 << 20,
            ),
        );
        space.insert(
            0,
            3,
            0,
            FakeFunction::new(0x10ec, 0x8139, 0x02, 0x00, 0x00)
                .with_io_bar(0, 0xc000, 256)
                .with_memory_bar(1, 0xfebf_1000, 256)
                .with_interrupt(1, 11),
        );
        space
    }

    #[test]
    fn finds_every_function_of_qemu_pc() {
        let found = scan(&qemu_pc());
        let ids: Vec<(u16, u16)> = found.iter().map(|f| (f.vendor_id, f.device_id)).collect();
        assert_eq!(
            ids,
            [
                (0x8086, 0x1237),
                (0x8086, 0x7000),
                (0x8086, 0x7010),
                (0x8086, 0x7113),
                (0x1234, 0x1111),
                (0x10ec, 0x8139)
            ]
        );
    }

    #[test]
    fn decodes_the_nic() {
        let found = scan(&qemu_pc());
        let nic = found.iter().find(|f| f.device_id == 0x8139).unwrap();
        assert_eq!(nic.address, PciAddress::new(0, 0, 3, 0));
        assert_eq!(nic.io_base(), Some(0xc000));
        assert_eq!(
            nic.bars[0],
            Some(Bar::Io {
                port: 0xc000,
                size: 256
            })
        );
        assert_eq!(nic.memory_bar(), Some((0xfebf_1000, 256)));
        assert!(matches!(
            nic.bars[1],
            Some(Bar::Memory {
                is_64_bit: false,
                prefetchable: false,
                ..
            })
        ));
        assert_eq!(nic.irq(), Some(11));
        assert_eq!(nic.revision, 0x20);
    }

    #[test]
    fn sizes_io_bars() {
        let found = scan(&qemu_pc());
        let ide = found.iter().find(|f| f.device_id == 0x7010).unwrap();
        assert_eq!(
            ide.bars[4],
            Some(Bar::Io {
                port: 0xc040,
                size: 16
            })
        );
    }

    #[test]
    fn sizes_an_io_bar_whose_upper_half_reads_zero() {
        let space = FakeConfigSpace::default();
        let mut nic =
            FakeFunction::new(0x10ec, 0x8139, 0x02, 0x00, 0x00).with_io_bar(0, 0xc000, 256);
        nic.bar_masks[0] &= 0x0000_ffff; // decodes 16 address bits only
        space.insert(0, 3, 0, nic);
        assert_eq!(scan(&space)[0].io_base(), Some(0xc000));
        assert_eq!(
            scan(&space)[0].bars[0],
            Some(Bar::Io {
                port: 0xc000,
                size: 256
            })
        );
    }

    #[test]
    fn a_64_bit_bar_takes_two_slots() {
        let space = FakeConfigSpace::default();
        space.insert(
            0,
            4,
            0,
            FakeFunction::new(0x8086, 0x10d3, 0x02, 0x00, 0x00)
                .with_memory64_bar(0, 0x8_0000_0000, 128 << 10)
                .with_io_bar(2, 0xc080, 32),
        );
        let found = scan(&space);
        assert_eq!(found[0].memory_bar(), Some((0x8_0000_0000, 128 << 10)));
        assert!(matches!(
            found[0].bars[0],
            Some(Bar::Memory {
                is_64_bit: true,
                ..
            })
        ));
        assert_eq!(
            found[0].bars[1], None,
            "the upper half is not a BAR of its own"
        );
        assert_eq!(
            found[0].bars[2],
            Some(Bar::Io {
                port: 0xc080,
                size: 32
            })
        );
    }

    #[test]
    fn sizing_restores_bars_and_command() {
        let space = qemu_pc();
        scan(&space);
        let functions = space.functions.borrow();
        let nic = &functions[&PciAddress::new(0, 0, 3, 0)];
        assert_eq!(nic.dwords[4], 0xc001, "BAR0 restored after sizing");
        let ide = &functions[&PciAddress::new(0, 0, 1, 1)];
        assert_eq!(
            ide.dwords[8], 0xc041,
            "the IDE I/O BAR4 restored after sizing"
        );
        assert_eq!(nic.dwords[5], 0xfebf_1000, "BAR1 restored after sizing");
        assert_eq!(nic.dwords[1] & 0xffff, 0b111, "decoding re-enabled");
        let writes = space.command_writes.borrow();
        assert!(
            writes.iter().any(|&c| c & 0b11 == 0),
            "decoding was off while sizing"
        );
    }

    #[test]
    fn finds_devices_on_every_bus() {
        let space = qemu_pc();
        space.insert(
            255,
            31,
            0,
            FakeFunction::new(0x1af4, 0x1000, 0x02, 0x00, 0x00),
        );
        space.insert(7, 4, 0, FakeFunction::new(0x8086, 0x2922, 0x01, 0x06, 0x00));
        let found = scan(&space);
        assert_eq!(found.len(), 8);
        assert_eq!(
            found.last().unwrap().address,
            PciAddress::new(0, 255, 31, 0)
        );
    }

    #[test]
    fn skips_functions_of_single_function_devices() {
        let space = FakeConfigSpace::default();
        // A single-function device that (wrongly) answers on every function number, as some
        // chips do: only function 0 counts.
        for function in 0..8 {
            space.insert(
                0,
                5,
                function,
                FakeFunction::new(0x10ec, 0x8139, 0x02, 0x00, 0x00),
            );
        }
        assert_eq!(scan(&space).len(), 1);
    }

    #[test]
    fn a_bridge_has_no_endpoint_fields() {
        let space = FakeConfigSpace::default();
        space.insert(
            0,
            30,
            0,
            FakeFunction::new(0x8086, 0x244e, 0x06, 0x04, 0x01),
        );
        let found = scan(&space);
        assert_eq!(found[0].header_type, HeaderType::PciPciBridge);
        assert!(found[0].bars.iter().all(Option::is_none));
        assert_eq!(found[0].irq(), None);
    }

    #[test]
    fn functions_without_bars_keep_decoding() {
        let space = FakeConfigSpace::default();
        space.insert(0, 1, 0, FakeFunction::new(0x8086, 0x7000, 0x06, 0x01, 0x00));
        scan(&space);
        assert!(space.command_writes.borrow().is_empty());
    }

    #[test]
    fn a_reserved_memory_bar_is_ignored() {
        let space = FakeConfigSpace::default();
        let mut odd = FakeFunction::new(0x1234, 0x5678, 0x08, 0x80, 0x00);
        odd.dwords[4] = 0xfe00_0002; // memory, type 01 (reserved since PCI 3.0)
        space.insert(0, 9, 0, odd);
        let found = scan(&space);
        assert!(found[0].bars[0].is_none());
    }
}
