//! Exercise 5.2: the capability list (docs/05-pci.md). Scans configuration spaces of its own,
//! with capabilities, without, and with a list that loops, and reads the `Capabilities:`
//! lines of `write_listing`.

use crate::pci::{scan, write_listing};
use pci_types::{ConfigRegionAccess, PciAddress};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

/// Functions as 64 dwords of header (BARs read-only zero: none implemented); empty slots read
/// all ones.
#[derive(Default)]
struct Space {
    functions: RefCell<BTreeMap<u8, [u32; 64]>>,
}

/// Status register bit 4 (in the upper half of dword 0x04): the capability list exists.
const HAS_CAPABILITIES: u32 = 1 << 20;

impl Space {
    /// A function at 00:`device`.0 with `status` and capability `entries` (offset, id, next),
    /// the first pointed at by offset 0x34.
    fn add(&self, device: u8, status: u32, first: u8, entries: &[(u8, u8, u8)]) {
        let mut dwords = [0u32; 64];
        dwords[0] = 0x8086 | u32::from(0x1000 + u16::from(device)) << 16;
        dwords[1] = status | 0b111;
        dwords[2] = 0x02 << 24;
        dwords[0x34 / 4] = u32::from(first);
        for &(offset, id, next) in entries {
            dwords[usize::from(offset / 4)] = u32::from(id) | u32::from(next) << 8;
        }
        self.functions.borrow_mut().insert(device, dwords);
    }
}

impl ConfigRegionAccess for Space {
    unsafe fn read(&self, address: PciAddress, offset: u16) -> u32 {
        if address.bus() != 0 || address.function() != 0 {
            return 0xffff_ffff;
        }
        self.functions
            .borrow()
            .get(&address.device())
            .map_or(0xffff_ffff, |dwords| dwords[usize::from(offset / 4)])
    }

    unsafe fn write(&self, address: PciAddress, offset: u16, value: u32) {
        if address.bus() == 0 && address.function() == 0 && offset == 4 {
            if let Some(dwords) = self.functions.borrow_mut().get_mut(&address.device()) {
                dwords[1] = (dwords[1] & 0xffff_0000) | (value & 0xffff);
            }
        }
    }
}

/// Scans `space` and renders the listing, in a thread of its own: a walk that never ends
/// fails the test instead of hanging it.
fn listing_of(space: Space) -> String {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let functions = scan(&space);
        let mut text = String::new();
        write_listing(&functions, &mut text).unwrap();
        let _ = sender.send(text);
    });
    receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the scan did not finish: does the capability walk end on a list that loops?")
}

/// The `Capabilities:` lines under the function at 00:`device`.0, trimmed.
fn capability_lines(listing: &str, device: u8) -> Vec<String> {
    let slot = format!("00:{device:02x}.0 ");
    let mut lines = listing.lines().skip_while(|line| !line.starts_with(&slot));
    assert!(lines.next().is_some(), "no {slot}in the listing:\n{listing}");
    lines
        .take_while(|line| line.starts_with(' '))
        .map(str::trim)
        .filter(|line| line.starts_with("Capabilities:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn each_capability_is_listed_with_its_offset_and_name() {
    let space = Space::default();
    // The reserved low bits of a pointer (0x62) must be masked off.
    space.add(3, HAS_CAPABILITIES, 0x40, &[(0x40, 0x01, 0x50), (0x50, 0x05, 0x62), (0x60, 0x42, 0)]);
    let listing = listing_of(space);
    assert_eq!(
        capability_lines(&listing, 3),
        [
            "Capabilities: [40] Power Management",
            "Capabilities: [50] MSI",
            "Capabilities: [60] ID 0x42"
        ],
        "listing:\n{listing}"
    );
}

#[test]
fn names_the_common_capabilities() {
    let space = Space::default();
    let entries = [(0x40, 0x09, 0x48), (0x48, 0x10, 0x80), (0x80, 0x11, 0)];
    space.add(3, HAS_CAPABILITIES, 0x40, &entries);
    let listing = listing_of(space);
    assert_eq!(
        capability_lines(&listing, 3),
        [
            "Capabilities: [40] Vendor Specific",
            "Capabilities: [48] Express",
            "Capabilities: [80] MSI-X"
        ],
        "listing:\n{listing}"
    );
}

#[test]
fn no_list_without_the_status_bit() {
    let space = Space::default();
    // A pointer at 0x34, but the status register says there is no list: it is not one.
    space.add(4, 0, 0x40, &[(0x40, 0x05, 0)]);
    let listing = listing_of(space);
    assert_eq!(capability_lines(&listing, 4), Vec::<String>::new(), "listing:\n{listing}");
}

#[test]
fn a_list_that_loops_ends() {
    let space = Space::default();
    space.add(5, HAS_CAPABILITIES, 0x40, &[(0x40, 0x05, 0x50), (0x50, 0x01, 0x40)]);
    let listing = listing_of(space);
    let lines = capability_lines(&listing, 5);
    assert!(lines.len() <= 48, "{} capabilities listed for a list that loops", lines.len());
    assert_eq!(lines.first().map(String::as_str), Some("Capabilities: [40] MSI"));
}
