//! Exercise 5.1: the command register in the listing (docs/05-pci.md). Scans a configuration
//! space of its own and reads the `Control:` line of each function in `write_listing`.

use crate::pci::{scan, write_listing};
use pci_types::{ConfigRegionAccess, PciAddress};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Functions as 64 dwords of header; BARs keep only the bits their size allows, as hardware
/// does when the scan sizes them; empty slots read all ones.
#[derive(Default)]
struct Space {
    functions: RefCell<BTreeMap<(u8, u8, u8), ([u32; 64], [u32; 6])>>,
}

impl Space {
    fn add(&self, device: u8, ids: (u16, u16), class: u8, command: u16, bars: &[(usize, u32, u32)]) {
        let mut dwords = [0u32; 64];
        dwords[0] = u32::from(ids.0) | u32::from(ids.1) << 16;
        dwords[1] = u32::from(command);
        dwords[2] = u32::from(class) << 24;
        let mut masks = [0u32; 6];
        for &(slot, value, size) in bars {
            dwords[4 + slot] = value;
            masks[slot] = !(size - 1) | (value & 1);
        }
        self.functions.borrow_mut().insert((0, device, 0), (dwords, masks));
    }
}

impl ConfigRegionAccess for Space {
    unsafe fn read(&self, address: PciAddress, offset: u16) -> u32 {
        let key = (address.bus(), address.device(), address.function());
        self.functions
            .borrow()
            .get(&key)
            .map_or(0xffff_ffff, |(dwords, _)| dwords[usize::from(offset / 4)])
    }

    unsafe fn write(&self, address: PciAddress, offset: u16, value: u32) {
        let key = (address.bus(), address.device(), address.function());
        if let Some((dwords, masks)) = self.functions.borrow_mut().get_mut(&key) {
            let index = usize::from(offset / 4);
            if (4..10).contains(&index) {
                let mask = masks[index - 4];
                let type_bits = if mask & 1 == 1 { 0x3 } else { 0xf };
                dwords[index] = (value & mask & !type_bits) | (dwords[index] & type_bits);
            } else {
                dwords[index] = value;
            }
        }
    }
}

/// The listing's lines for the function whose line starts with `slot` ("00:03.0").
fn block(listing: &str, slot: &str) -> Vec<String> {
    let mut lines = listing.lines().skip_while(|line| !line.starts_with(slot));
    let first = lines.next().unwrap_or_else(|| panic!("no {slot} in the listing:\n{listing}"));
    core::iter::once(first)
        .chain(lines.take_while(|line| line.starts_with(' ')))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_function_shows_its_command_register_after_its_bars() {
    let space = Space::default();
    space.add(0, (0x8086, 0x1237), 0x06, 0b110, &[]);
    space.add(3, (0x10ec, 0x8139), 0x02, 0b011, &[(0, 0xc001, 256), (1, 0xfebf_1000, 256)]);
    space.add(4, (0x8086, 0x100e), 0x02, 0b101, &[(0, 0xfebc_0000, 128 << 10)]);
    let functions = scan(&space);
    let mut listing = String::new();
    write_listing(&functions, &mut listing).unwrap();
    for (slot, control) in [
        ("00:00.0", "Control: I/O- Mem+ BusMaster+"),
        ("00:03.0", "Control: I/O+ Mem+ BusMaster-"),
        ("00:04.0", "Control: I/O+ Mem- BusMaster+"),
    ] {
        let lines = block(&listing, slot);
        let at = lines
            .iter()
            .position(|line| line.trim_start().starts_with("Control:"))
            .unwrap_or_else(|| panic!("no 'Control:' line under {slot}:\n{listing}"));
        assert_eq!(lines[at].trim(), control, "{slot}'s command register, as the firmware left it");
        assert!(lines[at].starts_with(' '), "the Control: line is indented:\n{listing}");
        let last_bar = lines.iter().rposition(|line| line.trim_start().starts_with("BAR"));
        assert!(
            last_bar.is_none_or(|bar| bar < at),
            "the Control: line comes after the BARs:\n{listing}"
        );
    }
    let commands: Vec<u32> = space.functions.borrow().values().map(|(d, _)| d[1]).collect();
    assert_eq!(commands, [0b110, 0b011, 0b101], "the scan restores every command register");
}
